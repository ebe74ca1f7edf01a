"""The one terminal view: status lines, events printed once, the same format everywhere."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from insole.cli import main
from insole.core.alerts import Alert
from insole.live.loadwatch import AlertLog, LoadWatch
from insole.live.terminal import StatusState, TerminalView, event_line, status_line
from insole.session.plain import Profile

REC = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"
STATUS = re.compile(r"^ +\d+\.\d s  steps \d+ · L \d+ · R \d+  cadence ")


def test_an_alert_prints_once_when_it_starts_once_when_it_changes_and_once_when_it_ends() -> None:
    log, out = AlertLog(), io.StringIO()
    view = TerminalView(out)
    a = Alert("caution", "heel_drift", "Left heel peak force is 12 % higher", 130.0, "left")
    lines = []
    for t in range(100, 400):  # 300 status intervals
        if t < 130:
            active = {}
        elif t < 200:
            active = {a.key: a}
        elif t < 250:
            active = {a.key: Alert("warning", "heel_drift", "… 25 % higher", t, "left")}
        else:
            active = {}
        events = log.sync(active, float(t))
        view.show(StatusState(float(t)), events)
        lines += [e.kind for e in events]
    assert lines == ["alert_start", "alert_start", "alert_end"]
    text = out.getvalue()
    assert text.count("caution: Left heel peak force is 12 % higher") == 1
    assert text.count("  ✓ ") == 1
    assert "  !   130.0 s  caution:" in text


def test_bands_once_each_at_the_exact_moment() -> None:
    w = LoadWatch({"duration_s": 100.0, "step_count": 300.0})
    got = []
    for t in range(0, 2500, 7):  # updates of 0.7 s
        got += w.set_time(t / 10)
    assert [c.band for c in got] == [1.1, 1.3, 2.0]
    assert [c.time_s for c in got] == pytest.approx([110.0, 130.0, 200.0], abs=1e-9)
    assert w.progress_text() == "250 % of your longest recent run"  # 249.9 s
    unarmed = LoadWatch({"duration_s": 100.0}, armed=False)
    assert unarmed.set_time(150.0) == []
    assert unarmed.progress_text() == "150 % of your longest recent run"
    assert LoadWatch({}).progress_text() == ""


def test_status_line_in_plain_words_and_body_weights() -> None:
    s = StatusState(61.0, {"left": 28, "right": 27}, 170.4, {"left": 256.0, "right": 258.0},
                    {"left": 951.0, "right": float("nan")}, {"left": 96, "right": 91}, 1, 0,
                    "78 % of your longest recent run")
    line = status_line(s)
    assert line == ("   61.0 s  steps 55 · L 28 · R 27  cadence 170 /min  contact L 256 · R 258 "
                    "ms  heel peak L 951 · R – N  battery L 96 · R 91 %  78 % of your longest "
                    "recent run  frames lost 1 · unreadable 0")
    assert "heel peak L 1.39 · R – BW" in status_line(s, profile=Profile(70.0))


@pytest.mark.parametrize("argv", [
    ["replay", str(REC), "--speed", "max", "--no-gui"],
    ["live", f"file:{REC}?speed=max", "--no-gui"],
])
def test_live_and_replay_print_the_same_view(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    status = [ln for ln in out.splitlines() if STATUS.match(ln)]
    assert status, out
    assert status[-1].startswith("   20.0 s  steps 56 · L 28 · R 28  cadence 16")
    assert status[-1].endswith("frames lost 0 · unreadable 0")


def test_demo_prints_the_same_view(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--duration", "6", "--speed", "max", "--no-gui"]) == 0
    out = capsys.readouterr().out
    assert [ln for ln in out.splitlines() if STATUS.match(ln)], out
    assert "all accounted for" in out


def test_event_lines() -> None:
    from insole.live.loadwatch import WatchEvent

    assert event_line(WatchEvent(12.5, "alert_end", "caution", "x")) == "  ✓    12.5 s  over: x"
    assert event_line(WatchEvent(12.5, "alert_start", "warning", "y")) == (
        "  !    12.5 s  warning: y")


@pytest.mark.parametrize("command", ["replay", "live"])
def test_a_fatigue_run_prints_each_alert_once(tmp_path: Path, command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "fatigue.insrec"
    assert main(["simulate", "--duration", "300", "--fatigue", "30", "--out", str(rec)]) == 0
    capsys.readouterr()
    argv = (["replay", str(rec), "--speed", "max", "--no-gui"] if command == "replay"
            else ["live", f"file:{rec}?speed=max", "--no-gui"])
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    alerts = [ln for ln in lines if ln.startswith("  ! ")]
    assert 2 <= len(alerts) <= 6, alerts  # heel peak / loading rate drift, per side, once each
    messages = [ln.split(" s  ", 1)[1] for ln in alerts]
    assert len(set(messages)) == len(messages)
    assert all("higher than in the first minutes of this run" in m for m in messages)
    assert sum(bool(STATUS.match(ln)) for ln in lines) >= 10
