"""Readers for two PhysioNet gait databases (both ODC-By 1.0; cite them when you use them).

- **gaitpdb** -- "Gait in Parkinson's Disease" v1.0.0: Ultraflex force insoles, 8 sensors per
  foot, 100 Hz, whitespace-separated text. Hausdorff, Yogev, Frenkel-Toledo et al.; Goldberger
  et al., PhysioBank/PhysioToolkit/PhysioNet, Circulation 2000.
- **gaitndd** -- "Gait Dynamics in Neuro-Degenerative Disease" v1.0.0: one force-sensitive
  resistor footswitch per foot, 300 Hz, WFDB format 212, with stride-by-stride annotations
  (``.ts``). Hausdorff et al., J Appl Physiol 2000.

The ``read_*`` functions return arrays; the ``import_*`` functions write an ordinary recording
(`insole.sources.importers.convert`), so the data goes through the same decoder and pipeline as live
insoles. ``wfdb`` is imported only inside :func:`read_gaitndd`, so importing this module stays
light.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from insole.core.layouts import default_layout, single_sensor_layout
from insole.sources.importers import (
    MAX_SAMPLE_RATE_HZ,
    MIN_SAMPLE_RATE_HZ,
    ImportFormatError,
    existing_file,
    file_error,
    read_text,
    unreadable_file_error,
)
from insole.sources.importers.convert import (
    ImportedDevice,
    ImportResult,
    linear_calibration,
    numeric_rows,
    write_devices,
)

__all__ = [
    "GAITNDD_INVALID_ADC",
    "GAITNDD_TS_COLUMNS",
    "GAITPDB_SAMPLING_RATE_HZ",
    "GAITPDB_SENSOR_XY",
    "gaitndd_files",
    "read_gaitndd",
    "read_gaitndd_annotations",
    "import_gaitndd",
    "import_gaitpdb",
    "read_gaitpdb",
]

#: Sampling rate of every gaitpdb file [Hz] (format.txt: "The sampling rate was 100 Hz").
GAITPDB_SAMPLING_RATE_HZ = 100.0

#: Sensor positions (X, Y) of the 8 gaitpdb sensors, shape (2 feet, 8 sensors, 2), in the
#: arbitrary units of PhysioNet's ``gaitpdb/format.txt`` (after Infotronic): origin between the
#: feet while standing, +Y forward, +X to the right. Index [0] is the left foot (L1..L8), [1] the
#: right (R1..R8, the mirror image). Sensor 1 is under the heel, sensor 8 under the hallux.
GAITPDB_SENSOR_XY: NDArray[np.float64] = np.array(
    [
        [
            [-500, -800],
            [-700, -400],
            [-300, -400],
            [-700, 0],
            [-300, 0],
            [-700, 400],
            [-300, 400],
            [-500, 800],
        ],
        [
            [500, -800],
            [700, -400],
            [300, -400],
            [700, 0],
            [300, 0],
            [700, 400],
            [300, 400],
            [500, 800],
        ],
    ],
    dtype=np.float64,
)

#: Digital value that marks an invalid sample in the gaitndd signals (WFDB format 212).
GAITNDD_INVALID_ADC = -2048

#: Columns of a gaitndd ``.ts`` annotation file, in order (PhysioNet gaitndd description).
GAITNDD_TS_COLUMNS = (
    "elapsed_s",  # time of the left-foot contact that ends each stride
    "left_stride_s",
    "right_stride_s",
    "left_swing_s",
    "right_swing_s",
    "left_swing_pct",
    "right_swing_pct",
    "left_stance_s",
    "right_stance_s",
    "left_stance_pct",
    "right_stance_pct",
    "double_support_s",
    "double_support_pct",
)

_GAITPDB_COLUMNS = 19


def read_gaitpdb(
    path: str | os.PathLike[str],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
    """Read one gaitpdb insole recording.

    Parameters
    ----------
    path : str or os.PathLike
        A ``<study><group><subject>_<walk>.txt`` file: 19 whitespace-separated columns, no
        header (time [s]; 8 left sensor forces [N]; 8 right; left total; right total).

    Returns
    -------
    time_s : ndarray, shape (n_samples,)
        Time column [s] as stored (its steps alternate 0.0099 / 0.0100 s).
    left_sensors_n : ndarray, shape (n_samples, 8)
        Vertical force of sensors L1..L8 [N]; positions in :data:`GAITPDB_SENSOR_XY` [0].
    right_sensors_n : ndarray, shape (n_samples, 8)
        Vertical force of sensors R1..R8 [N]; positions in :data:`GAITPDB_SENSOR_XY` [1].
    sampling_rate_hz : float
        100.0, the nominal rate given in PhysioNet's format.txt.

    Raises
    ------
    ImportFormatError
        If the file is missing or not 19 numeric columns.

    Notes
    -----
    The file's two total columns are the exact sums of the sensors and are not returned: sum
    the sensor columns (``left_sensors_n.sum(axis=1)``).
    """
    data, _ = _load_numeric(path, _GAITPDB_COLUMNS, "gaitpdb")
    return data[:, 0], data[:, 1:9], data[:, 9:17], GAITPDB_SAMPLING_RATE_HZ


def read_gaitndd(
    record: str | os.PathLike[str],
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, NDArray[np.bool_]]:
    """Read the two footswitch signals of one gaitndd record with ``wfdb.rdrecord``.

    Parameters
    ----------
    record : str or os.PathLike
        Record path without extension (``.../gaitndd/control1``); the ``.hea``, ``.let`` and
        ``.rit`` files must be beside each other.

    Returns
    -------
    left : ndarray, shape (n_samples,)
        Left footswitch in ADC counts (roughly proportional to force; higher = loaded), NaN
        where invalid.
    right : ndarray, shape (n_samples,)
        Right footswitch, likewise.
    sampling_rate_hz : float
        Sampling rate from the header (300 Hz in this database).
    invalid_mask : ndarray of bool, shape (n_samples, 2)
        True where the left (column 0) or right (column 1) sample is invalid (-2048).

    Raises
    ------
    ImportFormatError
        If the record is missing, is not two footswitch signals, a signal file is missing,
        unreadable or shorter than the header's sample count needs (truncated), or its
        header's sampling frequency is missing or not in 1 .. 10000 Hz.
    ModuleNotFoundError
        If ``wfdb`` is not installed (``pip install insole[import]``).
    """
    with warnings.catch_warnings():
        # wfdb 4.3 uses pandas APIs that pandas 3 deprecates: not ours to fix, not our users'.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        import wfdb  # heavy: imported only here

    base = _record_base(record)
    if not base.name:  # ".", "/": a folder; "with_name" would fail
        base = base.resolve()
    header = base.with_name(base.name + ".hea") if base.name else base / ".hea"
    if base.is_dir() and not header.is_file():
        example = next(iter(sorted(base.glob("*.hea"))), None)
        hint = f", e.g. {str(example.with_suffix(''))!r}" if example is not None else ""
        raise ImportFormatError(
            f"gaitndd record {str(base)!r} is a directory, not a record; pass the record path "
            f"without extension inside it (RECORD for RECORD.hea, .let, .rit){hint}",
            path=base,
        )
    if not header.is_file() and base.is_file():
        raise ImportFormatError(
            f"{str(base)!r} is not a gaitndd WFDB record: expected RECORD.hea with RECORD.let "
            "and RECORD.rit beside it; pass the record path without extension or the .hea file",
            path=base,
        )
    if not header.is_file():
        raise ImportFormatError(
            f"gaitndd record {str(base)!r} not found: expected {header.name} beside the data "
            "files; pass the record path without extension",
            path=header,
        )
    fs = _hea_sampling_rate(header)
    _check_signal_files(base, header)
    try:
        rec = wfdb.rdrecord(str(base), physical=False)
    except PermissionError as exc:
        raise unreadable_file_error(exc.filename or base, f"gaitndd record {str(base)!r}: file",
                                    exc.strerror or "permission denied") from None
    except Exception as exc:  # wfdb raises many types for damaged records
        raise ImportFormatError(
            f"gaitndd record {str(base)!r} cannot be read by wfdb: {exc}", path=header
        ) from exc
    digital = rec.d_signal
    if digital is None or digital.ndim != 2 or digital.shape[1] != 2 or digital.shape[0] == 0:
        raise ImportFormatError(
            f"gaitndd record {str(base)!r} must hold 2 signals (left, right foot), "
            f"got shape {None if digital is None else digital.shape}",
            path=header,
        )
    if not math.isclose(float(rec.fs), fs, rel_tol=1e-9):
        raise ImportFormatError(
            f"gaitndd header {str(header)!r}: wfdb reads the sampling frequency as "
            f"{float(rec.fs):g} Hz but the record line says {fs:g} Hz; fix the header's first "
            "line (e.g. 'control1 2 300 90000')",
            path=header,
        )
    invalid = digital == GAITNDD_INVALID_ADC
    counts = np.where(invalid, np.nan, digital.astype(np.float64))
    return counts[:, 0], counts[:, 1], fs, invalid


#: Bytes per sample of the WFDB storage formats of fixed size (WFDB Programmer's Guide,
#: ``signal(5)``: format 212 packs two 12-bit samples into three bytes; 8 and 80 take one byte,
#: 16, 61 and 160 two, 24 three, 32 four). Other formats (310, 311, FLAC) are not size-checked.
_WFDB_BYTES_PER_SAMPLE = {"8": 1.0, "80": 1.0, "16": 2.0, "61": 2.0, "160": 2.0, "212": 1.5,
                          "24": 3.0, "32": 4.0}

#: A signal line's format field: FORMAT[xSAMPLES_PER_FRAME][:SKEW][+BYTE_OFFSET] (``header(5)``).
_WFDB_FORMAT = re.compile(r"^(\d+)(?:x(\d+))?(?::(-?\d+))?(?:\+(\d+))?$")


@dataclass(frozen=True)
class _SignalSpec:
    """One signal line of a WFDB header: its file and how its samples are stored there."""

    file: str
    fmt: str
    samples_per_frame: int
    byte_offset: int
    description: str


def _record_base(record: str | os.PathLike[str]) -> Path:
    """The record path without extension, from it or from one of its files."""
    base = Path(record)
    if base.suffix in {".hea", ".let", ".rit", ".ts"}:
        base = base.with_suffix("")
    return base


def _hea_signals(header: Path) -> tuple[int | None, list[_SignalSpec]]:
    """The number of samples per signal (None if not given) and the signal lines of a header.

    Raises
    ------
    OSError
        If the header cannot be read.
    """
    lines = [ln.split() for ln in header.read_text(encoding="utf-8", errors="replace")
             .splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return None, []
    record_line = lines[0]
    n_samples = int(record_line[3]) if len(record_line) > 3 and record_line[3].isdigit() else None
    try:
        n_signals = int(record_line[1]) if len(record_line) > 1 else 0
    except ValueError:
        n_signals = 0
    specs = []
    for fields in lines[1:1 + n_signals]:
        m = _WFDB_FORMAT.match(fields[1]) if len(fields) > 1 else None
        if m is None:
            continue
        specs.append(_SignalSpec(
            file=fields[0],
            fmt=m.group(1),
            samples_per_frame=int(m.group(2) or 1),
            byte_offset=int(m.group(4) or 0),
            description=" ".join(fields[8:]),
        ))
    return n_samples, specs


def gaitndd_files(record: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Every file of a gaitndd record: what an import reads, and so what it must never write.

    Parameters
    ----------
    record : str or os.PathLike
        Record path without extension, or one of its files.

    Returns
    -------
    list of (Path, str)
        The header (``.hea``), each signal file its header names (``.let``, ``.rit``; these
        two when the header cannot be read) and the stride annotations (``.ts``), with what
        each is (``"header"``, ``"left-foot signal"``, ``"stride annotations"``); whether
        they exist or not.
    """
    base = _record_base(record)
    if not base.name:  # ".", "/": a folder, not a record; no file of it to protect
        return []
    header = base.with_name(base.name + ".hea")
    try:
        _, specs = _hea_signals(header)
    except OSError:
        specs = []
    signals = [(header.parent / s.file, f"{s.description or 'signal'} signal") for s in specs
               if s.file != "~"]  # "~": a signal without a file (header(5))
    if not signals:
        signals = [(base.with_name(base.name + ".let"), "left-foot signal"),
                   (base.with_name(base.name + ".rit"), "right-foot signal")]
    return [(header, "header"), *signals,
            (base.with_name(base.name + ".ts"), "stride annotations")]


