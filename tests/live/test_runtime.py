"""LiveRuntime: ring buffer, replay control, recording, and the same steps as offline."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from insole.live.runtime import LiveRuntime, ReplayReader, RingBuffer
from insole.session.analysis import SessionAnalysis

REC = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"


@pytest.fixture(scope="module")
def offline() -> SessionAnalysis:
    return SessionAnalysis().run(REC)


def test_ring_buffer_wraps_and_marks_holes() -> None:
    ring = RingBuffer(10, 1)
    ring.write(0, np.arange(6, dtype=float)[:, None])
    ring.write(8, np.array([[8.0], [9.0], [10.0], [11.0]]))  # samples 6, 7 never came
    start, rows = ring.last(10)
    assert start == 2
    np.testing.assert_array_equal(rows[:, 0], [2, 3, 4, 5, np.nan, np.nan, 8, 9, 10, 11])
    ring.write(12, np.arange(12, 37, dtype=float)[:, None])  # longer than the ring
    start, rows = ring.last(4)
    assert start == 33
    np.testing.assert_array_equal(rows[:, 0], [33, 34, 35, 36])
    assert ring.data.shape == (10, 1)  # never reallocated


def test_max_speed_replay_gives_the_offline_steps(offline) -> None:
    rt = LiveRuntime(f"file:{REC}?speed=max").start()
    assert rt.wait_ended(30)
    snap = rt.snapshot()
    rt.stop()
    assert snap.steps_total == len(offline.steps_)
    for side in ("left", "right"):
        # The pipeline's own times (each insole's clock), before left/right alignment.
        want = [r.heel_strike_s for r in offline.records_ if r.side == side]
        got = [s.heel_strike_s for s in rt.steps if s.side == side]
        np.testing.assert_allclose(got, want, atol=1e-9)
        assert snap.sides[side].steps == len(want)
        # every sample the pipeline produced went into the ring buffer
        assert snap.sides[side].samples_buffered == snap.sides[side].samples > 0
    assert snap.frames_lost == offline.summary_["frames_lost"]
    from insole.commands.live import session_summary_of

    live = session_summary_of(rt)  # invariant 1: live == offline
    for key in ("step_count", "steps", "duration_s", "frames_lost", "heel_peak_n",
                "clock_alignment", "flight_time_s"):
        assert live[key] == offline.summary_[key], key
    assert snap.connection == {"ble-left": "ended", "ble-right": "ended"} or all(
        v == "ended" for v in snap.connection.values())


def test_seek_fast_forwards_and_keeps_results(offline) -> None:
    rt = LiveRuntime(f"file:{REC}?speed=1").start()
    time.sleep(0.3)
    rt.seek(18.0)  # restart: bytes before 18 s go through at once
    assert rt.is_replay
    assert rt.wait_ended(10)
    rt.stop()
    assert len(rt.steps) == len(offline.steps_)


def test_pause_and_speed_control_the_replay_clock() -> None:
    rt = LiveRuntime(f"file:{REC}?speed=4").start()
    time.sleep(0.5)
    rt.set_paused(True)
    time.sleep(0.1)
    p0 = rt.snapshot().replay_position_s
    time.sleep(0.4)
    snap = rt.snapshot()
    assert snap.paused
    assert snap.replay_position_s == p0
    rt.set_paused(False)
    rt.set_speed(float("inf"))
    assert rt.wait_ended(10)
    rt.stop()
    assert isinstance(rt.reader, ReplayReader)


def test_records_while_streaming(tmp_path: Path, offline) -> None:
    out = tmp_path / "live.insrec"
    rt = LiveRuntime(f"file:{REC}?speed=max", record=out).start()
    assert rt.snapshot().recording == str(out)
    assert rt.wait_ended(30)
    rt.stop()
    again = SessionAnalysis().run(out)
    assert len(again.steps_) == len(offline.steps_)
    assert again.summary_["frames_lost"] == 0


@pytest.mark.parametrize("after_s", [2.0, 5.0])
def test_a_session_stopped_by_the_user_sums_up_as_its_recording(tmp_path: Path,
                                                                after_s: float) -> None:
    # Stopped within the start-up window (nothing emitted yet) or mid-run with a contact open:
    # the summary holds the steps `insole analyze` finds in the recording of the same bytes.
    # It had said "steps 0" where the recording held 8, and left the last contact out.
    from insole.commands.live import session_summary_of

    out = tmp_path / "live.insrec"
    rt = LiveRuntime("sim:?seed=2", record=out).start()
    time.sleep(after_s)
    rt.stop()
    assert not rt.ended  # stopped, not ended by the source
    live = session_summary_of(rt)
    offline = SessionAnalysis().run(out).summary_
    assert offline["step_count"] > 0
    for key in ("step_count", "steps", "frames_lost", "contacts_cut"):
        assert live[key] == offline[key], key
    rt.stop()  # a second stop changes nothing
    assert session_summary_of(rt)["step_count"] == live["step_count"]
