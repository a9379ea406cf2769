"""`evaluate`: synthetic labeled folders, a fake detector and a brightness classifier (no TF)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError, OutputExistsError, UsageError
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.models.fake_classifier import FAKE_SPEC, FakeClassifier
from deepfake_analyzer.models.spec import ModelSpec, Thresholds
from deepfake_analyzer.training.eval_report import write_evaluation_report
from deepfake_analyzer.training.evaluate import (
    CropInfo,
    EvaluateConfig,
    ScoredCrops,
    evaluate,
    evaluate_scores,
    video_scores,
)
from deepfake_analyzer.training.perturb import default_perturbations


class CentreDetector:
    """One face box in the middle of any frame that is not black."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        if image_rgb.max() < 10:
            return []
        h, w = image_rgb.shape[:2]
        return [FaceDetection((w * 0.3, h * 0.3, w * 0.7, h * 0.7), 0.9, np.zeros((0, 2)))]

    def close(self) -> None:
        pass


class NoMesh:
    def landmarks(self, image_rgb: np.ndarray, box_xyxy: object) -> None:
        return None

    def close(self) -> None:
        pass


def _image(level: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 21, (96, 96, 3))
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rgb[..., ::-1])


def _write_video(path: Path, levels: list[int]) -> None:
    from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

    frames = np.stack([np.full((64, 64, 3), v, np.uint8) for v in levels])
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", "64x64", "-r", "4", "-i", "pipe:", "-c:v", "libx264", "-crf", "10",
         "-pix_fmt", "yuv420p", str(path)],
        input=frames.tobytes(), check=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def labeled_folder(tmp_path_factory) -> Path:
    """real/: 8 darker photos, a black photo (no face) and a dark video; fake/gan/: 8 brighter
    photos; fake/swap/: a video bright in a quarter of its frames."""
    root = tmp_path_factory.mktemp("labeled") / "set"
    for i in range(8):
        _write_png(root / "real" / f"r{i}.png", _image(40 + 10 * i, i))
        _write_png(root / "fake" / "gan" / f"g{i}.png", _image(130 + 10 * i, 100 + i))
    _write_png(root / "real" / "black.png", np.zeros((96, 96, 3), np.uint8))
    _write_video(root / "real" / "talk.mp4", [70] * 8)
    _write_video(root / "fake" / "swap" / "swap.mp4", [60] * 6 + [250] * 2)
    return root


def _run(folder: Path, tmp_path: Path, **config) -> object:
    return evaluate(
        [folder],
        FakeClassifier(),
        EvaluateConfig(frames_per_video=8, **config),
        cache_dir=tmp_path / "cache",
        detector=CentreDetector(),
        face_mesh=NoMesh(),
    )


def test_end_to_end_metrics_breakdowns_and_video_aggregation(labeled_folder, tmp_path) -> None:
    result = _run(labeled_folder, tmp_path)
    assert result.num_items == 19
    assert [Path(p).name for p in result.items_without_faces] == ["black.png"]
    # every fake photo is brighter than every real one; the swap video's top quarter is bright
    assert result.overall.video.auc == 1.0
    assert (result.overall.video.num_real, result.overall.video.num_fake) == (9, 9)
    swap = next(v for v in result.videos if v.source.endswith("swap.mp4"))
    assert swap.num_crops == 8
    # track_score: mean of the top ceil(8/4) = 2 crops, both ~250/255
    assert swap.score == pytest.approx(250 / 255, abs=0.02)
    # frame level: the swap's six dark frames score like reals, so frame AUC < 1
    assert result.overall.frame.auc < 1.0
    by = {(b.by, b.name): b for b in result.breakdowns}
    assert set(by) == {("dataset", "set"), ("method", "gan"), ("method", "swap")}
    assert by[("method", "swap")].metrics.video.num_fake == 1
    assert by[("method", "swap")].metrics.video.num_real == 9
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["overall"]["video"]["auc"] == 1.0
    assert data["model"]["name"] == FAKE_SPEC.name


