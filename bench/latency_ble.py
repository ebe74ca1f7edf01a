"""BLE end-to-end latency and throughput: emulated insoles → bumble → bleak → BleReader → decoder.

Two emulated insoles (`insole.sources.devices.ble_insole`) stream a simulated run over bumble's
in-process link; the project's `BleReader` reads them through bleak's ``backend=`` hook and a
consumer thread decodes what `Reader.read` hands out, as the live pipeline does.

Latency is measured per frame from the moment the emulated insole hands the frame to its stack
(the notify call, ``time.monotonic()``) to the moment the consumer has the frame's samples
decoded (after ``Reader.read`` and ``StreamDecoder.feed``), both on the same clock. It covers the
bumble stack, the thread hop to the reader's asyncio loop, the reader's queue and the decoder; it
does not include radio time (LocalLink has none: a real link adds up to one connection interval,
7.5-30 ms, plus retransmissions).

The run also reports frames, lost frames and CPU share (the whole process, and per thread: the
bumble "radio" thread that plays both insoles and the host stack, the reader's loop thread and
the consumer).

Usage::

    python bench/latency_ble.py                      # 30 s, two insoles at 200 Hz, MTU 247
    python bench/latency_ble.py --seconds 10 --mtu 23 --rate 100
    python bench/latency_ble.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

import numpy as np

from firmware_protocol import StreamDecoder
from insole.sources.devices.ble_insole import VirtualBleLink
from insole.sources.readers.base import Chunk
from insole.sources.readers.ble import BleReader


def _thread_cpu_s(thread: threading.Thread | None) -> float | None:
    """CPU time of a thread [s] (Linux, macOS), or None."""
    if thread is None or thread.ident is None or not hasattr(time, "pthread_getcpuclockid"):
        return None
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (OSError, ProcessLookupError):  # thread already ended
        return None


def run(seconds: float, rate_hz: int, mtu: int, seed: int) -> dict[str, Any]:
    """Stream two emulated insoles through the BLE reader and measure."""
    with VirtualBleLink() as link:
        left, right = link.add_insole_pair(
            duration_s=seconds, sample_rate_hz=rate_hz, seed=seed, max_mtu=mtu
        )
        insoles = {0: left, 1: right}
        reader = BleReader(backend=link.backend, scan_timeout_s=5.0)
        decoders = {sid: StreamDecoder() for sid in insoles}
        latencies: dict[int, list[float]] = {sid: [] for sid in insoles}
        received = dict.fromkeys(insoles, 0)
        mtus: dict[int, Any] = {}
        seq_sent: dict[int, dict[int, int]] = {
            sid: {int(s): k for k, s in enumerate(ins.chunk_seq)} for sid, ins in insoles.items()
        }

        def done() -> bool:
            return all(
                ins.stats.finished and received[sid] >= ins.stats.bytes_notified
                for sid, ins in insoles.items()
            )

        reader.start()
        while reader.running and not all(i.started_at for i in insoles.values()):
            time.sleep(0.01)
        wall0 = time.monotonic()
        cpu0 = time.process_time()
        threads = {
            "radio (bumble: insoles + host stack)": link.thread,
            "reader (asyncio loop, bleak)": reader._thread,
            "consumer (read + decode)": threading.current_thread(),
        }
        thread_cpu0 = {name: _thread_cpu_s(t) for name, t in threads.items()}
        deadline = wall0 + seconds + 30.0
        while not done() and time.monotonic() < deadline:
            for item in reader.read(timeout_s=0.5):
                if not isinstance(item, Chunk):
                    if item.kind == "connected":
                        mtus[item.stream_id] = item.detail.get("mtu")
                    continue
                sid = item.stream_id
                received[sid] += len(item.data)
                frames = decoders[sid].feed(item.data)
                now = time.monotonic()
                ins = insoles[sid]
                for frame in frames:
                    k = seq_sent[sid].get(frame.seq)
                    if k is not None and not np.isnan(ins.sent_time_s[k]):
                        latencies[sid].append(now - float(ins.sent_time_s[k]))
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        thread_cpu = {}
        for name, t in threads.items():
            start, end = thread_cpu0[name], _thread_cpu_s(t)
            thread_cpu[name] = None if start is None or end is None else (end - start) / wall
        reader.stop()
        for item in reader.read(timeout_s=None):
            if isinstance(item, Chunk):
                decoders[item.stream_id].feed(item.data)
        lat_ms = np.concatenate([np.asarray(v) for v in latencies.values()]) * 1e3
        per_side = {}
        for sid, ins in insoles.items():
            st = decoders[sid].stats
            per_side[ins.name] = {
                "mtu": mtus.get(sid),
                "frames_sent_by_insole": ins.stats.frames_sent,
                "frames_decoded": st.frames,
                "samples": st.samples,
                "lost_frames": st.lost_frames,
                "errors": st.errors,
                "duplicate_frames": st.duplicate_frames,
                "notifications": ins.stats.notifications,
            }
        return {
            "seconds": seconds,
            "rate_hz": rate_hz,
            "mtu_offered": mtu,
            "insoles": per_side,
            "complete": done(),
            "latency_ms": {
                "n": int(lat_ms.size),
                "p50": float(np.percentile(lat_ms, 50)),
                "p99": float(np.percentile(lat_ms, 99)),
                "max": float(lat_ms.max()),
            },
            "wall_s": wall,
            "cpu_share_process": cpu / wall,
            "cpu_share_threads": thread_cpu,
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="run length (30)")
    p.add_argument("--rate", type=int, default=200, help="sampling rate per insole, Hz (200)")
    p.add_argument("--mtu", type=int, default=247, help="largest MTU the insoles accept (247)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    res = run(args.seconds, args.rate, args.mtu, args.seed)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0 if res["complete"] else 1
    print(f"BLE, 2 insoles × {args.rate} Hz, {args.seconds:g} s, MTU offered {args.mtu} "
          f"(bumble LocalLink, no radio timing)")
    for name, s in res["insoles"].items():
        print(f"  {name}: MTU {s['mtu']}, frames {s['frames_decoded']}/{s['frames_sent_by_insole']}"
              f", samples {s['samples']}, lost {s['lost_frames']}, errors {s['errors']}, "
              f"duplicates {s['duplicate_frames']}, notifications {s['notifications']}")
    lat = res["latency_ms"]
    print(f"  latency notify → decoded at consumer: p50 {lat['p50']:.2f} ms, "
          f"p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms (n={lat['n']})")
    print(f"  CPU: process {100 * res['cpu_share_process']:.1f} % of one core over "
          f"{res['wall_s']:.1f} s")
    for name, share in res["cpu_share_threads"].items():
        if share is not None:
            print(f"    {name}: {100 * share:.1f} %")
    return 0 if res["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
