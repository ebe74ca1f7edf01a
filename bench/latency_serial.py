"""End-to-end latency of the serial path: emulator writes a frame -> its samples are decoded.

The emulator (``insole emulate serial --stamp-send-time``, a separate process) replaces each
frame's device time by the host's monotonic clock just before writing it to the pty; the
consumer here (a `SerialReader` thread, then `StreamDecoder` in the main thread, as the live
pipeline does) subtracts that stamp from the monotonic clock once the frame's samples are
decoded. Both processes read the same CLOCK_MONOTONIC, so the difference is the latency.

Run: ``.venv/bin/python bench/latency_serial.py [--seconds 20] [--rate 200]``
"""

from __future__ import annotations

import argparse
import select
import subprocess
import sys
import time

import numpy as np

from firmware_protocol import FrameType, StreamDecoder
from insole.sources.readers import Chunk, ReaderEvent
from insole.sources.readers.serial import SerialReader

WRAP_US = 1 << 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "insole.cli", "emulate", "serial",
           "--stamp-send-time", "--rate", str(args.rate), "--duration", str(args.seconds)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as emulator:
        assert emulator.stdout is not None
        ready, _, _ = select.select([emulator.stdout], [], [], 30)
        if not ready:
            emulator.kill()
            raise SystemExit("the emulator did not start")
        port = emulator.stdout.readline().strip()
        if not port:
            emulator.kill()
            raise SystemExit(f"the emulator printed no port: {' '.join(cmd)}")
        reader = SerialReader(port).start()
        decoder = StreamDecoder()
        at_decode: list[np.ndarray] = []  # write -> decoded samples in the consumer [µs]
        at_chunk: list[np.ndarray] = []  # write -> chunk stamped by the reader thread [µs]
        try:
            while emulator.poll() is None:
                for item in reader.read(0.2):
                    if isinstance(item, ReaderEvent):
                        if item.detail.get("flush_decoder"):
                            decoder.flush_partial()
                        continue
                    assert isinstance(item, Chunk)
                    table = decoder.feed_table(item.data)
                    now_us = int(time.monotonic() * 1e6)
                    sent = table.timestamp_us[table.frame_type == FrameType.SAMPLES]
                    if len(sent):
                        at_decode.append((now_us - sent) % WRAP_US)
                        at_chunk.append((int(item.host_time_s * 1e6) - sent) % WRAP_US)
        finally:
            reader.stop()
            emulator.communicate(timeout=10)
    lat = np.concatenate(at_decode) / 1000.0
    lat_chunk = np.concatenate(at_chunk) / 1000.0
    lat, lat_chunk = lat[10:], lat_chunk[10:]  # skip start-up
    print(f"serial latency, emulator write -> decoded samples at the consumer "
          f"({len(lat)} frames, 2 insoles x {args.rate} Hz, {args.seconds:g} s, pty):")
    for name, x in (("decoded", lat), ("chunk stamped", lat_chunk)):
        p50, p90, p99 = np.percentile(x, [50, 90, 99])
        print(f"  {name:<14} p50 {p50:.3f} ms  p90 {p90:.3f} ms  p99 {p99:.3f} ms  "
              f"max {x.max():.3f} ms")
    print(f"  decoder: {decoder.stats.frames} frames, {decoder.stats.lost_frames} lost")


if __name__ == "__main__":
    main()
