"""Reader and importer for novel pedar ASCII exports (``.asc``): 99 pressure sensors per insole.

A pedar export is a text header (file name, date/time, sensor type, scanning rate, the unit
``pressure values in kPa``, the mask definition of each insole), a column header
``time[secs]  1  2 ... 99  1 ... 99`` and then one tab-separated line per frame: time [s],
the 99 left and the 99 right sensor pressures [kPa]. pedar records at 50-100 Hz.

The importer stores all 99 sensors of each insole one to one, in kPa, with the `pedar_layout`
sensor map (the wire protocol carries up to 128 sensors per insole). See
``docs/importers.md``.

Sensor map: novel's coordinates of the pedar sensors are not public; `pedar_layout` builds an
approximate one (module notes below).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from insole.core.layouts import (
    DEFAULT_FOOT_LENGTH_MM,
    SensorLayout,
    classify_region,
    insole_outline,
)
from insole.sources.importers import (
    ImportFormatError,
    existing_file,
    file_error,
    read_text,
    strptime_first,
)
from insole.sources.importers.convert import (
    FILE_LOCAL_TIME,
    ImportedDevice,
    ImportResult,
    first_negative,
    linear_calibration,
    median_step,
    numeric_rows,
    write_devices,
)

__all__ = [
    "PEDAR_N_SENSORS",
    "PEDAR_ROWS",
    "PedarData",
    "import_pedar",
    "pedar_layout",
    "read_pedar",
]

#: Sensors per pedar insole.
PEDAR_N_SENSORS = 99

#: Sensors per row of a pedar insole, heel to toe; numbering runs row by row from the heel
#: and, within a row, from medial to lateral (both feet).
PEDAR_ROWS: tuple[int, ...] = (5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 4)

# Region of each row, following the pressuRe package's pedar masks (hindfoot 1-26, midfoot
# 27-54, forefoot 55-82, toes 83-99); heel and forefoot split medial/lateral by position.
_ROW_REGION = ("heel",) * 4 + ("midfoot",) * 4 + ("forefoot",) * 4 + ("toes",) * 3
# Row centres as fractions of foot length (the sensor matrix leaves a small margin).
_FIRST_ROW_Y = 0.035
_LAST_ROW_Y = 0.965


@dataclass
class PedarData:
    """The content of a pedar ASCII export.

    Attributes
    ----------
    time_s : ndarray, shape (n_frames,)
        Time column [s].
    pressure_kpa : dict of str to ndarray, shape (n_frames, 99)
        Pressure of sensors 1..99 per side (``"left"``, ``"right"``) [kPa].
    sampling_rate_hz : float
        ``scanning rate [Hz]`` from the header (or 1 / ``time per frame``).
    start : datetime or None
        ``date/time`` from the header (local time, day.month.year), if present.
    header : dict of str to str
        The header fields as text.
    """

    time_s: NDArray[np.float64]
    pressure_kpa: dict[str, NDArray[np.float64]]
    sampling_rate_hz: float
    start: datetime | None
    header: dict[str, str] = field(default_factory=dict)


def _fail(path: Path, what: str) -> ImportFormatError:
    return file_error("pedar", path, what, "a novel pedar ASCII export: text header, "
                      "'time[secs]' column header, then time and 99 pressures per insole")


def read_pedar(path: str | os.PathLike[str]) -> PedarData:
    """Read a novel pedar ASCII export.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.asc`` file: text header, ``time[secs]`` column header, then one line per frame.

    Returns
    -------
    PedarData
        Time, pressures per side, rate, start time and header fields.

    Raises
    ------
    ImportFormatError
        If the file is missing, is not a pedar export (no ``time[secs]`` header line, values
        not in kPa, not 99 sensors per insole) or holds malformed lines or a negative
        pressure.
    """
    p = existing_file(path, "pedar file", "a pedar ASCII export (.asc)", "*.asc")
    lines = read_text(p, lambda what: _fail(p, what)).splitlines()
    head: list[str] = []
    for line in lines[:60]:
        head.append(line)
        if line.lstrip().lower().startswith("time["):
            break
    if not head or not head[-1].lstrip().lower().startswith("time["):
        raise _fail(p, "no 'time[secs]' column header in the first 60 lines")
    n_head = len(head)
    fields: dict[str, str] = {}
    for line in head[:-1]:
        for part in line.split("\t"):
            m = re.match(r"\s*(date/time)\s+(.*?)\s*$", part, re.IGNORECASE) or re.match(
                r"\s*([^:]+?)\s*:\s*(.*?)\s*$", part
            )
            if m:
                fields[m.group(1).lower()] = m.group(2)
            elif part.strip():
                fields.setdefault("_text", "")
                fields["_text"] += part.strip() + " "
    unit_line = next((ln for ln in head if "values in" in ln.lower()), "")
    unit = unit_line.lower().split("values in")[-1].strip()
    if unit != "kpa":
        raise _fail(p, f"values must be pressures in kPa, the header says {unit_line.strip()!r}; "
                       "export the file again with pressures in kPa")
    sides = [s for s in ("left", "right") if f"{s} insole" in fields]
    column_names = head[-1].split()
    n_sensor_cols = len(column_names) - 1
    if not sides:
        sides = ["left", "right"] if n_sensor_cols == 2 * PEDAR_N_SENSORS else []
    if n_sensor_cols != PEDAR_N_SENSORS * len(sides) or not sides:
        raise _fail(p, f"column header has {n_sensor_cols} sensor columns for "
                       f"{len(sides) or 'no'} insole(s); pedar insoles have 99 sensors")
    expected = [str(i) for i in range(1, PEDAR_N_SENSORS + 1)] * len(sides)
    if column_names[1:] != expected:
        raise _fail(p, "sensor columns are not numbered 1..99 per insole")
    data, line_of = numeric_rows(lines[n_head:], lambda what: _fail(p, what),
                                 first_line=n_head + 1, n_columns=len(column_names))
    if data.shape[0] == 0:
        raise _fail(p, "no data lines after the column header")
    negative = first_negative(data[:, 1:])
    if negative is not None:  # as Moticon, XSENSOR and F-Scan refuse it
        i, j = negative
        raise _fail(p, f"line {line_of[i]}, column {j + 2} ({sides[j // PEDAR_N_SENSORS]} "
                       f"sensor {j % PEDAR_N_SENSORS + 1}): pressure {data[i, j + 1]:g} kPa is "
                       f"negative; the file is damaged at line {line_of[i]}: correct that value, "
                       "or export the file again")
    rate = _number(fields.get("scanning rate [hz]"))
    if rate is None:
        period = _number(fields.get("time per frame [secs]"))
        rate = 1.0 / period if period else None
    if rate is None or not rate > 0:
        step = median_step(data[:, 0])
        rate = 1.0 / step if step > 0 else None
    if rate is None:
        raise _fail(p, "no scanning rate in the header and no usable time column")
    start = strptime_first(fields.get("date/time", "").strip(),
                           ("%d.%m.%y %H.%M", "%d.%m.%Y %H.%M", "%d.%m.%y %H:%M", "%d.%m.%Y %H:%M"))
    start = None if start is None else start.astimezone()
    pressures = {
        side: data[:, 1 + i * PEDAR_N_SENSORS : 1 + (i + 1) * PEDAR_N_SENSORS]
        for i, side in enumerate(sides)
    }
    return PedarData(
        time_s=data[:, 0].copy(),
        pressure_kpa=pressures,
        sampling_rate_hz=float(rate),
        start=start,
        header={k: v for k, v in fields.items() if not k.startswith("_")},
    )


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    m = re.match(r"\s*([-+]?\d+(?:\.\d*)?)", text)
    return float(m.group(1)) if m else None


def _outline_width(y_mm: float, vx: np.ndarray, vy: np.ndarray) -> tuple[float, float]:
    """Medial and lateral x of the insole outline at height `y_mm`."""
    x1, y1 = vx, vy
    x2, y2 = np.roll(vx, -1), np.roll(vy, -1)
    crosses = (y1 > y_mm) != (y2 > y_mm)
    xs = x1[crosses] + (y_mm - y1[crosses]) * (x2[crosses] - x1[crosses]) / (
        y2[crosses] - y1[crosses]
    )
    return float(xs.min()), float(xs.max())


def pedar_layout(foot_length_mm: float = DEFAULT_FOOT_LENGTH_MM) -> SensorLayout:
    """Approximate positions of the 99 pedar sensors on the insole outline.

    Parameters
    ----------
    foot_length_mm : float
        Insole length [mm]: the length of the `insole.core.layouts.insole_outline` the rows
        are spread over.

    Returns
    -------
    SensorLayout
        ``"pedar99"``: `PEDAR_ROWS` rows spaced evenly from 3.5 % to 96.5 % of the foot
        length, each spanning the outline's width at its height in equal cells; each sensor's
        area is its row's band of the outline divided by the row's sensor count. Regions follow
        the pressuRe pedar masks (sensors 1-26 heel, 27-54 midfoot, 55-82 forefoot, 83-99 toes).

    Notes
    -----
    novel's sensor coordinates are not public. The row structure (5, then twelve rows of 7,
    then 6 and 4) and the medial-to-lateral numbering were inferred from the pedar example of
    the pressuRe package: neighbouring numbers correlate strongly within a row and weakly
    across a row break, and the first sensor of each forefoot and toe row unloads last
    (first ray, hallux). Exact positions depend on the insole size.
    """
    vx, vy = insole_outline(foot_length_mm, n=400)
    n_rows = len(PEDAR_ROWS)
    pitch = (_LAST_ROW_Y - _FIRST_ROW_Y) / (n_rows - 1) * foot_length_mm
    xs: list[float] = []
    ys: list[float] = []
    areas: list[float] = []
    regions: list[str] = []
    for r, n in enumerate(PEDAR_ROWS):
        y = (_FIRST_ROW_Y * foot_length_mm) + r * pitch
        lo, hi = _outline_width(y, vx, vy)
        band = np.linspace(max(y - pitch / 2, 1e-6), min(y + pitch / 2, foot_length_mm - 1e-6),
                           21)
        widths = [np.subtract(*_outline_width(b, vx, vy)[::-1]) for b in band]
        band_area = float(np.mean(widths)) * (band[-1] - band[0])
        w = (hi - lo) / n
        row_x = lo + (np.arange(n) + 0.5) * w
        xs.extend(row_x.tolist())
        ys.extend([y] * n)
        areas.extend([band_area / n] * n)
        regions.extend(_regions(_ROW_REGION[r], row_x, y, foot_length_mm))
    return SensorLayout(
        name="pedar99",
        foot_length_mm=foot_length_mm,
        x_mm=np.round(xs, 1),
        y_mm=np.round(ys, 1),
        area_mm2=np.round(areas, 1),
        region=tuple(regions),
    )


def _regions(kind: str, x: np.ndarray, y: float, foot_length_mm: float) -> list[str]:
    if kind == "heel":
        return ["heel_medial" if xi < 0 else "heel_lateral" for xi in x]
    if kind == "midfoot":
        return ["midfoot"] * len(x)
    if kind == "toes":
        return ["toes"] * len(x)
    # forefoot: medial / central / lateral by position, evaluated inside the forefoot band
    y_ff = np.full(len(x), 0.675 * foot_length_mm)
    return list(classify_region(x, y_ff, foot_length_mm))


def import_pedar(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    foot_length_mm: float = DEFAULT_FOOT_LENGTH_MM,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import a pedar ASCII export as a recording (99 sensors per foot, kPa).

    `read_pedar` reads the file; each insole becomes a device on `pedar_layout`.

    Parameters
    ----------
    path, out : str or os.PathLike
        The ``.asc`` file and the recording to write.
    foot_length_mm : float
        Insole length for the layout [mm].
    start : datetime, optional
        Wall-clock time of the first sample; default the export's ``date/time`` (local time),
        else now.
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is not a usable pedar export.
    """
    data = read_pedar(path)
    layout = pedar_layout(foot_length_mm)
    devices = []
    for device_id, (side, kpa) in enumerate(data.pressure_kpa.items(), start=1):
        letter = side[0].upper()
        devices.append(
            ImportedDevice(
                side=side,
                values=kpa,
                time_s=data.time_s,
                layout=layout,
                unit="kPa",
                columns=[f"{letter}{n}" for n in range(1, PEDAR_N_SENSORS + 1)],
                device_id=device_id,
                label=f"pedar {Path(path).name} {side}",
                calibration=linear_calibration(kpa, "kPa"),
                info={"pedar_sensors": PEDAR_N_SENSORS},
            )
        )
    info: dict[str, Any] = {
        "columns": ["time[secs]"] + [f"{s} 1..99" for s in data.pressure_kpa],
        "units": {"time[secs]": "s", "pressure": "kPa"},
        "pedar_header": data.header,
        "notes": [
            "99 pedar sensors per insole, one to one (sensor n is sensor n-1 of the layout)",
            "sensor positions approximate (pedar_layout): novel's sensor map is not public",
        ],
    }
    return write_devices(out, path, devices, fmt="pedar", sample_rate_hz=data.sampling_rate_hz,
                         info=info, start=start, file_start=data.start,
                         file_start_source=FILE_LOCAL_TIME, overwrite=overwrite)
