"""Argument types shared by the ``insole`` subcommands: each rejects bad values in one line.

argparse puts the option's name in front of the message (``argument --seed: must be ...``).
The simulator's ranges come from `insole.sources.sim.limits` (which ``sim:`` URLs share).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from insole.sources.sim import limits

__all__ = [
    "drift_ppm",
    "fraction",
    "gait_value",
    "garbage_per_min",
    "import_rate",
    "input_path",
    "iso_time",
    "non_negative_float",
    "output_file",
    "positive_float",
    "sample_rate",
    "seed",
    "sensors",
    "sim_duration",
    "speed",
    "stand_duration",
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


def _whole(text: str, low: int, high: int, unit: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number{unit and ' of ' + unit}, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {low}..{high}{unit and ' ' + unit}, got {value}")
    return value


def sample_rate(text: str) -> int:
    """A whole number of Hz in 10..2000 (`insole.sources.sim.limits`)."""
    return _whole(text, limits.MIN_RATE_HZ, limits.MAX_RATE_HZ, "Hz")


def seed(text: str) -> int:
    """A random seed: a whole number in 0 .. 2**32 - 1."""
    return _whole(text, 0, limits.MAX_SEED, "")


def sensors(text: str) -> int:
    """Sensors per simulated insole: 4..64."""
    return _whole(text, limits.MIN_SENSORS, limits.MAX_SENSORS, "sensors per insole")


def _finite(text: str, what: str = "a number") -> float:
    value = _number(text, what)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _in_range(text: str, what: str, low: float, high: float, *, low_open: bool = False,
              span: str = "", finite: bool = False) -> float:
    """``text`` as a number in [low, high] (``(low, high]`` with ``low_open``), or the error.

    Infinity and NaN fail the range, or with ``finite`` are refused as not finite first.
    """
    value = _finite(text, what) if finite else _number(text, what)
    if not ((low < value) if low_open else (low <= value)) or not value <= high:
        raise argparse.ArgumentTypeError(f"must be {span or f'{low:g}..{high:g}'}, got {text}")
    return value


def sim_duration(text: str) -> float:
    """Seconds to simulate: more than 0, at most a week (`limits.MAX_DURATION_S`)."""
    return _in_range(text, "a number of seconds", 0.0, limits.MAX_DURATION_S, low_open=True,
                     span=f"greater than 0 and at most {limits.MAX_DURATION_S:g} s (a week)")


def stand_duration(text: str) -> float:
    """Seconds of standing before the gait: 0 up to a week."""
    return _in_range(text, "a number of seconds", 0.0, limits.MAX_DURATION_S,
                     span=f"0..{limits.MAX_DURATION_S:g} s (at most a week)")


def drift_ppm(text: str) -> float:
    """Right-vs-left clock drift in ppm, within ±1000 (`limits.MAX_DRIFT_PPM`)."""
    m = limits.MAX_DRIFT_PPM
    return _in_range(text, "a number of ppm", -m, m, finite=True,
                     span=f"-{m:g}..{m:g} ppm (Bluetooth allows each insole's clock ±500 ppm)")


def garbage_per_min(text: str) -> float:
    """Garbage insertions per minute per stream: 0..60 (`limits.MAX_GARBAGE_PER_MIN`)."""
    return _in_range(text, "a number per minute", 0.0, limits.MAX_GARBAGE_PER_MIN,
                     span=f"0..{limits.MAX_GARBAGE_PER_MIN:g} insertions per minute")


#: The unit of each gait parameter in messages.
_GAIT_UNITS = {"cadence_spm": " steps/min", "speed_mps": " m/s", "body_mass_kg": " kg",
               "asymmetry_pct": " %", "fatigue_pct": " %"}


def gait_value(name: str) -> Callable[[str], float]:
    """The type of an option setting `GaitConfig`'s parameter `name` (its `limits.GAIT_LIMITS`).

    Parameters
    ----------
    name : str
        A key of `insole.sources.sim.limits.GAIT_LIMITS`, e.g. ``"cadence_spm"``.

    Returns
    -------
    callable
        ``str -> float``, raising `argparse.ArgumentTypeError` with the range.
    """
    low, high, low_included = limits.GAIT_LIMITS[name]
    unit = _GAIT_UNITS.get(name, "")

    def convert(text: str) -> float:
        value = _finite(text)
        if not ((value >= low if low_included else value > low) and value <= high):
            bound = f"{low:g}..{high:g}" if low_included else (
                f"greater than {low:g} and at most {high:g}")
            raise argparse.ArgumentTypeError(f"must be {bound}{unit}, got {text}")
        return value

    convert.__name__ = name
    return convert


def output_file(
    what: str, example: str = "NAME", *, stdout: bool = True
) -> Callable[[str], Path]:
    """The type of an output file option: ``-`` (stdout), or a file in an existing folder.

    Parameters
    ----------
    what : str
        What is written there, for the message (``"recording file to create"``).
    example : str
        A file name to suggest inside a folder given instead of a file.
    stdout : bool
        Whether ``-`` (stdout) is allowed; False for what is written as it streams or is not
        text (``live --record``, ``--screenshot``).

    Returns
    -------
    callable
        ``str -> Path``; refuses a folder and a file whose folder does not exist.
    """

    def convert(text: str) -> Path:
        path = Path(text)
        if text == "-":
            if not stdout:
                raise argparse.ArgumentTypeError(
                    f"the {what} cannot go to stdout ('-'); give a file path, e.g. {example}")
            return path
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{path}: is a directory; give the {what} as a file path (not a folder), "
                f"e.g. {path / example}")
        folder = path.parent
        if folder.exists() and not folder.is_dir():
            raise argparse.ArgumentTypeError(
                f"{path}: {folder} is a file, not a folder; choose another place for the {what}")
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(
                f"{path}: the folder {folder} does not exist; create it or choose another "
                f"place for the {what}")
        return path

    convert.__name__ = "output file"
    return convert


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


def input_path(what: str) -> Callable[[str], Path]:
    """The type of an input path argument: any path but an empty string.

    ``Path("")`` is the current folder: ``insole analyze ""`` analysed every recording below
    it as a batch, ``insole import pedar ""`` failed on a folder. An empty argument is most
    often an unset shell variable (``insole analyze "$FILE"``).

    Parameters
    ----------
    what : str
        What the argument names, for the message (``"the file to import"``).
    """

    def parse(text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(
                f"the file name is empty; give the path of {what} (an empty name is often an "
                "unset shell variable)")
        return Path(text)

    parse.__name__ = "file"
    return parse
