"""Loading recordings: reconnects end cut frames; host times map to the right chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_protocol import SamplesFrame, Side, to_wire
from insole.recordings.container import RecordingWriter
from insole.recordings.loader import load_recording
from insole.session.analysis import SessionAnalysis


def _frame(seq: int) -> bytes:
    counts = np.full((6, 4), 100 + seq, np.uint16)
    return to_wire(SamplesFrame(7, Side.LEFT, seq, seq * 30_000, 200, counts))


def _header() -> dict:
    return {
        "source": "test",
        "streams": [{"stream_id": 0, "transport": "ble", "label": "left"}],
        "devices": [],
    }


def test_reconnect_event_ends_a_cut_frame(tmp_path: Path) -> None:
    path = tmp_path / "cut.insrec"
    with RecordingWriter(path, _header()) as w:
        w.write_chunk(0, _frame(0) + _frame(1), host_time_s=0.1)
        w.write_chunk(0, _frame(2)[:9], host_time_s=0.2)  # the link drops mid-frame
        w.write_event("disconnect", stream_id=0, host_time_s=0.25)
        w.write_event("reconnect", stream_id=0, host_time_s=0.9)
        w.write_chunk(0, _frame(5) + _frame(6), host_time_s=1.0)
    rec = load_recording(path)
    dev = rec.side("left")
    # Frames 2 (cut), 3 and 4 are lost; 5 and 6 arrive intact instead of merging with the cut.
    assert rec.frames_lost == 3
    assert dev.frames == 4
    assert rec.counter("cobs_errors") + rec.counter("crc_errors") == 1
    # Samples of frames 5 and 6 carry the host time of the chunk after the reconnect.
    assert np.allclose(dev.host_time_s[-12:], 1.0)
    assert np.allclose(dev.host_time_s[:12], 0.1)
    assert SessionAnalysis().run(path).summary_["frames_lost"] == 3
