"""Reader and importer for stAPPone insole CSV exports (12 raw pressure channels, 62.5 Hz).

A stAPPone export is comma-separated text with the header ``sole_id, timestamp, accel_x,
accel_y, accel_z, gyro_x, gyro_y, gyro_z, magn_x, magn_y, magn_z, pressure_01 ..
pressure_12, corrupt``: one row per sample of one sole, ``timestamp`` in Unix milliseconds,
the pressures as raw ADC readings and ``corrupt`` = 1 for a sample the device marked as
damaged. Rows of two soles may interleave.

The export does not say which foot a ``sole_id`` is: the caller says so (``sides``).

62.5 Hz is not a whole number, but the wire protocol's SAMPLES frames carry an integer rate.
The importer therefore sends one sample per frame: each frame's ``timestamp_us`` is that
sample's own device time, taken from ``timestamp``, so device times read back are exact; the
frames' rate field is 63 (62.5 rounded half up) and only nominal, while the recording header
keeps ``sample_rate_hz`` = 62.5. See ``docs/importers.md``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from insole.core.layouts import DEFAULT_FOOT_LENGTH_MM, default_layout
from insole.sources.importers import (
    ImportFormatError,
    existing_file,
    file_error,
    is_number,
    left_or_right,
    one_device_per_foot,
    read_text,
    wrong_field_count,
)
from insole.sources.importers.convert import (
    MAX_VALID_COUNT,
    ImportedDevice,
    ImportResult,
    linear_calibration,
    median_step,
    write_devices,
)

__all__ = ["STAPPONE_COLUMNS", "STAPPONE_PRESSURE_COLUMNS", "StapponeSole", "import_stappone",
           "read_stappone"]

#: Pressure channel columns of a stAPPone export, in sensor order.
STAPPONE_PRESSURE_COLUMNS: tuple[str, ...] = tuple(f"pressure_{i:02d}" for i in range(1, 13))

#: Columns the importer needs.
STAPPONE_COLUMNS: tuple[str, ...] = ("sole_id", "timestamp", *STAPPONE_PRESSURE_COLUMNS,
                                     "corrupt")


@dataclass
class StapponeSole:
    """The samples of one sole.

    Attributes
    ----------
    sole_id : int
        The export's ``sole_id``.
    timestamp_ms : ndarray of float64, shape (n_samples,)
        Unix time of each sample [ms].
    pressure : ndarray of float64, shape (n_samples, 12)
        Raw pressure readings (ADC counts); NaN where the sample is marked corrupt.
    corrupt : ndarray of bool, shape (n_samples,)
        The export's ``corrupt`` flag.
    """

    sole_id: int
    timestamp_ms: NDArray[np.float64]
    pressure: NDArray[np.float64]
    corrupt: NDArray[np.bool_]

    @property
    def sampling_rate_hz(self) -> float:
        """1000 / median timestamp step (62.5 Hz for stAPPone); NaN when it is not positive.

        NaN when the sole has fewer than two samples or its median step is zero or negative
        (all timestamps equal, or not in time order): no rate can be inferred then.
        """
        step = median_step(self.timestamp_ms)
        return 1000.0 / step if step > 0 else float("nan")


def _fail(path: Path, what: str) -> ImportFormatError:
    return file_error("stAPPone", path, what, "a stAPPone CSV export with columns sole_id, "
                      "timestamp, ..., pressure_01..pressure_12, corrupt")


def read_stappone(path: str | os.PathLike[str]) -> dict[int, StapponeSole]:
    """Read a stAPPone CSV export.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.csv`` file, one row per sample of one sole.

    Returns
    -------
    dict of int to StapponeSole
        The samples of each ``sole_id``, in file order.

    Raises
    ------
    ImportFormatError
        If the file is missing, lacks a needed column, has rows of the wrong length or
        non-numeric values, a pressure that is not a raw reading (a whole count 0 .. 65534)
        in a row not marked corrupt, or holds no samples.
    """
    p = existing_file(path, "stAPPone file", "a stAPPone CSV export (.csv)", "*.csv")
    text = read_text(p, lambda what: _fail(p, what))
    numbered = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not numbered:
        raise _fail(p, "the file is empty")
    header = [h.strip() for h in next(csv.reader([numbered[0][1]]))]
    missing = [c for c in STAPPONE_COLUMNS if c not in header]
    if missing:
        shown = ", ".join(h[:30] for h in header[:12]) + (" ..." if len(header) > 12 else "")
        raise _fail(p, f"no column {missing[0]!r} (its header is: {shown})")
    idx = [header.index(c) for c in STAPPONE_COLUMNS]
    body = numbered[1:]
    line = np.array([n for n, _ in body], dtype=np.int64)
    rows = np.empty((len(body), len(idx)), dtype=np.float64)
    for i, fields in enumerate(csv.reader(ln for _, ln in body)):
        if len(fields) != len(header):
            raise _fail(p, wrong_field_count(int(line[i]), len(fields), len(header),
                                             last=i == len(body) - 1))
        try:
            rows[i] = [float(fields[j]) for j in idx]
        except ValueError:
            bad = next(j for j in idx if not is_number(fields[j]))
            raise _fail(p, f"line {line[i]}, column {header[bad]!r}: {fields[bad]!r} is not a "
                           "number") from None
    if rows.shape[0] == 0:
        raise _fail(p, "no data lines after the header")
    for col, name in ((0, "sole_id"), (1, "timestamp")):
        bad_rows = np.flatnonzero(~np.isfinite(rows[:, col]))
        if bad_rows.size:
            i = int(bad_rows[0])
            raise _fail(p, f"line {line[i]}, column {name!r}: {rows[i, col]!r} is not a finite "
                           "number")
    # raw ADC readings: whole counts that fit the recording's 0 .. 65534 (65535 = invalid)
    pressure = rows[:, 2:-1]
    with np.errstate(invalid="ignore"):
        bad = ~((pressure >= 0) & (pressure <= MAX_VALID_COUNT) & (pressure == np.round(pressure)))
    bad &= (rows[:, -1] == 0)[:, None]
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise _fail(p, f"line {line[i]}, column {STAPPONE_PRESSURE_COLUMNS[j]!r}: "
                       f"{pressure[i, j]:.15g} is not a raw ADC reading (a whole count 0 .. "
                       f"{MAX_VALID_COUNT}); the file is damaged there: correct the value, or set "
                       "the line's 'corrupt' field to 1 to import it as an invalid sample")
    soles: dict[int, StapponeSole] = {}
    for sole_id in np.unique(rows[:, 0]):
        mine = rows[rows[:, 0] == sole_id]
        corrupt = mine[:, -1] != 0
        pressure = mine[:, 2:-1].copy()
        pressure[corrupt] = np.nan
        soles[int(sole_id)] = StapponeSole(int(sole_id), mine[:, 1].copy(), pressure, corrupt)
    return soles


def _no_rate(sole: StapponeSole) -> str:
    """Why no sampling rate can be inferred from a sole's timestamps (for the error message)."""
    t = sole.timestamp_ms
    where = f"sole_id {sole.sole_id}"
    if t.size < 2:
        return (f"{where} has {t.size} sample; at least two are needed to infer the sampling "
                "rate from the timestamp column")
    if np.all(t == t[0]):
        return (f"all {t.size} timestamps of {where} are equal ({t[0]:.0f} ms), so the sampling "
                "rate cannot be inferred; export the file again from stAPPone with each "
                "sample's own timestamp")
    return (f"the timestamps of {where} do not increase (median step "
            f"{float(np.median(np.diff(t))):g} ms), so the sampling rate cannot be inferred; "
            "the file is damaged or its rows are not in time order")


