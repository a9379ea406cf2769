"""What a verdict is worth: the leave-generator-out rates written by `evaluate --protocol`, read
back from a spec's metrics into each report (report/reliability.py)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from metrics_fakes import THRESHOLDS, evaluation_metrics, face_size_metrics

from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.paths import MODELS_DIR
from deepfake_analyzer.report.html_report import report_to_html
from deepfake_analyzer.report.reliability import reliability_of, report_metrics, trust_note
from deepfake_analyzer.report.types import Report, Verdict


def test_rates_are_read_back_for_each_medium() -> None:
    video = reliability_of(evaluation_metrics(), THRESHOLDS, "video")
    assert video is not None
    assert (video.num_real, video.num_fake, video.generators) == (4, 4, 3)
    # reals 0.1 0.2 0.6 0.8; fakes 0.9 0.55 0.3 0.2; suspicious 0.5, fake 0.7
    assert (video.rates.real_at_suspicious, video.rates.real_at_fake) == (0.5, 0.25)
    assert (video.rates.fake_at_suspicious, video.rates.fake_at_fake) == (0.5, 0.25)
    assert video.auc == pytest.approx(9.5 / 16, abs=1e-4)
    assert video.measured_utc == "2026-11-30T15:00:00Z"
    image = reliability_of(evaluation_metrics(), THRESHOLDS, "image")
    assert image is not None and image.rates.fake_at_fake == 1.0 and image.generators == 1


def test_a_medium_without_fakes_has_reals_only() -> None:
    metrics = evaluation_metrics()
    rates = metrics["evaluation"]["leave_generator_out"]["verdict_rates"]
    rates["image"]["fake_at_fake"] = None  # how JSON stores "no fake file" (NaN)
    image = reliability_of(metrics, THRESHOLDS, "image")
    assert image is not None and math.isnan(image.rates.fake_at_fake)
    assert trust_note(image, "fake") == "", "no sentence from a missing figure"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"fake": 0.71}, id="recalibrated-fake-threshold"),
        pytest.param({"suspicious": 0.4}, id="recalibrated-suspicious-threshold"),
    ],
)
def test_figures_at_other_thresholds_say_nothing(change: dict[str, float]) -> None:
    assert reliability_of(evaluation_metrics(), {**THRESHOLDS, **change}, "video") is None


@pytest.mark.parametrize(
    "metrics",
    [
        pytest.param({}, id="never-evaluated"),
        pytest.param({"evaluation": {"frame": {"auc": 0.6}}}, id="evaluated-without-protocol"),
        pytest.param({"evaluation": "broken"}, id="hand-edited"),
        pytest.param({"evaluation": {"leave_generator_out": {"rows": []}}}, id="before-rates"),
    ],
)
def test_a_spec_without_figures_gives_none_not_an_error(metrics: dict[str, Any]) -> None:
    assert reliability_of(metrics, THRESHOLDS, "video") is None


def test_each_verdict_gets_the_figure_that_qualifies_it() -> None:
    video = reliability_of(evaluation_metrics(), THRESHOLDS, "video")
    assert video is not None
    real = trust_note(video, "real")
    assert "Of 4 fake videos from 3 generators it never saw" in real
    assert "rated 50% suspicious or fake" in real and "not that there is none" in real
    assert "AUC 0.59" in real
    fake = trust_note(video, "fake")
    assert "Of 4 real videos" in fake and "rated 25% fake" in fake
    # one of four people reached `fake`: a resample holds none to all of that person's draws
    assert video.real_at_fake_interval == (0.0, 0.75)
    assert "rated 25% fake (95 % interval 0%-75%), against 25% of 4 fake" in fake
    older = replace(video, real_at_fake_interval=None)  # a spec written before the interval
    assert "rated 25% fake, against 25% of 4 fake" in trust_note(older, "fake")
    suspicious = trust_note(video, "suspicious")
    assert "50% of 4 fake and 50% of 4 real ones" in suspicious
    assert trust_note(video, "no-face") == ""


def test_the_note_says_how_faces_of_the_deciding_size_read() -> None:
    image = reliability_of(face_size_metrics(), THRESHOLDS, "image")
    assert image is not None and [f.words() for f in image.face_sizes] == [
        "under 100 px wide",
        "200 px wide or more",
    ]
    small = trust_note(image, "fake", 80.4)
    assert small.startswith(trust_note(image, "fake"))
    assert small.endswith(
        "Its face is under 100 px wide: held-out photos with faces of that size read AUC 0.50 "
        "(10 real, 10 fake)."
    )
    assert trust_note(image, "fake", 12.0) == small, "one sentence per size, not per width"
    assert "AUC 1.00 (10 real, 10 fake)" in trust_note(image, "real", 200.0)
    for width in (150.0, None, math.nan):  # no row for that size, or no face width
        assert trust_note(image, "fake", width) == trust_note(image, "fake")
    assert trust_note(image, "no-face", 80.0) == ""
    assert reliability_of(evaluation_metrics(), THRESHOLDS, "image").face_sizes == ()  # type: ignore[union-attr]


def test_a_report_names_the_width_of_the_face_its_verdict_follows(image_report: Report) -> None:
    metrics = {"metrics": report_metrics(face_size_metrics())}
    photo = replace(image_report, model=replace(image_report.model, provenance=metrics))
    assert photo.deciding_face_width() == pytest.approx(49.0)  # the fixture's box: 1.0 to 50.0
    assert photo.trust_note().endswith(
        "Its face is under 100 px wide: held-out photos with "
        "faces of that size read AUC 0.50 (10 real, 10 fake)."
    )
    assert replace(photo, verdict=Verdict("no-face", None)).deciding_face_width() is None


def test_reports_carry_the_sentence_for_their_medium(make_report, image_report: Report) -> None:
    model = replace(make_report().model, provenance={"metrics": evaluation_metrics()})
    video = make_report(model=model)
    assert video.trust_note() == trust_note(
        reliability_of(evaluation_metrics(), THRESHOLDS, "video"),  # type: ignore[arg-type]
        video.verdict.label,
    )
    photo = replace(image_report, model=model)
    assert "photos" in photo.trust_note() and "videos" not in photo.trust_note()
    html = report_to_html(video)
    banner = html.split('class="banner"', 1)[1].split("</section>", 1)[0]
    assert "How far to trust it: " in banner and "generators it never saw" in banner
    assert replace(video, verdict=Verdict("no-face", None)).trust_note() == ""


def test_a_report_without_figures_says_nothing_of_them(video_report: Report) -> None:
    assert video_report.trust_note() == ""
    assert "How far to trust it" not in report_to_html(video_report)


def test_a_report_keeps_the_medium_and_family_rows_and_reads_the_same_figures() -> None:
    full = evaluation_metrics()
    full["evaluation"]["video_auc_by"] = {"method:anitalker": 1.0}
    trimmed = report_metrics(full)
    table = trimmed["evaluation"]["leave_generator_out"]
    assert {row["by"] for row in table["rows"]} == {"medium", "family"}
    assert table["held_out_generators"] == {"video": 3, "image": 1}
    assert "video_auc_by" not in trimmed["evaluation"]
    assert not any(isinstance(v, list | dict) for v in table["protocol"].values())
    assert table["protocol"]["heldout_identity_fraction"] == 0.3
    for medium in ("video", "image"):
        assert reliability_of(trimmed, THRESHOLDS, medium) == reliability_of(
            full, THRESHOLDS, medium
        )
    assert full["evaluation"]["video_auc_by"], "the spec's own metrics are left whole"
    assert len(full["evaluation"]["leave_generator_out"]["rows"]) > len(table["rows"])


@pytest.mark.parametrize(
    "metrics",
    [
        pytest.param({}, id="never-evaluated"),
        pytest.param({"evaluation": "broken", "sbi": 0.5}, id="hand-edited"),
        pytest.param({"evaluation": {"leave_generator_out": {"rows": [{}]}}}, id="odd-rows"),
    ],
)
def test_metrics_without_a_table_reach_the_report_as_they_are(metrics: dict[str, Any]) -> None:
    assert report_metrics(metrics) == metrics


def test_the_shipped_model_carries_figures_at_its_own_thresholds() -> None:
    spec = ModelSpec.load(MODELS_DIR / "deepfake_xception.spec.json")
    thresholds = {"suspicious": spec.thresholds.suspicious, "fake": spec.thresholds.fake}
    for medium in ("video", "image"):
        found = reliability_of(spec.metrics, thresholds, medium)
        assert found is not None, f"{medium}: re-run evaluate --protocol --write-spec"
        assert found.num_fake >= 100 and found.num_real >= 50 and found.generators >= 10
        assert trust_note(found, "real").startswith("Of ")