@pytest.mark.slow
def test_reports_embed_figures_and_refuse_to_clobber(labeled_folder, tmp_path) -> None:
    result = _run(labeled_folder, tmp_path, perturbations=default_perturbations(["jpeg", "blur"]))
    assert [p.key for p in result.perturbations] == [
        "jpeg-1", "jpeg-2", "jpeg-3", "blur-1", "blur-2", "blur-3",
    ]  # fmt: skip
    # brightness survives blur and JPEG: the AUC barely moves
    assert all(abs(p.video_auc_drop) < 0.1 for p in result.perturbations)
    assert set(result.robustness()) == {"jpeg", "blur"}
    assert set(result.summary()["video_auc_under"]) == {p.key for p in result.perturbations}
    written = write_evaluation_report(result, tmp_path / "out")
    assert set(written) == {"json", "html", "roc", "histograms", "perturbations"}
    assert written["roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = written["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "jpeg quality 30" in page
    with pytest.raises(OutputExistsError, match="pass overwrite"):
        write_evaluation_report(result, tmp_path / "out")
    write_evaluation_report(result, tmp_path / "out", overwrite=True)


def _scored(labels, sources, raw, datasets=None, methods=None) -> ScoredCrops:
    n = len(labels)
    datasets = datasets or ["d"] * n
    methods = methods or ["fake" if y else "real" for y in labels]
    crops = tuple(
        CropInfo(s, y, s, d, m, "video", i, float(i))
        for i, (y, s, d, m) in enumerate(zip(labels, sources, datasets, methods, strict=True))
    )
    return ScoredCrops(crops=crops, raw=np.asarray(raw, dtype=np.float64))


def test_video_scores_use_the_analyzers_top_quarter_mean() -> None:
    scored = _scored([1] * 5, ["v"] * 5, [0.1, 0.2, 0.3, 0.9, 0.7])
    (video,) = video_scores(scored.crops, scored.raw)
    # k = ceil(5 / 4) = 2: mean(0.9, 0.7)
    assert video.score == pytest.approx(0.8)
    assert video.num_crops == 5


def test_a_dataset_without_reals_borrows_every_real() -> None:
    scored = _scored(
        [0, 0, 1, 1],
        ["r1", "r2", "f1", "f2"],
        [0.1, 0.6, 0.5, 0.9],
        datasets=["photos", "photos", "gan", "gan"],
        methods=["real", "real", "stylegan", "stylegan"],
    )
    result = evaluate_scores(scored, ModelSpec(name="m", thresholds=Thresholds(0.5, 0.55)))
    by = {(b.by, b.name): b for b in result.breakdowns}
    assert ("method", "stylegan") not in by  # the same fakes as dataset 'gan'
    gan = by[("dataset", "gan")]
    assert gan.pooled == "reals"
    # fakes 0.5, 0.9 vs reals 0.1, 0.6: pairs won 1 + 0 + 1 + 1 -> 3/4
    assert gan.metrics.video.auc == pytest.approx(0.75)
    photos = by[("dataset", "photos")]
    assert photos.pooled == "fakes" and photos.metrics.video.num_fake == 2
    # at fake >= 0.55: real 0.6 is a false positive -> FPR 1/2; fakes caught 1/2 -> acc 2/4
    fake_at = next(t for t in result.overall.video.at_thresholds if t.name == "fake")
    assert fake_at.false_positive_rate == pytest.approx(0.5)
    assert fake_at.accuracy == pytest.approx(0.5)


def test_calibration_fits_on_some_identities_and_reports_the_others() -> None:
    rng = np.random.default_rng(0)
    n_videos = 40
    labels, sources, raw = [], [], []
    for v in range(n_videos):
        y = v % 2
        for _ in range(4):
            labels.append(y)
            sources.append(f"v{v}")
            # overconfident scores: logit 3 * (signal + noise)
            z = 3 * ((1.0 if y else -1.0) + rng.normal(0, 1.5))
            raw.append(1 / (1 + np.exp(-z)))
    scored = _scored(labels, sources, raw)
    spec = ModelSpec(name="m", metrics={"trained": True})
    result = evaluate_scores(scored, spec, EvaluateConfig(calibrate="temperature"))
    cal = result.calibration
    assert cal is not None and result.spec.calibration.method == "temperature"
    assert result.spec.calibration.temperature > 1.5  # undoes the overconfidence
    fit_videos = (cal.num_real + cal.num_fake) // 4
    assert fit_videos + len(result.videos) == n_videos  # no identity on both sides
    assert result.spec.metrics["trained"] is True
    assert result.spec.metrics["evaluation"]["held_out_from_calibration"] is True
    assert result.spec.metrics["calibration"]["method"] == "temperature"
    assert result.spec.thresholds == cal.threshold_choice.thresholds


def test_analyzer_scores_decide_video_figures_and_thresholds(tmp_path) -> None:
    from deepfake_analyzer.scoring.aggregate import FaceScore
    from deepfake_analyzer.training.calibrate import threshold_for_fpr
    from deepfake_analyzer.training.eval_analyzer import AnalyzedVideo

    rng = np.random.default_rng(1)
    labels, sources, raw, analyzed = [], [], [], {}
    for v in range(40):
        y = v % 2
        values = 1 / (1 + np.exp(-3 * ((1.0 if y else -1.0) + rng.normal(0, 1.5, 4))))
        labels += [y] * 4
        sources += [f"v{v}"] * 4
        raw += list(values)
        # the analyzer saw more frames, and a second person in every third video
        faces = [FaceScore(i, i / 2, 0, float(rng.choice(values))) for i in range(12)]
        if v % 3 == 0:
            faces += [FaceScore(i, i / 2, 1, float(rng.uniform(0.5, 1.0))) for i in range(12)]
        analyzed[f"v{v}"] = AnalyzedVideo(tuple(faces), {}, 0.5)
    config = EvaluateConfig(calibrate="temperature", video_scores="analyzer", fake_fpr=0.1)
    result = evaluate_scores(
        _scored(labels, sources, raw), ModelSpec(name="m"), config, analyzed=analyzed
    )
    spec = result.spec
    for video in result.videos:
        expected = analyzed[video.source].score(spec.calibration, spec.thresholds)
        assert video.score == pytest.approx(expected) and video.num_crops in (12, 24)
    shown = {v.source for v in result.videos}
    fit_reals = [
        analyzed[f"v{v}"].score(spec.calibration, ModelSpec(name="m").thresholds)
        for v in range(0, 40, 2)
        if f"v{v}" not in shown
    ]
    assert spec.thresholds.fake == pytest.approx(threshold_for_fpr(fit_reals, 0.1))

    # a spec with the real statistics raises the thresholds of the two-person videos: the
    # video rows count them and the page says so
    spread = Thresholds(suspicious=0.5, fake=0.7, real_mean=0.0, real_std=1.0)
    raised_result = evaluate_scores(
        _scored(labels, sources, raw), ModelSpec(name="m", thresholds=spread),
        EvaluateConfig(video_scores="analyzer"), analyzed=analyzed,
    )  # fmt: skip
    raised = sum(v.raised_thresholds is not None for v in raised_result.videos)
    assert raised == 14  # v0, v3, ..., v39
    assert all(t.raised == raised for t in raised_result.overall.video.at_thresholds)
    page = write_evaluation_report(raised_result, tmp_path / "out")["html"].read_text()
    assert f"Video rows read {raised} files whose verdict weighed several faces" in page


def test_video_rates_at_thresholds_read_the_raised_ones_like_the_protocol_table() -> None:
    from deepfake_analyzer.training.eval_metrics import VideoScore, level_metrics

    def video(label: int, score: float, raised: tuple[float, float] | None) -> VideoScore:
        return VideoScore(
            source=f"v{score}", label=label, group=f"p{score}", dataset="d", method="m",
            kind="video", num_crops=1, score=score, raised_thresholds=raised,
        )  # fmt: skip

    videos = [
        video(0, 0.75, (0.8, 0.9)),  # two people: reads 0.8 / 0.9, so below both
        video(0, 0.2, None),
        video(1, 0.85, (0.8, 0.9)),  # suspicious only at its raised thresholds
        video(1, 0.95, None),
    ]
    crops = [
        CropInfo(v.source, v.label, v.group, "d", "m", "video", frame_index=0, timestamp_s=0.0)
        for v in videos
    ]
    m = level_metrics(crops, np.array([v.score for v in videos]), videos,
                      {"suspicious": 0.5, "fake": 0.7}).video  # fmt: skip
    at = {t.name: t for t in m.at_thresholds}
    assert at["fake"].false_positive_rate == 0.0 and at["fake"].true_positive_rate == 0.5
    assert at["suspicious"].false_positive_rate == 0.0
    assert at["suspicious"].true_positive_rate == 1.0
    assert at["fake"].threshold == 0.7 and at["fake"].raised == 2


def test_the_temporal_effect_pairs_frame_only_verdicts_with_the_combined_ones() -> None:
    from dataclasses import replace

    from deepfake_analyzer.scoring.aggregate import FaceScore
    from deepfake_analyzer.training.eval_analyzer import AnalyzedVideo

    rng = np.random.default_rng(3)
    labels, sources, raw, analyzed = [], [], [], {}
    methods = []
    for v in range(60):
        y = v % 2
        values = rng.uniform(0.3, 0.7, 4)  # frames say nothing
        labels += [y] * 4
        sources += [f"v{v}"] * 4
        raw += list(values)
        methods += [("liveportrait" if v % 4 == 3 else "wav2lip") if y else "real"] * 4
        faces = tuple(FaceScore(i, i / 2, 0, float(values[i % 4])) for i in range(8))
        motion = float(np.clip(rng.normal(0.8 if y else 0.2, 0.1), 0.01, 0.99))  # motion does
        analyzed[f"v{v}"] = AnalyzedVideo(faces, {0: motion}, 0.5)
    spec = ModelSpec(name="m", thresholds=Thresholds(suspicious=0.45, fake=0.55))
    config = EvaluateConfig(video_scores="analyzer")
    scored = _scored(labels, sources, raw, methods=methods)
    result = evaluate_scores(scored, spec, config, analyzed=analyzed)
    effect = result.temporal_effect
    assert effect is not None and effect.baseline == "frame scores alone"
    assert effect.matched == 60
    video = next(r for r in effect.rows if r.name == "video")
    frame_only = [
        analyzed[f"v{v}"].score(spec.calibration, spec.thresholds, False) for v in range(60)
    ]
    assert frame_only != [
        analyzed[f"v{v}"].score(spec.calibration, spec.thresholds) for v in range(60)
    ]
    pos = [s for v, s in enumerate(frame_only) if v % 2]
    neg = [s for v, s in enumerate(frame_only) if not v % 2]
    expected = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert video.baseline_auc == pytest.approx(expected, abs=1e-4)
    assert video.new_auc == pytest.approx(result.overall.video.auc, abs=1e-4)
    assert video.new_auc > 0.9 > video.baseline_auc and video.verdict == "better"
    assert {r.name for r in effect.rows} >= {"video/lip-sync", "video/reenactment"}
    assert result.to_dict()["temporal_effect"]["rows"][0]["name"] == "video"
    # the real clips' motion (~0.2) pulls them down: fewer of them reach `fake` with it
    (alarms,) = effect.real_at_fake
    threshold = spec.thresholds.fake
    assert alarms.baseline_share == pytest.approx(np.mean([s >= threshold for s in neg]))
    assert alarms.new_share < alarms.baseline_share
    crops_only = evaluate_scores(scored, spec, EvaluateConfig())
    assert crops_only.temporal_effect is None and crops_only.to_dict()["temporal_effect"] is None

    from rich.console import Console

    from deepfake_analyzer.cli.evaluate import comparison_view, temporal_title
    from deepfake_analyzer.training.eval_report import evaluation_to_html

    shown = replace(result, temporal_model="models/t.json")
    page = evaluation_to_html(shown, {})
    assert "<h2>Temporal evidence</h2>" in page and "Temporal evidence" not in (
        evaluation_to_html(crops_only, {})
    )
    assert f"<td>{video.baseline_auc:.3f}</td><td>{video.new_auc:.3f}</td>" in page
    console = Console(width=120, record=True)
    console.print(comparison_view(effect, temporal_title(shown)))
    text = console.export_text()
    assert "frame scores alone → with t.json (60 videos)" in text and "better" in text


def test_analyzer_video_scores_replace_the_crops_of_videos(labeled_folder, tmp_path) -> None:
    crops = _run(labeled_folder, tmp_path)
    result = _run(labeled_folder, tmp_path, video_scores="analyzer")
    by = {Path(v.source).name: v for v in result.videos}
    # at 2 fps the analyzer reads frames 0, 2, 4 and 6 of the 4 fps clip; the last is bright
    assert by["swap.mp4"].num_crops == by["talk.mp4"].num_crops == 4
    assert by["swap.mp4"].score == pytest.approx(250 / 255, abs=0.02)
    photo = next(v for v in crops.videos if v.source.endswith("g3.png"))
    assert by["g3.png"] == photo  # photos keep their crop score
    assert "analyze" in result.timings_s
    assert result.to_dict()["video_scores"] == "analyzer"
    assert result.spec.metrics["evaluation"]["video_scores"] == "analyzer"
    assert result.to_dict()["temporal_model"].endswith("temporal_v1.json")
    assert crops.to_dict()["temporal_model"] == ""


def test_the_analyzer_pass_reads_the_dense_window_asked_for(
    labeled_folder, tmp_path, monkeypatch
) -> None:
    import deepfake_analyzer.training.evaluate as evaluate_module
    from deepfake_analyzer.cli.evaluate import config_from_args
    from deepfake_analyzer.cli.main import build_parser

    given = []
    real = evaluate_module.analyze_videos

    def spy(videos, classifier, options, *rest):
        given.append(options.temporal_seconds)
        return real(videos, classifier, options, *rest)

    monkeypatch.setattr(evaluate_module, "analyze_videos", spy)
    _run(labeled_folder, tmp_path, video_scores="analyzer")
    _run(labeled_folder, tmp_path, video_scores="analyzer", temporal_seconds=10.0)
    assert given == [5.0, 10.0]  # the analyzer's default, then the one asked for
    args = build_parser("evaluate").parse_args(["evaluate", "d", "--temporal-seconds", "7.5"])
    assert config_from_args(args).temporal_seconds == 7.5


def test_the_analyzer_scores_combine_the_temporal_model_named(labeled_folder, tmp_path) -> None:
    import json

    from deepfake_analyzer.cli.main import main
    from deepfake_analyzer.temporal.config import DEFAULT_TEMPORAL_MODEL

    silent = json.loads(DEFAULT_TEMPORAL_MODEL.read_text())
    silent["weights"] = [0.0] * len(silent["weights"])
    (tmp_path / "t.json").write_text(json.dumps(silent))
    config = EvaluateConfig(frames_per_video=8, video_scores="analyzer")

    def run(model: Path) -> object:
        return evaluate(
            [labeled_folder], FakeClassifier(), config, cache_dir=tmp_path / "cache",
            detector=CentreDetector(), face_mesh=NoMesh(), temporal_model=model,
        )  # fmt: skip

    assert run(tmp_path / "t.json").temporal_model == str(tmp_path / "t.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ModelError) as error:  # the file named is the one read
        run(tmp_path / "bad.json")
    assert error.value.path == str(tmp_path / "bad.json")
    assert main(["evaluate", str(labeled_folder), "--temporal-model", "t.json"]) == 2


def test_calibration_needs_both_classes_on_each_side() -> None:
    scored = _scored([0, 1], ["a", "b"], [0.2, 0.8])
    with pytest.raises(UsageError, match="too few identity groups"):
        evaluate_scores(scored, ModelSpec(name="m"), EvaluateConfig(calibrate="platt"))


def test_no_face_anywhere_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no face"):
        evaluate_scores(_scored([], [], []), ModelSpec(name="m"))


@pytest.mark.slow
def test_cli_calibrates_and_writes_a_spec(labeled_folder, tmp_path, monkeypatch, capsys) -> None:
    import deepfake_analyzer.faces.detector as detector_module
    import deepfake_analyzer.faces.landmarks as landmarks_module
    import deepfake_analyzer.models.loader as loader_module
    from deepfake_analyzer.cli.main import main

    monkeypatch.setattr(loader_module, "load_classifier", lambda *a, **k: FakeClassifier())
    monkeypatch.setattr(detector_module, "create_detector", lambda *a, **k: CentreDetector())
    monkeypatch.setattr(landmarks_module, "FaceMesh", NoMesh)
    spec_out = tmp_path / "calibrated.spec.json"
    argv = [
        "evaluate", "--calibrate", str(labeled_folder), "--output", str(tmp_path / "rep"),
        "--cache-dir", str(tmp_path / "cache"), "--frames-per-video", "8",
        "--calibration-method", "platt", "--write-spec", str(spec_out), "--json", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["calibration"]["method"] == "platt"
    written = ModelSpec.load(spec_out)
    assert written.calibration.method == "platt"
    assert "evaluation" in written.metrics
    assert (tmp_path / "rep" / "evaluation.html").is_file()
    # a second run refuses before doing any work
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    # the same evaluation against the first one's report: nothing changed, nothing claimed
    again = [
        "evaluate", "--calibrate", str(labeled_folder), "--cache-dir", str(tmp_path / "cache"),
        "--frames-per-video", "8", "--calibration-method", "platt", "--quiet",
        "--output", str(tmp_path / "rep2"), "--baseline", str(tmp_path / "rep"),
    ]  # fmt: skip
    assert main(again) == 0
    comparison = json.loads((tmp_path / "rep2" / "comparison.json").read_text())
    assert comparison["matched_files"] > 0 and comparison["only_in_baseline"] == 0
    assert {r["verdict"] for r in comparison["rows"]} <= {"unclear", "-"}
    assert main(again[:-2] + ["--baseline", str(tmp_path / "nowhere.json")]) == 2
    assert "nowhere.json" in capsys.readouterr().err


def test_crop_size_reuses_a_cache_at_another_size(labeled_folder, tmp_path) -> None:
    default = _run(labeled_folder, tmp_path)
    bigger = _run(labeled_folder, tmp_path, crop_size=128)
    folders = sorted(p.name.split("_")[0] for p in (tmp_path / "cache").iterdir())
    assert folders == ["s128", "s64"]  # the model's input size (64) unless told otherwise
    assert bigger.overall.video.auc == default.overall.video.auc == 1.0


def test_summary_table_fits_a_terminal(labeled_folder, tmp_path) -> None:
    import io

    from rich.console import Console

    from deepfake_analyzer.cli.evaluate import summary_table

    result = _run(labeled_folder, tmp_path, perturbations=default_perturbations(["noise"]))
    out = io.StringIO()
    Console(file=out, width=100).print(summary_table(result))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "method:swap" in text and "noise variance 0.01" in text
    assert "1.000" in text  # the overall video AUC


def test_include_lists_restrict_the_files(labeled_folder, tmp_path) -> None:
    from deepfake_analyzer.training.evaluate import discover_items, read_file_list

    listed = [
        str(labeled_folder / "real" / "r0.png"),
        str(labeled_folder / "fake" / "gan" / "g1.png"),
    ]
    heldout = tmp_path / "heldout.json"
    heldout.write_text(json.dumps({"heldout_files": listed}))
    text_list = tmp_path / "files.txt"
    text_list.write_text("# held out\n" + "\n".join(listed) + "\n")
    assert read_file_list(heldout) == read_file_list(text_list) == listed
    items = discover_items([labeled_folder], read_file_list(heldout))
    assert sorted(i.path.name for i in items) == ["g1.png", "r0.png"]
    with pytest.raises(UsageError, match="none of the 1 listed"):
        discover_items([labeled_folder], ["elsewhere.png"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": [1], "b": []}')
    with pytest.raises(UsageError, match="list of paths"):
        read_file_list(bad)


class OvalMesh:
    """20 landmarks on an ellipse inside the face box (enough for a self-blending hull)."""

    def landmarks(self, image_rgb: np.ndarray, box_xyxy) -> np.ndarray:
        x0, y0, x1, y1 = box_xyxy
        t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * 0.35, (y1 - y0) * 0.45
        return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t), np.zeros(20)], axis=1)

    def close(self) -> None:
        pass


@pytest.mark.slow
def test_self_blended_fakes_get_their_own_row(labeled_folder, tmp_path) -> None:
    def run(self_blend: bool, cache: str) -> object:
        return evaluate(
            [labeled_folder],
            FakeClassifier(),
            EvaluateConfig(frames_per_video=8, self_blend=self_blend),
            cache_dir=tmp_path / cache,
            detector=CentreDetector(),
            face_mesh=OvalMesh(),
        )

    plain, blended, again = run(False, "a"), run(True, "a"), run(True, "b")
    by = {(b.by, b.name): b for b in blended.breakdowns}
    row = by[("dataset", "self-blended")]
    assert row.pooled == "reals"
    # one twin per real source with a face: 8 photos + the real video
    assert row.metrics.video.num_fake == 9 and row.metrics.video.num_real == 9
    assert ("method", "self-blended") not in by
    assert blended.overall == plain.overall  # the twins stay out of the overall figures
    twins = [v for v in blended.videos if v.source.endswith("#self-blended")]
    assert len(twins) == 9 and all(v.label == 1 for v in twins)
    assert [v.score for v in twins] == [
        v.score for v in again.videos if v.source.endswith("#self-blended")
    ]  # seeded per crop
    assert blended.to_dict()["breakdowns"]


def test_self_blended_twins_stay_with_their_identity_when_calibrating() -> None:
    labels, sources, raw, datasets = [], [], [], []
    rng = np.random.default_rng(1)
    for v in range(24):
        y = v % 2
        labels.append(y)
        sources.append(f"v{v}")
        raw.append(float(np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2), 0.01, 0.99)))
        datasets.append("d")
        if y == 0:  # a self-blended twin of every real
            labels.append(1)
            sources.append(f"v{v}#self-blended")
            raw.append(0.6)
            datasets.append("self-blended")
    crops = tuple(
        CropInfo(s, y, s.split("#")[0], d, d, "image", 0, 0.0)
        for y, s, d in zip(labels, sources, datasets, strict=True)
    )
    scored = ScoredCrops(crops=crops, raw=np.asarray(raw))
    result = evaluate_scores(scored, ModelSpec(name="m"), EvaluateConfig(calibrate="platt"))
    held_out = {v.source for v in result.videos}
    for source in held_out:
        if source.endswith("#self-blended"):
            assert source.split("#")[0] in held_out
    assert (
        result.calibration.num_fake
        + result.calibration.num_real
        + len([s for s in held_out if not s.endswith("#self-blended")])
        == 24
    )  # twins are never fit on