def _check_signal_files(base: Path, header: Path) -> None:
    """Refuse a missing, unreadable or truncated signal file before wfdb reads it.

    wfdb reports a short file as a numpy error (``could not broadcast input array from shape
    (667,) into shape (45000,)``); the header's sample count and each format's bytes per
    sample say how many bytes every signal file needs.
    """
    where = f"gaitndd record {str(base)!r}"
    try:
        n_samples, specs = _hea_signals(header)
    except OSError:
        return  # _hea_sampling_rate reported it
    by_file: dict[str, list[_SignalSpec]] = {}
    for spec in specs:
        if spec.file != "~":
            by_file.setdefault(spec.file, []).append(spec)
    for name, sigs in by_file.items():
        path = header.parent / name
        if not path.is_file():
            raise ImportFormatError(
                f"{where}: its signal file {name}, named in {header.name}, is missing; copy it "
                f"beside {header.name} (or download the record again)",
                path=path,
            )
        if not os.access(path, os.R_OK):
            raise unreadable_file_error(path, f"{where}: signal file")
        per_sample = _WFDB_BYTES_PER_SAMPLE.get(sigs[0].fmt)
        if n_samples is None or per_sample is None or any(s.fmt != sigs[0].fmt for s in sigs):
            continue
        frame = sum(s.samples_per_frame for s in sigs)
        need = sigs[0].byte_offset + math.ceil(n_samples * frame * per_sample)
        have = path.stat().st_size
        if have < need:
            held = "is empty" if have == 0 else f"holds {have} bytes"
            raise ImportFormatError(
                f"{where}: {name} {held}, but the {n_samples} samples its header gives need "
                f"{need} (format {sigs[0].fmt}): the file is truncated; copy it again (or "
                "download the record again)",
                path=path,
            )


