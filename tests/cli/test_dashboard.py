"""Dashboard and log hooks render events; tested on a StringIO console with a fake clock."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from deepfake_analyzer.cli.dashboard import (
    DashboardHook,
    LogHook,
    SummaryRow,
    result_line,
    summary_table,
)
from deepfake_analyzer.events import (
    FileFinished,
    FileStarted,
    Message,
    StageProgress,
    TrackUpdate,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def console() -> Console:
    return Console(file=StringIO(), width=120, force_terminal=False, color_system=None)


def render_text(hook: DashboardHook) -> str:
    out = console()
    out.print(hook.render())
    return out.file.getvalue()


def test_dashboard_shows_bar_stage_steady_rate_eta_faces_and_track_scores() -> None:
    clock = FakeClock()
    hook = DashboardHook(console(), clock=clock)
    hook(FileStarted("clips/a.mp4", 1, 3))
    text = render_text(hook)
    assert "[1/3] a.mp4  opening" in text and "0 frames (-- frames/s)" in text
    for frame in range(1, 9):  # the decode-ahead queue: 8 frames at once
        hook(StageProgress("clips/a.mp4", "decode", frame, 60))
    assert "(-- frames/s)" in render_text(hook), "no rate from a burst"
    for second in range(1, 8):  # then a steady 5 frames/s
        clock.now = 100.0 + second
        hook(StageProgress("clips/a.mp4", "decode", 8 + 5 * second, 60))
    hook(StageProgress("clips/a.mp4", "classify", 16, 28))
    hook(TrackUpdate("clips/a.mp4", faces_found=12, track_scores={1: 0.12, 2: 0.91}))
    text = render_text(hook)
    assert "files done 0/3" in text
    assert "[1/3] a.mp4  classify" in text
    assert "43/60 frames (6.0 frames/s, ETA 3s)" in text  # 42 frames in 7 s
    assert "━" in text, "a progress bar"
    assert "faces scored 16, tracks 2" in text
    assert "0.910" in text and "0.120" in text


def test_rate_survives_a_pause_for_a_classifier_batch() -> None:
    clock = FakeClock()
    hook = DashboardHook(console(), clock=clock)
    hook(FileStarted("a.mp4", 1, 1))
    for second in range(6):  # 4 frames/s
        clock.now = 100.0 + second
        hook(StageProgress("a.mp4", "decode", 4 * second, 100))
    clock.now += 6.0  # a 6 s classifier batch, then the next frame
    hook(StageProgress("a.mp4", "classify", 16, 16))
    hook(StageProgress("a.mp4", "decode", 21, 100))
    assert "21/100 frames (1.9 frames/s" in render_text(hook), "slowed, not unknown"


def test_file_counter_moves_with_each_verdict() -> None:
    hook = DashboardHook(console(), clock=FakeClock())
    hook(FileStarted("a.mp4", 1, 3))
    hook(FileFinished("a.mp4", "real", 0.1))
    text = render_text(hook)
    assert "files done 1/3" in text and "a.mp4" not in text, "no stale file line"
    hook(FileStarted("b.mp4", 2, 3))
    assert "[2/3] b.mp4" in render_text(hook)


def test_dashboard_counts_finished_files_and_prints_verdict_lines() -> None:
    clock = FakeClock()
    screen = console()
    hook = DashboardHook(screen, clock=clock)
    hook(FileStarted("a.mp4", 1, 2))
    clock.now += 3.0
    hook(FileFinished("a.mp4", "fake", 0.93, report_paths=("out/a.report.json",)))
    hook(FileStarted("b.png", 2, 2))
    hook(FileFinished("b.png", None, None, error="is empty (0 bytes)"))
    assert "files done 2/2" in render_text(hook)
    printed = screen.file.getvalue()
    assert "fake (score 0.930): a.mp4 -> out/a.report.json" in printed
    assert "FAILED b.png: is empty (0 bytes)" in printed
    rows = hook.progress.rows
    assert [(r.verdict, r.seconds) for r in rows] == [("fake", 3.0), ("failed", 0.0)]


def test_log_hook_prints_plain_lines() -> None:
    screen = console()
    hook = LogHook(screen, clock=FakeClock())
    hook(FileStarted("a.mp4", 1, 1))
    hook(Message("a.mp4", "decoded 12 of ~20 frames", level="warning"))
    hook(FileFinished("a.mp4", "real", 0.1))
    lines = screen.file.getvalue().splitlines()
    assert lines == [
        "[1/1] analyzing a.mp4",
        "  warning: decoded 12 of ~20 frames",
        "  real (score 0.100): a.mp4",
    ]


def test_summary_table_lists_every_file() -> None:
    out = console()
    out.print(
        summary_table(
            [
                SummaryRow("a.mp4", "fake", 0.9, 1.5),
                SummaryRow("b.mp4", "failed", None, 0.1, error="corrupt"),
            ]
        )
    )
    text = out.file.getvalue()
    assert "a.mp4" in text and "0.900" in text and "corrupt" in text and "failed" in text


def test_quiet_result_line_has_four_fields_and_one_line() -> None:
    no_face = FileFinished("dir/odd\tname\n.png", "no-face", None)
    assert result_line(no_face) == "no-face\t-\tdir/odd\\tname\\n.png\t-"
    done = FileFinished(
        "a.mp4", "fake", 0.91234, report_paths=("o/a.report.csv", "o/a.report.json")
    )
    assert result_line(done) == "fake\t0.9123\ta.mp4\to/a.report.json"


def test_summary_table_shows_similar_long_names_whole() -> None:
    names = [f"clips/interview_with_the_candidate_for_the_position_take_{i}.mp4" for i in (1, 2)]
    out = Console(file=StringIO(), width=60, color_system=None)
    out.print(summary_table([SummaryRow(name, "real", 0.1, 1.0) for name in names]))
    text = out.file.getvalue()
    assert "…" not in text
    column = "".join(
        line.split("│")[1].strip() for line in text.splitlines() if line.count("│") > 2
    )
    for name in names:
        assert name.removeprefix("clips/") in column
    assert "(clips/)" in text, "the shared folder is named once, in the title"