def test_real_only_folders_add_reals(labeled_folder, tmp_path) -> None:
    extra = tmp_path / "extra"
    for i in range(3):
        _write_png(extra / "people" / f"p{i}.jpg", _image(50 + 5 * i, 200 + i))
    result = evaluate(
        [labeled_folder],
        FakeClassifier(),
        EvaluateConfig(frames_per_video=8),
        cache_dir=tmp_path / "cache",
        detector=CentreDetector(),
        face_mesh=NoMesh(),
        real=[extra],
    )
    assert result.overall.video.num_real == 9 + 3
    by = {(b.by, b.name): b for b in result.breakdowns}
    assert by[("dataset", "extra")].pooled == "fakes"
    assert result.data[-1].endswith("extra (real)")
    with pytest.raises(UsageError, match="DATA folder or real"):
        evaluate([], FakeClassifier(), cache_dir=tmp_path / "cache")


def _from_cache(folders: list[Path], tmp_path: Path, **kwargs) -> object:
    """Evaluate from the crop cache `_run` filled: no detector may be created."""
    return evaluate(
        folders,
        FakeClassifier(),
        EvaluateConfig(frames_per_video=8),
        cache_dir=tmp_path / "cache",
        detector=None,
        face_mesh=NoMesh(),
        **kwargs,
    )


