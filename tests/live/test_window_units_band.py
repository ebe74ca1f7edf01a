"""The live window says what the terminal says: body weights with a profile, the band it is in.

Two QA findings (real widgets, Qt offscreen):

- with a body mass in the history (``insole profile --mass-kg``) the terminal's status lines
  and the summary give the heel peak in body weights, so the window's metrics must too (heel
  peak ``1.42 BW``, heel load ``… BW·s``, a plate's peak force ``… BW``); counts stay counts;
- a run above a "too much, too soon" band of its recent runs must not read as an all-clear
  ("No alerts — heel load and data quality within this run's limits") once the crossing's
  announcement (`BAND_BANNER_S`) has left the banner: the banner keeps a steady line saying
  which band the run is above.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyqtgraph")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from helpers_history import simulated_run  # noqa: E402  (tests/ is on the path)
from helpers_live import live_window  # noqa: E402
from helpers_plate import plate_recording  # noqa: E402

from insole.cli import main  # noqa: E402
from insole.live.loadwatch import RecentMax  # noqa: E402
from insole.live.terminal import state_from_snapshot, status_line  # noqa: E402
from insole.session.analysis import SessionAnalysis  # noqa: E402
from insole.session.history import HistoryDB  # noqa: E402
from insole.session.plain import Profile, fmt_value  # noqa: E402

REC_N = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"
#: A newton in a text: "815 N", "1,071 N·s", "N/s" (not "No alerts", not "BW").
NEWTON = re.compile(r"\d N\b|\bN·s|\bN/s")
#: Start of the run of the end-to-end test; the history's sessions are days before it.
RUN_START = datetime.fromisoformat("2026-11-20T07:30:00+01:00")
#: Days before the run of the history's sessions (armed: ≥ 30 days, ≥ 4 sessions).
DAYS = (34, 28, 22, 16, 10, 4)
#: The longest run of the last 30 days [s]; the run lasts 1.5 times as long (warning band).
LONGEST_S = 20.0


def _metric(w: Any, name: str) -> list[str]:
    """The values of one row of the metrics panel."""
    row = re.search(rf"<td>{re.escape(name)}</td>(.*?)</tr>", w.metrics.text())
    assert row is not None, w.metrics.text()
    return re.findall(r"<b>(.*?)</b>", row.group(1))


# -- units ----------------------------------------------------------------------------------------


def test_window_loads_are_in_body_weights_as_the_status_line(qtbot) -> None:
    profile = Profile(72.0)
    w = live_window(qtbot, REC_N, 15.0, RecentMax(profile=profile))
    snap = w._snap
    left, right = snap.sides["left"], snap.sides["right"]
    peaks = _metric(w, "heel peak (last)")
    loads = _metric(w, "heel load so far")
    assert peaks == [fmt_value("heel_peak_n", v.heel_peak_n, profile) for v in (left, right)]
    assert loads == [fmt_value("heel_impulse_ns", v.heel_impulse_ns, profile)
                     for v in (left, right)]
    assert all(re.fullmatch(r"\d\.\d\d BW", v) for v in peaks), peaks
    assert all(re.fullmatch(r"\d+\.\d BW·s", v) for v in loads), loads
    # the same numbers as the terminal's status line of the same snapshot
    line = status_line(state_from_snapshot(snap), profile=profile)
    heel = re.search(r"heel peak L (\S+) · R (\S+) BW", line)
    assert heel is not None, line
    assert peaks == [f"{heel.group(1)} BW", f"{heel.group(2)} BW"]
    assert NEWTON.search(w.metrics.text()) is None, w.metrics.text()
    # without a profile the same window stays in newtons
    plain = live_window(qtbot, REC_N, 15.0, RecentMax())
    assert all(v.endswith(" N") for v in _metric(plain, "heel peak (last)"))
    assert all(v.endswith(" N·s") for v in _metric(plain, "heel load so far"))
    assert "BW" not in plain.metrics.text()


def test_plate_peak_force_is_in_body_weights_as_its_status_line(qtbot, tmp_path: Path) -> None:
    rec = plate_recording(tmp_path)
    profile = Profile(72.0)
    w = live_window(qtbot, rec, 10.0, RecentMax(profile=profile))
    (value,) = _metric(w, "peak force (last)")
    line = status_line(state_from_snapshot(w._snap), profile=profile)
    force = re.search(r"peak force (\S+ BW)", line)
    assert force is not None, line
    assert value == force.group(1)
    assert NEWTON.search(w.metrics.text()) is None, w.metrics.text()


# -- the band the run is above --------------------------------------------------------------------


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A history (armed; longest recent run 20 s; body mass 72 kg) and a 30 s run (1.5×)."""
    tmp = tmp_path_factory.mktemp("band")
    db_path = tmp / "h.sqlite3"
    analyses = {}
    for name, dur, seed in (("long", LONGEST_S, 11), ("short", 15.0, 12)):
        rec = simulated_run(tmp, name, RUN_START.isoformat(), seconds=dur, seed=seed)
        analyses[name] = (rec, SessionAnalysis().run(rec))
    with HistoryDB(db_path) as db:
        for i, days in enumerate(DAYS):
            rec, a = analyses["long" if days in (22, 4) else "short"]
            summary = dict(a.summary_, start=(RUN_START - timedelta(days=days)).isoformat())
            copy = tmp / f"s{i}.insrec"
            shutil.copy(rec, copy)
            db.save_session(summary, a.steps_, recording_path=copy,
                            recording_sha256=f"{i:064x}")
    assert main(["profile", "--mass-kg", "72", "--db", str(db_path)]) == 0
    run = simulated_run(tmp, "run", RUN_START.isoformat(), seconds=1.5 * LONGEST_S, seed=13)
    return db_path, run


