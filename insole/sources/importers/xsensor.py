"""Reader and importer for XSENSOR insole CSV exports: sensel matrices per frame and sensor.

An XSENSOR Foot & Gait CSV export ("Export > CSV" in XSENSOR Pro/X4 Foot) starts with a few
``Key:,value`` lines (``File:``, ``Units:,mmHg``, ``Threshold:``), then per frame a block::

    FRAME,1464
    Date, 2022 Aug 16
    Time, 08:21:17.982
    SENSOR,HX210.11.31.M11-DFM-LF S0073
    Rows,31
    Columns,11
    Sensel Width (cm),0.86
    Sensel Height (cm),0.86
    Average Pressure (mmHg),452.85        (and further statistics of the frame)
    SENSELS
    <Rows lines of Columns comma-separated pressures>
    SENSOR,...-RF ...                      (the other insole, same fields)
    GROUP,1 / Name,Left Heel / Cells,36 / ... / SENSELS / <the group's cells, 20 per line>

with empty ``,,,`` lines in between. Row 1 is the toe end of the insole; a left insole's last
column is its medial edge and a right insole's first column (insoles seen from above; checked
on the shared example, where each foot's highest forefoot pressures lie at those edges).
``LF``/``RF`` in the sensor name says which foot it is. The export does not mark sensels
outside the insole: they are simply always zero.

The wire protocol carries at most 128 sensors per insole, so the importer merges the sensels
into region cells (`insole.sources.importers.convert.merge_sensels`); forces per region and per foot
stay exact. ``GROUP`` blocks (XSENSOR's own regions) and the statistics lines are not
imported. See ``docs/importers.md``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from insole.sources.importers import (
    ImportFormatError,
    existing_file,
    file_error,
    is_number,
    left_or_right,
    read_text,
    strptime_first,
)
from insole.sources.importers.convert import (
    FILE_LOCAL_TIME,
    ImportResult,
    kpa_per_unit,
    merge_sensels,
    mm_per_unit,
    write_devices,
)

__all__ = ["XSensorData", "XSensorSensor", "import_xsensor", "read_xsensor"]

@dataclass
class XSensorSensor:
    """One insole of an XSENSOR export.

    Attributes
    ----------
    name : str
        ``SENSOR`` name, e.g. ``"HX210.11.31.M11-DFM-LF S0073"``.
    side : str or None
        ``"left"`` / ``"right"`` from ``LF`` / ``RF`` (or ``L``, ``R``, ``Left``, ``Right``) as
        a word of the name, else None.
    frames : ndarray of float64, shape (n_frames, rows, cols)
        Pressures in the file's unit, row 0 at the toe end.
    width_mm, height_mm : float
        Sensel width (across the insole) and height (along it) [mm].
    """

    name: str
    side: str | None
    frames: NDArray[np.float64]
    width_mm: float
    height_mm: float


@dataclass
class XSensorData:
    """The content of an XSENSOR CSV export.

    Attributes
    ----------
    sensors : list of XSensorSensor
        The insoles, in file order.
    frame_numbers : ndarray of int64, shape (n_frames,)
        ``FRAME`` numbers.
    time_s : ndarray of float64, shape (n_frames,)
        Time of each frame from its ``Date`` and ``Time``, relative to the first [s].
    sampling_rate_hz : float
        Frames per second over the whole file (the times are rounded to 1 ms, so single
        steps vary by a millisecond).
    unit : str
        ``Units:`` of the file (``"mmHg"``, ``"kPa"``, ``"PSI"`` ...).
    start : datetime or None
        Date and time of the first frame (local time), if they parse.
    header : dict of str to str
        The ``Key:,value`` lines before the first frame.
    """

    sensors: list[XSensorSensor]
    frame_numbers: NDArray[np.int64]
    time_s: NDArray[np.float64]
    sampling_rate_hz: float
    unit: str
    start: datetime | None
    header: dict[str, str] = field(default_factory=dict)


def _fail(path: Path, what: str) -> ImportFormatError:
    return file_error("XSENSOR", path, what, "an XSENSOR insole CSV export: 'Units:' line, then "
                      "per frame FRAME, Date, Time and per SENSOR its Rows, Columns, sensel size "
                      "and SENSELS matrix")


def _side_of(name: str) -> str | None:
    m = re.search(r"(?:^|[-_\s.])(LEFT|RIGHT|L|R)F?(?:$|[-_\s.])", name.upper())
    if m is None:
        return None
    return "left" if m.group(1).startswith("L") else "right"


def _stamp(date: str, time: str) -> datetime | None:
    return strptime_first(f"{date.strip()} {time.strip()}", (
        "%Y %b %d %H:%M:%S.%f", "%Y %b %d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
        "%d/%m/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S.%f"))


def read_xsensor(path: str | os.PathLike[str]) -> XSensorData:
    """Read an XSENSOR insole CSV export.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.csv`` file: ``Key:,value`` lines, then per frame a block per sensor.

    Returns
    -------
    XSensorData
        Sensel frames per insole, frame times and header facts.

    Raises
    ------
    ImportFormatError
        If the file is missing, empty or not an XSENSOR export (no ``Units:``, ``FRAME`` or
        ``SENSOR`` lines), is truncated (a sensel matrix with missing rows or values), has a
        non-numeric sensel, an unknown unit, frames whose sensors differ, or times that do not
        increase.
    """
    p = existing_file(path, "XSENSOR file", "an XSENSOR CSV export (.csv)", "*.csv")
    text = read_text(p, lambda what: _fail(p, what), empty_is_error=True)
    try:  # newline="": a lone CR ends a line as CR LF does (csv's documented way to read)
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:  # e.g. a NUL or an unterminated quote deep in the file
        raise _fail(p, f"not a readable CSV file ({exc})") from None
    lines = [(n + 1, [c for c in r if c != ""] if r else []) for n, r in enumerate(rows)]
    lines = [(n, r) for n, r in lines if r]

    header: dict[str, str] = {}
    frames: list[dict[str, Any]] = []
    sensor: dict[str, Any] | None = None
    k = 0
    while k < len(lines):
        n, r = lines[k]
        key = r[0]
        k += 1
        if key == "FRAME":
            try:
                number = int(r[1])
            except (IndexError, ValueError):
                raise _fail(p, f"line {n}: FRAME without a frame number") from None
            frames.append({"number": number, "line": n, "sensors": {}, "date": None,
                           "time": None})
            sensor = None
        elif not frames:
            if key.endswith(":") and len(r) > 1:
                header[key[:-1]] = r[1]
        elif key in ("Date", "Time"):
            frames[-1][key.lower()] = r[1] if len(r) > 1 else ""
        elif key == "SENSOR":
            sensor = {"name": r[1] if len(r) > 1 else "", "props": {}}
            frames[-1]["sensors"][sensor["name"]] = sensor
        elif key == "GROUP":
            sensor = None
        elif key == "SENSELS":
            if sensor is None:  # a GROUP's cells: skip its numeric lines
                while k < len(lines) and _sensel_row(lines[k][1]):
                    k += 1
                continue
            try:
                n_rows = int(sensor["props"]["Rows"])
                n_cols = int(sensor["props"]["Columns"])
            except (KeyError, ValueError):
                raise _fail(p, f"line {n}: SENSELS of sensor {sensor['name']!r} without "
                               "numeric Rows and Columns before it") from None
            block = lines[k:k + n_rows]
            if len(block) < n_rows or not all(_sensel_row(b[1]) for b in block):
                raise _fail(p, f"frame {frames[-1]['number']}, sensor {sensor['name']!r}: "
                               f"fewer than {n_rows} sensel rows; the file is truncated")
            matrix = np.empty((n_rows, n_cols))
            for i, (bn, br) in enumerate(block):
                if len(br) != n_cols:
                    raise _fail(p, f"line {bn}: {len(br)} sensel values, Columns says "
                                   f"{n_cols}; the file is truncated or damaged")
                try:
                    matrix[i] = [float(v) for v in br]
                except ValueError:
                    bad = next(v for v in br if not is_number(v))
                    raise _fail(p, f"line {bn}: sensel value {bad!r} is not a number") from None
            sensor["matrix"] = matrix
            k += n_rows
            sensor = None
        elif sensor is not None and len(r) > 1:
            sensor["props"][key] = r[1]
    if not frames:
        raise _fail(p, "no FRAME blocks")
    unit = header.get("Units", "")
    if not unit:
        raise _fail(p, "no 'Units:' line before the first frame")
    try:
        kpa_per_unit(unit)
    except ImportFormatError as exc:
        raise _fail(p, str(exc)) from None
    names = list(frames[0]["sensors"])
    if not names:
        raise _fail(p, f"frame {frames[0]['number']} has no SENSOR block")
    for fr in frames:
        if list(fr["sensors"]) != names:
            raise _fail(p, f"frame {fr['number']} has sensors {list(fr['sensors'])}, the first "
                           f"frame {names}; the file is truncated or mixes recordings")
        for s in fr["sensors"].values():
            if "matrix" not in s:
                raise _fail(p, f"frame {fr['number']}, sensor {s['name']!r} has no SENSELS "
                               "matrix; the file is truncated")
    sensors = []
    for name in names:
        first = frames[0]["sensors"][name]
        shapes = {fr["sensors"][name]["matrix"].shape for fr in frames}
        if len(shapes) != 1:
            raise _fail(p, f"sensor {name!r} changes its Rows/Columns between frames")
        sensors.append(
            XSensorSensor(
                name=name,
                side=_side_of(name),
                frames=np.stack([fr["sensors"][name]["matrix"] for fr in frames]),
                width_mm=_size_mm(p, first["props"], "Width"),
                height_mm=_size_mm(p, first["props"], "Height"),
            )
        )
        if np.any(sensors[-1].frames < 0) or not np.all(np.isfinite(sensors[-1].frames)):
            raise _fail(p, f"sensor {name!r} has negative or non-finite pressures")
    numbers = np.array([fr["number"] for fr in frames], dtype=np.int64)
    date = None
    stamps: list[datetime] = []
    for fr in frames:
        date = fr["date"] or date
        stamp = _stamp(date or "", fr["time"] or "")
        if stamp is None:
            raise _fail(p, f"frame {fr['number']} (line {fr['line']}): Date/Time "
                           f"{date!r} {fr['time']!r} is not a date and time")
        stamps.append(stamp)
    time_s = np.array([(s - stamps[0]).total_seconds() for s in stamps])
    steps = np.diff(time_s)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise _fail(p, f"time does not increase from frame {numbers[i]} to {numbers[i + 1]}")
    if steps.size == 0:
        raise _fail(p, "only one frame; at least two are needed for a sampling rate")
    return XSensorData(
        sensors=sensors,
        frame_numbers=numbers,
        time_s=time_s,
        sampling_rate_hz=float((len(time_s) - 1) / time_s[-1]),
        unit=unit,
        start=stamps[0].astimezone(),
        header=header,
    )


def _sensel_row(cells: list[str]) -> bool:
    """Whether a line's non-empty cells are a row of a sensel matrix, not a ``KEY,value`` line.

    A row starts with a number; a row whose first value is damaged (``x,0,0,…``) is one too
    when most of its cells are numbers: a keyword line has a key and at most one value, so
    reading the damaged row as the end of the matrix would call the file truncated.
    """
    if is_number(cells[0]):
        return True
    return len(cells) > 2 and 2 * sum(is_number(c) for c in cells) > len(cells)


def _size_mm(path: Path, props: dict[str, str], which: str) -> float:
    for key, value in props.items():
        m = re.fullmatch(rf"Sensel {which}\s*\((\w+)\)", key)
        if m:
            try:
                size = float(value) * mm_per_unit(m.group(1))
            except ImportFormatError as exc:
                raise _fail(path, f"{key}: {exc}") from None
            except ValueError:
                raise _fail(path, f"{key} {value!r} is not a number") from None
            if not size > 0:
                raise _fail(path, f"{key} must be positive, got {value!r}")
            return size
    raise _fail(path, f"no 'Sensel {which} (cm)' line for the sensor")


def import_xsensor(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    side: str | None = None,
    foot_length_mm: float | None = None,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import an XSENSOR CSV export as a recording (region cells in kPa, one device per insole).

    `read_xsensor` reads the file; the sensels of each insole become the region cells of its
    device.

    Parameters
    ----------
    path, out : str or os.PathLike
        The ``.csv`` file and the recording to write.
    side : str, optional
        ``"left"`` or ``"right"``. With sensors named ``…LF…``/``…RF…``: import only that
        foot (default both). With a single sensor whose name does not say the foot: that
        sensor's foot (required then).
    foot_length_mm : float, optional
        Foot length [mm] for the region boundaries; default the length of the loaded sensels.
    start : datetime, optional
        Wall-clock time of the first frame; default the export's Date and Time (local time).
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is not a usable XSENSOR export (see `read_xsensor`), or the foot of a
        sensor is unknown.

    Notes
    -----
    Pressures are converted to kPa (`insole.sources.importers.convert.kpa_per_unit`; mmHg =
    0.133322387415 kPa). The export does not mark sensels outside the insole, so the sensels
    that are zero in every frame are left out (they carry no force). The rest are merged into
    at most 128 region cells (`insole.sources.importers.convert.merge_sensels`).
    """
    p = Path(path)
    if side is not None:
        side = left_or_right(side, p)
    data = read_xsensor(p)
    chosen: list[tuple[str, XSensorSensor]] = []
    named = [s for s in data.sensors if s.side is not None]
    if len(named) == len(data.sensors) and len({s.side for s in named}) == len(named):
        chosen = [(s.side, s) for s in named if side in (None, s.side)]  # type: ignore[misc]
        if not chosen:
            raise ImportFormatError(
                f"XSENSOR file {str(p)!r} has no {side} insole (sensors "
                f"{', '.join(s.name for s in data.sensors)})",
                path=p,
            )
    elif len(data.sensors) == 1 and side is not None:
        chosen = [(side, data.sensors[0])]
    else:
        raise ImportFormatError(
            f"XSENSOR file {str(p)!r}: cannot tell the foot of sensor(s) "
            f"{', '.join(repr(s.name) for s in data.sensors)} (no LF/RF in the name); "
            + ("give --side left or right" if len(data.sensors) == 1
               else "import a file with one sensor per foot"),
            path=p,
        )
    factor = kpa_per_unit(data.unit)
    devices = []
    facts = []
    for device_id, (foot, sensor) in enumerate(chosen, start=1):
        kpa = sensor.frames * factor
        mask = np.any(kpa > 0, axis=0)
        if not mask.any():
            raise file_error("XSENSOR", p, f"sensor {sensor.name!r} is never loaded")
        medial_last = foot == "left"
        cells = merge_sensels(
            kpa, mask, row_pitch_mm=sensor.height_mm, col_pitch_mm=sensor.width_mm,
            medial_col_last=medial_last, unit="kPa", name="xsensor",
            foot_length_mm=foot_length_mm,
        )
        devices.append(cells.device(
            foot, data.time_s, unit="kPa", device_id=device_id, label=f"xsensor {p.name} {foot}",
            medial_col_last=medial_last, info={"sensor": sensor.name, "sensels": int(mask.size),
                                               "sensels_loaded": int(mask.sum())},
        ))
        facts.append(f"{foot}: {int(mask.sum())} of {mask.size} sensels loaded at least once, "
                     f"merged into {cells.layout.n_sensors} region cells (blocks of "
                     f"{cells.block[0]}x{cells.block[1]})")
    info: dict[str, Any] = {
        "columns": [f"{s.name} {s.frames.shape[1]}x{s.frames.shape[2]}" for _, s in chosen],
        "units": {"pressure": data.unit, "stored": "kPa", "kpa_per_unit": factor},
        "frame_numbers": [int(data.frame_numbers[0]), int(data.frame_numbers[-1])],
        "xsensor_header": data.header,
        "notes": facts + [
            "cell pressure = mean of its sensels, so force per cell, region and foot is exact; "
            "peak pressures are cell means; sensels zero in every frame are left out",
        ],
    }
    return write_devices(out, p, devices, fmt="xsensor", sample_rate_hz=data.sampling_rate_hz,
                         info=info, start=start, file_start=data.start,
                         file_start_source=FILE_LOCAL_TIME, overwrite=overwrite)
