"""Feeding a contact detector as a live stream (shared by the detector's test modules)."""

from __future__ import annotations

import numpy as np

from insole.core.events import Contact, ContactDetector


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
