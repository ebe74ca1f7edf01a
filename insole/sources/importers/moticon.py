"""Reader and importer for Moticon OpenGo text exports (16 pressures per insole, 100 Hz).

An OpenGo text export is ``#`` header lines (``Start timestamp`` in Unix ms and/or
``Start time`` as ``DD.MM.YYYY hh:mm:ss.fff``, ``Duration``, ``Sensor insoles: Left SN…, Right
SN…``, ``Size``, ...), the last of which names the tab-separated columns, e.g.
``time``, ``left pressure 1[N/cm²]`` .. ``left pressure 16[N/cm²]``, ``left acceleration
X[g]``, ``left angular X[dps]``, ``left total force[N]``, ``left center of pressure
X[-0.5...+0.5]``, the same for ``right``, and optional event columns: ``left steps[]`` /
``right steps[]`` (the vendor's step events: 11 / 21 = left / right heel strike, 15 / 25 =
toe-off) or user events ``Left Events[]`` with ``Left Events label[]``. A row whose side has no
sample leaves that side's cells empty.

The importer stores the 16 pressures of each insole one to one (counts of 0.25 N/cm² = 2.5 kPa,
exact) on the `insole.core.moticon.moticon_layout` of the file's insole size; every non-empty event
cell becomes a recording event ``moticon_event`` (recording-wide, at the row's time) with its
column, value, label and, for step columns, ``kind`` (``heel_strike`` / ``toe_off``) and
``side``. Acceleration, angular rate, total force and centre of pressure are not stored: total
force and centre of pressure follow from the pressures and the layout (the layout's areas were
recovered from them), the IMU has no place in a recording yet. See ``docs/importers.md``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from insole.core.moticon import DEFAULT_SIZE, MOTICON_N_SENSORS, moticon_calibration, moticon_layout
from insole.sources.importers import (
    ImportFormatError,
    existing_file,
    file_error,
    read_text,
    strptime_first,
    wrong_field_count,
)
from insole.sources.importers.convert import (
    ImportedDevice,
    ImportResult,
    first_negative,
    median_step,
    write_devices,
)

__all__ = [
    "SIZE_FORCE_TOLERANCE",
    "STEP_EVENT_CODES",
    "MoticonExport",
    "MoticonSide",
    "force_mismatch",
    "import_moticon",
    "read_moticon",
]

#: Codes of the vendor's step events in ``left steps[]`` / ``right steps[]`` (README of the
#: shared data: 11 = left heel strike, 15 = left toe-off, 21 / 25 = right).
STEP_EVENT_CODES: dict[int, tuple[str, str]] = {
    11: ("left", "heel_strike"),
    15: ("left", "toe_off"),
    21: ("right", "heel_strike"),
    25: ("right", "toe_off"),
}

#: Largest median relative difference between Σ pressure · area and an export's own ``total
#: force`` for which a layout size is the export's: the layouts of sizes 3 and 7 reproduce the
#: vendor's force to a median < 1 % (`insole.core.moticon`; checked by
#: tests/importers/test_moticon.py), while neighbouring sizes' areas differ by about 8 %
#: ((1 ± 4.1 %)², the step per size of `insole.core.moticon`).
SIZE_FORCE_TOLERANCE = 0.01
#: Samples whose total force is below this [N] are left out of that comparison (near-zero
#: loads make relative differences meaningless); the same cut as the layout test.
SIZE_CHECK_MIN_FORCE_N = 100.0

_PRESSURE = re.compile(r"^(left|right) pressure (\d+)\s*\[(.*)\]$", re.IGNORECASE)
_CHANNEL = re.compile(
    r"^(left|right) (acceleration|angular|total force|center of pressure)\s*([xyz])?\s*\[.*\]$",
    re.IGNORECASE,
)
_STEPS = re.compile(r"^(left|right) steps\s*\[\]$", re.IGNORECASE)
_EVENTS = re.compile(r"^(left|right) events( label)?\s*\[\]$", re.IGNORECASE)
_SHORT = {"acceleration": "acc", "angular": "gyro", "total force": "force",
          "center of pressure": "cop"}


@dataclass
class MoticonSide:
    """The samples of one insole.

    Attributes
    ----------
    time_s : ndarray, shape (n,)
        Time of each row that has a sample of this side [s].
    pressure_n_cm2 : ndarray, shape (n, 16)
        Pressures [N/cm²]; NaN for an empty cell.
    channels : dict of str to ndarray, shape (n,)
        ``acc_x`` .. ``acc_z`` [g], ``gyro_x`` .. [deg/s], ``force`` [N], ``cop_x``,
        ``cop_y`` [-0.5 .. 0.5], those present.
    """

    time_s: NDArray[np.float64]
    pressure_n_cm2: NDArray[np.float64]
    channels: dict[str, NDArray[np.float64]] = field(default_factory=dict)


@dataclass
class MoticonExport:
    """The content of an OpenGo text export.

    Attributes
    ----------
    sides : dict of str to MoticonSide
        ``"left"`` / ``"right"`` (those with at least one sample).
    events : list of (float, dict)
        ``(time_s, fields)`` of every non-empty event cell, in row order.
    header : dict of str to str
        The ``# key: value`` header lines.
    size : int or None
        Insole size (header ``Size``).
    serials : dict of str to int
        Insole serial number per side (header ``Sensor insoles``).
    start : datetime or None
        Wall-clock time of time 0 (``Start timestamp``, else ``Start time`` as local time).
    columns : list of str
        All column names.
    ignored_columns : list of str
        Columns not read (e.g. ``left COP velocity[1]``).
    """

    sides: dict[str, MoticonSide]
    events: list[tuple[float, dict[str, Any]]]
    header: dict[str, str]
    size: int | None
    serials: dict[str, int]
    start: datetime | None
    columns: list[str]
    ignored_columns: list[str]

    @property
    def sampling_rate_hz(self) -> float:
        """1 / median time step of the rows (100 Hz for OpenGo); NaN with under two rows."""
        step = median_step(np.unique(np.concatenate([s.time_s for s in self.sides.values()])))
        return 1.0 / step if step > 0 else float("nan")


def _fail(path: Path, what: str) -> ImportFormatError:
    return file_error("Moticon", path, what, "a Moticon OpenGo text export: '#' header lines, "
                      "the last naming the tab-separated columns 'time', 'left pressure "
                      "1[N/cm²]', ...")


def _header_fields(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.lstrip("#").partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _start(fields: dict[str, str]) -> datetime | None:
    stamp = fields.get("start timestamp")
    if stamp:
        try:
            return datetime.fromtimestamp(int(stamp) / 1000.0, UTC).astimezone()
        except (ValueError, OverflowError, OSError):
            pass
    text = fields.get("start time")
    parsed = strptime_first(text, ("%d.%m.%Y %H:%M:%S.%f", "%d.%m.%Y %H:%M:%S")) if text else None
    return None if parsed is None else parsed.astimezone()


def read_moticon(path: str | os.PathLike[str]) -> MoticonExport:
    """Read a Moticon OpenGo text export.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.txt`` export: ``#`` header lines, the last naming the columns, then one
        tab-separated row per time.

    Returns
    -------
    MoticonExport
        Samples per side, events and header facts.

    Raises
    ------
    ImportFormatError
        If the file is missing, has no column header line, lacks the 16 pressures of every
        side, gives pressures in another unit than N/cm², or holds a malformed row (more
        fields than the header, fewer where a side's cells are cut off or in a last line
        without its line end: a truncated file; a cell that is not a number; time not
        increasing).
    """
    p = existing_file(path, "Moticon file", "a Moticon OpenGo text export (.txt)", "*.txt")
    text = read_text(p, lambda what: _fail(p, what))
    lines = text.splitlines()
    head = []
    for line in lines:
        if not line.startswith("#"):
            break
        head.append(line)
    if not head:
        raise _fail(p, "no '#' header lines")
    columns = [c.strip() for c in head[-1].lstrip("#").strip().split("\t")]
    if not columns or columns[0].lower() != "time":
        raise _fail(p, f"the last '#' line does not start with the column 'time' "
                       f"({head[-1][:40]!r})")
    pressure: dict[str, dict[int, int]] = {"left": {}, "right": {}}
    channels: dict[str, dict[str, int]] = {"left": {}, "right": {}}
    steps: dict[int, str] = {}
    events: dict[int, tuple[str, bool]] = {}
    ignored = []
    for j, name in enumerate(columns[1:], start=1):
        if m := _PRESSURE.match(name):
            unit = m.group(3).replace(" ", "").lower()
            if unit not in ("n/cm²", "n/cm2"):
                raise _fail(p, f"column {name!r}: pressure unit {m.group(3)!r}; only N/cm² "
                               "is read (export again with the default units)")
            pressure[m.group(1).lower()][int(m.group(2))] = j
        elif m := _CHANNEL.match(name):
            axis = f"_{m.group(3).lower()}" if m.group(3) else ""
            channels[m.group(1).lower()][_SHORT[m.group(2).lower()] + axis] = j
        elif m := _STEPS.match(name):
            steps[j] = m.group(1).lower()
        elif m := _EVENTS.match(name):
            events[j] = (m.group(1).lower(), bool(m.group(2)))
        else:
            ignored.append(name)
    sides_present = [s for s in ("left", "right") if pressure[s]]
    if not sides_present:
        raise _fail(p, "no 'left pressure N' or 'right pressure N' columns")
    for side in sides_present:
        if sorted(pressure[side]) != list(range(1, MOTICON_N_SENSORS + 1)):
            raise _fail(p, f"the {side} side has pressures {sorted(pressure[side])[:3]}... "
                           f"but an OpenGo insole has 16 (1..16)")
    n_cols = len(columns)
    body = [(i + 1, ln) for i, ln in enumerate(lines[len(head):], start=len(head))
            if ln.strip()]
    if not body:
        raise _fail(p, "no data rows after the header")
    # A row may end early where its last cells are empty (a side without a sample): padded.
    # A row that ends inside a side's cells, or a last line without its line end, is cut off.
    side_cols = [sorted([*pressure[s].values(), *channels[s].values()]) for s in sides_present]
    cut_last = not text.endswith(("\n", "\r"))
    cells: list[list[str]] = []
    for k, (lineno, ln) in enumerate(body):
        fields = ln.split("\t")
        if len(fields) > n_cols and not any(f.strip() for f in fields[n_cols:]):
            fields = fields[:n_cols]
        n = len(fields)
        last = cut_last and k == len(body) - 1
        inside_a_side = any(cols[0] < n <= cols[-1] and any(fields[j].strip() for j in cols
                                                             if j < n) for cols in side_cols)
        if n > n_cols or (n < n_cols and (last or inside_a_side)):
            raise _fail(p, wrong_field_count(lineno, n, n_cols, last=last))
        cells.append(fields + [""] * (n_cols - n))
    numeric = sorted({0} | {j for s in sides_present for j in pressure[s].values()}
                     | {j for s in sides_present for j in channels[s].values()}
                     | set(steps) | {j for j, (_, is_label) in events.items() if not is_label})
    values = np.full((len(cells), n_cols), np.nan)
    for r, fields in enumerate(cells):
        for j in numeric:
            cell = fields[j].strip()
            if not cell:
                continue
            try:
                values[r, j] = float(cell)
            except ValueError:
                raise _fail(p, f"line {body[r][0]}, column {columns[j]!r}: {cell[:20]!r} is not "
                               "a number") from None
    t = values[:, 0]
    if not np.all(np.isfinite(t)):
        r = int(np.flatnonzero(~np.isfinite(t))[0])
        raise _fail(p, f"line {body[r][0]} has no time")
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        r = int(bad[0]) + 1
        raise _fail(p, f"time does not increase at line {body[r][0]} ({t[r - 1]:g} s, then "
                       f"{t[r]:g} s)")
    sides: dict[str, MoticonSide] = {}
    for side in sides_present:
        cols = [pressure[side][i] for i in range(1, MOTICON_N_SENSORS + 1)]
        pr = values[:, cols]
        present = np.any(np.isfinite(pr), axis=1)
        if not present.any():
            continue
        negative = first_negative(pr)
        if negative is not None:
            raise _fail(p, f"line {body[negative[0]][0]}: negative {side} pressure")
        sides[side] = MoticonSide(
            time_s=t[present].copy(),
            pressure_n_cm2=pr[present].copy(),
            channels={k: values[present, j].copy() for k, j in channels[side].items()},
        )
    if not sides:
        raise _fail(p, "no row holds a pressure sample")
    found: list[tuple[float, dict[str, Any]]] = []
    labels = {side: j for j, (side, is_label) in events.items() if is_label}
    for r in range(len(cells)):
        for j in steps:
            v = values[r, j]
            if np.isfinite(v):
                ev: dict[str, Any] = {"column": columns[j], "value": float(v)}
                code = STEP_EVENT_CODES.get(int(v)) if float(v).is_integer() else None
                if code is not None:
                    ev["side"], ev["kind"] = code
                found.append((float(t[r]), ev))
        for j, (side, is_label) in events.items():
            if is_label or not np.isfinite(values[r, j]):
                continue
            ev = {"column": columns[j], "value": float(values[r, j]), "side": side}
            if side in labels and cells[r][labels[side]].strip():
                ev["label"] = cells[r][labels[side]].strip()
            found.append((float(t[r]), ev))
    head_fields = _header_fields(head[:-1])
    size = None
    if (m := re.match(r"\s*(\d+)", head_fields.get("size", ""))) is not None:
        size = int(m.group(1))
    serials = {side.lower(): int(num) for side, num in
               re.findall(r"(left|right)\s+SN\s*(\d+)", head_fields.get("sensor insoles", ""),
                          re.IGNORECASE)}
    return MoticonExport(
        sides=sides, events=found, header=head_fields, size=size, serials=serials,
        start=_start(head_fields), columns=columns, ignored_columns=ignored,
    )


def force_mismatch(data: MoticonExport, size: int) -> float | None:
    """Median relative difference of Σ pressure · area (layout of `size`) from the total force.

    Parameters
    ----------
    data : MoticonExport
        An export with ``total force`` channels (``channels["force"]``).
    size : int
        Insole size of the layout whose areas are used, 1 .. 10.

    Returns
    -------
    float or None
        Over the samples of both sides with every pressure present and a total force above
        `SIZE_CHECK_MIN_FORCE_N`; None without such samples (no ``total force`` column).
    """
    area_cm2 = moticon_layout(size).area_mm2 / 100.0
    parts = []
    for side in data.sides.values():
        force = side.channels.get("force")
        if force is None:
            continue
        p = side.pressure_n_cm2
        with np.errstate(invalid="ignore"):
            ok = np.all(np.isfinite(p), axis=1) & (force > SIZE_CHECK_MIN_FORCE_N)
        if ok.any():
            parts.append(np.abs((p[ok] * area_cm2).sum(axis=1) - force[ok]) / force[ok])
    return float(np.median(np.concatenate(parts))) if parts else None


def _given_size(path: Path, data: MoticonExport, size: int) -> str:
    """``size_source`` of a `size` given for an export whose header names another one.

    The size sets the sensor areas, and so every force: a size other than the header's is
    refused, unless the header's size is not one of 1 .. 10 or the export's own total force
    confirms the given size and not the header's (the header is then wrong).
    """
    try:
        moticon_layout(size)
    except ValueError as exc:
        raise file_error("Moticon", path, str(exc)) from None
    file_size = data.size
    assert file_size is not None
    try:
        moticon_layout(file_size)
    except ValueError:
        return f"user (the header's size {file_size} is not one of 1 .. 10)"
    given, header = force_mismatch(data, size), force_mismatch(data, file_size)
    if given is not None and given < SIZE_FORCE_TOLERANCE and (
            header is None or header >= SIZE_FORCE_TOLERANCE):
        return (f"user (the header says {file_size}; the export's total force matches size "
                f"{size}: median difference {given:.1%})")
    ratio = moticon_layout(size).area_mm2.sum() / moticon_layout(file_size).area_mm2.sum() - 1
    evidence = ""
    if given is not None and header is not None:
        evidence = (f"; the export's own total force matches size {file_size} (median "
                    f"difference {header:.1%}, size {size}: {given:.1%})")
    raise file_error(
        "Moticon", path,
        f"the file says size {file_size} (its 'Size: {data.header.get('size', file_size)}' "
        f"line) but size {size} was given (--size); the size sets the sensor areas and so "
        f"every force (size {size}: {ratio:+.0%}){evidence}: leave out --size, or correct the "
        "file's 'Size' line if it is wrong")


def import_moticon(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    size: int | None = None,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import a Moticon OpenGo text export as a recording.

    `read_moticon` reads the file; each insole becomes a device of 16 pressures in kPa, each
    event cell a recording event ``moticon_event``.

    Parameters
    ----------
    path, out : str or os.PathLike
        The ``.txt`` export and the recording to write.
    size : int, optional
        Insole size for the layout; default the header's ``Size`` (else
        `insole.core.moticon.DEFAULT_SIZE`). For a file whose header gives a size, only that
        size is accepted, unless the export's own total force shows the header is wrong (it
        matches `size` within `SIZE_FORCE_TOLERANCE`, and not the header's size).
    start : datetime, optional
        Wall-clock time of the first row; default from the header.
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is malformed (`read_moticon`), the size is not 1 .. 10, or `size`
        contradicts the header's ``Size`` (see `size`).

    Notes
    -----
    Pressures are stored exactly (``linear_v1``, kPa, scale 2.5 = 0.25 N/cm²; OpenGo's
    resolution). Each side keeps only the rows that have its sample; empty rows inside a
    recording become gaps the pipeline sees.
    """
    p = Path(path)
    data = read_moticon(p)
    chosen = size if size is not None else (data.size or DEFAULT_SIZE)
    size_source = "user" if size is not None else ("file" if data.size else "default")
    if size is not None and data.size is not None and size != data.size:
        size_source = _given_size(p, data, size)
    try:
        layout = moticon_layout(chosen)
    except ValueError as exc:
        raise file_error("Moticon", p, str(exc)) from None
    rate = data.sampling_rate_hz
    if not rate > 0:
        raise _fail(p, "fewer than two rows: the sampling rate cannot be inferred")
    devices = []
    for k, (side, s) in enumerate(sorted(data.sides.items())):
        dev_id = data.serials.get(side, k + 1) & 0xFFFF
        devices.append(
            ImportedDevice(
                side=side,
                values=s.pressure_n_cm2 * 10.0,
                time_s=s.time_s,
                layout=layout,
                unit="kPa",
                columns=[f"{side} pressure {i}[N/cm²]" for i in range(1, 17)],
                device_id=dev_id,
                label=f"moticon {p.name} {side}",
                calibration=moticon_calibration(),
                info={"serial": data.serials.get(side), "first_time_s": float(s.time_s[0])},
            )
        )
    events = [(t, "moticon_event", ev) for t, ev in data.events]
    info: dict[str, Any] = {
        "columns": data.columns,
        "ignored_columns": data.ignored_columns,
        "size": chosen,
        "size_source": size_source,
        "units": {"pressure": "N/cm² (stored as kPa, step 2.5 = 0.25 N/cm²)"},
        "events": len(events),
        "header": data.header,
        "notes": [
            "acceleration, angular rate, total force and centre of pressure not stored; "
            "total force = Σ pressure · layout area reproduces the export's",
            "sensor positions recovered from the export's centre of pressure; insole length "
            "per size approximate (insole.core.moticon)",
        ],
    }
    file_start = data.start
    if file_start is not None:  # the header's start is time 0; the first row may be later
        file_start += timedelta(seconds=min(float(s.time_s[0]) for s in data.sides.values()))
    return write_devices(out, p, devices, fmt="moticon", sample_rate_hz=round(rate, 6), info=info,
                         start=start, file_start=file_start, overwrite=overwrite, events=events)

