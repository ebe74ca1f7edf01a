"""Time reading, decoding and calibrating a one-hour two-insole 16-sensor 200 Hz recording.

The recording is the simulated hour of `bench/analyze_speed.py` (``SimulationRequest(
duration_s=3600, seed=2, loss=0.01)``, about 241k frames and 54 MB), cached at ``--path``.
Each stage is timed on its own, best of ``--repeat`` runs:

read
    `insole.recordings.container.read_raw_recording`.
decode
    `firmware_protocol.StreamDecoder.feed_table` over every piece of every stream
    (`RawRecording.timed_pieces`) in runs of 2 MiB, as `insole.session.analysis.SessionAnalysis`
    feeds the runs of `insole.recordings.container.BlockReader.runs`: delimiters, COBS, CRC and the
    frame checks in one call of the compiled kernel per run (`firmware_protocol.fast.
    decode_frames`, the default once numba is loaded, as it is here and in an analysis
    process); "decode (reference)" is
    the same with ``StreamDecoder(fast=False)`` (the numpy reference code), which must give
    the same frames and counters (checked here).
samples
    `FrameTable.samples` per device (the counts gathered out of the decoded frames).
calibrate
    `insole.core.calibration.Calibrator.force` on each device's counts, as
    `insole.core.pipeline` calls it.
place
    The three passes of the pipeline's general path over each table's samples (placed on their
    sample clock, NaN rows for lost ones, row totals for the detector): samples, calibrate and
    `insole.core.pipeline._place_rows`; then "place (fused)", the one compiled pass the
    pipeline takes for frames in order (`insole.core._steps_kernel.place_frames`), which must
    give the same buffers and totals bit for bit (checked here).

Run: .venv/bin/python bench/decode_speed.py [--path /tmp/hour.insrec] [--repeat 7]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from firmware_protocol import FrameTable, FrameType, StreamDecoder
from firmware_protocol.frames import Side
from firmware_protocol.jit import load_numba
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core.calibration import Calibrator
from insole.core.pipeline import _Clock, _layout_for, _place_rows
from insole.core.steps import kernels
from insole.recordings.container import _RUN_BYTES, RawRecording, read_raw_recording

#: Bytes fed at a time: the size of the runs `insole.recordings.container.BlockReader.runs`
#: hands out.
RUN_BYTES = _RUN_BYTES


def decode(
    raw: RawRecording, *, fast: bool | None = None
) -> tuple[list[FrameTable], list[StreamDecoder]]:
    """Feed every stream's pieces to one decoder per stream; the tables and the decoders."""
    tables: list[FrameTable] = []
    decoders: list[StreamDecoder] = []
    for sid in sorted(raw.streams):
        dec = StreamDecoder(fast=fast)
        for data, _ends, _times in raw.timed_pieces(sid):
            # In runs of about 2 MiB, as `SessionAnalysis` feeds `BlockReader.runs`.
            for i in range(0, len(data), RUN_BYTES):
                tables.append(dec.feed_table(data[i : i + RUN_BYTES]))
        tables.append(dec.feed_table(b"\x00"))  # as Pipeline.finish
        decoders.append(dec)
    return tables, decoders


def gather(tables: list[FrameTable]) -> list[tuple[int, Side, np.ndarray]]:
    """Counts of every device of every table, as ``(device_id, side, counts)``."""
    out = []
    for table in tables:
        for dev_id, side in table.devices():
            counts, _, _ = table.samples(dev_id, side)
            if len(counts):
                out.append((dev_id, side, counts))
    return out


def calibrators(header: dict[str, Any], n_sensors: int) -> dict[tuple[int, str], Calibrator]:
    """One `Calibrator` per device of the recording header, built as the pipeline builds it."""
    out = {}
    for dev in header["devices"]:
        layout = _layout_for(dev, n_sensors)
        out[(int(dev["device_id"]), str(dev["side"]))] = Calibrator(
            dev.get("calibration") or {}, layout
        )
    return out


def calibrate(
    cals: dict[tuple[int, str], Calibrator], per_dev: list[tuple[int, Side, np.ndarray]]
) -> list[np.ndarray]:
    """Forces of every device's counts, as the pipeline converts them."""
    return [cals[(d, Side(s).label)].force(c) for d, s, c in per_dev]


def placements(tables: list[FrameTable]) -> list[tuple[Any, ...]]:
    """Every table's SAMPLES frames per device: ``(table, device_id, side, frames, k0)``.

    ``k0``: the sample index of each frame's first sample, from the unwrapped timestamps, as
    the pipeline places them.
    """
    clocks: dict[tuple[int, int], _Clock] = {}
    out = []
    for table in tables:
        for dev_id, side in table.devices():
            frames = np.flatnonzero(
                (table.device_id == dev_id)
                & (table.side == int(side))
                & (table.frame_type == FrameType.SAMPLES)
            )
            if len(frames) == 0:
                continue
            clock = clocks.setdefault((dev_id, int(side)), _Clock())
            ts = clock.unwrap(table.timestamp_us[frames])
            rate = float(table.sample_rate_hz[frames[0]])
            k0 = np.rint((ts - (clock.ref or 0)) * rate / 1e6).astype(np.int64)
            out.append((table, dev_id, side, frames, k0))
    return out


