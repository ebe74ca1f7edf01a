"""The offline fast paths give what the general paths give.

- `Pipeline(step_records=False)` hands out `StepBatch` arrays whose records are the pipeline's
  step records, and `StepAccumulator.add_batches` keeps the numbers `add` keeps;
- `insole.core.pipeline._place_rows` (slices for samples in order) places rows as a NaN block
  and one fancy assignment do;
- `Calibrator.force` (compiled gather) converts as the numpy blocks do.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core import calibration as calibration_mod
from insole.core import pipeline as pipeline_mod
from insole.core.calibration import Calibrator
from insole.core.layouts import default_layout
from insole.core.pipeline import Pipeline, StepRecord, _place_rows
from insole.core.summary import STEP_COLUMNS, StepAccumulator
from insole.recordings.container import read_raw_recording


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fast") / "lossy.insrec"
    simulate_to_file(
        SimulationRequest(duration_s=60, seed=11, strike="mixed", loss=0.03, burst_loss=0.02), p
    )
    return p


def _run(path: Path, *, step_records: bool, chunk: int | None = None) -> list:
    raw = read_raw_recording(path)
    pipe = Pipeline(raw.header, step_records=step_records)
    out: list = []
    for sid, stream in raw.streams.items():
        step = chunk or len(stream.data)
        for pos in range(0, len(stream.data), step):
            u = pipe.feed(sid, stream.data[pos : pos + step])
            out += u.steps if step_records else u.step_batches
            assert not (u.step_batches if step_records else u.steps)
    u = pipe.finish()
    return out + (u.steps if step_records else u.step_batches)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _assert_records_equal(new: list[StepRecord], ref: list[StepRecord]) -> None:
    assert len(new) == len(ref) > 50
    for a, b in zip(new, ref, strict=True):
        for f in ("side", "number", "heel_strike_s", "toe_off_s", "stride_s", "impact_peak_n",
                  "impact_peak_s", "toe_off_valid", "flags"):  # fmt: skip
            assert _same(getattr(a, f), getattr(b, f)), f
        for f in ("peak_force_n", "heel_peak_n", "impulse_ns", "heel_impulse_ns",
                  "strike_index_pct", "strike_pattern", "ml_index_pct", "loading_rate_index",
                  "has_gap"):  # fmt: skip
            assert _same(getattr(a.load, f), getattr(b.load, f)), f
        assert a.load.regions == b.load.regions or all(
            _same(a.load.regions[r][m], v)
            for r, d in b.load.regions.items()
            for m, v in d.items()
        )
        np.testing.assert_array_equal(a.load.cop_x_mm, b.load.cop_x_mm)
        np.testing.assert_array_equal(a.load.cop_y_mm, b.load.cop_y_mm)


@pytest.mark.parametrize("chunk", [None, 4096, 333])
def test_step_batches_are_the_step_records(lossy: Path, chunk: int | None) -> None:
    ref = _run(lossy, step_records=True, chunk=chunk)
    batches = _run(lossy, step_records=False, chunk=chunk)
    assert all(len(b) for b in batches)
    _assert_records_equal([r for b in batches for r in b.records()], ref)


def test_add_batches_keeps_what_add_keeps(lossy: Path) -> None:
    ref = StepAccumulator().add(_run(lossy, step_records=True)).table()
    new = StepAccumulator().add_batches(_run(lossy, step_records=False)).table()
    assert len(new) == len(ref) > 50
    for c in STEP_COLUMNS:
        a, b = np.asarray(new.column(c)), np.asarray(ref.column(c))
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b, err_msg=c)  # NaN == NaN here
        else:
            assert a.tolist() == b.tolist(), c
    assert list(new) == list(ref) or all(
        all(_same(x[k], y[k]) for k in y) for x, y in zip(new, ref, strict=True)
    )


@pytest.mark.parametrize("slice_min_rows", [1, 256])
def test_place_rows_equals_a_nan_block_and_fancy_assignment(
    slice_min_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_mod, "_SLICE_MIN_ROWS", slice_min_rows)
    rng = np.random.default_rng(5)
    for t in range(2000):
        n = int(rng.integers(1, 600 if t % 10 == 0 else 60))
        kind = t % 4
        if kind == 0:  # in order with gaps, maybe a leading gap
            rel = np.cumsum(rng.integers(1, 4, n)) - 1 + int(rng.integers(0, 3))
        elif kind == 1:  # no gap
            rel = np.arange(n)
        elif kind == 2:  # out of order and repeated (the last one written wins)
            rel = rng.integers(0, 80, n)
            rel[-1] = rel.max()
        else:  # repeated in order
            rel = np.sort(rng.integers(0, 80, n))
        force = rng.normal(size=(n, 3)).astype(np.float32)
        want = np.full((int(rel[-1]) + 1, 3), np.nan, np.float32)
        want[rel] = force
        got = np.full_like(want, 7.0)
        _place_rows(got, rel, force)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "calibration",
    [
        {},
        {
            "model": "fsr_divider_v1",
            "adc_max": 4095,
            "full_scale_ratio": 0.97,
            "ref_force_n": list(np.linspace(20, 60, 16)),
            "exponent": list(np.linspace(0.8, 1.3, 16)),
        },
        {"model": "linear_v1", "scale": 0.5, "offset": 3.0, "unit": "N"},
    ],
)
def test_compiled_calibration_equals_the_numpy_blocks(
    calibration: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    cal = Calibrator(calibration, default_layout(16))
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4096, (50_000, 16)).astype(np.uint16)
    counts[::97, 3] = 65535  # past the table: clipped
    got = cal.force(counts)
    monkeypatch.setattr(calibration_mod, "_GATHER", False)  # no kernel: numpy blocks
    np.testing.assert_array_equal(got, cal.force(counts))


@pytest.mark.parametrize("single_plate", [False, True])
def test_cross_side_timing_equals_the_step_by_step_loop(single_plate: bool) -> None:
    from insole.core.summary import _cross_side

    rng = np.random.default_rng(int(single_plate))
    for n in (0, 1, 2, 3, 10, 400):
        # Ties in heel strike (same time on both sides, and repeated on one side), gaps.
        hs = np.round(np.sort(rng.uniform(0, n * 0.4 + 1, n)), 1)
        hs[rng.random(n) < 0.05] += 5.0
        to = hs + rng.uniform(0.1, 0.4, n)
        sides = rng.choice(["left", "right"], n)
        acc = StepAccumulator()
        acc._side = [str(x) for x in sides]
        order, step_s, flight_s = _cross_side(hs, to, sides == "right", single_plate)
        ref = acc._cross_side_loop(hs, to, single_plate)
        np.testing.assert_array_equal(order, ref[0])
        np.testing.assert_array_equal(step_s, ref[1])
        np.testing.assert_array_equal(flight_s, ref[2])
