"""Live streams for tests: a contact detector fed chunk by chunk, a recording's chunks."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from insole.core.events import Contact, ContactDetector
from insole.recordings.container import read_raw_recording
from insole.sources.readers import Chunk


def recorded_chunks(path: str | os.PathLike[str]) -> list[Chunk]:
    """A recording's chunks in time order, as a replay hands them out (recorded time)."""
    raw = read_raw_recording(path)
    chunks = (Chunk(sid, bytes(data), float(t), float(t))
              for sid, stream in raw.streams.items() for t, data in stream.iter_chunks())
    return sorted(chunks, key=lambda c: c.host_time_s)


def live(
    detector: ContactDetector, chunks: list[np.ndarray]
) -> tuple[list[Contact], list[float], list[float]]:
    """Feed ``chunks`` as a live stream, popping the heel strikes after each: (contacts,
    announced, retracted)."""
    contacts: list[Contact] = []
    early: list[float] = []
    retracted: list[float] = []
    for chunk in [*chunks, None]:
        contacts += detector.feed(chunk) if chunk is not None else detector.finish()
        early += detector.pop_heel_strikes()
        retracted += detector.pop_retracted_heel_strikes()
    return contacts, early, retracted


def live_window(qtbot: Any, rec: str | os.PathLike[str], t_s: float, recent: Any = None) -> Any:
    """A live window on a replay of `rec` (history reference `recent`) whose pipeline has
    processed the chunks recorded up to `t_s`; the test redraws it explicitly."""
    from insole.live.runtime import LiveRuntime
    from insole.live.window import LiveWindow

    rt = LiveRuntime(f"file:{rec}", recent=recent)
    w = LiveWindow(rt, fps=30)
    w.timer.stop()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    rt.process([c for c in recorded_chunks(rec) if c.host_time_s <= t_s])
    w.refresh()
    return w
