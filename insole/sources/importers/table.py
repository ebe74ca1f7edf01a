"""Reader for delimited text tables with a one-line header (force plates, exports, logs).

Example: the Fukuchi, Fukuchi & Duarte (2017, PeerJ 5:e3298) running data set (RBDS, CC BY 4.0)
stores instrumented-treadmill forces as tab-separated text with the header
``Time Fx Fy Fz COPx COPy COPz Ty``; ``Time`` is the frame number and ``Fy`` the vertical force
[N], sampled at 300 Hz::

    (fy,), fs = read_table("RBDS001runT25forces.txt", columns=["Fy"], sampling_rate_hz=300)

`import_table` writes such columns as an ordinary recording, one single-sensor device per
column (``insole import table FILE --rate 300 --column Fy --out REC``).
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from insole.sources.importers import (
    ImportFormatError,
    existing_file,
    is_number,
    left_or_right,
    one_device_per_foot,
    read_text,
    wrong_field_count,
)
from insole.sources.importers.convert import (
    ImportResult,
    median_step,
    single_sensor_device,
    write_devices,
)

__all__ = ["SIDES", "TIME_UNITS", "import_table", "read_table"]

#: A force column whose 0.1th percentile lies this many times as far below zero as its 99.9th
#: percentile lies above is stored with its sign flipped (`import_table`): a plate's reaction
#: force. A project choice: RBDS001's Fy negated has them at -1,411 and 0 N (the flight); a
#: signal swinging both ways has a ratio of about 1; a column resting at -8 N with brief
#: loads of 700 N in 0.8 % of its samples (an offset after zeroing) at -14 and 694 N.
_NEGATIVE_LOAD_RATIO = 4.0

#: Values of ``sides`` in `import_table`: ``"both"`` is one force plate under both feet.
SIDES = ("left", "right", "both")

#: Units of a time column in `import_table`.
TIME_UNITS = ("s", "ms", "frame")


def read_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str],
    sampling_rate_hz: float | None = None,
    time_column: str | None = None,
    strict_rows: bool = False,
) -> tuple[list[NDArray[np.float64]], float | None]:
    """Read numeric columns from a whitespace-, tab-, comma- or semicolon-separated table.

    The first non-empty line is the header. The delimiter is taken from it: comma if it
    contains one, else semicolon, else tab, else runs of whitespace.

    Parameters
    ----------
    path : str or os.PathLike
        The text file.
    columns : sequence of str
        Header names of the columns to return, in the order wanted. Names match exactly, or
        else ignoring case and surrounding quotes.
    sampling_rate_hz : float or None, default None
        The sampling rate, if known (it is not stored in many exports, e.g. RBDS: 300 Hz).
    time_column : str or None, default None
        A column holding time in seconds. Used only when ``sampling_rate_hz`` is None, to
        infer it as 1 / median time step.
    strict_rows : bool, default False
        Refuse a data line whose number of fields differs from the header's (by default
        missing trailing fields are NaN).

    Returns
    -------
    values : list of ndarray, shape (n_samples,) each
        One float array per requested column; empty fields are NaN.
    sampling_rate_hz : float or None
        The given or inferred sampling rate, or None if neither is available.

    Raises
    ------
    ImportFormatError
        If the file is missing, empty or not text, its first line is numbers instead of a
        header, a column is missing, a value is not numeric, a line has the wrong number of
        fields (with `strict_rows`) or the inferred sampling rate is not positive.
    """
    p = existing_file(path, "table", "a delimited text table with a header row")
    if not columns:
        raise ImportFormatError("columns must name at least one column to read", path=p)
    text = read_text(p, lambda what: ImportFormatError(
        f"table {str(p)!r} is {what}; expected delimited text with a header row", path=p))
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) < 2:
        raise ImportFormatError(f"table {str(p)!r} needs a header line and data lines", path=p)
    delimiter = next((d for d in (",", ";", "\t") if d in lines[0][1]), None)
    header = _split(lines[0][1], delimiter)
    if all(is_number(h) for h in header):
        raise ImportFormatError(
            f"table {str(p)!r} has no header row (its first line is numbers); add a first line "
            "naming the columns",
            path=p,
        )
    wanted = list(columns)
    if time_column is not None and sampling_rate_hz is None:
        wanted.append(time_column)
    indices = [_column_index(header, name, p) for name in wanted]

    n_rows = len(lines) - 1
    data = np.full((n_rows, len(indices)), np.nan)
    for row, (lineno, line) in enumerate(lines[1:]):
        fields = _split(line, delimiter)
        if strict_rows and len(fields) != len(header):
            raise ImportFormatError(
                f"table {str(p)!r} " + wrong_field_count(lineno, len(fields), len(header),
                                                          last=row == n_rows - 1),
                path=p,
            )
        for out_col, idx in enumerate(indices):
            if idx >= len(fields) or not fields[idx].strip():
                continue
            try:
                data[row, out_col] = float(fields[idx])
            except ValueError:
                raise ImportFormatError(
                    f"table {str(p)!r} line {lineno}, column {header[idx]!r}: "
                    f"{fields[idx]!r} is not a number",
                    path=p,
                ) from None

    rate = None if sampling_rate_hz is None else float(sampling_rate_hz)
    if rate is None and time_column is not None:
        step = median_step(data[:, -1], finite_only=True)
        if not step > 0:
            raise ImportFormatError(
                f"table {str(p)!r}: cannot infer the sampling rate from column "
                f"{time_column!r} (median step {step}); pass sampling_rate_hz",
                path=p,
            )
        rate = 1.0 / step
        data = data[:, :-1]
    if rate is not None and not rate > 0:
        raise ImportFormatError(f"sampling_rate_hz must be positive, got {rate}", path=p)
    return [data[:, i].copy() for i in range(data.shape[1])], rate


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader(io.StringIO(line), delimiter=delimiter))


def _fold(name: str) -> str:
    """A column name for matching: no quotes or surrounding space, case folded, NFC."""
    return unicodedata.normalize("NFC", name.strip().strip("\"'").casefold())


def _column_index(header: list[str], name: str, path: Path) -> int:
    if name in header:
        return header.index(name)
    folded = [_fold(h) for h in header]
    key = _fold(name)
    if key in folded:
        return folded.index(key)
    shown = [h.strip()[:40] for h in header[:30]]
    more = f" and {len(header) - 30} more" if len(header) > 30 else ""
    raise ImportFormatError(
        f"table {str(path)!r} has no column {name!r}; its columns are {', '.join(shown)}{more}",
        path=path,
    )


def _sides_for(columns: Sequence[str], sides: Sequence[str] | None, path: Path) -> list[str]:
    fix = ("import one column per foot (--side left, --side right), or one plate under both "
           "feet (a single column, --side both)")
    if sides is None or len(sides) == 0:
        if len(columns) == 1:
            return ["both"]
        if len(columns) == 2:
            return ["left", "right"]
        raise ImportFormatError(
            f"{len(columns)} columns given, but a recording has two feet: {fix}", path=path
        )
    chosen = [left_or_right(s, path, both=True) for s in sides]
    if len(chosen) == 1:
        chosen *= len(columns)
    elif len(chosen) != len(columns):
        raise ImportFormatError(
            f"{len(sides)} sides for {len(columns)} columns; give one side per column or one "
            "for all",
            path=path,
        )
    one_device_per_foot(((f"column {c!r}", s) for c, s in zip(columns, chosen, strict=True)),
                        path, fix)
    return chosen


def import_table(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    columns: Sequence[str],
    sampling_rate_hz: float | None = None,
    sides: Sequence[str] | None = None,
    time_column: str | None = None,
    time_unit: str = "s",
    unit: str = "N",
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import columns of a delimited text table as a recording, one device per column.

    `read_table` reads the columns (with ``strict_rows``); each becomes a one-sensor device.

    Parameters
    ----------
    path, out : str or os.PathLike
        The table (header row, then data; comma, semicolon, tab or whitespace separated) and
        the recording to write.
    columns : sequence of str
        Columns to import, each a force (or pressure) of one foot or of a plate.
    sampling_rate_hz : float, optional
        Sampling rate. Required unless `time_column` is in seconds or milliseconds (the rate
        is then 1 / median time step).
    sides : sequence of str, optional
        Foot of each column: ``"left"``, ``"right"`` or ``"both"`` (one plate under both feet,
        e.g. an instrumented treadmill), in any case; one value applies to all columns.
        Default: ``"both"`` for a single column, ``"left"``, ``"right"`` for two. One column
        per foot: two on one foot, or a ``"both"`` column beside another, are refused (the
        analysis would add them up as one foot).
    time_column : str, optional
        Column with the time of each row; default: row index / rate.
    time_unit : str
        Unit of `time_column`: ``"s"``, ``"ms"`` or ``"frame"`` (frame numbers, divided by
        the rate; e.g. the Fukuchi force-plate files' ``Time``).
    unit : str
        Unit of the columns: ``"N"`` (default), ``"kPa"`` or ``"counts"`` (relative force).
    start : datetime, optional
        Wall-clock time of the first row; default now.
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the table is malformed (see `read_table`, which is called with ``strict_rows``),
        a column is missing, two columns are on one foot, the time column is not increasing,
        or the rate is unknown.

    Notes
    -----
    Each column becomes a device with one whole-foot sensor
    (`insole.core.layouts.single_sensor_layout`). A device of side ``"both"`` is stored as a
    ``"left"`` device (the recording format knows only two feet) and marked with
    ``"plate_under_both_feet": true`` in its header device entry and in ``extra.import``
    (``"under_both_feet": true`` in ``extra.import.devices``): its contacts alternate between
    the feet, so the analysis must count every contact as a step and not pair left with right.
    Empty fields are invalid samples (stored as count 65535).
    """
    p = Path(path)
    if not columns:
        raise ImportFormatError("give at least one column to import (--column NAME)", path=p)
    if time_unit not in TIME_UNITS:
        raise ImportFormatError(
            f"time unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}", path=p
        )
    if sampling_rate_hz is None and (time_column is None or time_unit == "frame"):
        raise ImportFormatError(
            "the sampling rate is unknown: pass it (--rate HZ) or a time column in s or ms",
            path=p,
        )
    side_of = _sides_for(columns, sides, p)
    wanted = list(columns) + ([time_column] if time_column is not None else [])
    arrays, _ = read_table(p, columns=wanted, sampling_rate_hz=sampling_rate_hz,
                           strict_rows=True)
    n = arrays[0].shape[0]
    if time_column is not None:
        raw_t = arrays.pop()
        if not np.all(np.isfinite(raw_t)):
            i = int(np.flatnonzero(~np.isfinite(raw_t))[0])
            raise ImportFormatError(
                f"table {str(p)!r} line {i + 2}: time column {time_column!r} is empty", path=p
            )
        if time_unit == "ms":
            time_s = raw_t / 1000.0
        elif time_unit == "frame":
            assert sampling_rate_hz is not None
            time_s = (raw_t - raw_t[0]) / float(sampling_rate_hz)
        else:
            time_s = raw_t
        if sampling_rate_hz is None:
            step = median_step(time_s)
            if not step > 0:
                raise ImportFormatError(
                    f"table {str(p)!r}: cannot infer the sampling rate from column "
                    f"{time_column!r}; pass --rate",
                    path=p,
                )
            sampling_rate_hz = 1.0 / step
    else:
        assert sampling_rate_hz is not None
        time_s = np.arange(n) / float(sampling_rate_hz)
    # A force column that is loaded below zero is a reaction force (the force on the plate, or
    # a vertical axis pointing down, as AMTI and many lab frames give it): stored with its sign
    # flipped, as the C3D importer does, so that the load is positive. Loaded below zero: its
    # 0.1th percentile lies more than `_NEGATIVE_LOAD_RATIO` times as far below zero as its
    # 99.9th lies above (a plate's flight noise is a few N, its load a kN; loads in 0.8 % of
    # the samples still set the 99.9th, a single glitch does not set either); a signal
    # swinging both ways (not a vertical force) is kept as it is.
    signs = {name: 1.0 for name in columns}
    if unit == "N":
        for k, name in enumerate(columns):
            finite = arrays[k][np.isfinite(arrays[k])]
            if finite.size:
                low, high = np.percentile(finite, [0.1, 99.9])
                if low < 0 and -low > _NEGATIVE_LOAD_RATIO * max(float(high), 0.0):
                    arrays[k] = -arrays[k]
                    signs[name] = -1.0
    devices = [
        single_sensor_device(side, values, time_s, unit=unit, column=name, device_id=i + 1,
                             label=f"table {p.name} {name}")
        for i, (name, values, side) in enumerate(zip(columns, arrays, side_of, strict=True))
    ]
    both = "both" in side_of
    flips = [
        f"column {name!r} stored with its sign flipped: it was loaded below zero (a reaction "
        "force, or a vertical axis pointing down)" for name in columns if signs[name] < 0
    ]
    info = {
        "columns": list(wanted),
        "units": {**{c: unit for c in columns},
                  **({time_column: time_unit} if time_column is not None else {})},
        "time_column": time_column,
        "plate_under_both_feet": both,
        "vertical_sign": signs,
        "notes": (
            ["one force plate under both feet stored as the left device: count every contact "
             "as a step"] if both else []
        ) + flips,
        "tell": flips,  # printed by `insole import` (`ImportResult.told`), not stored
    }
    return write_devices(out, p, devices, fmt="table", sample_rate_hz=float(sampling_rate_hz),
                         info=info, start=start, overwrite=overwrite)
