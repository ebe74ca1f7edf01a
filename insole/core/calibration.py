"""Raw counts → force [N] and pressure [kPa] per sensor, from the calibration in the recording.

Two calibration models are supported (stored per device in the recording header):

``fsr_divider_v1``
    A force-sensing resistor in a voltage divider, conductance following a power law of force
    (FSR conductance is roughly linear in force; docs/domain.md "Hardware facts", FSRs). Inverse:
    ``r = counts · full_scale_ratio / adc_max``; ``F = ref_force_n · (r / (1 − r)) ** (1 /
    exponent)``, per sensor. ``counts == adc_max`` is saturation (a lower bound of the load).
    See `insole.sources.sim.gait.counts_to_force`, which this module matches exactly.
``linear_v1``
    Imported lab data: ``value = (counts − offset) · scale`` in ``unit`` — ``"N"`` (force),
    ``"kPa"`` (pressure; force = kPa · area_mm2 / 1000) or ``"counts"`` (relative force of a
    footswitch, kept as is). The reserved count ``invalid_count`` (65535) marks invalid samples,
    which become NaN.

An empty calibration (a real device recorded without one) falls back to the raw counts as a
relative force, and says so through `Calibrator.unit`.

Because counts are integers, each sensor's conversion is a lookup table built once: converting
an hour of two 16-sensor insoles costs one gather.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

from firmware_protocol.jit import load_numba
from insole.core.layouts import SensorLayout
from insole.errors import InsoleError

__all__ = ["CalibrationError", "Calibrator"]

#: Counts converted per block by `Calibrator.force`: the block's index (8 bytes a value) and
#: output stay in cache (measured with bench/decode_speed.py: blocks of 2**12 .. 2**18 values
#: take 32, 27, 28, 34 ms for one insole-hour; one gather over the whole array took 110 ms).
_BLOCK_VALUES = 1 << 14

#: Fewest counts converted by the compiled gather (`_gather_kernel`); fewer take numpy.
_KERNEL_MIN_VALUES = 4096


def _gather_py(
    counts: np.ndarray, flat: np.ndarray, row: np.ndarray, clip: int, out: np.ndarray
) -> None:
    """``out[i, j] = flat[row[j] + min(counts[i, j], clip)]`` (compiled by `_gather_kernel`)."""
    n_rows, n_cols = counts.shape
    for i in range(n_rows):
        for j in range(n_cols):
            c = np.int64(counts[i, j])
            out[i, j] = flat[row[j] + (c if c < clip else clip)]


_GATHER: Any = None
_GATHER_LOCK = threading.Lock()


def _gather_kernel() -> Any:
    """The compiled `_gather_py`, or None without numba (numba imported at the first call).

    Thread-safe: the first callers wait while one of them wraps the function.
    """
    global _GATHER
    if _GATHER is None:
        with _GATHER_LOCK:
            if _GATHER is None:
                try:
                    numba = load_numba()
                except ImportError:  # pragma: no cover - numba is a core dependency
                    _GATHER = False
                else:
                    _GATHER = numba.njit(cache=True, nogil=True, boundscheck=False)(_gather_py)
    return _GATHER or None


#: Counts reserved for invalid samples in imported data (recordings/FORMAT.md, importers).
INVALID_COUNT = 65535


class CalibrationError(InsoleError, ValueError):
    """A calibration that cannot be used with the data; the message says why."""


class Calibrator:
    """Convert one insole's raw counts to force and pressure.

    Parameters
    ----------
    calibration : dict
        The device's ``calibration`` entry from the recording header (may be empty).
    layout : SensorLayout
        The device's sensor layout (areas for pressure).

    Attributes
    ----------
    unit : str
        Unit of `force`: ``"N"``, or ``"counts"`` when the data is only relative.
    """

    def __init__(self, calibration: dict[str, Any], layout: SensorLayout) -> None:
        self.calibration = calibration
        self.layout = layout
        n = layout.n_sensors
        model = calibration.get("model") if calibration else None
        self.unit = "N"
        if model == "fsr_divider_v1":
            adc_max = int(calibration["adc_max"])
            ratio = float(calibration["full_scale_ratio"])
            ref = np.asarray(calibration["ref_force_n"], float)
            exponent = np.asarray(calibration["exponent"], float)
            if ref.shape != (n,) or exponent.shape != (n,):
                raise CalibrationError(
                    f"calibration covers {ref.shape[0]} sensors but the layout has {n}"
                )
            r = np.arange(adc_max + 1, dtype=float) * (ratio / adc_max)
            with np.errstate(divide="ignore"):
                table = ref[:, None] * np.power(r / (1.0 - r), 1.0 / exponent[:, None])
            self._table = table.astype(np.float32)  # (n_sensors, adc_max + 1)
            self._clip = adc_max
        elif model == "linear_v1":
            scale = np.broadcast_to(np.asarray(calibration["scale"], float), (n,))
            offset = np.broadcast_to(np.asarray(calibration["offset"], float), (n,))
            unit = calibration.get("unit", "N")
            if unit == "kPa":
                scale = scale * layout.area_mm2 / 1000.0
            elif unit == "counts":
                self.unit = "counts"
            elif unit != "N":
                raise CalibrationError(f"linear_v1 unit must be N, kPa or counts, not {unit!r}")
            invalid = int(calibration.get("invalid_count", INVALID_COUNT))
            c = np.arange(65536, dtype=float)
            table = (c[None, :] - offset[:, None]) * scale[:, None]
            table[:, invalid] = np.nan
            self._table = table.astype(np.float32)
            self._clip = 65535
        elif not model:
            self.unit = "counts"
            self._table = np.tile(np.arange(65536, dtype=np.float32), (n, 1))
            self._clip = 65535
        else:
            raise CalibrationError(
                f"unknown calibration model {model!r}; this version reads fsr_divider_v1 and "
                "linear_v1 — update insole"
            )
        self._flat = self._table.reshape(-1)
        self._row = (np.arange(n) * self._table.shape[1]).astype(np.int64)

    @property
    def lookup(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The lookup `force` gathers from: ``(flat, row, clip)``.

        The force of count ``c`` of sensor ``j`` is ``flat[row[j] + min(c, clip)]`` (``flat``
        float32, ``row`` int64, both contiguous; for compiled callers that convert counts
        where they read them, as `insole.core.pipeline` does).
        """
        return self._flat, self._row, self._clip

    def force(self, counts: np.ndarray) -> np.ndarray:
        """Force per sensor, float32, shape like ``counts`` (n_samples, n_sensors).

        Counts as sent (uint8 or uint16) are converted by one compiled gather (numba; a
        table row per sensor, counts clipped to the table), or without numba block by block:
        add each sensor's row offset straight into a cache-sized index block, gather (clipping
        to the table first only when some count exceeds it). Other dtypes take the general
        path; all give the same values.
        """
        counts = np.asarray(counts)
        if counts.dtype not in (np.uint8, np.uint16) or counts.ndim != 2:
            c = np.minimum(np.asarray(counts, np.int64), self._clip)
            return self._flat[c + self._row]
        n_rows, n_cols = counts.shape
        out = np.empty((n_rows, n_cols), np.float32)
        # The compiled gather only once numba is loaded (by the contact detector): a process
        # that only converts counts does not pay numba's 130 MB and 0.4 s for it.
        kernel = (
            _gather_kernel()
            if n_rows * n_cols >= _KERNEL_MIN_VALUES and "numba" in sys.modules
            else None
        )
        if kernel is not None:
            kernel(np.ascontiguousarray(counts), self._flat, self._row, self._clip, out)
            return out
        step = max(1, _BLOCK_VALUES // max(n_cols, 1))
        idx = np.empty((min(step, n_rows), n_cols), np.intp)
        clipped = np.empty(idx.shape, counts.dtype)
        clip = self._clip if counts.size and int(counts.max()) > self._clip else None
        for r0 in range(0, n_rows, step):
            c = counts[r0 : r0 + step]
            k = len(c)
            if clip is not None:
                c = np.minimum(c, clip, out=clipped[:k])
            np.add(c, self._row, out=idx[:k])
            np.take(self._flat, idx[:k], out=out[r0 : r0 + k])
        return out

    def pressure_kpa(self, force_n: np.ndarray) -> np.ndarray:
        """Mean pressure over each sensor's area [kPa] from force [N]."""
        return force_n * (1000.0 / self.layout.area_mm2).astype(np.float32)
