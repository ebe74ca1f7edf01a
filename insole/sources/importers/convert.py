"""Turn arrays read from another system's files into an ordinary insole recording.

Every importer ends here. The samples of each foot are quantised to u16 counts with a
``linear_v1`` calibration, encoded as protocol-v1 SAMPLES frames
(`firmware_protocol.encode_samples_frames`, one stream per device, transport ``"import"``) and
written with `insole.recordings.container.RecordingWriter`, each frame as one chunk whose host time
is the time of its last sample, as if the data had arrived live. The result is read back by
`insole.recordings.loader.load_recording` and analysed by exactly the same decoder and pipeline as a
recording made from real insoles.

Calibration written per device (``recordings/FORMAT.md`` §2.3, read by
`insole.core.calibration.Calibrator`)::

    {"model": "linear_v1", "unit": "N" | "kPa" | "counts",
     "scale": [per-sensor float], "offset": [per-sensor float], "invalid_count": 65535}

meaning ``value = (counts - offset) * scale`` in ``unit``; the count 65535 is reserved for
invalid samples (NaN in the source, gaitndd's -2048, stAPPone's corrupt flag), which the
analysis turns into NaN. See ``docs/importers.md``.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from firmware_protocol import DeviceInfoFrame, Side, encode_samples_frames, to_wire
from firmware_protocol.frames import MAX_SENSORS
from insole.core.layouts import SensorLayout, classify_region, single_sensor_layout
from insole.errors import RecordingError
from insole.recordings.container import RecordingWriter
from insole.sources.importers import (
    MAX_SAMPLE_RATE_HZ,
    MIN_SAMPLE_RATE_HZ,
    ImportFormatError,
    is_number,
    wrong_field_count,
)

__all__ = [
    "FILE_LOCAL_TIME",
    "INVALID_COUNT",
    "LENGTH_UNITS_MM",
    "MAX_VALID_COUNT",
    "PRESSURE_UNITS_KPA",
    "ImportResult",
    "ImportedDevice",
    "SenselCells",
    "counts_to_values",
    "first_negative",
    "kpa_per_unit",
    "linear_calibration",
    "median_step",
    "merge_sensels",
    "mm_per_unit",
    "numeric_rows",
    "same_file",
    "single_sensor_device",
    "values_to_counts",
    "write_devices",
    "write_import",
]

#: Count reserved for an invalid sample in imported data (``calibration["invalid_count"]``).
INVALID_COUNT = 65535

#: Largest count that carries a value.
MAX_VALID_COUNT = 65534

#: ``start_source`` of a start time read from a file that does not say its time zone.
FILE_LOCAL_TIME = "file (local time assumed)"

#: Units a ``linear_v1`` calibration may use.
UNITS = ("N", "kPa", "counts")

# Quantisation steps tried, largest first: 1-2-2.5-5 series from 1000 down to 1e-6.
_STEPS = tuple(
    m * 10.0**e for e in range(3, -7, -1) for m in (5.0, 2.5, 2.0, 1.0)
)
# Samples per SAMPLES frame: about this long a batch, as a BLE insole would send.
_BATCH_S = 0.05
# A frame's intra-frame sample times (timestamp_us + k / rate) may miss the source times by this
# much before the importer falls back to one sample per frame.
_MAX_TIME_ERROR_S = 0.0005
_MAX_FRAME_BYTES = 1024
_FRAME_OVERHEAD = 18  # 12 header + 4 SAMPLES fields + 2 CRC


@dataclass
class ImportedDevice:
    """One insole (or force plate, or footswitch) read from a file, ready to be written.

    Parameters
    ----------
    side : str
        ``"left"`` or ``"right"``.
    values : ndarray of float64, shape (n_samples, n_sensors)
        Samples in `unit`; NaN marks an invalid sample.
    time_s : ndarray of float64, shape (n_samples,)
        Time of each sample on the source's clock [s], strictly increasing.
    layout : SensorLayout
        Sensor positions; ``layout.n_sensors`` must equal ``values.shape[1]``.
    unit : str
        ``"N"``, ``"kPa"`` or ``"counts"``.
    columns : list of str
        Source column (or channel) of each sensor, for the header.
    device_id : int
        Device id in the frames, 0..65535; ``(device_id, side)`` unique in the recording.
    label : str
        Stream label, e.g. ``"gaitpdb GaCo01_01.txt left"``.
    calibration : dict or None
        A ready ``linear_v1`` calibration; None lets `linear_calibration` choose one.
    info : dict
        Further per-device facts for ``extra.import.devices`` (JSON-serialisable).
    device_keys : dict
        Extra keys for the device's entry in the header's ``devices`` (e.g.
        ``{"plate_under_both_feet": True}``); readers ignore keys they do not know.
    """

    side: str
    values: NDArray[np.float64]
    time_s: NDArray[np.float64]
    layout: SensorLayout
    unit: str
    columns: list[str]
    device_id: int
    label: str
    calibration: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    device_keys: dict[str, Any] = field(default_factory=dict)


def single_sensor_device(
    side: str, values: NDArray[np.float64], time_s: NDArray[np.float64], *, unit: str,
    column: str, device_id: int, label: str, info: Mapping[str, Any] | None = None,
) -> ImportedDevice:
    """A device with one whole-foot sensor: a force plate, or one force column of a table.

    Parameters
    ----------
    side : str
        ``"left"``, ``"right"`` or ``"both"``: one plate under both feet, stored as the left
        device and marked ``plate_under_both_feet`` in its header entry (the analysis then
        counts every contact as a step).
    values : ndarray of float64, shape (n_samples,)
        The samples in `unit`; NaN marks an invalid sample.
    time_s : ndarray of float64, shape (n_samples,)
        Time of each sample [s].
    unit, device_id, label
        As in `ImportedDevice`.
    column : str
        The source column (or channel).
    info : mapping, optional
        Facts for ``extra.import.devices``; ``under_both_feet`` is added last.

    Returns
    -------
    ImportedDevice
        On `insole.core.layouts.single_sensor_layout`.
    """
    both = side == "both"
    return ImportedDevice(
        side="left" if both else side, values=values[:, None], time_s=time_s,
        layout=single_sensor_layout(), unit=unit, columns=[column], device_id=device_id,
        label=label, info={**(info or {}), "under_both_feet": both},
        device_keys={"plate_under_both_feet": True} if both else {},
    )


@dataclass
class ImportResult:
    """What an importer wrote.

    Attributes
    ----------
    path : Path
        The recording.
    format : str
        Source format, e.g. ``"gaitpdb"``.
    source : Path
        The file imported.
    sample_rate_hz : float
        Nominal sampling rate (the header's ``sample_rate_hz``).
    duration_s : float
        Longest span of samples over the devices, one sample period included [s].
    devices : list of dict
        Per device: ``side``, ``device_id``, ``n_sensors``, ``samples``, ``invalid_samples``,
        ``unit``, ``scale`` and ``offset`` (first sensor's), ``max_abs_error`` (largest
        quantisation error of a valid sample, in ``unit``), ``frames``,
        ``samples_per_frame``, ``frame_sample_rate_hz`` and ``max_time_error_s`` (largest
        difference between a sample's device time in the frames and the source time).
    bytes : int
        Size of the recording file.
    told : list of str
        What the import changed that its user must know (``insole import`` prints it; also in
        the header's ``extra.import.notes``, with the other notes).
    """

    path: Path
    format: str
    source: Path
    sample_rate_hz: float
    duration_s: float
    devices: list[dict[str, Any]]
    bytes: int
    told: list[str] = field(default_factory=list)

    @property
    def samples(self) -> int:
        """Samples over all devices."""
        return sum(int(d["samples"]) for d in self.devices)

    @property
    def invalid_samples(self) -> int:
        """Samples (sensor values) stored as the invalid count, all devices."""
        return sum(int(d["invalid_samples"]) for d in self.devices)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary (what ``insole import ... --json`` prints)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "source": str(self.source),
            "devices": self.devices,
            "samples": self.samples,
            "duration_s": round(self.duration_s, 6),
            "sample_rate_hz": self.sample_rate_hz,
            "invalid_samples": self.invalid_samples,
            "bytes": self.bytes,
            "notes": list(self.told),
        }


# --------------------------------------------------------------------------------------------
# Numeric text
# --------------------------------------------------------------------------------------------


def numeric_rows(
    lines: Sequence[str],
    fail: Callable[[str], ImportFormatError],
    *,
    first_line: int = 1,
    n_columns: int | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Whitespace-separated numbers, one row per line; errors name the line in the file.

    Parameters
    ----------
    lines : sequence of str
        The data lines of a file (after its header). Text from ``#`` on is a comment; lines
        empty without it are skipped.
    fail : callable
        The importer's one-line error for a message (which names the line and the fix).
    first_line : int
        Line number in the file of ``lines[0]`` (1-based).
    n_columns : int, optional
        Values each line must have (e.g. from a column header); default as many as the first
        data line.

    Returns
    -------
    values : ndarray of float64, shape (n_rows, n_columns)
        The numbers (``nan`` and ``inf`` as written); shape (0, 0) without data lines.
    line : ndarray of int64, shape (n_rows,)
        Line number in the file of each row, for messages.

    Raises
    ------
    ImportFormatError
        From `fail`: a line with another number of values (the last one: the file is
        truncated; another: damaged), or a value that is not a number (on the first data
        line: the file is not a numeric table).
    """
    rows = [(first_line + k, ln.split("#", 1)[0]) for k, ln in enumerate(lines)]
    rows = [(n, ln) for n, ln in rows if ln.strip()]
    line = np.array([n for n, _ in rows], dtype=np.int64)
    if not rows:
        return np.empty((0, n_columns or 0)), line
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            data = np.loadtxt(io.StringIO("\n".join(ln for _, ln in rows)), dtype=np.float64,
                              ndmin=2, comments=None)
        if n_columns is None or data.shape[1] == n_columns:
            return data, line
    except ValueError:
        pass
    # numpy's message counts data rows from 0 and suggests its own options: find the line
    want = n_columns if n_columns is not None else len(rows[0][1].split())
    reference = "the column header has" if n_columns is not None else f"line {rows[0][0]} has"
    out = np.empty((len(rows), want))
    for i, (n, ln) in enumerate(rows):
        fields = ln.split()
        bad = next((j for j, f in enumerate(fields) if not is_number(f)), None)
        if bad is not None:
            where = f"line {n}, column {bad + 1}: {fields[bad][:30]!r} is not a number"
            raise fail(f"not a numeric table ({where})" if i == 0 else
                       f"{where}: the file is damaged at line {n}; correct or delete that "
                       "line, or export the file again")
        if len(fields) != want:
            raise fail(wrong_field_count(n, len(fields), want, last=i == len(rows) - 1,
                                         reference=reference, unit="values"))
        out[i] = [float(f) for f in fields]
    return out, line


def first_negative(values: NDArray[np.float64]) -> tuple[int, int] | None:
    """(row, column) of the first negative value in row order, or None; NaN is not negative.

    Pressure importers refuse a negative pressure with a message naming its place (a
    pressure cannot be below zero; such a value is a damaged file, not a reading): Moticon
    (its row and side), pedar (its line, column and sensor).
    """
    with np.errstate(invalid="ignore"):
        found = np.argwhere(values < 0)
    if found.size == 0:
        return None
    row, col = (int(k) for k in found[0])
    return row, col


# --------------------------------------------------------------------------------------------
# Quantisation
# --------------------------------------------------------------------------------------------


def _lattice_step(values: NDArray[np.float64]) -> float | None:
    """Largest step of `_STEPS` of which every value is a whole multiple, or None."""
    v = np.unique(values[np.isfinite(values)])
    v = v[v != 0]
    if v.size == 0:
        return None
    for step in _STEPS:
        q = v / step
        if np.all(np.abs(q - np.round(q)) <= 1e-6):  # text-to-float error is far smaller
            return step
    return None


def linear_calibration(
    values: NDArray[np.float64],
    unit: str,
    *,
    step: float | None = None,
    offset: float | None = None,
) -> dict[str, Any]:
    """Choose a ``linear_v1`` calibration that fits `values` into u16 counts.

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_sensors)
        The data in `unit`; NaN values are ignored (they become the invalid count).
    unit : str
        ``"N"``, ``"kPa"`` or ``"counts"``.
    step : float, optional
        Quantisation step (``scale``) to use. Default: the data's own resolution when the data
        lie on a lattice (e.g. 0.01 N for values printed with two decimals, 0.5 kPa for pedar)
        and the range fits in 65535 counts — then the round trip is exact — otherwise the
        finest step of the 1-2-2.5-5 series that fits the range (error at most half a step).
    offset : float, optional
        Count that stands for zero. Default: 0, or just enough counts for the most negative
        value (force-plate noise below zero).

    Returns
    -------
    dict
        ``{"model": "linear_v1", "unit": unit, "scale": [...], "offset": [...],
        "invalid_count": 65535}``, one scale and offset per sensor (all equal).

    Raises
    ------
    ImportFormatError
        If `unit` is unknown or the values do not fit with the given `step` and `offset`.
    """
    if unit not in UNITS:
        raise ImportFormatError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    values = np.asarray(values, dtype=np.float64)
    n_sensors = values.shape[1] if values.ndim == 2 else 1
    finite = values[np.isfinite(values)]
    lo = min(float(finite.min()), 0.0) if finite.size else 0.0
    hi = max(float(finite.max()), 0.0) if finite.size else 0.0
    if step is None:
        needed = (hi - lo) / (MAX_VALID_COUNT - 1) if hi > lo else 0.0
        native = _lattice_step(finite)
        if native is not None and native >= needed:
            step = native
        else:
            step = min((s for s in _STEPS if s >= needed), default=_STEPS[0])
            if step < needed:
                raise ImportFormatError(
                    f"values span {lo:g} .. {hi:g} {unit}, too wide to store as 16-bit counts"
                )
    if not (step > 0 and math.isfinite(step)):
        raise ImportFormatError(f"quantisation step must be a positive number, got {step!r}")
    if offset is None:
        offset = float(math.ceil(-lo / step - 1e-9)) if lo < 0 else 0.0
    top = round(hi / step + offset)
    bottom = round(lo / step + offset)
    if bottom < 0 or top > MAX_VALID_COUNT:
        raise ImportFormatError(
            f"values span {lo:g} .. {hi:g} {unit}, which does not fit counts 0 .. "
            f"{MAX_VALID_COUNT} with scale {step:g} and offset {offset:g}"
        )
    return {
        "model": "linear_v1",
        "unit": unit,
        "scale": [float(step)] * n_sensors,
        "offset": [float(offset)] * n_sensors,
        "invalid_count": INVALID_COUNT,
    }


def values_to_counts(
    values: NDArray[np.float64], calibration: Mapping[str, Any]
) -> tuple[NDArray[np.uint16], int]:
    """Quantise values to counts with a ``linear_v1`` calibration.

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_sensors)
        Values in the calibration's unit; NaN marks an invalid sample.
    calibration : mapping
        A ``linear_v1`` calibration (see `linear_calibration`).

    Returns
    -------
    counts : ndarray of uint16, shape like `values`
        ``round(value / scale + offset)``; invalid samples are ``invalid_count`` (65535).
    n_invalid : int
        Number of invalid samples.

    Raises
    ------
    ImportFormatError
        If a valid value falls outside the counts 0 .. 65534.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = np.asarray(calibration["scale"], dtype=np.float64)
    offset = np.asarray(calibration["offset"], dtype=np.float64)
    invalid = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        c = np.round(np.where(invalid, 0.0, values) / scale + offset)
    bad = (~invalid) & ((c < 0) | (c > MAX_VALID_COUNT))
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ImportFormatError(
            f"value {values[i, j]:g} (sample {i}, sensor {j}) does not fit the calibration "
            f"(scale {scale[j]:g}, offset {offset[j]:g})"
        )
    counts = np.where(invalid, INVALID_COUNT, c).astype(np.uint16)
    return counts, int(invalid.sum())


def counts_to_values(
    counts: NDArray[np.integer[Any]], calibration: Mapping[str, Any]
) -> NDArray[np.float64]:
    """Invert `values_to_counts` in float64 (invalid counts become NaN).

    Parameters
    ----------
    counts : ndarray of int, shape (n_samples, n_sensors)
        Counts.
    calibration : mapping
        A ``linear_v1`` calibration.

    Returns
    -------
    ndarray of float64
        ``(counts - offset) * scale`` in the calibration's unit.
    """
    c = np.asarray(counts)
    scale = np.asarray(calibration["scale"], dtype=np.float64)
    offset = np.asarray(calibration["offset"], dtype=np.float64)
    out = (c.astype(np.float64) - offset) * scale
    out[c == int(calibration.get("invalid_count", INVALID_COUNT))] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Frames and file
# --------------------------------------------------------------------------------------------


def fitted_rate(time_s: NDArray[np.float64], sample_rate_hz: float) -> float | None:
    """The rate of a regular time column that drifts against the nominal rate, or None.

    A lab file's time column may tick at a rate a little off its nominal one (gaitpdb: 100 Hz
    nominal, about 100.007 Hz from its time column, 8.5 ms behind after two minutes). Placed at
    the nominal rate, such samples drift off their index until one lands on an index already
    filled: the pipeline drops it as an overlap and reports a negative gap. The fitted rate,
    recorded in the header's device entry, places every sample where its time says.

    Parameters
    ----------
    time_s : ndarray of float64
        Time of each sample [s], increasing.
    sample_rate_hz : float
        Nominal rate.

    Returns
    -------
    float or None
        The least-squares rate of the time column, when the column is regular (every time
        within a quarter of a sample of the fitted line: no missing samples), it rounds to the
        same whole number of Hz as the nominal rate (the frames' rate field), and at the nominal
        rate the last sample would be placed at least a quarter of a sample off. Otherwise None
        (keep the nominal rate).
    """
    n = int(time_s.shape[0])
    if n < 3 or not np.all(np.isfinite(time_s)):
        return None
    k = np.arange(n, dtype=np.float64)
    k_mean = (n - 1) / 2.0
    t_mean = float(np.mean(time_s))
    slope = float(np.dot(k - k_mean, time_s - t_mean) / np.dot(k - k_mean, k - k_mean))
    if not slope > 0:
        return None
    rate = 1.0 / slope
    residual = time_s - (t_mean + slope * (k - k_mean))
    if float(np.max(np.abs(residual))) * rate > 0.25:
        return None  # irregular or with missing samples: the nominal rate and the frame times
    drift_samples = (n - 1) * abs(rate / sample_rate_hz - 1.0)
    if drift_samples < 0.25 or _frame_rate(rate)[0] != _frame_rate(sample_rate_hz)[0]:
        return None
    return rate


def median_step(times: NDArray[np.float64], *, finite_only: bool = False) -> float:
    """Median step between successive `times` (the sample period of a time column).

    Parameters
    ----------
    times : ndarray of float64, shape (n,)
        A time column.
    finite_only : bool
        Ignore steps that are not finite (next to an empty time).

    Returns
    -------
    float
        The median step, NaN with no step (fewer than two times); not positive when the times
        do not increase.
    """
    steps = np.diff(times)
    if finite_only:
        steps = steps[np.isfinite(steps)]
    return float(np.median(steps)) if steps.size else float("nan")


def _frame_rate(sample_rate_hz: float) -> tuple[int, bool]:
    """The SAMPLES frames' integer rate field and whether it is the exact rate."""
    rate = int(math.floor(sample_rate_hz + 0.5))
    rate = min(max(rate, 1), 10000)
    return rate, abs(rate - sample_rate_hz) < 1e-9


def _batch(sample_rate_hz: float, n_sensors: int) -> int:
    by_size = (_MAX_FRAME_BYTES - _FRAME_OVERHEAD) // (2 * n_sensors)
    return max(1, min(32, by_size, int(round(sample_rate_hz * _BATCH_S))))


def _frames_for(
    dev: ImportedDevice, counts: NDArray[np.uint16], t0_s: float, sample_rate_hz: float
) -> tuple[list[bytes], NDArray[np.float64], dict[str, Any]]:
    """Wire bytes of each frame (DEVICE_INFO first), its host time, and frame facts."""
    n, n_sensors = counts.shape
    rate_field, exact = _frame_rate(sample_rate_hz)
    t = dev.time_s - t0_s
    batch = _batch(sample_rate_hz, n_sensors) if exact else 1
    while True:
        first = np.arange(0, n, batch)
        k = np.arange(n) - np.repeat(first, np.diff(np.append(first, n)))
        first_us = np.round(t[first] * 1e6).astype(np.int64)
        sample_us = np.repeat(first_us, np.diff(np.append(first, n))) + k * 1e6 / rate_field
        err_s = float(np.max(np.abs(sample_us / 1e6 - t))) if n else 0.0
        if err_s <= _MAX_TIME_ERROR_S or batch == 1:
            break
        batch = 1  # irregular source times: one sample per frame carries every time exactly
    side = Side.parse(dev.side)
    name = f"{dev.label.split()[0]}-{side.label[0].upper()}-{dev.device_id}"[:24]
    info = to_wire(
        DeviceInfoFrame(
            dev.device_id, side, 0, int(first_us[0]) & 0xFFFFFFFF if n else 0, (0, 0, 0), 0,
            n_sensors, 16, rate_field, name,
        )
    )
    chunks: list[bytes] = [info]
    times: list[NDArray[np.float64]] = [np.array([t[0] if n else 0.0])]
    n_full = n // batch
    seq = 1
    if n_full:
        wire, lengths = encode_samples_frames(
            device_id=dev.device_id,
            side=side,
            seq=np.arange(seq, seq + n_full),
            timestamp_us=first_us[:n_full],
            sample_rate_hz=rate_field,
            counts=counts[: n_full * batch].reshape(n_full, batch, n_sensors),
        )
        ends = np.cumsum(lengths)
        data = wire.tobytes()
        chunks.extend(data[e - ln : e] for e, ln in zip(ends.tolist(), lengths.tolist(),
                                                         strict=True))
        times.append(t[np.arange(1, n_full + 1) * batch - 1])
        seq += n_full
    if n_full * batch < n:
        wire, _ = encode_samples_frames(
            device_id=dev.device_id,
            side=side,
            seq=np.array([seq]),
            timestamp_us=first_us[n_full:n_full + 1],
            sample_rate_hz=rate_field,
            counts=counts[n_full * batch:][None, :, :],
        )
        chunks.append(wire.tobytes())
        times.append(t[-1:])
    facts = {
        "frames": len(chunks) - 1,
        "samples_per_frame": batch,
        "frame_sample_rate_hz": rate_field,
        "max_time_error_s": round(err_s, 9),
    }
    return chunks, np.concatenate(times), facts


def _check_device(dev: ImportedDevice, source: Path, fmt: str) -> None:
    where = f"{fmt} file {str(source)!r}"
    if dev.side not in ("left", "right"):
        raise ImportFormatError(f"side must be 'left' or 'right', got {dev.side!r}", path=source)
    if dev.values.ndim != 2 or dev.values.shape[0] == 0:
        raise ImportFormatError(f"{where} holds no samples for the {dev.side} side", path=source)
    n, n_sensors = dev.values.shape
    if n_sensors != dev.layout.n_sensors or not 1 <= n_sensors <= MAX_SENSORS:
        raise ImportFormatError(
            f"{where}: {n_sensors} sensors on the {dev.side} side but the layout has "
            f"{dev.layout.n_sensors} (the wire protocol carries 1 .. {MAX_SENSORS})",
            path=source,
        )
    if dev.time_s.shape != (n,) or not np.all(np.isfinite(dev.time_s)):
        raise ImportFormatError(f"{where}: the time column is missing or not finite", path=source)
    steps = np.diff(dev.time_s)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise ImportFormatError(
            f"{where}: time does not increase at sample {i + 1} ({dev.time_s[i]:g} s, then "
            f"{dev.time_s[i + 1]:g} s); the file is damaged or not in time order",
            path=source,
        )


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (if one does not exist: by resolved paths)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_import(
    out: str | os.PathLike[str],
    *,
    fmt: str,
    source: str | os.PathLike[str],
    devices: Sequence[ImportedDevice],
    sample_rate_hz: float,
    start: datetime | None = None,
    start_source: str = "import time",
    info: Mapping[str, Any] | None = None,
    notes: str | None = None,
    overwrite: bool = False,
    events: Sequence[tuple[float, str, Mapping[str, Any]]] = (),
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> ImportResult:
    """Write imported devices as an ordinary recording.

    Parameters
    ----------
    out : path-like
        Recording to create. It is written under a temporary name and renamed at the end, so a
        failed import leaves no partial file.
    fmt : str
        Source format (``"gaitpdb"``, ``"table"``, ...); the header's ``source`` is
        ``"import:<fmt>"``.
    source : path-like
        The imported file (its name, size and SHA-256 go to ``extra.import``).
    devices : sequence of ImportedDevice
        The devices, each becoming one stream.
    sample_rate_hz : float
        Nominal sampling rate; may be fractional (stAPPone: 62.5 Hz, see ``docs/importers.md``).
    start : datetime, optional
        Wall-clock time of the first sample (header ``start_time``); default now.
    start_source : str
        Where `start` came from: ``"file"``, ``"user"`` or ``"import time"``.
    info : mapping, optional
        Format-specific facts for ``extra.import`` (columns, units, notes, ...).
    notes : str, optional
        Header ``notes``.
    overwrite : bool
        Replace an existing `out`.
    events : sequence of (time_s, name, fields)
        Recording-wide events (e.g. a vendor's step events) at times on the devices' ``time_s``
        axis; written as event blocks (stream 255) in time order among the chunks.
    inputs : sequence of path-like
        The other files the import read besides `source` (a gaitndd record's signal files and
        annotations): `out` may be none of them nor `source`, even with `overwrite`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If a device's data cannot be stored (see `ImportedDevice`), or `sample_rate_hz` is
        outside `MIN_SAMPLE_RATE_HZ` .. `MAX_SAMPLE_RATE_HZ` (1 .. 10000 Hz).
    RecordingError
        If `out` is `source` or one of `inputs`, exists (and `overwrite` is false) or cannot
        be written (the message names `out`, not the temporary file).
    """
    out_path = Path(out)
    source_path = Path(source)
    if not devices:
        raise ImportFormatError(f"{fmt} file {str(source_path)!r} holds no devices to import")
    for other in (source_path, *map(Path, inputs)):
        if same_file(out_path, other):
            raise RecordingError(
                f"{out_path}: is also the file imported ({other.name}); the recording would "
                "replace it: choose another file name",
                path=str(out_path),
            )
    if out_path.is_dir():
        raise RecordingError(
            f"{out_path}: is a directory; give the recording file to create, e.g. "
            f"{out_path / (source_path.stem + '.insrec')}",
            path=str(out_path),
        )
    folder = out_path.parent
    if not folder.is_dir():
        raise RecordingError(
            f"{out_path}: the folder {folder} does not exist; create it or choose another output "
            "path",
            path=str(out_path),
        )
    if out_path.exists() and not overwrite:
        raise RecordingError(
            f"{out_path}: file already exists; choose a new file name or pass --overwrite",
            path=str(out_path),
        )
    if not (math.isfinite(sample_rate_hz)
            and MIN_SAMPLE_RATE_HZ <= sample_rate_hz <= MAX_SAMPLE_RATE_HZ):
        raise ImportFormatError(
            f"{fmt} file {str(source_path)!r}: sampling rate {sample_rate_hz:g} Hz is outside "
            f"{MIN_SAMPLE_RATE_HZ:g}..{MAX_SAMPLE_RATE_HZ:g} Hz (below 1 Hz no step is "
            "resolved; the wire protocol carries at most 10000 Hz); give the file's real rate",
            path=source_path,
        )
    for dev in devices:
        _check_device(dev, source_path, fmt)
    t0 = min(float(d.time_s[0]) for d in devices)

    header_devices = []
    device_facts = []
    streams = []
    all_chunks: list[tuple[float, int, int, bytes]] = []
    rate_notes: list[str] = []
    for sid, dev in enumerate(devices):
        try:
            cal = dev.calibration or linear_calibration(dev.values, dev.unit)
            counts, n_invalid = values_to_counts(dev.values, cal)
        except ImportFormatError as exc:
            raise ImportFormatError(
                f"{fmt} file {str(source_path)!r}, {dev.side} side: {exc}; the file holds a "
                "damaged or out-of-range value: correct it, or export the file again",
                path=source_path,
            ) from None
        back = counts_to_values(counts, cal)
        valid = np.isfinite(dev.values)
        max_err = float(np.max(np.abs(back[valid] - dev.values[valid]), initial=0.0))
        chunks, times, facts = _frames_for(dev, counts, t0, sample_rate_hz)
        device_rate = float(sample_rate_hz)
        fitted = fitted_rate(dev.time_s, float(sample_rate_hz))
        if fitted is not None:
            device_rate = round(fitted, 6)
            facts["time_column_rate_hz"] = device_rate
            drift_ms = 1000 * abs(fitted - sample_rate_hz) * (len(dev.time_s) - 1) / (
                fitted * sample_rate_hz)
            rate_notes.append(
                f"{dev.side}: the time column ticks at {device_rate:.6g} Hz, not the nominal "
                f"{float(sample_rate_hz):g} Hz ({drift_ms:.1f} ms "
                "over the file); the header's device rate is the fitted one, so that every "
                "sample is placed at its time"
            )
        all_chunks.extend(
            (float(tm), sid, i, ch) for i, (tm, ch) in enumerate(zip(times, chunks, strict=True))
        )
        streams.append({"stream_id": sid, "transport": "import", "label": dev.label})
        header_devices.append(
            {
                "device_id": dev.device_id,
                "side": dev.side,
                "sample_rate_hz": device_rate,
                "n_sensors": dev.layout.n_sensors,
                "adc_bits": 16,
                "layout": dev.layout.to_json(),
                "calibration": cal,
                **dev.device_keys,
            }
        )
        device_facts.append(
            {
                "side": dev.side,
                "device_id": dev.device_id,
                "n_sensors": dev.layout.n_sensors,
                "samples": int(counts.shape[0]),
                "invalid_samples": n_invalid,
                "unit": cal["unit"],
                "scale": float(cal["scale"][0]),
                "offset": float(cal["offset"][0]),
                "max_abs_error": max_err,
                "duration_s": round(
                    float(dev.time_s[-1] - dev.time_s[0]) + 1.0 / sample_rate_hz, 6
                ),
                **facts,
            }
        )
    extra_import: dict[str, Any] = {
        "format": fmt,
        "file": source_path.name,
        "file_bytes": source_path.stat().st_size if source_path.is_file() else None,
        "sha256": _sha256(source_path) if source_path.is_file() else None,
        "start_time_source": start_source,
        "sample_rate_hz": float(sample_rate_hz),
        "invalid_count": INVALID_COUNT,
        "devices": [
            {
                "device_id": dev.device_id,
                "side": dev.side,
                "columns": list(dev.columns),
                "unit": dev.unit,
                "invalid_samples": f["invalid_samples"],
                "max_abs_error": f["max_abs_error"],
                **dev.info,
            }
            for dev, f in zip(devices, device_facts, strict=True)
        ],
        **dict(info or {}),
    }
    told = [str(n) for n in extra_import.pop("tell", [])]
    if rate_notes:
        extra_import["notes"] = [*extra_import.get("notes", []), *rate_notes]
    start = start or datetime.now(UTC).astimezone()
    if start.tzinfo is None:
        start = start.astimezone()
    header: dict[str, Any] = {
        "start_time": start.isoformat(),
        "source": f"import:{fmt}",
        "streams": streams,
        "devices": header_devices,
        "extra": {"import": extra_import},
    }
    if notes:
        header["notes"] = notes

    all_chunks.sort(key=lambda c: (c[0], c[1], c[2]))
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
    try:  # created here, so that a folder we may not write to is named as the user gave it
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
    except OSError as exc:
        raise RecordingError(
            f"{out_path}: cannot create the recording ({exc.strerror or exc}); check that the "
            f"folder {folder} is writable, or choose another output path",
            path=str(out_path),
        ) from None
    try:
        with RecordingWriter(tmp, header, overwrite=True, flush_interval_s=3600.0) as writer:
            pending = sorted(((float(t) - t0, name, dict(fields)) for t, name, fields in events),
                             key=lambda e: e[0])
            k = 0
            for host_time_s, sid, _, chunk in all_chunks:
                while k < len(pending) and pending[k][0] < host_time_s:
                    writer.write_event(pending[k][1], host_time_s=max(pending[k][0], 0.0),
                                       **pending[k][2])
                    k += 1
                writer.write_chunk(sid, chunk, host_time_s)
            for t_ev, name, fields in pending[k:]:
                writer.write_event(name, host_time_s=max(t_ev, 0.0), **fields)
        os.replace(tmp, out_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    duration = max(float(f["duration_s"]) for f in device_facts)
    return ImportResult(
        path=out_path,
        format=fmt,
        source=source_path,
        sample_rate_hz=float(sample_rate_hz),
        duration_s=duration,
        devices=device_facts,
        bytes=out_path.stat().st_size,
        told=told,
    )


def write_devices(
    out: str | os.PathLike[str],
    source: str | os.PathLike[str],
    devices: Sequence[ImportedDevice],
    *,
    fmt: str,
    sample_rate_hz: float,
    info: Mapping[str, Any],
    start: datetime | None,
    file_start: datetime | None = None,
    file_start_source: str = "file",
    overwrite: bool = False,
    events: Sequence[tuple[float, str, Mapping[str, Any]]] = (),
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> ImportResult:
    """`write_import`, with the start time every importer chooses: the user's, else the file's.

    Parameters
    ----------
    out, source, devices, fmt, sample_rate_hz, info, overwrite, events, inputs
        As in `write_import`.
    start : datetime or None
        The user's start time (``start_source`` ``"user"``).
    file_start : datetime, optional
        The file's own start time, used when `start` is None.
    file_start_source : str
        ``start_source`` for `file_start`: ``"file"``, or `FILE_LOCAL_TIME` for a time read
        without a time zone.

    Returns
    -------
    ImportResult
        What was written; with neither start time the recording starts at the import time.
    """
    if start is not None:
        start_source = "user"
    elif file_start is not None:
        start, start_source = file_start, file_start_source
    else:
        start_source = "import time"
    return write_import(
        out,
        fmt=fmt,
        source=source,
        devices=devices,
        sample_rate_hz=sample_rate_hz,
        start=start,
        start_source=start_source,
        info=info,
        overwrite=overwrite,
        events=events,
        inputs=inputs,
    )


# --------------------------------------------------------------------------------------------
# Pressure units and sensel matrices (F-Scan, XSENSOR)
# --------------------------------------------------------------------------------------------

#: kPa per unit of pressure, by lower-case unit name as pressure-mat exports write it.
#: Sources: NIST SP 811 (2008), Appendix B.8/B.9 — millimetre of mercury, conventional
#: 1.333 224 E+02 Pa (133.322 387 415 Pa exactly by its definition 13.5951 g/cm³ · 9.806 65
#: m/s² · 1 mm); pound-force per square inch 6.894 757 E+03 Pa (0.453 592 37 kg · 9.806 65 m/s² /
#: 0.0254² m² = 6894.757 293 168 Pa); kilogram-force per square centimetre 9.806 65 E+04 Pa
#: (exact); N/cm² = 10⁴ Pa and the SI prefixes by definition.
PRESSURE_UNITS_KPA: dict[str, float] = {
    "kpa": 1.0,
    "pa": 1e-3,
    "mpa": 1e3,
    "n/cm2": 10.0,
    "n/cm²": 10.0,
    "n/mm2": 1e3,
    "n/mm²": 1e3,
    "mmhg": 0.133322387415,
    "psi": 6.894757293168,
    "kg/cm2": 98.0665,
    "kg/cm²": 98.0665,
    "kgf/cm2": 98.0665,
    "kgf/cm²": 98.0665,
}


def kpa_per_unit(unit: str) -> float:
    """Factor that turns a pressure in `unit` into kPa.

    Parameters
    ----------
    unit : str
        Unit as written in an export header, e.g. ``"KPa"``, ``"mmHg"``, ``"PSI"``, ``"N/cm²"``
        (case and surrounding spaces and brackets ignored).

    Returns
    -------
    float
        kPa per `unit` (see `PRESSURE_UNITS_KPA` for the sources).

    Raises
    ------
    ImportFormatError
        If the unit is not a known pressure unit.
    """
    key = unit.strip().strip("()[]").strip().lower().replace(" ", "")
    try:
        return PRESSURE_UNITS_KPA[key]
    except KeyError:
        known = "kPa, Pa, MPa, N/cm², N/mm², mmHg, PSI, kg/cm²"
        raise ImportFormatError(
            f"unknown pressure unit {unit.strip()!r}; known units are {known} (export the "
            "file in one of them)"
        ) from None


#: Length units of sensel sizes and spacings in mm (the inch is 25.4 mm exactly, NIST SP 811
#: Appendix B.8; the metric prefixes by definition).
LENGTH_UNITS_MM: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4,
                                     "inch": 25.4, "inches": 25.4}


def mm_per_unit(unit: str) -> float:
    """Factor that turns a length in `unit` into mm.

    Parameters
    ----------
    unit : str
        Unit as written in an export, e.g. ``"mm"``, ``"cm"``, ``"in"`` (case ignored).

    Returns
    -------
    float
        mm per `unit` (see `LENGTH_UNITS_MM`).

    Raises
    ------
    ImportFormatError
        If the unit is not a known length unit.
    """
    try:
        return LENGTH_UNITS_MM[unit.strip().lower()]
    except KeyError:
        raise ImportFormatError(
            f"unknown length unit {unit.strip()!r}; known units are mm, cm, m, in"
        ) from None


@dataclass
class SenselCells:
    """A sensel matrix merged into at most `MAX_SENSORS` cells (see `merge_sensels`).

    Attributes
    ----------
    values : ndarray of float64, shape (n_frames, n_cells)
        Per cell: mean pressure over the cell's sensels [kPa] (so that pressure times the
        cell's area is the sum of the sensels' forces), or the sum of raw values for
        ``unit="counts"``.
    layout : SensorLayout
        One sensor per cell: area = the cell's sensels' area, position = their centroid in the
        foot frame, region = the region all of its sensels share.
    cell_of_sensel : ndarray of int, shape (n_rows, n_cols)
        Cell index of each sensel of the matrix; -1 for sensels not imported.
    block : tuple of int
        Sensel rows and columns merged per cell before the region split, ``(1, 1)`` when every
        sensel is its own cell.
    """

    values: NDArray[np.float64]
    layout: SensorLayout
    cell_of_sensel: NDArray[np.int64]
    block: tuple[int, int]

    def device(
        self,
        side: str,
        time_s: NDArray[np.float64],
        *,
        unit: str,
        device_id: int,
        label: str,
        medial_col_last: bool,
        info: Mapping[str, Any],
        medial_edge_from: str | None = None,
    ) -> ImportedDevice:
        """The cells as one insole, a sensor per cell, with the cell facts in its info.

        Parameters
        ----------
        side, time_s, unit, device_id, label
            As in `ImportedDevice` (`unit` as given to `merge_sensels`).
        medial_col_last : bool
            As given to `merge_sensels`.
        info : mapping
            The first facts for ``extra.import.devices``; ``cells``, ``block_rows_cols``,
            ``cell_of_sensel`` and ``medial_edge`` follow.
        medial_edge_from : str, optional
            What said which edge is medial, added last when given.

        Returns
        -------
        ImportedDevice
            Columns ``cell1``, ``cell2``, ...; calibration by `linear_calibration`.
        """
        facts = {
            **info,
            "cells": self.layout.n_sensors,
            "block_rows_cols": list(self.block),
            "cell_of_sensel": self.cell_of_sensel.tolist(),
            "medial_edge": "last column" if medial_col_last else "first column",
        }
        if medial_edge_from is not None:
            facts["medial_edge_from"] = medial_edge_from
        return ImportedDevice(
            side=side,
            values=self.values,
            time_s=time_s,
            layout=self.layout,
            unit=unit,
            columns=[f"cell{k + 1}" for k in range(self.layout.n_sensors)],
            device_id=device_id,
            label=label,
            calibration=linear_calibration(self.values, unit),
            info=facts,
        )


def merge_sensels(
    frames: NDArray[np.float64],
    mask: NDArray[np.bool_],
    *,
    row_pitch_mm: float,
    col_pitch_mm: float,
    medial_col_last: bool,
    unit: str,
    name: str,
    foot_length_mm: float | None = None,
    max_sensors: int = MAX_SENSORS,
) -> SenselCells:
    """Merge a pressure-mat sensel matrix into region cells that the wire protocol can carry.

    Parameters
    ----------
    frames : ndarray, shape (n_frames, n_rows, n_cols)
        Sensel values per frame, row 0 at the toe end of the insole; kPa, or raw values for
        ``unit="counts"``. Values outside `mask` are ignored.
    mask : ndarray of bool, shape (n_rows, n_cols)
        Sensels that belong to the insole.
    row_pitch_mm, col_pitch_mm : float
        Sensel spacing along the foot (rows) and across it (columns) [mm].
    medial_col_last : bool
        True when the last column is the medial edge (a left insole seen from above, as
        F-Scan and XSENSOR export it), False when the first column is.
    unit : str
        ``"kPa"`` or ``"counts"``.
    name : str
        Layout name prefix; the layout is ``f"{name}{n_cells}"``.
    foot_length_mm : float, optional
        Length of the foot on the insole [mm], for the region boundaries (a trimmed sensor may
        be longer than the foot). Default: the length of the mask. The layout's
        ``foot_length_mm`` is the larger of the two.
    max_sensors : int
        Most cells allowed (the protocol's 128 sensors per insole).

    Returns
    -------
    SenselCells
        The cells, their layout and the sensel-to-cell map.

    Raises
    ------
    ImportFormatError
        If the mask is empty or no block size fits `max_sensors`.

    Notes
    -----
    Each sensel gets a foot-frame position (`insole.core.layouts` module docstring): ``y`` from the
    heel end of the mask, ``x`` from the centre line of the mask's heel rows (rear 30 %),
    medial negative. Its region is `insole.core.layouts.classify_region` of that position. Sensels
    are then grouped into blocks of ``br × bc`` rows and columns, the smallest block (1 × 1,
    2 × 1, 2 × 2, 3 × 2, 3 × 3, ...) for which the number of (block, region) pairs is at most
    `max_sensors`, and each pair becomes a cell. A cell never straddles a region boundary, so
    the force of every region and of the whole foot is exactly the sum of its sensels' forces
    (up to the 16-bit quantisation of the stored value); only the peak pressure of a cell is
    the mean of its sensels, lower than the highest sensel when a block is partly loaded.
    """
    if unit not in ("kPa", "counts"):
        raise ImportFormatError(f"sensel unit must be kPa or counts, got {unit!r}")
    frames = np.asarray(frames, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    n_rows, n_cols = mask.shape
    rr, cc = np.nonzero(mask)
    if rr.size == 0:
        raise ImportFormatError("the sensel matrix has no sensel inside the insole")
    toe_row, heel_row = int(rr.min()), int(rr.max())
    outline_length = (heel_row - toe_row + 1) * row_pitch_mm
    foot_length = float(foot_length_mm) if foot_length_mm else outline_length
    if not (foot_length > 0 and math.isfinite(foot_length)):
        raise ImportFormatError(f"foot length must be positive, got {foot_length_mm!r}")
    y = (heel_row - rr + 0.5) * row_pitch_mm
    heel = y < 0.30 * foot_length
    centre_col = float(cc[heel].mean()) if np.any(heel) else float(cc.mean())
    sign = -1.0 if medial_col_last else 1.0
    x = sign * (cc - centre_col) * col_pitch_mm
    regions = np.array(classify_region(x, y, foot_length))
    region_code = np.unique(regions, return_inverse=True)[1]
    sensel_area = row_pitch_mm * col_pitch_mm
    fits = None
    for k in range(1, max(n_rows, n_cols) + 1):
        for br, bc in ((k, k - 1), (k, k)):
            if bc < 1:
                continue
            key = ((rr - toe_row) // br) * 10_000_000 + (cc // bc) * 1000 + region_code
            uniq, cell = np.unique(key, return_inverse=True)
            if uniq.size <= max_sensors:
                fits = (br, bc, cell.ravel(), uniq.size)
                break
        if fits is not None:
            break
    if fits is None:  # pragma: no cover - a whole-row block always fits 8 regions
        raise ImportFormatError(f"cannot merge {rr.size} sensels into {max_sensors} cells")
    br, bc, cell, n_cells = fits
    n_in = np.bincount(cell, minlength=n_cells).astype(np.float64)
    cx = np.bincount(cell, weights=x, minlength=n_cells) / n_in
    cy = np.bincount(cell, weights=y, minlength=n_cells) / n_in
    # Order the cells heel to toe, then medial to lateral.
    order = np.lexsort((cx, cy))
    rank = np.empty(n_cells, dtype=np.int64)
    rank[order] = np.arange(n_cells)
    cell = rank[cell]
    n_in, cx, cy = n_in[order], cx[order], cy[order]
    cell_region = np.empty(n_cells, dtype=object)
    cell_region[cell] = regions
    sensel_values = frames[:, rr, cc]
    member = np.zeros((rr.size, n_cells))
    member[np.arange(rr.size), cell] = 1.0
    sums = sensel_values @ member
    values = sums if unit == "counts" else sums / n_in
    cell_of = np.full((n_rows, n_cols), -1, dtype=np.int64)
    cell_of[rr, cc] = cell
    layout = SensorLayout(
        name=f"{name}{n_cells}",
        foot_length_mm=max(foot_length, outline_length),
        x_mm=cx,
        y_mm=cy,
        area_mm2=n_in * sensel_area,
        region=tuple(str(r) for r in cell_region),
    )
    return SenselCells(values=values, layout=layout, cell_of_sensel=cell_of, block=(br, bc))
