"""The Python API for notebooks and scripts: ``insole.analyze(path)`` and friends.

A thin layer over the library, as the ``insole`` command is (docs/api.md):

- `analyze` runs `insole.analysis.SessionAnalysis` over a recording and returns a `Session`:
  ``.steps`` (the steps table of ``insole analyze --steps-csv`` as a pandas DataFrame, or a
  numpy structured array without pandas), ``.summary`` (the dict of ``insole analyze --json``),
  ``.samples(side)`` and ``.to_parquet(path)``;
- `load` decodes a recording into arrays (`insole.loader.load_recording`);
- `open_reader` opens a live or simulated source by URL (`insole.readers.open_reader`);
- `import_file` converts a file of another system into a recording (`insole.importers`).

pandas and pyarrow are optional (``pip install 'insole[lab]'``); numpy and the analysis are
imported when a function is first called, not by ``import insole``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InsoleError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .loader import Recording
    from .readers import Reader
    from .recording import RawRecording

__all__ = [
    "LAB_EXTRA",
    "MissingExtraError",
    "Samples",
    "Session",
    "analyze",
    "import_file",
    "load",
    "open_reader",
    "plate_columns",
    "plate_summary",
    "steps_array",
    "steps_columns",
    "steps_frame",
]

#: How to install the optional libraries of the lab workflows (pandas, pyarrow, dask, tqdm).
LAB_EXTRA = "pip install 'insole[lab]'"

#: Options of `analyze`, passed to `insole.analysis.SessionAnalysis`.
_ANALYSIS_OPTIONS = frozenset({"detector_options", "chunk_bytes", "salvage", "strict"})


class MissingExtraError(InsoleError, ImportError):
    """An optional library is not installed; the message names the ``pip install`` to run."""


def require(module: str, what: str) -> Any:
    """Import an optional library, or raise `MissingExtraError` naming the lab extra.

    Parameters
    ----------
    module : str
        Module to import (``"pyarrow.parquet"``).
    what : str
        What needs it, for the message (``"writing parquet"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingExtraError
        If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{what} needs the Python package {module.split('.')[0]!r}; install it with: "
            f"{LAB_EXTRA}"
        ) from exc


# --- the steps table as columns, DataFrame or structured array --------------------------------


def steps_columns(table: Any) -> dict[str, np.ndarray]:
    """The steps table as one array per column, in the order of ``--steps-csv``.

    Parameters
    ----------
    table : StepsTable
        ``SessionAnalysis(...).run(path).steps_``.

    Returns
    -------
    dict of str to ndarray
        `insole.core.summary.STEP_COLUMNS` in order: ``side`` and ``strike_pattern`` as str
        arrays, ``number`` int64, ``has_gap`` and ``toe_off_valid`` bool, the rest float64
        (NaN = not available, an empty cell in the CSV).
    """
    import numpy as np

    from .core.summary import STEP_COLUMNS

    out: dict[str, np.ndarray] = {}
    for name in STEP_COLUMNS:
        col = np.asarray(table.column(name))
        if col.dtype == object:
            col = col.astype(str) if len(col) else np.zeros(0, "U1")
        out[name] = col
    return out


#: Steps-table columns that say "heel" but hold the whole force of a plate under both feet:
#: blank (NaN) for such a plate, as in ``insole analyze --steps-csv``.
PLATE_BLANK_COLUMNS = ("heel_peak_n", "heel_impulse_ns")

#: Summary keys whose ``left`` entry is, for a plate under both feet, the plate.
_PLATE_SIDE_KEYS = ("steps", "regional_share_pct", "per_side", "gap_samples")


