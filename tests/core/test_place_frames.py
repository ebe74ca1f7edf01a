"""The fused placement of whole frames gives what the separate stages give, bit for bit.

`insole.core._steps_kernel.place_frames` (counts read out of the decoded frames, calibrated into
the side's buffer, rows summed for the detector, in one pass) against its stages:
`FrameTable.samples`, `Calibrator.force` and `insole.core.pipeline._place_rows`; the kernel on
its own (random bytes, tables and gaps), and the pipeline (random frames with lost ones) with
the fused path against the same pipeline with it switched off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from firmware_protocol import SamplesFrame, Side, StatusFrame
from firmware_protocol.frames import to_wire
from insole.core import pipeline as pipeline_mod
from insole.core.pipeline import MAX_FILL_GAP_S, Pipeline, _place_rows
from insole.core.steps import kernels

FS = 200

FSR_16 = {
    "model": "fsr_divider_v1",
    "adc_max": 4095,
    "full_scale_ratio": 0.97,
    "ref_force_n": list(np.linspace(20, 60, 16)),
    "exponent": list(np.linspace(0.8, 1.3, 16)),
}


@pytest.mark.parametrize("n_sensors", [1, 3, 16, 128, 130])
def test_kernel_equals_gather_calibrate_place(n_sensors: int) -> None:
    rng = np.random.default_rng(n_sensors)
    k = kernels()
    for t in range(60):
        clip = int(rng.choice([255, 4095, 65535]))
        flat = rng.normal(0, 50, n_sensors * (clip + 1)).astype(np.float32)
        flat[rng.random(flat.size) < 0.01] = np.nan  # invalid counts of imported data
        row = np.arange(n_sensors, dtype=np.int64) * (clip + 1)
        n_frames = int(rng.integers(1, 40))
        n_per = rng.integers(1, 9, n_frames).astype(np.int64)
        # In order; lost samples between frames (none, one, a burst) and maybe before the first.
        gaps = rng.choice([0, 0, 0, 1, 7], n_frames) * (rng.random(n_frames) < 0.4)
        rel0 = (np.cumsum(gaps) + np.cumsum(n_per) - n_per).astype(np.int64)
        n_rows = int(rel0[-1] + n_per[-1])
        # Frames at odd and even offsets in the decoded bytes, other bytes between them.
        sizes = 2 * n_per * n_sensors
        pad = rng.integers(0, 5, n_frames)
        first = (np.cumsum(pad + sizes) - sizes).astype(np.int64)
        dec = rng.integers(0, 256, int(first[-1] + sizes[-1]) + int(rng.integers(0, 3)), np.uint8)
        if t % 3 == 0:
            dec[rng.random(dec.size) < 0.2] = 255  # counts past the table (clipped)
        dec_bytes = dec.tobytes()

        block = np.full((n_rows, n_sensors), 7.0, np.float32)
        total = np.full(n_rows, 7.0, np.float32)
        view = np.frombuffer(dec_bytes, np.uint8)
        k.place_frames(view, first, n_per, rel0, flat, row, clip, block, total)

        counts = np.concatenate(
            [
                np.frombuffer(dec_bytes, "<u2", int(n * n_sensors), int(f)).reshape(-1, n_sensors)
                for f, n in zip(first, n_per, strict=True)
            ]
        )
        force = flat[np.minimum(counts.astype(np.int64), clip) + row]
        rel = (
            np.repeat(rel0, n_per)
            + np.arange(len(counts))
            - np.repeat(np.cumsum(n_per) - n_per, n_per)
        )
        want = np.empty((n_rows, n_sensors), np.float32)
        want_total = _place_rows(want, rel, force)
        assert block.tobytes() == want.tobytes()
        assert total.tobytes() == want_total.tobytes()


def _wire(rng: np.random.Generator, n_sensors: int, *, n_frames: int, disorder: bool) -> bytes:
    """Random SAMPLES frames of one left insole at 200 Hz, with lost frames and bursts."""
    n_per = rng.integers(1, min(9, 1000 // (2 * n_sensors)), n_frames)  # frames <= 1024 B
    start = np.cumsum(n_per) - n_per + 3  # the first frame is not the device's first sample
    lost = rng.random(n_frames) < 0.03
    for b in np.flatnonzero(rng.random(n_frames) < 0.004):
        lost[b : b + int(rng.integers(2, 40))] = True
    lost[0] = False
    if disorder:  # a device restart (a jump past the fill limit) and a frame sent twice
        start[n_frames // 2 :] += int(2 * MAX_FILL_GAP_S * FS)
    out = []
    for i in np.flatnonzero(~lost):
        counts = rng.integers(0, 4096, (int(n_per[i]), n_sensors)).astype(np.uint16)
        counts[rng.random(counts.shape) < 0.01] = 65535
        frame = SamplesFrame(1, Side.LEFT, int(i) & 0xFFFF, int(start[i]) * 5000, FS, counts)
        out.append(to_wire(frame))
        if disorder and i == n_frames // 4:
            out.append(to_wire(frame))
        if i % 500 == 0:
            out.append(to_wire(StatusFrame(1, Side.LEFT, 0, int(start[i]) * 5000, 80, 0, 0)))
    return b"".join(out)


def _feed(
    header: dict[str, Any],
    data: bytes,
    cuts: list[int],
    monkeypatch: pytest.MonkeyPatch,
    *,
    fused: bool,
) -> tuple[list[tuple[Any, ...]], Pipeline, int]:
    """Feed ``data`` cut at ``cuts``.

    Returns every placement's block and totals, the pipeline, and how many feeds took the
    fused path.
    """
    placed: list[tuple[Any, ...]] = []
    n_fused = 0
    advance = pipeline_mod._Side._advance
    place_frames = pipeline_mod._Side._place_frames

    def record(self: Any, buf: Any, block: Any, total: Any, n_placed: int) -> Any:
        placed.append((self.n, block.tobytes(), total.tobytes(), n_placed))
        return advance(self, buf, block, total, n_placed)

    def fused_or_not(self: Any, *args: Any) -> Any:
        nonlocal n_fused
        if not fused:
            return None
        out = place_frames(self, *args)
        n_fused += out is not None
        return out

    with monkeypatch.context() as m:
        m.setattr(pipeline_mod._Side, "_advance", record)
        m.setattr(pipeline_mod._Side, "_place_frames", fused_or_not)
        pipe = Pipeline(header, step_records=True)
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            pipe.feed(0, data[a:b])
        pipe.finish()
    return placed, pipe, n_fused


@pytest.mark.parametrize(
    ("n_sensors", "calibration", "disorder"),
    [(16, FSR_16, False), (16, FSR_16, True), (16, {}, False), (64, {}, True), (1, {}, False)],
)
def test_pipeline_fused_path_equals_the_separate_stages(
    n_sensors: int,
    calibration: dict[str, Any],
    disorder: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(n_sensors + disorder)
    data = _wire(rng, n_sensors, n_frames=6000, disorder=disorder)
    header = {"devices": [{"device_id": 1, "side": "left", "calibration": calibration}]}
    # Whole, in large and in small random pieces (small feeds take the numpy path).
    for cuts in (
        [],
        sorted(rng.integers(0, len(data), 6).tolist()),
        sorted(rng.integers(0, len(data), 400).tolist()),
    ):
        want, ref, _ = _feed(header, data, cuts, monkeypatch, fused=False)
        got, pipe, n_fused = _feed(header, data, cuts, monkeypatch, fused=True)
        # A feed holding a frame sent twice or a restart takes the separate stages.
        assert (n_fused == 0) if (disorder and not cuts) else (n_fused > 0)
        assert got == want
        (side,) = pipe.sides.values()
        (ref_side,) = ref.sides.values()
        for name in ("n", "gap_samples", "overlap_samples", "restarts", "_buf0"):
            assert getattr(side, name) == getattr(ref_side, name), name
        assert side._buf.tobytes() == ref_side._buf.tobytes()