def _hea_sampling_rate(header: Path) -> float:
    """The sampling frequency of a WFDB header's record line, checked to be plausible.

    Parameters
    ----------
    header : Path
        The ``.hea`` file.

    Returns
    -------
    float
        The frequency [Hz], in `MIN_SAMPLE_RATE_HZ` .. `MAX_SAMPLE_RATE_HZ`.

    Raises
    ------
    ImportFormatError
        If the record line lacks the frequency (wfdb would silently assume 250 Hz), or it is
        not a number or not in 1 .. 10000 Hz.

    Notes
    -----
    The record line is the first line that is neither empty nor a ``#`` comment:
    ``NAME[/SEGMENTS] N_SIGNALS [FREQ[/COUNTER_FREQ[(BASE)]] [N_SAMPLES ...]]`` (WFDB
    ``header(5)``).
    """
    where = f"gaitndd header {str(header)!r}"
    fix = "fix the third field of its first line (gaitndd records are 'NAME 2 300 N_SAMPLES')"
    if not os.access(header, os.R_OK):
        raise unreadable_file_error(header, "gaitndd header")
    try:
        text = header.read_text(encoding="utf-8", errors="replace")
    except PermissionError:
        raise unreadable_file_error(header, "gaitndd header") from None
    except OSError as exc:
        raise ImportFormatError(f"{where} cannot be read ({exc.strerror or exc})",
                                path=header) from None
    record_line = next((ln.split() for ln in text.splitlines()
                        if ln.strip() and not ln.lstrip().startswith("#")), None)
    if record_line is None:
        raise ImportFormatError(f"{where} is empty; expected a WFDB header", path=header)
    if len(record_line) < 3:
        raise ImportFormatError(
            f"{where} does not give the sampling frequency (wfdb would assume 250 Hz); {fix}",
            path=header,
        )
    field = record_line[2].split("/")[0]
    try:
        fs = float(field)
    except ValueError:
        raise ImportFormatError(
            f"{where}: sampling frequency {record_line[2]!r} is not a number; {fix}", path=header
        ) from None
    if not (math.isfinite(fs) and MIN_SAMPLE_RATE_HZ <= fs <= MAX_SAMPLE_RATE_HZ):
        raise ImportFormatError(
            f"{where}: sampling frequency {record_line[2]} Hz is outside "
            f"{MIN_SAMPLE_RATE_HZ:g}..{MAX_SAMPLE_RATE_HZ:g} Hz; {fix}",
            path=header,
        )
    return fs


