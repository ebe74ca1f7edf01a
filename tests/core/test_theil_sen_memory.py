"""The clock fit's Theil–Sen slope is exactly np.median of all pairwise slopes (float32 pass)."""

from __future__ import annotations

import numpy as np
import pytest

from insole.core.clock import _theil_sen


def _reference(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx > 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0
    return slope, float(np.median(y - slope * x))


@pytest.mark.parametrize("trial", range(40))
def test_theil_sen_equals_the_all_pairs_median(trial: int) -> None:
    rng = np.random.default_rng(trial)
    n = [1, 2, 3, 4, 5, 50, 301, 1500][trial % 8]
    x = np.sort(rng.uniform(0, 3600, n))
    if trial % 3 == 0:
        x = np.round(x)  # equal x: pairs without a slope
    y = 1e-5 * x + rng.exponential(0.003, n)
    if trial % 4 == 0:
        y = np.round(y, 4)  # many equal slopes
    if trial % 7 == 0:
        y = np.zeros(n)
    assert _theil_sen(x, y) == _reference(x, y)


def test_slopes_beyond_float32_fall_back_to_float64() -> None:
    x = np.array([0.0, 1e-30, 2e-30, 1.0])
    y = np.array([0.0, 1e10, 3e10, 2.0])
    assert _theil_sen(x, y) == _reference(x, y)
