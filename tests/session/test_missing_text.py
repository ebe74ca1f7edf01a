"""The summary's "s missing" is per insole, not both insoles added up.

A 20 s serial recording with two unplugs of both insoles said "7.2 s missing": each insole
missed 3.6 s of the run. The JSON keeps ``gap_s`` (the sum) and adds ``gap_s_per_side``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from insole.session.analysis import SessionAnalysis
from insole.session.text import print_summary

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _quality_line(summary: dict) -> str:
    out = io.StringIO()
    print_summary(summary, out=out)
    (line,) = [ln for ln in out.getvalue().splitlines() if "data quality" in ln]
    return line


def test_missing_time_is_said_per_insole() -> None:
    s = SessionAnalysis().run(RECORDINGS / "run_forefoot_loss2pct_20s.insrec").summary_
    per = s["gap_s_per_side"]
    assert set(per) == {"left", "right"}
    assert s["gap_s"] == pytest.approx(per["left"] + per["right"], abs=2e-3)
    assert per["left"] > 0
    assert per["right"] > 0
    assert per["left"] != per["right"]
    assert _quality_line(s).endswith(
        f"missing left {per['left']:.1f} s, right {per['right']:.1f} s")


def test_the_same_gap_of_both_insoles_is_said_once() -> None:
    s = SessionAnalysis().run(RECORDINGS / "walk_20s.insrec").summary_
    s = {**s, "gap_s": 7.17, "gap_s_per_side": {"left": 3.57, "right": 3.6}}
    assert _quality_line(s).endswith("3.6 s missing of each insole")
    # One insole only, and a summary from before gap_s_per_side (a saved session): as before.
    assert _quality_line({**s, "gap_s_per_side": {"left": 2.0}}).endswith(", 2.0 s missing")
    old = {k: v for k, v in s.items() if k != "gap_s_per_side"}
    assert _quality_line(old).endswith(", 7.2 s missing")
    assert "missing" not in _quality_line({**s, "gap_s": 0.0, "gap_s_per_side": {}})
