"""Time read_raw_recording on a synthetic one-hour recording.

Two streams (left and right insole over BLE), each 33.3 chunks/s of ~212 bytes (one 6-sample
frame of 16 sensors per notification, SPEC.md §4.2) for 3600 s: about 240k chunks, 51 MB.

Usage: python bench/load_raw_recording.py [--minutes 60] [--flush-interval 0.5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from insole.recordings.container import RecordingWriter, read_raw_recording

HEADER = {
    "source": "sim",
    "streams": [
        {"stream_id": 0, "transport": "ble", "label": "left"},
        {"stream_id": 1, "transport": "ble", "label": "right"},
    ],
    "devices": [
        {"device_id": 1, "side": "left", "sample_rate_hz": 200.0, "n_sensors": 16,
         "adc_bits": 12, "layout": {}, "calibration": {}},
        {"device_id": 2, "side": "right", "sample_rate_hz": 200.0, "n_sensors": 16,
         "adc_bits": 12, "layout": {}, "calibration": {}},
    ],
}


def write_synthetic(path: Path, minutes: float, flush_interval_s: float) -> int:
    rng = np.random.default_rng(0)
    rate_hz = 200.0 / 6.0
    n = int(minutes * 60 * rate_hz)
    sizes = rng.integers(200, 225, size=2 * n)
    pool = rng.bytes(int(sizes.max()) + 4096)
    offsets = rng.integers(0, 4096, size=2 * n)
    now = [0.0]
    with RecordingWriter(path, HEADER, flush_interval_s=flush_interval_s,
                         clock=lambda: now[0]) as writer:
        for i in range(n):
            t = i / rate_hz
            for sid in (0, 1):
                now[0] = t + 0.002 * sid
                k = 2 * i + sid
                writer.write_chunk(sid, pool[offsets[k]:offsets[k] + sizes[k]])
        return writer.blocks_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--flush-interval", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for interval in args.flush_interval:
            path = Path(tmp) / f"bench_{interval}.insrec"
            t0 = time.perf_counter()
            n_blocks = write_synthetic(path, args.minutes, interval)
            write_s = time.perf_counter() - t0
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                rec = read_raw_recording(path)
                times.append(time.perf_counter() - t0)
            n_chunks = sum(s.n_chunks for s in rec.streams.values())
            size_mb = rec.file_size / 1e6
            print(f"flush_interval_s={interval}: {size_mb:.1f} MB, {n_blocks} blocks, "
                  f"{n_chunks} chunks; write {write_s:.2f} s; read_raw_recording "
                  f"median {statistics.median(times) * 1e3:.1f} ms, "
                  f"min {min(times) * 1e3:.1f} ms ({args.repeat} runs, warm page cache)")


if __name__ == "__main__":
    main()
