"""Live streams for tests: a contact detector fed chunk by chunk, a recording's chunks."""

from __future__ import annotations

import os

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
