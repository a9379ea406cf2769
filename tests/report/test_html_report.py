"""The HTML report is one self-contained, escaped file with charts, crops and tables."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from deepfake_analyzer.report.html_report import (
    nice_ticks,
    pick_thumbnails,
    report_to_html,
    score_meaning,
    timeline_svg,
)
from deepfake_analyzer.report.types import Report, Thumbnail

MALICIOUS = 'evil"><script>alert(1)</script><img src=x onerror=alert(2)>.mp4'


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append((tag, dict(attrs)))


def parse(text: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(text)
    return collector.tags


def test_self_contained_no_external_references(video_report: Report) -> None:
    text = report_to_html(video_report)
    tags = parse(text)
    for tag, attrs in tags:
        for name in ("src", "href", "xlink:href", "action"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
            if name == "src" and name in attrs:
                assert value.startswith("data:image/"), (tag, value)
    assert "http://" not in text and "https://" not in text
    assert not any(tag in ("script", "link", "iframe") for tag, _ in tags)
    assert "Content-Security-Policy" in text


def test_has_banner_charts_thresholds_and_segments(video_report: Report) -> None:
    text = report_to_html(video_report)
    assert text.count('class="timeline"') == 2  # one timeline per track
    assert "suspicious 0.50" in text and "fake 0.70" in text  # threshold lines
    assert "time (s)" in text and ">1 s<" in text  # axis labelled in seconds
    assert text.count('fill-opacity="0.13"') == 1  # one shaded segment (track 1)
    assert "#c62828" in text.split('class="banner"')[1][:40]  # red banner for fake
    assert "Score 0.925: at or above the fake threshold (0.70)." in text
    assert "track 1, the most suspicious person" in text


@pytest.mark.parametrize(
    "score, words",
    [
        (0.56, "Score 0.560: below the suspicious threshold (0.60; fake from 0.80)."),
        (0.65, "at or above the suspicious threshold (0.60), below the fake threshold (0.80)"),
        (0.80, "Score 0.800: at or above the fake threshold (0.80)."),
    ],
)
def test_banner_reads_the_score_against_the_thresholds(score: float, words: str) -> None:
    assert words in score_meaning(score, 0.6, 0.8)


def test_real_banner_does_not_call_its_score_a_probability_of_manipulation(make_report) -> None:
    from deepfake_analyzer.report.types import Verdict

    text = report_to_html(make_report(verdict=Verdict("real", 0.45)))
    banner = text.split('class="banner"')[1].split("</section>")[0]
    assert "probability of manipulation" not in banner
    assert "below the suspicious threshold (0.50" in banner
    assert 'class="gauge"' in banner


def test_charts_fill_their_card_and_crop_cards_wrap(video_report: Report) -> None:
    text = report_to_html(video_report)
    svgs = [a for t, a in parse(text) if t == "svg" and "timeline" in (a.get("class") or "")]
    assert len(svgs) == 2 and all("width" not in a for a in svgs), "sized by CSS: 100%"
    assert "svg.timeline{width:100%" in text
    assert "width:min-content" in text.split("figure{", 1)[1].split("}", 1)[0]


def test_training_metrics_are_a_table_not_raw_json(make_report) -> None:
    from dataclasses import replace

    report = make_report()
    metrics = {"frame": {"auc": 0.84, "eer": 0.23}, "data": ["a", "b"]}
    report = replace(report, model=replace(report.model, provenance={"metrics": metrics}))
    text = report_to_html(report)
    section = text.split("<h2>Model</h2>", 1)[1].split("<h2>", 1)[0]
    assert '<table class="sub">' in section
    assert "<th>auc</th><td>0.84</td>" in section and "a, b" in section
    assert "{&quot;" not in section, "no JSON dump"


def test_thumbnails_with_heatmap_and_captions(video_report: Report) -> None:
    text = report_to_html(video_report)
    imgs = [a for t, a in parse(text) if t == "img"]
    assert len(imgs) == 4  # 3 crops + 1 Grad-CAM heatmap
    first = video_report.thumbnails[0]
    assert base64.b64encode(first.jpeg).decode() in text
    assert base64.b64encode(first.heatmap_jpeg or b"").decode() in text
    assert "track 1 &middot; 1.50 s &middot; frame 3 &middot; score 0.950" in text
    assert "Grad-CAM" in text
    # 3 crops: the two fake ones are "most", the real one is "least" suspicious.
    least = text.index("Least suspicious")
    assert text.index("&middot; score 0.950") < least < text.index("&middot; score 0.080")


def test_tables_model_timings_and_messages(video_report: Report) -> None:
    text = report_to_html(video_report)
    assert "test-xception" in text and "ab" * 32 in text
    assert "synthetic blends" in text  # provenance
    assert "classify" in text and "1.250 s" in text
    assert "truncated file" in text and "track 7 was short" in text
    assert "1.00&ndash;2.00 s (peak 0.95 at 1.50 s)" in text


def test_malicious_file_name_is_escaped(make_report) -> None:
    text = report_to_html(
        make_report(path=MALICIOUS, errors=("<b>bad</b>",), options={"<x>": "<y>"})
    )
    assert "<script>" not in text
    assert "onerror=alert" not in text.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>bad</b>" not in text and "&lt;b&gt;bad&lt;/b&gt;" in text
    assert not any(tag == "script" for tag, _ in parse(text))
    assert [t for t, _ in parse(text)].count("img") == 4


def test_undecodable_file_name_bytes_do_not_crash(make_report) -> None:
    text = report_to_html(make_report(path="clip\udcff.mp4"))
    assert "clip\ufffd.mp4" in text
    text.encode("utf-8")


def test_image_shows_each_face_with_its_score_not_a_timeline(
    image_report: Report, video_report: Report
) -> None:
    from dataclasses import replace

    crop = video_report.thumbnails[0].jpeg
    image_report = replace(image_report, thumbnails=(Thumbnail(0, 0, 0.0, 0.62, crop),))
    text = report_to_html(image_report)
    assert "<h2>Timelines</h2>" not in text and "<circle" not in text
    faces = text.split("<h2>Faces</h2>", 1)[1].split("<h2>", 1)[0]
    assert base64.b64encode(crop).decode() in faces
    assert "Score 0.620: at or above the suspicious threshold (0.50)" in faces
    assert text.count(base64.b64encode(crop).decode()) == 1, "no second crops section"
    assert "#e08600" in text.split('class="banner"')[1][:40]  # amber: suspicious


def test_no_face_report(no_face_report: Report) -> None:
    text = report_to_html(no_face_report)
    assert "<svg" not in text
    assert "No face was found in 1 sampled frame" in text
    assert "no-face" in text and "#616161" in text


def test_nice_ticks() -> None:
    assert nice_ticks(3.2) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert nice_ticks(60) == [0, 10, 20, 30, 40, 50, 60]
    assert nice_ticks(0) == [0.0]


def test_timeline_breaks_line_at_gaps(make_report) -> None:
    track = make_report().tracks[1]
    assert timeline_svg(track, 3.2, 0.5, 0.7).count("<polyline") == 1
    from dataclasses import replace

    from deepfake_analyzer.report.types import TrackPoint

    gappy = replace(
        track,
        timeline=(*track.timeline, TrackPoint(40, 20.0, 0.1), TrackPoint(41, 20.5, 0.1)),
    )
    assert timeline_svg(gappy, 21.0, 0.5, 0.7).count("<polyline") == 2


@pytest.mark.parametrize("count", [0, 1, 5, 10])
def test_pick_thumbnails_most_and_least_are_disjoint(count: int) -> None:
    thumbs = tuple(Thumbnail(0, i, i * 0.5, i / 10, b"x") for i in range(count))
    most, least = pick_thumbnails(thumbs, per_group=4)
    n_most = min(4, (count + 1) // 2)
    assert [t.score for t in most] == sorted((t.score for t in thumbs), reverse=True)[:n_most]
    assert len(least) == min(4, count - n_most)
    assert not set(map(id, most)) & set(map(id, least))
    if count >= 8:
        assert [t.score for t in least] == [0.0, 0.1, 0.2, 0.3]


def test_banner_names_the_track_scoring_chose_on_a_tie(make_report) -> None:
    from deepfake_analyzer.models.spec import Thresholds
    from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate

    # Both tracks score 0.9; scoring's tie rule picks the one with more faces (track 1).
    few = [FaceScore(i, i * 0.5, 0, s) for i, s in enumerate([0.9, 0.1, 0.1, 0.1])]
    many = [FaceScore(i, i * 0.5, 1, s) for i, s in enumerate([0.9, 0.9] + [0.1] * 6)]
    agg = aggregate(few + many, Thresholds(suspicious=0.5, fake=0.7))
    assert [t.verdict for t in agg.tracks] == [agg.verdict, agg.verdict]
    text = report_to_html(make_report(verdict=agg.verdict, tracks=agg.tracks))
    assert "track 1, the most suspicious person" in text


def test_a_model_summary_without_thresholds_is_refused() -> None:
    from deepfake_analyzer.report.types import ModelSummary

    with pytest.raises(ValueError, match="fake threshold"):
        ModelSummary("m", "", 299, {"suspicious": 0.5})


def test_a_blends_member_evidence_is_a_line_per_track_and_round_trips(
    video_report: Report, image_report: Report, tmp_path
) -> None:
    from dataclasses import replace

    from deepfake_analyzer.report.json_report import read_json, write_json

    members = (("deepfake_xception", -0.04), ("texture_v1", 0.33))
    assert "Model members" not in report_to_html(video_report)  # a single model: no line
    tracks = tuple(replace(t, members=members) for t in video_report.tracks)
    frames = tuple(
        replace(fr, faces=tuple(replace(f, members=members) for f in fr.faces))
        for fr in video_report.frames
    )
    blended = replace(video_report, tracks=tracks, frames=frames)
    text = report_to_html(blended)
    assert text.count('class="members"') == len(tracks)
    assert "deepfake_xception <b>-0.04</b>" in text and "texture_v1 <b>+0.33</b>" in text
    back = read_json(write_json(blended, tmp_path / "r.json"))
    assert [t.members for t in back.tracks] == [members] * len(tracks)
    assert back.frames == blended.frames
    image = replace(
        image_report, tracks=tuple(replace(t, members=members) for t in image_report.tracks)
    )
    faces = report_to_html(image).split("<h2>Faces</h2>", 1)[1]
    assert faces.count('class="members"') == len(image.tracks)


def test_a_verdict_over_several_faces_reads_its_raised_thresholds(make_report) -> None:
    from deepfake_analyzer.report.types import RaisedThresholds, Verdict

    raised = RaisedThresholds(faces=2, suspicious=0.62, fake=0.95)
    text = report_to_html(make_report(verdict=Verdict("suspicious", 0.925, 1, raised)))
    banner = text.split('class="banner"')[1].split("</section>")[0]
    assert "the suspicious threshold (0.62), below the fake threshold (0.95)" in banner
    assert "With 2 faces to choose from" in banner and "(0.50, 0.70)" in banner
