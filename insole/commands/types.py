"""Argument types shared by the ``insole`` subcommands: each rejects bad values in one line."""

from __future__ import annotations

import argparse
from datetime import datetime

__all__ = [
    "fraction",
    "import_rate",
    "iso_time",
    "non_negative_float",
    "positive_float",
    "sample_rate",
    "speed",
]


def _number(text: str, what: str = "a number") -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_float(text: str) -> float:
    """A number greater than 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A number of 0 or more."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def fraction(text: str) -> float:
    """A fraction in [0, 1), such as 0.02 for 2 %."""
    value = _number(text, "a fraction such as 0.02")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), e.g. 0.02 for 2 %, got {text}")
    return value


def sample_rate(text: str) -> int:
    """A whole number of Hz in 10..2000."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of Hz, got {text!r}") from None
    if not 10 <= value <= 2000:
        raise argparse.ArgumentTypeError(f"must be 10..2000 Hz, got {value}")
    return value


def import_rate(text: str) -> float:
    """The sampling rate of imported data: a number of Hz in 1..10000, fractions allowed.

    Below 1 Hz no step is resolved (a contact lasts 0.15-0.8 s): such a value is a slip, e.g.
    a sample period given instead of a rate. Above 10000 Hz the wire protocol cannot carry it
    (``firmware_protocol/SPEC.md``). The bounds are `insole.sources.importers.MIN_SAMPLE_RATE_HZ`
    and `insole.sources.importers.MAX_SAMPLE_RATE_HZ`.
    """
    from insole.sources.importers import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ

    value = _number(text, "a sampling rate in Hz such as 300")
    if not MIN_SAMPLE_RATE_HZ <= value <= MAX_SAMPLE_RATE_HZ:
        raise argparse.ArgumentTypeError(
            f"must be {MIN_SAMPLE_RATE_HZ:g}..{MAX_SAMPLE_RATE_HZ:g} Hz (samples per second, "
            f"not the time between samples), got {text}"
        )
    return value


def iso_time(text: str) -> datetime:
    """An ISO 8601 time; without a UTC offset it is taken in the local time zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-05-01T07:30:00+02:00, got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # local time zone, as a runner would mean it
    return value


def speed(text: str) -> float:
    """A pace factor greater than 0, or ``max`` (as fast as possible: ``inf``)."""
    if text == "max":
        return float("inf")
    value = _number(text, "a factor such as 2 or 'max'")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0 or 'max', got {text}")
    return value
