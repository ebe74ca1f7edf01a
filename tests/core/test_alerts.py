"""AlertMonitor: data loss, disconnects, asymmetry and within-run drift; wording: docs/domain.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_protocol import DecoderStats
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core.alerts import AlertMonitor
from insole.core.pipeline import PipelineUpdate
from insole.live.runtime import LiveRuntime
from insole.session.analysis import SessionAnalysis

FORBIDDEN = ("injur", "fasciitis", "fracture", "you have", "risk of")


def _stats(frames: int, lost: int) -> dict[int, DecoderStats]:
    s = DecoderStats()
    s.frames, s.lost_frames = frames, lost
    return {0: s}


def _feed_steps(monitor: AlertMonitor, path: Path) -> list:
    records = sorted(SessionAnalysis().run(path).records_, key=lambda s: s.toe_off_s)
    new = []
    for step in records:
        new += monitor.feed_update(PipelineUpdate(steps=[step]))
    return new


def test_loss_rate_levels_and_clearing() -> None:
    m = AlertMonitor(loss_window_s=10.0)
    assert m.feed_stats(_stats(0, 0), time_s=0.0) == []
    assert m.feed_stats(_stats(1000, 5), time_s=5.0) == []  # 0.5 %
    new = m.feed_stats(_stats(1100, 15), time_s=6.0)  # 15 / 1115 = 1.3 % over the window
    assert new == []
    new = m.feed_stats(_stats(1200, 60), time_s=7.0)  # 60 / 1260 = 4.8 %
    assert [a.code for a in new] == ["data_loss"]
    assert new[0].level == "caution"
    assert m.feed_stats(_stats(1300, 62), time_s=8.0) == []  # still active: no repeat
    assert ("data_loss", None) in m.active
    new = m.feed_stats(_stats(1400, 300), time_s=9.0)
    assert new[0].level == "warning"
    # 20 s later the window holds only clean frames: the alert clears.
    m.feed_stats(_stats(5000, 300), time_s=25.0)
    m.feed_stats(_stats(6000, 300), time_s=30.0)
    assert ("data_loss", None) not in m.active


def test_disconnect_then_reconnect() -> None:
    m = AlertMonitor()
    new = m.feed_event("disconnected", 1, "sim-ble-right", time_s=3.0)
    assert new[0].code == "disconnected"
    assert new[0].level == "warning"
    assert "sim-ble-right disconnected" in new[0].message
    new = m.feed_event("connected", 1, "sim-ble-right", time_s=5.0, detail={"reconnect": True})
    assert [a.code for a in new] == ["reconnected"]
    assert m.banner() == []


def test_a_disconnect_is_over_when_the_insole_is_back_and_says_so() -> None:
    # The terminal's "over" line of a disconnect read "over: ./pty reconnecting — no data from
    # it until it reconnects" (QA, 2026-12-07): the end of an alert says the insole is back.
    from insole.live.loadwatch import AlertLog
    from insole.live.terminal import event_line

    m, log = AlertMonitor(), AlertLog()
    m.feed_event("disconnected", 0, "./pty", time_s=3.0)
    assert [e.kind for e in log.sync(m.active, 3.0)] == ["alert_start"]
    m.feed_event("reconnecting", 0, "./pty", time_s=3.1)
    assert log.sync(m.active, 3.1) == []  # still the same alert: not over yet
    m.feed_event("connected", 0, "./pty", time_s=4.6, detail={"reconnect": True})
    (end,) = log.sync(m.active, 4.6)
    assert end.kind == "alert_end"
    assert event_line(end) == "  ✓     4.6 s  over: ./pty reconnected, its data flow again"


def test_alert_fires_on_injected_loss_through_the_runtime() -> None:
    rt = LiveRuntime("sim:?seed=4&loss=0.08&duration=12&speed=max")
    rt.start()
    assert rt.wait_ended(30)
    snap = rt.snapshot()
    rt.stop()
    assert snap.frames_lost > 0
    codes = [a.code for a in rt.monitor.history]
    assert "data_loss" in codes
    assert any("Data loss" in a.message for a in snap.alerts)


def test_no_loss_alert_on_a_clean_run() -> None:
    rt = LiveRuntime("sim:?seed=4&duration=12&speed=max").start()
    assert rt.wait_ended(30)
    rt.stop()
    assert rt.monitor.history == []


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("alert-runs")
    out = {}
    for name, kw in {"plain": {}, "fatigue": {"fatigue_pct": 40.0},
                     "asym": {"asymmetry_pct": 40.0}}.items():
        out[name] = d / f"{name}.insrec"
        simulate_to_file(SimulationRequest(duration_s=60, seed=2, **kw), out[name])
    return out


def test_fatigue_run_raises_heel_drift(runs) -> None:
    m = AlertMonitor(baseline_s=20.0)
    new = _feed_steps(m, runs["fatigue"])
    codes = {(a.code, a.side) for a in new}
    assert ("heel_drift", "left") in codes
    assert ("heel_drift", "right") in codes
    assert m.heel_trend_pct("left") > 10.0
    msg = next(a.message for a in new if a.code == "heel_drift")
    assert "higher than in the first minutes of this run" in msg
    assert "not a diagnosis" in msg
    assert not any(word in a.message.lower() for a in new for word in FORBIDDEN)


def test_a_plate_raises_no_heel_or_side_alerts_but_still_watches_loss(runs) -> None:
    # A force plate's steps carry its whole force in the heel fields' place: a fatigue-like
    # rise gave "Left heel peak force is 40 % higher than in the first minutes" on a plate.
    m = AlertMonitor(baseline_s=20.0, plate=True)
    assert _feed_steps(m, runs["fatigue"]) == []
    assert _feed_steps(AlertMonitor(baseline_s=20.0, plate=True), runs["asym"]) == []
    assert m.feed_stats(_stats(0, 0), time_s=70.0) == []
    new = m.feed_stats(_stats(1000, 150), time_s=75.0)
    assert [a.code for a in new] == ["data_loss"]


def test_steady_run_raises_nothing(runs) -> None:
    m = AlertMonitor(baseline_s=20.0)
    assert _feed_steps(m, runs["plain"]) == []
    assert abs(m.heel_trend_pct("left")) < 5.0
    assert abs(m.heel_asymmetry_pct()) < 25.0  # insole sensor spread, not gait


def test_asymmetry_change_during_the_run() -> None:
    from types import SimpleNamespace

    m = AlertMonitor(baseline_s=20.0, asymmetry_steps=4)

    def step(side: str, t: float, heel: float):
        load = SimpleNamespace(heel_peak_n=heel, loading_rate_index=float("nan"))
        return SimpleNamespace(side=side, heel_strike_s=t, toe_off_s=t + 0.25, load=load)

    new = []
    for k in range(80):
        t = 0.36 * k
        right = 1100.0 if t < 20 else 1100.0 * (1 + 0.25 * min(1.0, (t - 20) / 5))
        new += m.feed_update(PipelineUpdate(steps=[step("left", t, 1000.0),
                                                   step("right", t + 0.18, right)]))
    asym = [a for a in new if a.code == "asymmetry"]
    assert asym  # 10 % at the start is this runner's normal; 37 % later is not
    assert asym[0].time_s > 20.0
    assert "more than in the first minutes" in asym[0].message


def test_asymmetric_run_raises_asymmetry(runs) -> None:
    m = AlertMonitor(baseline_s=20.0)
    new = _feed_steps(m, runs["asym"])
    asym = [a for a in new if a.code == "asymmetry"]
    assert asym
    assert "right heel peak" in asym[0].message
    assert m.heel_asymmetry_pct() > 10.0
