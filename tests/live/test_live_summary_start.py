"""The summary of a live session says when it started, as analyze and replay do.

A ``sim:`` source has no start time of its own: the summary said only "session summary, 11 s".
"""

from __future__ import annotations

from datetime import datetime

import pytest

from insole.cli import main
from insole.session.plain import fmt_start


def test_a_live_summary_is_dated(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now().astimezone()
    assert main(["live", "sim:?seed=2", "--no-gui", "--exit-after", "1"]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("session summary")]
    day = fmt_start(before.isoformat()).split(",")[0]  # "Mon 7 Dec 2026"
    assert line.startswith(f"session summary — {day}, "), line
