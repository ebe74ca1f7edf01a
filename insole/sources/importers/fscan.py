"""Reader and importer for Tekscan F-Scan ASCII movie exports (``.asf``): a sensel matrix per frame.

An F-Scan ASCII export ("File > Save ASCII" in Tekscan's Research Foot software) is a text
header of ``KEY value`` lines — ``DATA_TYPE MOVIE``, ``ROWS``, ``COLS``, ``ROW_SPACING 5.08 mm``,
``COL_SPACING``, ``SENSEL_AREA``, ``SECONDS_PER_FRAME``, ``TIME``, ``START_FRAME``,
``END_FRAME``, ``UNITS KPa``, ``MIRROR_ROW``, ``MIRROR_COL`` — then ``ASCII_DATA @@``, and per
frame a line ``Frame N`` followed by ``ROWS`` lines of ``COLS`` comma-separated values; ``B``
marks a sensel outside the trimmed insole; ``@@`` ends the data. One file holds one insole
(about 950 sensels of 5.08 mm × 5.08 mm). Row 1 is the toe end of the insole and, for a left
insole as exported, the last column its medial edge (checked on the shared example: the
centre of pressure runs from high to low rows in every stance, and the toe tip of the trimmed
outline lies towards the last columns).

The wire protocol carries at most 128 sensors per insole, so the importer merges the sensels
into region cells (`insole.sources.importers.convert.merge_sensels`); forces per region and per foot
stay exact. See ``docs/importers.md``.
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
    LENGTH_UNITS_MM,
    ImportResult,
    kpa_per_unit,
    merge_sensels,
    mm_per_unit,
    write_devices,
)

__all__ = ["LENGTH_UNITS_MM", "FScanData", "import_fscan", "read_fscan", "spacing_mm"]

_RAW_UNITS = ("raw", "raw sum", "counts")


@dataclass
class FScanData:
    """The content of an F-Scan ASCII movie export.

    Attributes
    ----------
    frames : ndarray of float64, shape (n_frames, rows, cols)
        Sensel values in `unit`, row 0 at the toe end; NaN outside the insole (``B``).
    mask : ndarray of bool, shape (rows, cols)
        Sensels of the insole (not ``B`` in the first frame).
    frame_numbers : ndarray of int64, shape (n_frames,)
        The ``Frame N`` numbers.
    time_s : ndarray of float64, shape (n_frames,)
        ``(N - first N) · SECONDS_PER_FRAME`` [s].
    sampling_rate_hz : float
        ``1 / SECONDS_PER_FRAME``.
    row_spacing_mm, col_spacing_mm : float
        Sensel spacing along and across the insole [mm].
    unit : str
        ``UNITS`` as written in the header (``"KPa"``, ``"MmHg"``, ``"PSI"``, ``"Raw"`` ...).
    start : datetime or None
        ``TIME`` of the header (local time), if it parses.
    header : dict of str to str
        Header fields as text.
    """

    frames: NDArray[np.float64]
    mask: NDArray[np.bool_]
    frame_numbers: NDArray[np.int64]
    time_s: NDArray[np.float64]
    sampling_rate_hz: float
    row_spacing_mm: float
    col_spacing_mm: float
    unit: str
    start: datetime | None
    header: dict[str, str] = field(default_factory=dict)


def _fail(path: Path, what: str) -> ImportFormatError:
    return file_error("F-Scan", path, what, "a Tekscan F-Scan ASCII movie export: KEY value "
                      "header with ROWS, COLS, spacing, SECONDS_PER_FRAME and UNITS, then "
                      "'Frame N' blocks of comma-separated sensel rows")


def spacing_mm(text: str) -> float:
    """Parse a spacing such as ``"5.08 mm"`` or ``"0.2 in"`` into millimetres.

    Parameters
    ----------
    text : str
        Number and unit (no unit: mm).

    Returns
    -------
    float
        The spacing [mm].

    Raises
    ------
    ImportFormatError
        If the number is missing or not positive, or the unit is unknown.
    """
    m = re.fullmatch(r"\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*", text)
    if not m:
        raise ImportFormatError(f"sensel spacing {text.strip()!r} is not a number and a unit")
    try:
        value = float(m.group(1)) * mm_per_unit(m.group(2) or "mm")
    except ImportFormatError as exc:
        raise ImportFormatError(f"{exc} (in spacing {text.strip()!r})") from None
    if not value > 0:
        raise ImportFormatError(f"sensel spacing must be positive, got {text.strip()!r}")
    return value


def _parse_time(text: str) -> datetime | None:
    # e.g. "Thursday, 16 February 2017 11:26:22 a.m." (Windows long date, local time)
    t = text.strip().replace("a.m.", "AM").replace("p.m.", "PM")
    t = re.sub(r"^[A-Za-z]+,\s*", "", t)
    stamp = strptime_first(t, ("%d %B %Y %I:%M:%S %p", "%d %B %Y %H:%M:%S",
                               "%B %d, %Y %I:%M:%S %p", "%m/%d/%Y %I:%M:%S %p",
                               "%m/%d/%Y %H:%M:%S"))
    return None if stamp is None else stamp.astimezone()


def read_fscan(path: str | os.PathLike[str]) -> FScanData:
    """Read a Tekscan F-Scan ASCII movie export.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.asf`` (or ``.csv``/``.txt``) file.

    Returns
    -------
    FScanData
        Sensel frames, mask, times and header facts.

    Raises
    ------
    ImportFormatError
        If the file is missing, empty or not an F-Scan ASCII movie (no ``ROWS``/``COLS``/
        ``SECONDS_PER_FRAME``/``UNITS`` header, no ``Frame`` blocks), is truncated (a frame
        with missing rows or values, fewer frames than ``START_FRAME``..``END_FRAME``), has a
        cell that is neither a number nor ``B``, or frame numbers that do not increase.
    """
    p = existing_file(path, "F-Scan file", "an F-Scan ASCII export (.asf)", "*.asf")
    lines = read_text(p, lambda what: _fail(p, what), empty_is_error=True).splitlines()
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].startswith("ASCII_DATA"):
        m = re.match(r"([A-Z][A-Z0-9_]*)(?:\s+(.*?))?\s*$", lines[i])
        if m:
            header.setdefault(m.group(1), m.group(2) or "")
        i += 1
    if i == len(lines):
        raise _fail(p, "no 'ASCII_DATA' line ending the header")
    missing = [k for k in ("ROWS", "COLS", "SECONDS_PER_FRAME", "UNITS") if k not in header]
    if missing:
        raise _fail(p, f"header lacks {', '.join(missing)}")
    if header.get("DATA_TYPE", "MOVIE").strip().upper() != "MOVIE":
        raise _fail(p, f"DATA_TYPE is {header['DATA_TYPE']!r}; export the movie, not a "
                       "single frame or summary")
    try:
        n_rows, n_cols = int(header["ROWS"]), int(header["COLS"])
        period = float(header["SECONDS_PER_FRAME"].split()[0])
    except (ValueError, IndexError):
        raise _fail(p, "ROWS, COLS or SECONDS_PER_FRAME is not a number") from None
    if not (0 < n_rows <= 1000 and 0 < n_cols <= 1000):
        raise _fail(p, f"ROWS {n_rows} and COLS {n_cols} must be 1..1000")
    if not (period > 0 and np.isfinite(period)):
        raise _fail(p, f"SECONDS_PER_FRAME must be positive, got {header['SECONDS_PER_FRAME']!r}")
    try:
        row_mm = spacing_mm(header.get("ROW_SPACING", ""))
        col_mm = spacing_mm(header.get("COL_SPACING", ""))
    except ImportFormatError as exc:
        raise _fail(p, f"ROW_SPACING / COL_SPACING: {exc}") from None
    unit = header["UNITS"].strip()
    if unit.lower() not in _RAW_UNITS:
        try:
            kpa_per_unit(unit)
        except ImportFormatError as exc:
            raise _fail(p, str(exc)) from None

    numbers: list[int] = []
    cells: list[str] = []
    i += 1
    ended = False
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        if line.startswith("@@"):
            ended = True
            break
        m = re.fullmatch(r"Frame\s+(\d+)", line)
        if not m:
            raise _fail(p, f"line {i}: expected 'Frame N', got {line[:40]!r}")
        number = int(m.group(1))
        block = lines[i:i + n_rows]
        if len(block) < n_rows or any(not b.strip() or b.startswith(("Frame", "@@"))
                                      for b in block):
            raise _fail(p, f"frame {number} has fewer than {n_rows} rows; the file is truncated")
        for k, row in enumerate(block):
            values = row.strip().rstrip(",").split(",")
            if len(values) != n_cols:
                raise _fail(p, f"line {i + k + 1} (frame {number}) has {len(values)} values, "
                               f"COLS says {n_cols}; the file is truncated or damaged")
            cells.extend(values)
        numbers.append(number)
        i += n_rows
    if not numbers:
        raise _fail(p, "no 'Frame N' blocks after ASCII_DATA")
    try:
        flat = np.array([c.strip() if c.strip() != "B" else "nan" for c in cells],
                        dtype=np.float64)
    except ValueError:
        bad = next(k for k, c in enumerate(cells) if not _is_cell(c))
        frame = numbers[bad // (n_rows * n_cols)]
        row_i, col_i = divmod(bad % (n_rows * n_cols), n_cols)
        raise _fail(p, f"frame {frame}, row {row_i + 1}, column {col_i + 1}: "
                       f"{cells[bad].strip()!r} "
                       "is neither a number nor B") from None
    frames = flat.reshape(len(numbers), n_rows, n_cols)
    frame_numbers = np.asarray(numbers, dtype=np.int64)
    if np.any(np.diff(frame_numbers) <= 0):
        k = int(np.flatnonzero(np.diff(frame_numbers) <= 0)[0])
        raise _fail(p, f"frame numbers do not increase (frame {frame_numbers[k]} then "
                       f"{frame_numbers[k + 1]})")
    try:
        end = int(header["END_FRAME"]) if "END_FRAME" in header else None
    except ValueError:
        end = None
    if end is not None and frame_numbers[-1] < end:
        raise _fail(p, f"the last frame is {frame_numbers[-1]} but END_FRAME is {end}; the file "
                       "is truncated")
    if not ended:
        raise _fail(p, "no closing '@@' after the last frame; the file is truncated")
    mask = np.isfinite(frames[0])
    if not mask.any():
        raise _fail(p, "every sensel of the first frame is B (outside the insole)")
    frames = np.where(mask, frames, np.nan)
    if np.any(~np.isfinite(frames[:, mask])):
        k = int(np.flatnonzero(~np.all(np.isfinite(frames[:, mask]), axis=1))[0])
        raise _fail(p, f"frame {frame_numbers[k]} marks insole sensels as B; the sensor outline "
                       "must be the same in every frame")
    if np.any(frames[:, mask] < 0):
        raise _fail(p, "negative sensel values; pressures cannot be negative")
    return FScanData(
        frames=frames,
        mask=mask,
        frame_numbers=frame_numbers,
        time_s=(frame_numbers - frame_numbers[0]) * period,
        sampling_rate_hz=1.0 / period,
        row_spacing_mm=row_mm,
        col_spacing_mm=col_mm,
        unit=unit,
        start=_parse_time(header.get("TIME", "")),
        header=header,
    )


def _is_cell(text: str) -> bool:
    t = text.strip()
    return t == "B" or is_number(t)


def import_fscan(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    side: str,
    foot_length_mm: float | None = None,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import an F-Scan ASCII movie export as a recording (region cells in kPa, one foot).

    `read_fscan` reads the file; its sensels become the region cells of one device.

    Parameters
    ----------
    path, out : str or os.PathLike
        The ``.asf`` file and the recording to write.
    side : str
        ``"left"`` or ``"right"``: the export does not say which foot the insole was under.
    foot_length_mm : float, optional
        Foot length [mm] for the region boundaries; default the length of the trimmed sensor
        (often longer than the foot: the toes then count partly as forefoot).
    start : datetime, optional
        Wall-clock time of the first frame; default the header's ``TIME`` (local time), else
        now.
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is not a usable F-Scan export (see `read_fscan`) or `side` is invalid.

    Notes
    -----
    Pressures are converted to kPa (`insole.sources.importers.convert.kpa_per_unit`); ``Raw``
    exports are stored as ``counts`` (relative force, cell value = sum of its sensels). The sensels
    are merged into at most 128 region cells (`insole.sources.importers.convert.merge_sensels`). The
    medial edge is found from the trimmed outline (the toe tip lies medial of the heel centre line);
    when the outline does not say (an untrimmed sensor), the export's orientation is assumed:
    last column medial for a left insole, first column for a right one, swapped by
    ``MIRROR_COL 1``.
    """
    p = Path(path)
    side = left_or_right(side, p)
    data = read_fscan(p)
    raw_unit = data.unit.lower() in _RAW_UNITS
    factor = 1.0 if raw_unit else kpa_per_unit(data.unit)
    if data.header.get("MIRROR_ROW", "0").strip() == "1":
        frames = data.frames[:, ::-1, :]
        mask = data.mask[::-1, :]
    else:
        frames, mask = data.frames, data.mask
    medial_last, medial_from = _medial_edge(mask, data.header, side)
    unit = "counts" if raw_unit else "kPa"
    cells = merge_sensels(
        np.nan_to_num(frames) * factor,
        mask,
        row_pitch_mm=data.row_spacing_mm,
        col_pitch_mm=data.col_spacing_mm,
        medial_col_last=medial_last,
        unit=unit,
        name="fscan",
        foot_length_mm=foot_length_mm,
    )
    device = cells.device(side, data.time_s, unit=unit, device_id=1, label=f"fscan {p.name} {side}",
                          medial_col_last=medial_last, info={"sensels": int(mask.sum())},
                          medial_edge_from=medial_from)
    info: dict[str, Any] = {
        "columns": [f"sensel matrix {mask.shape[0]}x{mask.shape[1]}"],
        "units": {"pressure": data.unit, "stored": unit,
                  "kpa_per_unit": None if raw_unit else factor},
        "sensel_spacing_mm": [data.row_spacing_mm, data.col_spacing_mm],
        "fscan_header": data.header,
        "notes": [
            f"{int(mask.sum())} sensels merged into {cells.layout.n_sensors} region cells "
            f"(blocks of {cells.block[0]}x{cells.block[1]} sensels split at region "
            "boundaries): cell pressure = mean of its sensels, so force per cell, region and "
            "foot is exact; peak pressures are cell means",
        ],
    }
    return write_devices(out, p, [device], fmt="fscan", sample_rate_hz=data.sampling_rate_hz,
                         info=info, start=start, file_start=data.start,
                         file_start_source=FILE_LOCAL_TIME, overwrite=overwrite)


def _medial_edge(
    mask: NDArray[np.bool_], header: dict[str, str], side: str
) -> tuple[bool, str]:
    """Whether the last column is medial, and what said so (``"outline"`` or ``"export"``)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.arange(mask.shape[1])
    n = rows.size
    toe = mask[rows[: max(1, n // 10)]]
    heel = mask[rows[-max(1, (3 * n) // 10):]]
    shift = float((toe * cols).sum() / toe.sum() - (heel * cols).sum() / heel.sum())
    if abs(shift) >= 0.5:
        return shift > 0, "outline"
    mirrored = header.get("MIRROR_COL", "0").strip() == "1"
    return (side == "left") != mirrored, "export"