def test_replay_window_above_the_warning_band_never_says_no_alerts(
    history: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``insole replay RUN --db H --screenshot PNG``: the QA tester's command, in process."""
    from insole.live import window

    db_path, run = history
    # the 1.3× crossing (at about 26 s) is announced for 2 s; the run ends at 30 s
    monkeypatch.setattr(window, "BAND_BANNER_S", 2.0)
    seen: dict[str, str] = {}
    original = window.LiveWindow.save_screenshot

    def shot(self: Any, path: Any) -> Any:
        image = original(self, path)
        seen.update(banner=self.banner.text(), style=self.banner.styleSheet(),
                    metrics=self.metrics.text(), now=f"{self._snap.now_s:.1f}")
        return image

    monkeypatch.setattr(window.LiveWindow, "save_screenshot", shot)
    png = tmp_path / "band.png"
    capsys.readouterr()
    assert main(["replay", str(run), "--speed", "max", "--db", str(db_path),
                 "--screenshot", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 0
    assert float(seen["now"]) == pytest.approx(1.5 * LONGEST_S, abs=0.5)
    banner = seen["banner"]
    assert not banner.startswith("No alerts"), banner
    assert "within this run's limits" not in banner
    crossed = re.match(r"Above the warning band since (\d+\.\d) s: past 1\.3× your longest "
                       r"run of the last 30 days — higher than your recent normal \(an "
                       r"association in a study of runners, not a diagnosis\)", banner)
    assert crossed is not None, banner
    assert 1.3 * LONGEST_S - 2.0 <= float(crossed.group(1)) <= 1.3 * LONGEST_S + 0.5
    assert window._BAND_COLOURS["warning"] in seen["style"]
    # the panel agrees: about 150 % of the longest recent run
    assert re.search(r"\b1[45]\d % of your longest recent run", seen["metrics"]), seen["metrics"]
    # and the loads are in body weights, as the summary printed after the window says them
    assert " BW" in out
    assert re.search(r"<td>heel peak \(last\)</td><td align='right'><b>\d\.\d\d BW</b>",
                     seen["metrics"]), seen["metrics"]
    assert NEWTON.search(seen["metrics"]) is None, seen["metrics"]


def test_steady_band_line_of_a_heel_load_crossing_keeps_its_caveat() -> None:
    """Heel load announces a band alone only without steps or duration in the history."""
    from insole.live.loadwatch import BandCrossing, WatchEvent
    from insole.live.window import band_state_text

    c = BandCrossing(1.1, "caution", 42.0, {"heel_impulse_ns": 1.12})
    line = band_state_text(WatchEvent(c.time_s, "band", c.level, c.sentence(), "spike"))
    assert line == ("Above the caution band since 42.0 s: past 1.1× your largest heel load of "
                    "the last 30 days — higher than your recent normal (an association in a "
                    "study of runners, not a diagnosis; heel load is experimental)")
