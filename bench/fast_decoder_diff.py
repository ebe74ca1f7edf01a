"""Differential check of the compiled decoder against the numpy reference (time-boxed).

Random streams — simulated frames of several devices (SAMPLES with and without IMU,
DEVICE_INFO with changing ADC resolutions, STATUS), then damaged (flipped bytes, lost bytes,
stray delimiters, long runs without 0x00, random garbage) — are fed in random pieces to
``StreamDecoder()`` with numba loaded (the compiled `firmware_protocol.fast.decode_frames`
for every call with a delimiter) and to ``StreamDecoder(fast=False)``; the frames and every
counter must be equal. Kernels run with bounds checks (``NUMBA_BOUNDSCHECK=1``, their own
cache folder).

Run: .venv/bin/python bench/fast_decoder_diff.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def _stream(rng: object) -> bytes:
    import numpy as np

    from firmware_protocol import DeviceInfoFrame, SamplesFrame, Side, StatusFrame, to_wire

    assert isinstance(rng, np.random.Generator)
    out = []
    seq = {0: 0, 1: 0}
    for i in range(int(rng.integers(1, 120))):
        side = Side(int(rng.integers(0, 2)))
        dev = 7 + int(side)
        seq[side] = (seq[side] + 1 + int(rng.integers(0, 3) == 0)) & 0xFFFF
        kind = rng.random()
        if kind < 0.08:
            bits = int(rng.integers(8, 17))
            out.append(to_wire(DeviceInfoFrame(dev, side, seq[side], i * 30000, (1, 0, 0), 1,
                                               16, bits, 200, "x" * int(rng.integers(0, 25)))))
        elif kind < 0.12:
            out.append(to_wire(StatusFrame(dev, side, seq[side], i * 30000, 90,
                                           int(rng.integers(0, 32)), 0)))
        else:
            n_s = int(rng.integers(1, 8))
            n_sens = int(rng.choice([1, 16, 99]))
            n_s = min(n_s, 5) if n_sens == 99 else n_s
            hi = int(rng.choice([256, 4096, 4200, 65536]))
            counts = rng.integers(0, hi, (n_s, n_sens)).astype(np.uint16)
            counts[rng.random(counts.shape) < 0.4] = 0
            imu = rng.integers(-500, 500, (n_s, 6)).astype(np.int16) if rng.random() < 0.2 else None
            if imu is not None and 18 + 2 * n_s * n_sens + 12 * n_s > 1024:
                imu = None  # over the frame size limit
            out.append(to_wire(SamplesFrame(dev, side, seq[side], i * 30000, 200, counts, imu)))
    data = bytearray(b"".join(out))
    for _ in range(int(rng.integers(0, 12))):
        at = int(rng.integers(0, len(data) + 1))
        kind = int(rng.integers(0, 5))
        if kind == 0 and data:
            data[min(at, len(data) - 1)] = int(rng.integers(0, 256))
        elif kind == 1:
            del data[at : at + int(rng.integers(1, 300))]
        elif kind == 2:
            data[at:at] = b"\x00"
        elif kind == 3:
            data[at:at] = bytes(rng.integers(1, 256, int(rng.integers(1, 3000)), dtype=np.uint8))
        else:
            data[at:at] = rng.bytes(int(rng.integers(1, 2000)))
    return bytes(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    if os.environ.get("NUMBA_BOUNDSCHECK") != "1":
        env = {**os.environ, "NUMBA_BOUNDSCHECK": "1",
               "NUMBA_CACHE_DIR": str(Path(tempfile.gettempdir()) / "insole_diff_numba")}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    import numpy as np

    import firmware_protocol.decoder as decoder_mod
    from firmware_protocol import FrameTable, StreamDecoder
    from firmware_protocol.jit import load_numba

    load_numba()
    decoder_mod._FAST_MIN = 1  # the kernel for every call that holds a delimiter
    t_end = time.monotonic() + args.seconds
    n = 0
    seed = int.from_bytes(os.urandom(4), "little")
    while time.monotonic() < t_end:
        rng = np.random.default_rng([seed, n])
        data = _stream(rng)
        cuts = sorted(rng.integers(0, len(data) + 1, int(rng.integers(0, 10))).tolist())
        results = []
        for fast in (None, False):
            dec = StreamDecoder(fast=fast)
            tables, prev = [], 0
            for c in [*cuts, len(data)]:
                tables.append(dec.feed_table(data[prev:c]))
                prev = c
            tables.append(dec.feed_table(b"\x00"))
            results.append((dec.stats.as_dict(), FrameTable.concat(tables).to_frames()))
        (a_stats, a_frames), (b_stats, b_frames) = results
        same = a_stats == b_stats and len(a_frames) == len(b_frames)
        for x, y in zip(a_frames, b_frames, strict=False):
            same = same and type(x) is type(y) and repr(x) == repr(y)
        if not same:
            path = Path(tempfile.gettempdir()) / f"fast_decoder_diff_{seed}_{n}.bin"
            path.write_bytes(data)
            raise SystemExit(f"mismatch (seed {seed}, case {n}, cuts {cuts}): {path}\n"
                             f"{a_stats}\n{b_stats}")
        n += 1
    print(f"{n} streams, compiled and reference decoders agree (seed {seed})")


if __name__ == "__main__":
    main()
