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


def test_dashboard_shows_rate_eta_faces_and_track_scores() -> None:
    clock = FakeClock()
    hook = DashboardHook(console(), clock=clock)
    hook(FileStarted("clips/a.mp4", 1, 3))
    hook(StageProgress("clips/a.mp4", "decode", 0, 20))
    clock.now += 2.0
    hook(StageProgress("clips/a.mp4", "decode", 10, 20))
    hook(TrackUpdate("clips/a.mp4", faces_found=12, track_scores={1: 0.12, 2: 0.91}))
    text = render_text(hook)
    assert "files 0/3" in text
    assert "a.mp4: decode 10/20 (5.0/s, ETA 2.0s)" in text
    assert "faces 12" in text and "tracks 2" in text
    assert "0.910" in text and "0.120" in text


def test_dashboard_counts_finished_files_and_prints_verdict_lines() -> None:
    clock = FakeClock()
    screen = console()
    hook = DashboardHook(screen, clock=clock)
    hook(FileStarted("a.mp4", 1, 2))
    clock.now += 3.0
    hook(FileFinished("a.mp4", "fake", 0.93, report_paths=("out/a.report.json",)))
    hook(FileStarted("b.png", 2, 2))
    hook(FileFinished("b.png", None, None, error="is empty (0 bytes)"))
    assert "files 2/2" in render_text(hook)
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