def import_stappone(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    sides: Mapping[int, str] | str | None = None,
    foot_length_mm: float = DEFAULT_FOOT_LENGTH_MM,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import a stAPPone CSV export as a recording (12 raw channels per sole, 62.5 Hz).

    `read_stappone` reads the file; each sole becomes a device, on the foot `sides` gives it.

    Parameters
    ----------
    path, out : str or os.PathLike
        The ``.csv`` file and the recording to write.
    sides : mapping of int to str, or str
        Foot of each ``sole_id`` (``{1: "left", 2: "right"}``), or one side (``"left"``)
        for a file with a single sole. Required: the export does not say which foot a sole is.
    foot_length_mm : float
        Insole length for the layout [mm].
    start : datetime, optional
        Wall-clock time of the first sample; default the first ``timestamp`` (Unix ms, exact).
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is malformed, a sole has no side, or two soles are given the same side.

    Notes
    -----
    Pressures are raw ADC readings without a published calibration: unit ``"counts"``
    (relative), scale 1, offset 0. Corrupt samples are stored as the reserved count 65535
    (all 12 channels). Sensor positions are not published either: the layout is the generic
    12-sensor grid (`insole.core.layouts.default_layout`). The IMU columns are not imported
    (their units are not documented in the export).
    """
    p = Path(path)
    soles = read_stappone(p)
    ids = sorted(soles)
    if sides is None:
        raise ImportFormatError(
            f"stAPPone file {str(p)!r} has sole_id {', '.join(map(str, ids))} and does not say "
            "which foot each is: pass the side, e.g. "
            + ("--side left" if len(ids) == 1 else f"--side {ids[0]}=left --side {ids[1]}=right"),
            path=p,
        )
    if isinstance(sides, str):
        if len(ids) != 1:
            raise ImportFormatError(
                f"stAPPone file {str(p)!r} has {len(ids)} soles ({', '.join(map(str, ids))}); "
                "give the side of each as ID=SIDE",
                path=p,
            )
        sides = {ids[0]: sides}
    absent = [i for i in sides if i not in soles]
    if absent:
        have = ", ".join(map(str, ids))
        example = " ".join(f"--side {i}={side}" for i, side in zip(
            ids, [sides[k] for k in sorted(sides)] + ["left", "right"], strict=False))
        raise file_error(
            "stAPPone", p,
            f"no sole_id {absent[0]} in the file (--side {absent[0]}={sides[absent[0]]}); it has "
            f"sole_id {have}: give the side of {'that sole' if len(ids) == 1 else 'those'}, "
            f"e.g. {example}")
    unknown = [i for i in ids if i not in sides]
    if unknown:
        raise file_error("stAPPone", p, f"no side given for sole_id {unknown[0]}")
    sides = {i: left_or_right(sides[i], p) for i in ids}
    one_device_per_foot(((f"sole_id {i}", sides[i]) for i in ids), p,
                        "give each sole its own foot, e.g. "
                        f"--side {ids[0]}=left --side {ids[-1]}=right")
    t0_ms = min(float(soles[i].timestamp_ms[0]) for i in ids)
    layout = default_layout(len(STAPPONE_PRESSURE_COLUMNS), foot_length_mm)
    rates = [soles[i].sampling_rate_hz for i in ids]
    for sole_id in ids:
        if not soles[sole_id].sampling_rate_hz > 0:
            raise file_error("stAPPone", p, _no_rate(soles[sole_id]))
    rate = float(np.median(rates))
    devices = []
    for sole_id in ids:
        sole = soles[sole_id]
        side = sides[sole_id]
        devices.append(
            ImportedDevice(
                side=side,
                values=sole.pressure,
                time_s=(sole.timestamp_ms - t0_ms) / 1000.0,
                layout=layout,
                unit="counts",
                columns=list(STAPPONE_PRESSURE_COLUMNS),
                device_id=sole_id & 0xFFFF,
                label=f"stappone {p.name} sole {sole_id} {side}",
                calibration=linear_calibration(sole.pressure, "counts", step=1.0, offset=0.0),
                info={"sole_id": sole_id, "corrupt_samples": int(sole.corrupt.sum()),
                      "relative_force": True},
            )
        )
    info: dict[str, Any] = {
        "columns": list(STAPPONE_COLUMNS),
        "units": {"timestamp": "Unix ms", "pressure": "raw ADC counts (relative)"},
        "sides": {str(i): sides[i] for i in ids},
        "notes": [
            f"{rate:g} Hz is not an integer: one sample per SAMPLES frame, each frame's "
            "timestamp_us is the sample's own time; the frames' rate field is nominal",
            "corrupt samples stored as count 65535 on all 12 channels",
            "sensor positions not published: generic 12-sensor grid layout",
            "IMU columns not imported",
        ],
    }
    file_start = datetime.fromtimestamp(t0_ms / 1000.0, UTC).astimezone() if start is None else None
    return write_devices(out, p, devices, fmt="stappone", sample_rate_hz=round(rate, 6), info=info,
                         start=start, file_start=file_start, overwrite=overwrite)