def place_three_passes(
    cals: dict[tuple[int, str], Calibrator], placed: list[tuple[Any, ...]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Samples, calibrate, place (`_place_rows`): each table's block and row totals."""
    out = []
    for table, dev_id, side, frames, k0 in placed:
        counts, _, _ = table.samples(dev_id, side)
        force = cals[(dev_id, Side(side).label)].force(counts)
        n_per = table.n_samples[frames]
        rel = np.repeat(k0 - k0[0], n_per) + (
            np.arange(len(counts)) - np.repeat(np.cumsum(n_per) - n_per, n_per)
        )
        block = np.empty((int(rel[-1]) + 1, counts.shape[1]), np.float32)
        out.append((block, _place_rows(block, rel, force)))
    return out


def place_fused(
    cals: dict[tuple[int, str], Calibrator], placed: list[tuple[Any, ...]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same in one compiled pass per table (`place_frames`, frames in order)."""
    kernel = kernels()
    out = []
    for table, dev_id, side, frames, k0 in placed:
        flat, row, clip = cals[(dev_id, Side(side).label)].lookup
        n_per = table.n_samples[frames]
        assert (k0[1:] >= k0[:-1] + n_per[:-1]).all(), "frames not in order: the general path"
        dec = np.frombuffer(table.decoded, np.uint8)
        block = np.empty((int(k0[-1] - k0[0] + n_per[-1]), len(row)), np.float32)
        total = np.empty(len(block), np.float32)
        kernel.place_frames(
            dec, table.counts_offset(frames), n_per, k0 - k0[0], flat, row, clip, block, total
        )
        out.append((block, total))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=Path("/tmp/hour.insrec"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if not args.path.exists():
        simulate_to_file(SimulationRequest(duration_s=3600, seed=2, loss=0.01), args.path)
    # numba loaded, as in an analysis process (the default decoder uses its kernels only then).
    load_numba()
    best: dict[str, float] = {}

    def timed(name: str, fn: Any, *a: Any) -> Any:
        t = time.perf_counter()
        out = fn(*a)
        dt = time.perf_counter() - t
        best[name] = min(best.get(name, float("inf")), dt)
        return out

    for _ in range(args.repeat):
        raw = timed("read", read_raw_recording, args.path)
        tables, decoders = timed("decode", decode, raw)
        ref_tables, ref_decoders = timed("decode (reference)", lambda r: decode(r, fast=False), raw)
        per_dev = timed("samples", gather, tables)
        n_sensors = per_dev[0][2].shape[1]
        cals = calibrators(raw.header, n_sensors)
        forces = timed("calibrate", calibrate, cals, per_dev)
        placed = placements(tables)
        three = timed("place", place_three_passes, cals, placed)
        fused = timed("place (fused)", place_fused, cals, placed)
    n_frames = sum(len(t) for t in tables)
    n_bytes = sum(d.stats.bytes_in for d in decoders)
    n_values = sum(c.size for _, _, c in per_dev)
    digest = hashlib.sha256()
    for f in forces:
        digest.update(np.ascontiguousarray(f).tobytes())
    for d in decoders:
        digest.update(repr(d.stats.as_dict()).encode())
    print(f"{args.path}: {n_bytes / 1e6:.1f} MB, {n_frames} frames, {n_values} counts")
    same = [d.stats.as_dict() for d in decoders] == [d.stats.as_dict() for d in ref_decoders]
    same = same and all(
        np.array_equal(a.seq, b.seq) and np.array_equal(a.lost_before, b.lost_before)
        for a, b in zip(tables, ref_tables, strict=True)
    )
    for name in ("read", "decode", "decode (reference)", "samples", "calibrate"):
        print(f"  {name:<18} {1e3 * best[name]:7.1f} ms  (best of {args.repeat})")
    print(f"  compiled and reference decoders agree (frames, losses, counters): {same}")
    total = best["decode"] + best["samples"] + best["calibrate"]
    print(f"  decode + samples + calibrate {1e3 * total:7.1f} ms")
    for name in ("place", "place (fused)"):
        print(f"  {name:<18} {1e3 * best[name]:7.1f} ms  (best of {args.repeat})")
    same = all(
        a.tobytes() == c.tobytes() and b.tobytes() == d.tobytes()
        for (a, b), (c, d) in zip(three, fused, strict=True)
    )
    print(f"  fused and three-pass placement agree (buffers, totals bit for bit): {same}")
    print(f"  result digest (forces and counters) {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
