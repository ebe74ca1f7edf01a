"""`Calibrator.force` block-wise path (uint8/uint16 counts) equals the general gather."""

from __future__ import annotations

import numpy as np
import pytest

from insole.core.calibration import Calibrator
from insole.core.layouts import default_layout

N = 16


def _reference(cal: Calibrator, counts: np.ndarray) -> np.ndarray:
    c = np.minimum(np.asarray(counts, np.int64), cal._clip)
    return cal._flat[c + cal._row]


CALIBRATIONS = [
    {},
    {
        "model": "fsr_divider_v1",
        "adc_max": 4095,
        "full_scale_ratio": 0.97,
        "ref_force_n": list(np.linspace(20, 60, N)),
        "exponent": list(np.linspace(0.8, 1.3, N)),
    },
    {"model": "linear_v1", "scale": 0.5, "offset": 3.0, "unit": "N"},
    {"model": "linear_v1", "scale": 2.0, "offset": 0.0, "unit": "kPa"},
]


@pytest.mark.parametrize("calibration", CALIBRATIONS)
@pytest.mark.parametrize("n_rows", [0, 1, 5, 1023, 1024, 1025, 70_001])
def test_force_equals_general_gather(calibration: dict, n_rows: int) -> None:
    cal = Calibrator(calibration, default_layout(N))
    rng = np.random.default_rng(n_rows)
    counts = rng.integers(0, 4096, (n_rows, N)).astype(np.uint16)
    if n_rows > 3:
        counts[1, 2] = 65535  # invalid / saturated beyond the table
        counts[2, 3] = 4096
    got = cal.force(counts)
    assert got.dtype == np.float32
    assert got.shape == counts.shape
    np.testing.assert_array_equal(got, _reference(cal, counts))
    # Other dtypes and layouts give the same values.
    np.testing.assert_array_equal(cal.force(counts.astype(np.int64)), got)
    np.testing.assert_array_equal(cal.force(np.asfortranarray(counts)), got)
    small = np.minimum(counts, 255).astype(np.uint8)
    np.testing.assert_array_equal(cal.force(small), _reference(cal, small))
