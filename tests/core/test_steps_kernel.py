"""The compiled kernels (`insole.core._steps_kernel`) give, bit for bit, what numpy gives.

- `step_features` (compiled) == ``step_features_numpy`` (tests/helpers_steps_oracle.py: the
  numpy batch code it replaced) on random data with lost values, -0.0, baselines of either
  precision, every layout size, contacts longer than numpy's 128-term summation block, and
  more than 128 sensors;
- the kernels' pairwise sum == ``pairwise_rows`` (numpy's summation order);
- `place_rows` == a NaN block, one fancy assignment and ``block.sum(axis=1)`` (float32);
- the bracketed Theil–Sen median == the float32 two-pass one (itself == ``np.median``);
- the per-window minima of `ClockSync.update` == the former lexsort.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers_steps_oracle import pairwise_rows, step_features_numpy  # tests/ is on the path

from insole.core import clock
from insole.core.layouts import REGIONS, SensorLayout, default_layout, single_sensor_layout
from insole.core.steps import kernels, step_features


def _same(x: object, y: object) -> bool:
    if isinstance(x, tuple):
        return x == y
    a, b = np.ascontiguousarray(x), np.ascontiguousarray(y)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return a.dtype == bool and bool(np.array_equal(a, b)) or a.tobytes() == b.tobytes()


def _wide_layout(n: int) -> SensorLayout:
    rng = np.random.default_rng(n)
    regions = [r for r in REGIONS if r != "whole_foot"]
    return SensorLayout(
        name=f"wide{n}",
        foot_length_mm=270.0,
        x_mm=rng.uniform(-50, 50, n),
        y_mm=rng.uniform(0, 270, n),
        area_mm2=rng.uniform(50, 150, n),
        region=tuple(regions[i % len(regions)] for i in range(n)),
    )


@pytest.mark.parametrize("trial", range(60))
def test_compiled_features_equal_the_numpy_batch(trial: int) -> None:
    rng = np.random.default_rng(trial)
    n_sensors = [1, 4, 8, 9, 16, 16, 64, 200][trial % 8]
    layout = (
        single_sensor_layout()
        if n_sensors == 1
        else _wide_layout(n_sensors)
        if n_sensors > 64
        else default_layout(n_sensors)
    )
    n = int(rng.integers(50, 2500))
    dtype = np.float32 if trial % 3 else np.float64
    force = rng.gamma(0.5, 30, (n, n_sensors)) * (rng.random((n, 1)) < 0.7)
    force = force.astype(dtype)
    force[rng.random((n, n_sensors)) < 0.01] = np.nan
    force[rng.random(n) < 0.02] = np.nan
    force[rng.random((n, n_sensors)) < 0.01] = -0.0
    m = int(rng.integers(0, 30))
    hs = np.sort(rng.uniform(-5, n + 5, m))
    to = hs + rng.uniform(-2, 400, m)  # some longer than 128 samples, some empty
    base = None
    if trial % 4:
        base = rng.normal(1, 2, (m, n_sensors)).astype(np.float32 if trial % 2 else np.float64)
        base[rng.random((m, n_sensors)) < 0.02] = np.nan
    impact = rng.uniform(-10, 600, m)
    impact[rng.random(m) < 0.2] = np.nan
    kw = {
        "layout": layout,
        "sampling_rate_hz": float(rng.choice([100.0, 200.0, 1000.0])),
        "heel_strike_index": hs,
        "toe_off_index": to,
        "baseline_n": base,
        "impact_peak_n": impact,
    }
    got, want = step_features(force, **kw), step_features_numpy(force, **kw)
    for name in want.__dataclass_fields__:
        assert _same(getattr(got, name), getattr(want, name)), name


@pytest.mark.parametrize("n", [0, 1, 5, 7, 8, 9, 16, 127, 128, 129, 300, 1000, 4099])
def test_kernel_pairwise_sum_adds_like_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * 10.0 ** rng.integers(-8, 8, n)
    want = pairwise_rows(x[:, None])[0] if n else 0.0
    assert kernels()._pairwise(x, 0, n, 0.0) == want
    assert np.float64(kernels()._pairwise(x, 0, n, 0.0)).tobytes() == np.float64(want).tobytes()


@pytest.mark.parametrize("n_sensors", [1, 3, 16, 130])
def test_place_rows_kernel_equals_numpy(n_sensors: int) -> None:
    rng = np.random.default_rng(n_sensors)
    for t in range(300):
        n = int(rng.integers(1, 200))
        force = rng.normal(0, 30, (n, n_sensors)).astype(np.float32)
        force[rng.random((n, n_sensors)) < 0.05] = np.nan
        if t % 3 == 0:  # in order, with gaps
            rel = np.cumsum(rng.integers(1, 4, n)) - 1 + int(rng.integers(0, 3))
        elif t % 3 == 1:  # out of order and repeated (the last one wins)
            rel = rng.integers(0, 80, n)
        else:
            rel = np.sort(rng.integers(0, 80, n))
        rel = rel.astype(np.int64)
        block = np.full((int(rel.max()) + 1, n_sensors), 7.0, np.float32)
        total = np.empty(len(block), np.float32)
        kernels().place_rows(block, rel, force, total)
        want = np.full_like(block, np.nan)
        want[rel] = force
        assert block.tobytes() == want.tobytes()
        assert total.tobytes() == want.sum(axis=1).tobytes()


@pytest.mark.parametrize("trial", range(12))
def test_bracketed_theil_sen_equals_the_float32_method(trial: int) -> None:
    rng = np.random.default_rng(trial)
    n = [260, 700, 1500][trial % 3]
    x = np.sort(rng.uniform(0, 3600, n))
    if trial % 4 == 0:
        x = np.round(x / 5) * 5  # equal x: pairs without a slope
    y = 1e-5 * x + rng.exponential(0.003, n)
    if trial % 5 == 0:
        y = np.round(y, 4)  # many equal slopes
    got = clock._median_slope_bracketed(x, y)
    assert got is not None  # the fast path is the one taken
    assert got == clock._median_slope_float32(x, y)


def test_window_minima_equal_the_lexsort() -> None:
    rng = np.random.default_rng(0)
    for t in range(2000):
        n = int(rng.integers(1, 60))
        win = np.sort(rng.integers(0, 8, n)) if t % 3 else rng.integers(0, 8, n)
        resid = np.round(rng.normal(0, 1, n), 1)
        if t % 7 == 0:
            resid[rng.random(n) < 0.2] = np.nan
        if t % 5 == 0:
            resid[rng.random(n) < 0.3] = -0.0
        order = np.lexsort((resid, win))
        first = np.concatenate(([True], win[order][1:] != win[order][:-1]))
        np.testing.assert_array_equal(clock._first_minima(win, resid), order[first])
