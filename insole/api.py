"""The Python API for notebooks and scripts: ``insole.analyze(path)`` and friends.

A thin layer over the library, as the ``insole`` command is (docs/api.md):

- `analyze` runs `insole.session.analysis.SessionAnalysis` over a recording and returns a `Session`:
  ``.steps`` (the steps table of ``insole analyze --steps-csv`` as a pandas DataFrame, or a
  numpy structured array without pandas), ``.summary`` (the dict of ``insole analyze --json``),
  ``.samples(side)`` and ``.to_parquet(path)``;
- `load` decodes a recording into arrays (`insole.recordings.loader.load_recording`);
- `open_reader` opens a live or simulated source by URL (`insole.sources.readers.open_reader`);
- `import_file` converts a file of another system into a recording (`insole.sources.importers`).

pandas and pyarrow are optional (``pip install 'insole[lab]'``); numpy and the analysis are
imported when a function is first called, not by ``import insole``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insole.errors import InsoleError, RecordingError
from insole.session.tables import (
    LAB_EXTRA,
    MissingExtraError,
    plate_columns,
    plate_summary,
    require,
    steps_array,
    steps_columns,
    steps_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from insole.recordings.container import RawRecording
    from insole.recordings.loader import Recording
    from insole.sources.readers import Reader

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

#: Options of `analyze`, passed to `insole.session.analysis.SessionAnalysis`.
_ANALYSIS_OPTIONS = frozenset({"detector_options", "chunk_bytes", "salvage", "strict"})


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
        """The decoded recording (`insole.recordings.loader.Recording`), read from `path` once.

        Raises
        ------
        InsoleError
            If the session was analysed from a recording without a file.
        """
        if self._recording is None:
            if self.path is None:
                raise InsoleError("this session has no recording file to read samples from")
            from insole.recordings.loader import load_recording

            self._recording = load_recording(self.path)
        return self._recording

    def samples(self, side: str) -> Samples:
        """One insole's samples (time, force, pressures), decoded from the file.

        The first call reads the recording again (`insole.recordings.loader.load_recording`) and
        keeps it for later calls.

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

        from insole.core.calibration import Calibrator
        from insole.core.pipeline import SideAlignment

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
    from insole.core.layouts import SensorLayout, default_layout, single_sensor_layout

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
        A recording file, a `insole.recordings.container.RawRecording` already read, or a
        `insole.recordings.loader.Recording` from `load` (analysed from its file).
    **options
        Options of `insole.session.analysis.SessionAnalysis`: ``strict`` (refuse a damaged file),
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
    from insole.recordings.container import RawRecording
    from insole.recordings.loader import Recording
    from insole.session.analysis import SessionAnalysis

    source: Any = path_or_recording
    recording = None
    if isinstance(source, Recording):
        recording, source = source, source.path
    if isinstance(source, RawRecording):
        path = Path(source.path) if source.path is not None else None
    else:
        path = Path(_recording_path(source, "analyze"))
    with _import_hint(path):
        analysis = SessionAnalysis(keep_records=False, **options).run(source)
    session = Session(analysis.steps_, analysis.summary_, path=path)
    session._recording = recording
    return session


def load(
    path: str | os.PathLike[str], *, salvage: bool = True, strict: bool = False
) -> Recording:
    """Decode a recording into arrays: raw counts, device and host times per insole.

    `insole.recordings.loader.load_recording`, whose parameters it takes: ``path``, the
    recording file; ``salvage``, read past damage (default); ``strict``, refuse a damaged file.

    Returns
    -------
    insole.recordings.loader.Recording
        ``.devices`` (left first), ``.side("left").counts`` ``(n_samples, n_sensors)``,
        ``.info()`` (what ``insole info --json`` prints).
    """
    from insole.recordings.loader import load_recording

    with _import_hint(path):
        return load_recording(_recording_path(path, "load"), salvage=salvage, strict=strict)


@contextlib.contextmanager
def _import_hint(path: Any) -> Iterator[None]:
    """A `RecordingError` on a file of another system says how to import it, as the CLI does.

    The same error (type, ``path``, ``offset``) is raised, its message replaced by the line of
    `insole.commands.imports.suggest_import` and the call of `import_file` that converts the
    file.
    """
    try:
        yield
    except RecordingError as exc:
        hint = None
        if isinstance(path, str | os.PathLike) and Path(path).is_file():
            from insole.commands.imports import guess_import_kind, suggest_import

            kind = guess_import_kind(path)
            hint = suggest_import(path) if kind else None
        if hint is None:
            raise
        out = f"{Path(path).stem}.insrec"
        exc.args = (f"{hint} (in Python: insole.import_file({kind!r}, {str(path)!r}, "
                    f"{out!r}))",)
        raise


def _recording_path(path: Any, what: str) -> str | os.PathLike[str]:
    """``path`` if it names a file (str or path-like), else a `TypeError` that says so."""
    if isinstance(path, str | os.PathLike):
        return path
    raise TypeError(
        f"{what}() takes a recording's path (str or os.PathLike)"
        + (", a RawRecording or a Recording" if what == "analyze" else "")
        + f", not {type(path).__name__}"
    )


def open_reader(url: str, **options: Any) -> Reader:
    """Open a source of insole bytes by URL (``sim:``, ``file:PATH``, ``serial:PORT``, ``ble:``).

    See `insole.sources.readers.open_reader` and docs/readers.md for the URLs and options.

    Returns
    -------
    insole.sources.readers.Reader
        Open it with ``with reader:``; ``reader.read()`` hands out chunks and events.
    """
    from insole.sources.readers import open_reader as _open

    return _open(url, **options)


def import_file(
    kind: str, path: str | os.PathLike[str], out: str | os.PathLike[str], **options: Any
) -> Any:
    """Convert a file of another system into a recording (``insole import KIND``).

    Parameters
    ----------
    kind : str
        A format of `insole.sources.importers.FORMATS` (``"gaitpdb"``, ``"table"``, ``"moticon"``,
        ...).
    path : path-like
        The file to import (for ``gaitndd``: the record path).
    out : path-like
        The recording to write; an existing file is kept unless ``overwrite=True``.
    **options
        Keyword options of ``insole.sources.importers.import_<kind>`` (``start``, ``overwrite``, and
        the format's own, e.g. ``sampling_rate_hz`` for ``table``).

    Returns
    -------
    ImportResult
        What was written (``.as_dict()`` is what ``insole import --json`` prints).

    Raises
    ------
    insole.sources.importers.ImportFormatError
        For an unknown kind or a malformed file.
    """
    from insole.sources import importers

    if kind not in importers.FORMATS:
        raise importers.ImportFormatError(
            f"unknown import format {kind!r}; formats are {', '.join(importers.FORMATS)}"
        )
    func = getattr(importers, f"import_{kind}")
    return func(path, out, **options)