def test_labels_come_from_this_discovery_not_the_cache(labeled_folder, tmp_path) -> None:
    _run(labeled_folder, tmp_path)  # fills the cache: dataset 'set', groups 'set:<stem>'
    reals = labeled_folder / "real"
    result = _from_cache(
        [labeled_folder],
        tmp_path,
        real=[reals],
        include=[str(reals / "r0.png"), str(labeled_folder / "fake" / "gan" / "g0.png")],
    )
    datasets = {v.source.rsplit("/", 1)[-1]: v.dataset for v in result.videos}
    # r0.png was discovered first through DATA (dataset 'set'); its cached record agrees
    assert datasets == {"r0.png": "set", "g0.png": "set"}
    only_real = _from_cache([], tmp_path, real=[reals], include=[str(reals / "r0.png")])
    (video,) = only_real.videos
    assert (video.dataset, video.group) == ("real", "real:r0")  # not the cached 'set'


def test_a_cache_filled_through_a_relative_path_serves_the_absolute_one(
    labeled_folder, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(labeled_folder.parent)
    relative = _run(Path(labeled_folder.name), tmp_path)  # records keep the relative path
    absolute = _from_cache([labeled_folder], tmp_path)
    assert len(absolute.videos) == len(relative.videos) > 0
    assert all(Path(v.source).is_absolute() for v in absolute.videos)


def test_reports_without_matplotlib_skip_figures(labeled_folder, tmp_path, monkeypatch) -> None:
    import deepfake_analyzer.training.eval_report as eval_report

    monkeypatch.setattr(eval_report, "figures_available", lambda: False)
    written = write_evaluation_report(_run(labeled_folder, tmp_path), tmp_path / "out")
    assert set(written) == {"json", "html"}
    assert "install matplotlib" in written["html"].read_text()


def test_a_dataset_with_too_few_reals_borrows_every_real() -> None:
    # dfdc: one real (0.9) and fakes 0.5, 0.6; photos: five reals 0.1 .. 0.5
    scored = _scored(
        [0, 1, 1, 0, 0, 0, 0, 0],
        ["d-real", "d-f1", "d-f2", "p1", "p2", "p3", "p4", "p5"],
        [0.9, 0.5, 0.6, 0.1, 0.2, 0.3, 0.4, 0.5],
        datasets=["dfdc"] * 3 + ["photos"] * 5,
    )
    result = evaluate_scores(scored, ModelSpec(name="m"))
    dfdc = next(b for b in result.breakdowns if b.name == "dfdc")
    assert dfdc.pooled == "reals" and dfdc.metrics.video.num_real == 6
    # fake 0.5: beats 4 reals, ties 0.5, loses to 0.9 -> 4.5; fake 0.6: beats 5 -> 5; of 12
    assert dfdc.metrics.video.auc == pytest.approx(9.5 / 12)


def test_progress_hooks_render_stages_and_messages() -> None:
    import io

    from rich.console import Console

    from deepfake_analyzer.cli.dashboard import DashboardHook, LogHook
    from deepfake_analyzer.events import Message, StageProgress

    events = [
        Message("extract", "3 labeled files in 1 folder(s)"),
        StageProgress("a.mp4", "extract", 1, 3),
        StageProgress("a.mp4", "extract", 3, 3),
        Message("b.png", "no face found", level="warning"),
        StageProgress("score", "score", 10, 10),
    ]
    out = io.StringIO()
    with DashboardHook(Console(file=out, force_terminal=True, width=100), transient=False) as bars:
        for event in events:
            bars(event)
    text = out.getvalue()
    assert "no face found" in text and "3/3" in text and "10/10" in text
    log = io.StringIO()
    hook = LogHook(Console(file=log, width=100))
    for event in events:
        hook(event)
    assert "extract: 3/3" in log.getvalue() and "score: 10/10" in log.getvalue()


def test_the_html_report_shows_the_leave_generator_out_table(labeled_folder, tmp_path) -> None:
    from dataclasses import replace

    from deepfake_analyzer.training.eval_report import evaluation_to_html
    from deepfake_analyzer.training.protocol import protocol_table

    result = _run(labeled_folder, tmp_path)
    assert "Leave-generator-out" not in evaluation_to_html(result, {})
    with_table = replace(
        result, protocol=protocol_table(result.videos, fake_threshold=0.7, suspicious_threshold=0.5)
    )
    page = evaluation_to_html(with_table, {})
    assert "Leave-generator-out" in page and "95 % interval" in page
    video = with_table.protocol.row("video")  # type: ignore[union-attr]
    assert f"<td>{video.auc:.3f}</td><td>{video.auc_low:.3f}–{video.auc_high:.3f}</td>" in page


def test_crops_smaller_than_a_two_margin_blend_are_refused(tmp_path: Path) -> None:
    from dataclasses import replace

    from deepfake_analyzer.models.blend import Blend, BlendClassifier, BlendMember

    narrow = FakeClassifier(replace(FAKE_SPEC, input_size=40, crop_margin=1.3))
    blend = BlendClassifier(
        replace(FAKE_SPEC, name="wide", input_size=80, crop_margin=2.6), "b" * 64,
        Blend((BlendMember("n.spec.json", narrow.sha256, 1.0),)), [narrow],
    )  # fmt: skip
    with pytest.raises(UsageError, match="--crop-size 64 is under wide's 80-px crops"):
        evaluate([tmp_path], blend, EvaluateConfig(crop_size=64), cache_dir=tmp_path / "cache")
    with pytest.raises(UsageError, match="DATA"):  # its own size passes the check
        evaluate([], blend, EvaluateConfig(crop_size=80), cache_dir=tmp_path / "cache")
