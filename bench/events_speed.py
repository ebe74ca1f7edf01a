"""Speed of the contact detector: one hour of one foot at 200 Hz, offline and streamed.

Prints wall-clock seconds and the multiple of real time for:

- offline: ``detect_contacts`` on the whole hour (after a first call that loads the kernels);
- streaming: ``ContactDetector.feed`` in 25 ms chunks (5 samples), as a live BLE stream delivers;
- streaming with the optional 20 Hz causal low-pass.

The signal is the synthetic running insole of ``bench/events_validation.py`` (0.7 s strides,
impact peaks on every other step, 17 N swing load, noise), repeated to one hour.

Usage::

    python bench/events_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from events_validation import synthetic_insole  # noqa: E402

from insole.core.events import ContactDetector, detect_contacts  # noqa: E402

FS_HZ = 200.0
DURATION_S = 3600.0
CHUNK_S = 0.025


def one_hour() -> np.ndarray:
    """One hour of synthetic running insole force at 200 Hz."""
    block, *_ = synthetic_insole(FS_HZ, duration_s=120.0, seed=3)
    repeats = int(np.ceil(DURATION_S * FS_HZ / block.size))
    return np.tile(block, repeats)[: int(DURATION_S * FS_HZ)]


def time_offline(x: np.ndarray, **options: object) -> tuple[float, int]:
    start = time.perf_counter()
    n = len(detect_contacts(x, sampling_rate_hz=FS_HZ, **options))  # type: ignore[arg-type]
    return time.perf_counter() - start, n


def time_streaming(x: np.ndarray, **options: object) -> tuple[float, int]:
    chunk = round(CHUNK_S * FS_HZ)
    chunks = [x[i : i + chunk] for i in range(0, x.size, chunk)]
    detector = ContactDetector(sampling_rate_hz=FS_HZ, **options)  # type: ignore[arg-type]
    n = 0
    start = time.perf_counter()
    for c in chunks:
        n += len(detector.feed(c))
    n += len(detector.finish())
    return time.perf_counter() - start, n


def main() -> None:
    x = one_hour()
    print(f"one hour, one foot, {FS_HZ:.0f} Hz = {x.size} samples")
    # The first call loads the compiled kernels (numba, from its cache; compiles them after an
    # install): once per process, not part of the detector's speed.
    start = time.perf_counter()
    detect_contacts(x[: int(10 * FS_HZ)], sampling_rate_hz=FS_HZ)
    print(
        f"  first call (loads the compiled kernels once per process): "
        f"{time.perf_counter() - start:.3f} s"
    )
    rows = [
        ("offline detect_contacts", time_offline(x)),
        (f"streaming, {CHUNK_S * 1000:.0f} ms chunks", time_streaming(x)),
        (
            f"streaming, {CHUNK_S * 1000:.0f} ms chunks, lowpass 20 Hz",
            time_streaming(x, lowpass_hz=20.0),
        ),
    ]
    for label, (seconds, n) in rows:
        print(
            f"  {label:45} {seconds:7.3f} s  {DURATION_S / seconds:9.0f} x real time  {n} contacts"
        )


if __name__ == "__main__":
    main()