def read_gaitndd_annotations(record: str | os.PathLike[str]) -> dict[str, NDArray[np.float64]]:
    """Read the stride-by-stride annotations (``.ts`` file) of a gaitndd record.

    Parameters
    ----------
    record : str or os.PathLike
        Record path without extension, or the ``.ts`` file itself.

    Returns
    -------
    dict of str to ndarray
        One array of shape (n_strides,) per column, keyed by the names in
        :data:`GAITNDD_TS_COLUMNS`. ``elapsed_s`` is the time [s] of the left-foot contact
        that ends each stride.

    Raises
    ------
    ImportFormatError
        If the file is missing or not 13 numeric columns.
    """
    path = Path(record)
    if path.suffix != ".ts":
        path = path.with_name(path.name + ".ts")
    data, _ = _load_numeric(path, len(GAITNDD_TS_COLUMNS), "gaitndd .ts")
    return {name: data[:, i] for i, name in enumerate(GAITNDD_TS_COLUMNS)}


def _load_numeric(
    path: str | os.PathLike[str], n_columns: int, kind: str
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """A whitespace-separated numeric table of ``n_columns`` columns, and each row's line."""
    p = existing_file(path, f"{kind} file", f"a {kind} file of {n_columns} columns",
                      "*.ts" if kind.endswith(".ts") else "*.txt")
    expected = f"{n_columns} whitespace-separated numeric columns without a header"

    def fail(what: str) -> ImportFormatError:
        return file_error(kind, p, what, expected)

    data, line = numeric_rows(read_text(p, fail).splitlines(), fail)
    if data.shape[0] == 0 or data.shape[1] != n_columns:
        raise ImportFormatError(
            f"{kind} file {str(p)!r} has {data.shape[1] if data.size else 0} columns and "
            f"{data.shape[0]} rows; expected {n_columns} columns and at least one row",
            path=p,
        )
    return data, line


# --------------------------------------------------------------------------------------------
# Importers: files -> recordings
# --------------------------------------------------------------------------------------------


def import_gaitpdb(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import a gaitpdb file as a recording: two insoles of 8 force sensors [N] at 100 Hz.

    The file is read as :func:`read_gaitpdb` reads it; each foot becomes a device.

    Parameters
    ----------
    path, out : str or os.PathLike
        A gaitpdb ``.txt`` file (19 columns, see :func:`read_gaitpdb`) and the recording to
        write.
    start : datetime, optional
        Wall-clock time of the first sample (the files carry none); default now.
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is not a gaitpdb file (see :func:`read_gaitpdb`) or a time is not finite.

    Notes
    -----
    Layout ``gaitpdb8`` (`insole.core.layouts.default_layout` with 8 sensors: the positions of
    PhysioNet's format.txt scaled onto the insole outline), the same for both feet since
    R1..R8 mirror L1..L8. Forces are stored as counts with the file's own resolution
    (0.01 N) when the range fits 16 bits, so the round trip is exact. Frame times come from
    the time column, whose steps alternate 0.0099 / 0.0100 s. A sensor value of NaN or
    +-inf is stored as an invalid sample (the reserved count 65535); a non-finite time is an
    error naming its line.
    """
    data, line = _load_numeric(path, _GAITPDB_COLUMNS, "gaitpdb")
    time_s = data[:, 0]
    not_finite = np.flatnonzero(~np.isfinite(time_s))
    if not_finite.size:
        i = int(not_finite[0])
        raise ImportFormatError(
            f"gaitpdb file {str(path)!r} line {line[i]}, column 1 (time): "
            f"{float(time_s[i])!r} is not a time; every row needs a finite time in seconds "
            "(the file is damaged)",
            path=path,
        )
    layout = default_layout(8)
    devices = []
    mismatch = {}
    for device_id, (side, cols, total) in enumerate(
        (("left", slice(1, 9), 17), ("right", slice(9, 17), 18)), start=1
    ):
        letter = side[0].upper()
        forces = data[:, cols]
        # NaN / inf sensor values become invalid samples; compare totals on complete rows only
        diff = np.abs(forces.sum(axis=1) - data[:, total])
        mismatch[side] = float(np.max(diff[np.isfinite(diff)], initial=0.0))
        devices.append(
            ImportedDevice(
                side=side,
                values=forces,
                time_s=time_s,
                layout=layout,
                unit="N",
                columns=[f"{letter}{i}" for i in range(1, 9)],
                device_id=device_id,
                label=f"gaitpdb {Path(path).name} {side}",
                info={"sensor_xy_format_txt": GAITPDB_SENSOR_XY[device_id - 1].tolist()},
            )
        )
    info = {
        "columns": ["time"] + [f"L{i}" for i in range(1, 9)] + [f"R{i}" for i in range(1, 9)]
        + ["L_total", "R_total"],
        "units": {"time": "s", "sensors": "N", "totals": "N"},
        "totals_max_mismatch_n": mismatch,
        "notes": [
            "totals (columns 18-19) are not imported: the analysis sums the sensors",
            "frame timestamps from the time column; nominal rate 100 Hz (format.txt)",
        ],
    }
    return write_devices(out, path, devices, fmt="gaitpdb", sample_rate_hz=GAITPDB_SAMPLING_RATE_HZ,
                         info=info, start=start, overwrite=overwrite)


def import_gaitndd(
    record: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import a gaitndd record as a recording: one footswitch per foot, 300 Hz, relative force.

    :func:`read_gaitndd` reads the record; each footswitch becomes a one-sensor device.

    Parameters
    ----------
    record : str or os.PathLike
        Record path without extension, or its ``.hea`` file (``.let`` / ``.rit`` beside it).
    out, start, overwrite
        As in `import_gaitpdb` (the records carry no start time either).

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the record is missing, truncated or not two footswitch signals.
    RecordingError
        If `out` is one of the record's files (`gaitndd_files`), even with `overwrite`.

    Notes
    -----
    The footswitch signals are ADC counts roughly proportional to force, not newtons: the
    calibration has unit ``"counts"``, scale 1 and offset 2048, i.e. stored count = digital
    value + 2048 (12-bit range -2047..2047 maps to 1..4095), value = count - 2048. Invalid
    samples (-2048) are stored as the reserved count 65535. Layout: one whole-foot sensor
    (`insole.core.layouts.single_sensor_layout`). Time: sample index / rate from the header. The
    ``.ts`` stride annotations are not imported (they stay beside the record as ground truth).
    """
    left, right, rate, invalid = read_gaitndd(record)
    base = _record_base(record)
    header = base.with_name(base.name + ".hea")
    time_s = np.arange(left.shape[0]) / rate
    layout = single_sensor_layout()
    devices = []
    for device_id, (side, signal, ext) in enumerate(
        (("left", left, ".let"), ("right", right, ".rit")), start=1
    ):
        values = signal[:, None]
        devices.append(
            ImportedDevice(
                side=side,
                values=values,
                time_s=time_s,
                layout=layout,
                unit="counts",
                columns=[f"{side}-foot ({base.name}{ext})"],
                device_id=device_id,
                label=f"gaitndd {base.name} {side}",
                calibration=linear_calibration(values, "counts", step=1.0,
                                               offset=-float(GAITNDD_INVALID_ADC)),
                info={"relative_force": True},
            )
        )
    ts = base.with_name(base.name + ".ts")
    info = {
        "record": base.name,
        "columns": ["left-foot", "right-foot"],
        "units": {"left-foot": "ADC counts (relative force)",
                  "right-foot": "ADC counts (relative force)"},
        "invalid_adc": GAITNDD_INVALID_ADC,
        "annotations": ts.name if ts.is_file() else None,
        "notes": [
            "footswitch ADC counts, roughly proportional to force: unit 'counts', not N",
            "stored count = digital value + 2048; -2048 (invalid) stored as 65535",
        ],
    }
    return write_devices(out, header, devices, fmt="gaitndd", sample_rate_hz=float(rate), info=info,
                         start=start, overwrite=overwrite,
                         inputs=[path for path, _ in gaitndd_files(base)])