def plate_columns(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Steps columns of one force plate under both feet: side ``both``, no heel figures.

    The plate's single stream is stored as a left device (the protocol knows two feet) and
    its one sensor covers the whole foot, so ``side`` would say ``left`` and the heel columns
    would repeat the whole-foot force. As in ``insole analyze --steps-csv``, ``side`` becomes
    ``both`` and `PLATE_BLANK_COLUMNS` NaN; ``peak_force_n``, ``impulse_ns`` and the timing
    columns are what the plate measures.

    Parameters
    ----------
    columns : mapping of str to ndarray
        `steps_columns` of the plate's steps table.

    Returns
    -------
    dict of str to ndarray
        The same columns, relabelled (the input is not changed).
    """
    import numpy as np

    out = dict(columns)
    if "side" in out:
        out["side"] = np.full(len(out["side"]), "both")
    for name in PLATE_BLANK_COLUMNS:
        if name in out:
            out[name] = np.full(len(out[name]), np.nan)
    return out


def plate_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A session summary labelled as one force plate under both feet, if it is one.

    For a summary with ``plate_under_both_feet`` (``insole import table --side both``, a C3D
    force plate): the per-side entries (``steps``, ``regional_share_pct``, ``per_side``,
    ``gap_samples``) are keyed ``both`` instead of ``left``; the contacts' peak force moves
    from ``heel_peak_n`` to ``peak_force_n`` (median, p10, p90 per contact); ``heel_peak_n``'s
    values, ``heel_impulse_ns``, ``heel_load_trend`` and the per-side heel figures become
    None, as the heel columns of the steps table are blank. Any other summary is returned as
    it is.

    Parameters
    ----------
    summary : dict
        ``SessionAnalysis(...).run(path).summary_`` (what ``insole analyze --json`` prints).

    Returns
    -------
    dict
        A new dict for a plate (the input is not changed), else `summary` itself.
    """
    if not summary.get("plate_under_both_feet"):
        return summary
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in _PLATE_SIDE_KEYS and isinstance(value, dict):
            value = {("both" if k == "left" else k): v for k, v in value.items()}
            if key == "per_side" and isinstance(value.get("both"), dict):
                value["both"] = {**value["both"], **dict.fromkeys(PLATE_BLANK_COLUMNS)}
        elif key == "heel_peak_n" and isinstance(value, dict):
            out["peak_force_n"] = value  # the plate's one sensor is the whole foot
            value = dict.fromkeys(value)
        elif key in ("heel_impulse_ns", "heel_load_trend"):
            value = None
        out[key] = value
    return out


def steps_frame(columns: Mapping[str, np.ndarray]) -> Any:
    """The steps columns as a pandas DataFrame, or a numpy structured array without pandas."""
    try:
        import pandas as pd
    except ImportError:
        return steps_array(columns)
    return pd.DataFrame({k: v if v.dtype.kind != "U" else v.astype(object)
                         for k, v in columns.items()})


def steps_array(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """The steps columns as a numpy structured array (one field per column)."""
    import numpy as np

    n = len(next(iter(columns.values()))) if columns else 0
    dtype = [(k, v.dtype if v.dtype.kind != "U" else f"U{max(v.dtype.itemsize // 4, 1)}")
             for k, v in columns.items()]
    out = np.empty(n, dtype=dtype)
    for k, v in columns.items():
        out[k] = v
    return out


# --- Session ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Samples:
    """One insole's samples: times, total force and pressures.

    Attributes
    ----------
    side : str
        ``"left"`` or ``"right"``; ``"both"`` for one force plate under both feet.
    time_s : ndarray of float64, shape (n_samples,)
        Sample times [s] on the clock of the steps table: the left insole's clock since its
        first sample; right-insole times are mapped onto it as the summary's
        ``clock_alignment`` says. Samples of lost frames are missing (times jump).
    force_n : ndarray of float64, shape (n_samples,)
        Total force over the sensors [N] (counts for uncalibrated data, see ``unit``); NaN
        where every sensor's value is invalid.
    sensor_force_n : ndarray of float32, shape (n_samples, n_sensors)
        Force per sensor [N or counts].
    pressure_kpa : ndarray of float32, shape (n_samples, n_sensors)
        Mean pressure over each sensor's area [kPa] (relative when ``unit`` is counts).
    regions : tuple of str
        The foot region of each sensor (column), from the recording's sensor layout.
    unit : str
        ``"N"``, or ``"counts"`` when the recording has no force calibration.
    sample_rate_hz : float
        Sampling rate [Hz].
    """

    side: str
    time_s: np.ndarray
    force_n: np.ndarray
    sensor_force_n: np.ndarray
    pressure_kpa: np.ndarray
    regions: tuple[str, ...]
    unit: str
    sample_rate_hz: float


class Session:
    """One analysed recording: the steps table, the session summary and the samples.

    Made by `analyze`; not meant to be built by hand.

    Parameters
    ----------
    table : StepsTable
        The analysis's steps table.
    summary : dict
        The session summary.
    path : Path or None
        The recording file, if the recording came from one.

    Attributes
    ----------
    summary : dict
        The session summary: the dict ``insole analyze FILE --json`` prints (``step_count``,
        ``cadence_spm``, ``per_side``, data-quality counters, ...); for one force plate under
        both feet labelled as such (`plate_summary`: ``both`` instead of ``left``, no heel
        figures, ``peak_force_n`` per contact).
    path : Path or None
        The recording file.
    table : StepsTable
        The steps table as the library keeps it (`insole.core.summary.StepsTable`).
    """

    def __init__(self, table: Any, summary: dict[str, Any], *, path: Path | None) -> None:
        self.table = table
        self.summary = plate_summary(summary)
        self.path = path
        self._steps: Any = None
        self._recording: Recording | None = None

    @property
    def steps(self) -> Any:
        """The steps table, one row per step, columns as ``insole analyze --steps-csv``.

        A `pandas.DataFrame` when pandas is installed, otherwise a numpy structured array
        with the same fields. ``side`` and ``strike_pattern`` are strings, ``number`` an
        integer, ``has_gap`` and ``toe_off_valid`` booleans, every other column a float with
        NaN for "not available" (docs/steps_table.md). The steps of one force plate under
        both feet have side ``both`` and NaN heel columns, as in ``--steps-csv``
        (`plate_columns`).
        """
        if self._steps is None:
            self._steps = steps_frame(self._columns())
        return self._steps

    @property
    def steps_array(self) -> np.ndarray:
        """The steps table as a numpy structured array, whether or not pandas is installed."""
        return steps_array(self._columns())

    @property
    def plate(self) -> bool:
        """True for one force plate under both feet (its steps have side ``both``)."""
        return bool(self.summary.get("plate_under_both_feet"))

    def _columns(self) -> dict[str, np.ndarray]:
        columns = steps_columns(self.table)
        return plate_columns(columns) if self.plate else columns

    def recording(self) -> Recording:
        """The decoded recording (`insole.loader.Recording`), read from `path` once.

        Raises
        ------
        InsoleError
            If the session was analysed from a recording without a file.
        """
        if self._recording is None:
            if self.path is None:
                raise InsoleError("this session has no recording file to read samples from")
            from .loader import load_recording

            self._recording = load_recording(self.path)
        return self._recording

    def samples(self, side: str) -> Samples:
        """One insole's samples (time, force, pressures), decoded from the file.

        The first call reads the recording again (`insole.loader.load_recording`) and keeps it
        for later calls.

        Parameters
        ----------
        side : {"left", "right", "both"}
            The insole; ``"both"`` for one force plate under both feet (its stream).

        Returns
        -------
        Samples
            Times on the steps table's clock, total force, force and pressure per sensor.

        Raises
        ------
        KeyError
            If the recording has no insole on that side.
        ValueError
            For another side, or ``"both"`` when the recording is not of a force plate under
            both feet.
        """
        import numpy as np

        from .core.calibration import Calibrator
        from .core.pipeline import SideAlignment

        if side not in ("left", "right", "both"):
            raise ValueError(f"side must be 'left', 'right' or 'both', not {side!r}")
        if side == "both" and not self.plate:
            raise ValueError("side 'both' is for one force plate under both feet; this "
                             "recording has insoles: give 'left' or 'right'")
        dev = self.recording().side("left" if side == "both" else side)
        layout = _layout(dev.header, dev.n_sensors)
        cal = Calibrator(dev.header.get("calibration") or {}, layout)
        force = cal.force(dev.counts) if dev.n_samples else np.zeros(
            (0, dev.n_sensors), np.float32)
        valid = np.isfinite(force).any(axis=1)
        total = np.where(valid, np.nansum(force, axis=1, dtype=np.float64), np.nan)
        t = np.asarray(dev.device_time_s, np.float64)
        if side == "right":
            al = SideAlignment.from_dict(self.summary.get("clock_alignment"))
            if al.applied:
                t = al.offset_ms / 1e3 + t * (1.0 + al.drift_ppm * 1e-6)
        return Samples(
            side=side,
            time_s=t,
            force_n=total,
            sensor_force_n=force,
            pressure_kpa=cal.pressure_kpa(force),
            regions=tuple(layout.region),
            unit=cal.unit,
            sample_rate_hz=float(dev.sample_rate_hz),
        )

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the steps table as a Parquet file (pyarrow); the summary goes in its metadata.

        The file's schema metadata holds the summary as JSON under ``insole.summary``
        (``pyarrow.parquet.read_schema(path).metadata[b"insole.summary"]``).

        Parameters
        ----------
        path : path-like
            The file to write (replaced if it exists: a derived output).

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        MissingExtraError
            If pyarrow is not installed (``pip install 'insole[lab]'``).
        """
        import json

        pa = require("pyarrow", "writing parquet")
        pq = require("pyarrow.parquet", "writing parquet")
        table = pa.table(self._columns())
        meta = {b"insole.summary": json.dumps(self.summary, default=str).encode()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        out = Path(path)
        pq.write_table(table, out)
        return out

    def __repr__(self) -> str:
        where = f"{str(self.path)!r}, " if self.path is not None else ""
        return f"Session({where}{len(self.table)} steps)"


def _layout(device_header: dict[str, Any], n_sensors: int) -> Any:
    """The sensor layout of a device: from its header entry, else the default for its sensors.

    The same rule as the pipeline's (kept here: the pipeline's helper is private).
    """
    from .layouts import SensorLayout, default_layout, single_sensor_layout

    if device_header.get("layout"):
        return SensorLayout.from_json(device_header["layout"])
    if n_sensors == 1:
        return single_sensor_layout()
    return default_layout(n_sensors)


# --- functions --------------------------------------------------------------------------------


def analyze(
    path_or_recording: str | os.PathLike[str] | RawRecording | Recording, **options: Any
) -> Session:
    """Detect every step of a recording and summarise it, as ``insole analyze`` does.

    Parameters
    ----------
    path_or_recording : path-like, RawRecording or Recording
        A recording file, a `insole.recording.RawRecording` already read, or a
        `insole.loader.Recording` from `load` (analysed from its file).
    **options
        Options of `insole.analysis.SessionAnalysis`: ``strict`` (refuse a damaged file),
        ``salvage`` (read past damage, default True), ``detector_options`` (dict for the
        contact detector), ``chunk_bytes``.

    Returns
    -------
    Session
        ``.steps``, ``.summary``, ``.samples(side)``, ``.to_parquet(path)``.

    Raises
    ------
    TypeError
        For an unknown option.
    insole.errors.RecordingError
        If the file is missing, not a recording, or damaged with ``strict=True``.

    Examples
    --------
    >>> import insole
    >>> s = insole.analyze("recordings/run_rearfoot_20s.insrec")
    >>> s.summary["step_count"]
    56
    """
    unknown = sorted(set(options) - _ANALYSIS_OPTIONS)
    if unknown:
        raise TypeError(
            f"analyze() got unknown option(s) {', '.join(unknown)}; options are "
            f"{', '.join(sorted(_ANALYSIS_OPTIONS))}"
        )
    from .analysis import SessionAnalysis
    from .loader import Recording
    from .recording import RawRecording

    source: Any = path_or_recording
    recording = None
    if isinstance(source, Recording):
        recording, source = source, source.path
    if isinstance(source, RawRecording):
        path = Path(source.path) if source.path is not None else None
    else:
        path = Path(source)
    analysis = SessionAnalysis(keep_records=False, **options).run(source)
    session = Session(analysis.steps_, analysis.summary_, path=path)
    session._recording = recording
    return session


def load(
    path: str | os.PathLike[str], *, salvage: bool = True, strict: bool = False
) -> Recording:
    """Decode a recording into arrays: raw counts, device and host times per insole.

    Parameters
    ----------
    path : path-like
        The recording file.
    salvage : bool, default True
        Read past damage (see `insole.loader.load_recording`).
    strict : bool, default False
        Refuse a damaged file.

    Returns
    -------
    insole.loader.Recording
        ``.devices`` (left first), ``.side("left").counts`` ``(n_samples, n_sensors)``,
        ``.info()`` (what ``insole info --json`` prints).
    """
    from .loader import load_recording

    return load_recording(path, salvage=salvage, strict=strict)


def open_reader(url: str, **options: Any) -> Reader:
    """Open a source of insole bytes by URL (``sim:``, ``file:PATH``, ``serial:PORT``, ``ble:``).

    See `insole.readers.open_reader` and docs/readers.md for the URLs and options.

    Returns
    -------
    insole.readers.Reader
        Open it with ``with reader:``; ``reader.read()`` hands out chunks and events.
    """
    from .readers import open_reader as _open

    return _open(url, **options)


def import_file(
    kind: str, path: str | os.PathLike[str], out: str | os.PathLike[str], **options: Any
) -> Any:
    """Convert a file of another system into a recording (``insole import KIND``).

    Parameters
    ----------
    kind : str
        A format of `insole.importers.FORMATS` (``"gaitpdb"``, ``"table"``, ``"moticon"``, ...).
    path : path-like
        The file to import (for ``gaitndd``: the record path).
    out : path-like
        The recording to write; an existing file is kept unless ``overwrite=True``.
    **options
        Keyword options of ``insole.importers.import_<kind>`` (``start``, ``overwrite``, and
        the format's own, e.g. ``sampling_rate_hz`` for ``table``).

    Returns
    -------
    ImportResult
        What was written (``.as_dict()`` is what ``insole import --json`` prints).

    Raises
    ------
    insole.importers.ImportFormatError
        For an unknown kind or a malformed file.
    """
    from . import importers

    if kind not in importers.FORMATS:
        raise importers.ImportFormatError(
            f"unknown import format {kind!r}; formats are {', '.join(importers.FORMATS)}"
        )
    func = getattr(importers, f"import_{kind}")
    return func(path, out, **options)
