"""Batch analysis: many recordings, one combined steps table, on local processes or Dask.

``insole analyze PATH... --out-dir D [--jobs N | --scheduler tcp://HOST:PORT]`` (docs/api.md,
"Batch analysis") runs `analyze_file` once per recording — in this process, in a local
process pool (spawn start method, so it behaves the same on every platform), or as tasks on a
Dask distributed cluster — and writes, in ``D``:

- ``steps.parquet`` and ``steps.csv``: every step of every recording, the columns of
  ``insole analyze --steps-csv`` after a leading ``recording`` column (the path as found);
- ``sessions.parquet`` and ``sessions.csv``: one row per recording, the summary of
  ``insole analyze --json`` flattened (nested keys joined by ``.``, lists as JSON);
- ``errors.json``: a list of ``{"recording", "error", "type"}``, one per file that could not
  be analysed (missing, not a recording, damaged with ``--strict``, ...); for a file of
  another system the error is the ``insole import KIND FILE --out ...`` to run, as single-file
  ``insole analyze`` says. The batch goes on.

A force plate under both feet (``plate_under_both_feet``) is labelled as ``--steps-csv``
labels it: its steps have side ``both`` and blank heel columns, and its summary row is
`insole.api.plate_summary` (``per_side.both.*``, ``peak_force_n.*`` per contact, no heel).

Rows are written in input order (files as given, folders searched recursively for
``*.insrec`` in sorted order) whatever order the workers finish in, so a batch gives the same
files on one process, several or a cluster. The steps go to disk as results arrive (the CSV
text is made by the workers, the Parquet file is written in row groups), so memory does not
grow with the number of recordings apart from the one-row-per-recording sessions table.
Without pyarrow the Parquet files are skipped with a note (the CSV files are written).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from insole.errors import InsoleError

__all__ = [
    "BatchError",
    "BatchResult",
    "add_batch_options",
    "analyze_file",
    "analyze_files",
    "cmd_analyze_batch",
    "find_recordings",
    "flatten_summary",
    "run_batch",
    "wants_batch",
]

#: Steps buffered before a Parquet row group is written.
ROW_GROUP_ROWS = 65536
#: Output file names in ``--out-dir``.
OUTPUTS = {
    "steps_parquet": "steps.parquet",
    "steps_csv": "steps.csv",
    "sessions_parquet": "sessions.parquet",
    "sessions_csv": "sessions.csv",
    "errors_json": "errors.json",
}


class BatchError(InsoleError, ValueError):
    """A batch that cannot start (nothing to analyse, bad output folder, no scheduler)."""


# --- the task -----------------------------------------------------------------------------------


def analyze_file(
    path: str, *, strict: bool = False, outputs: bool = True
) -> dict[str, Any]:
    """Analyse one recording for a batch; never raises for a bad file.

    Runs in a worker (a local process, a Dask worker, or this process): picklable arguments
    in, a picklable dict out.

    Parameters
    ----------
    path : str
        The recording.
    strict : bool, default False
        Refuse a damaged file (it becomes an error) instead of reading past the damage.
    outputs : bool, default True
        Also return the steps (``columns`` and the ``csv`` text of the rows); False returns
        only the summary.

    Returns
    -------
    dict
        ``recording``, ``seconds`` (analysis time), and either ``error`` and ``type`` or
        ``summary``, ``n_steps`` and (with ``outputs``) ``columns`` and ``csv``.
    """
    t0 = time.perf_counter()
    try:
        from insole.session.analysis import SessionAnalysis
        from insole.session.tables import plate_columns, plate_summary, steps_columns

        with _first_run():
            analysis = SessionAnalysis(keep_records=False, strict=strict).run(path)
        summary = plate_summary(analysis.summary_)  # a force plate: side both, no heel
        out: dict[str, Any] = {
            "recording": path,
            "summary": summary,
            "n_steps": len(analysis.steps_),
        }
        if outputs:
            columns = steps_columns(analysis.steps_)
            if summary.get("plate_under_both_feet"):
                columns = plate_columns(columns)
            out["columns"] = columns
            out["csv"] = steps_csv_text(columns, path)
    except Exception as exc:  # noqa: BLE001 - a bad file is a row of errors.json, not a crash
        out = {"recording": path, "error": _error_text(exc, path), "type": type(exc).__name__}
    out["seconds"] = time.perf_counter() - t0
    return out


def analyze_files(
    paths: Sequence[str], *, strict: bool = False, outputs: bool = True
) -> list[dict[str, Any]]:
    """`analyze_file` of each path: one task of several files (fewer scheduler round trips)."""
    return [analyze_file(p, strict=strict, outputs=outputs) for p in paths]


_WARM = threading.Lock()
_warmed = False


@contextlib.contextmanager
def _first_run() -> Iterator[None]:
    """Let the first analysis of a process run alone; later ones run concurrently.

    A Dask worker runs tasks in threads. The first analysis loads the compiled kernels (numba,
    imported on first use by `insole.core.events`), and two threads loading them at once fail
    ("A jit decorator was called on an already jitted function"); once loaded they are safe
    to call from several threads.
    """
    global _warmed
    if _warmed:
        yield
        return
    with _WARM:
        yield
        _warmed = True  # only after a run that got through (a foreign file loads no kernel)


def _error_text(exc: BaseException, path: str) -> str:
    """The one line of a file's error; for a file of another system, the import that reads it.

    The hint is the one single-file ``insole analyze`` gives
    (`insole.commands.imports.suggest_import`): ``F: not an insole recording but ...;
    convert it first: insole import KIND F --out F.insrec``.
    """
    if isinstance(exc, InsoleError):
        from insole.commands.imports import suggest_import

        try:
            hint = suggest_import(path)
        except Exception:  # noqa: BLE001 - no hint is no reason to lose the file's error
            hint = None
        if hint:
            return " ".join(hint.split())
    return _one_line(exc)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file"
    if isinstance(exc, IsADirectoryError) and exc.filename:
        return f"{exc.filename}: is a directory"
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _cells(col: Any) -> list[str]:
    """One column as CSV cells, formatted as `insole.session.analysis.write_steps_csv` does."""
    kind = col.dtype.kind
    values = col.tolist()
    if kind == "f":
        return ["" if not math.isfinite(v) else f"{v:.6g}" for v in values]
    if kind == "b":
        return ["1" if v else "0" for v in values]
    return [str(v) for v in values]


def steps_csv_text(columns: dict[str, Any], recording: str | None = None) -> str:
    """CSV rows (no header) of a steps table, with a leading ``recording`` cell if given.

    The cells are those of ``insole analyze --steps-csv`` (``%.6g`` floats, empty = not
    available, flags as 0/1), so a batch's rows equal the separate commands' rows.
    """
    cells = [_cells(c) for c in columns.values()]
    if recording is not None:
        n = len(cells[0]) if cells else 0
        cells.insert(0, [recording] * n)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(zip(*cells, strict=True))
    return buf.getvalue()


# --- inputs -------------------------------------------------------------------------------------


def find_recordings(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files of a batch: files as given, folders searched recursively for ``*.insrec``.

    Files keep their order; each folder's recordings are sorted. A file given twice (or also
    found in a folder) is analysed once. A path that does not exist is kept: it becomes an
    error of the batch, not a reason to stop it.

    Raises
    ------
    BatchError
        If no recording is left (e.g. only empty folders).
    """
    out: list[Path] = []
    seen: set[Path] = set()
    empty: list[Path] = []
    for p in map(Path, paths):
        found = _recordings_in(p) if p.is_dir() else [p]
        if not found:
            empty.append(p)
        for q in found:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                out.append(q)
    if not out:
        where = empty[0] if empty else Path(".")
        raise BatchError(
            f"{where} is a folder, not a recording file, and holds no *.insrec recordings; "
            "give recording files or folders that hold some"
        )
    return out


def _recordings_in(folder: Path) -> list[Path]:
    """The ``*.insrec`` files below `folder`, sorted; a folder that cannot be listed is kept.

    ``Path.rglob`` skips folders it may not read without a word; here such a folder becomes a
    path of the batch, which then fails as an error of the batch ("permission denied"), so
    the recordings in it are not left out silently.
    """
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        found.append(Path(exc.filename) if exc.filename else folder)

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs.sort()
        found += [Path(root, f) for f in files
                  if f.endswith(".insrec") and Path(root, f).is_file()]
    return sorted(found)


# --- the sessions table -------------------------------------------------------------------------


def flatten_summary(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A session summary as one flat row: nested keys joined by ``.``, lists as JSON text."""
    row: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if value:
                row.update(flatten_summary(value, name + "."))
            else:
                row[name] = None
        elif isinstance(value, list | tuple):
            row[name] = json.dumps(value, default=str)
        else:
            row[name] = value
    return row


def _session_row(recording: str, summary: dict[str, Any]) -> dict[str, Any]:
    flat = flatten_summary({k: v for k, v in summary.items() if k != "path"})
    return {"recording": recording, **flat}


def _columns_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    return list(names)


def _write_sessions_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    names = _columns_of(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        for r in rows:
            w.writerow([_session_cell(r.get(k)) for k in names])


def _session_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(v)
    return str(v)


def _write_sessions_parquet(rows: Sequence[dict[str, Any]], path: Path, pa: Any, pq: Any) -> None:
    names = _columns_of(rows)
    arrays = {}
    for k in names:
        values = [r.get(k) for r in rows]
        try:
            arrays[k] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[k] = pa.array([None if v is None else str(v) for v in values], pa.string())
    pq.write_table(pa.table(arrays) if arrays else pa.table({"recording": []}), path)


# --- outputs ------------------------------------------------------------------------------------


def _check_outputs(out_dir: Path, files: Sequence[str]) -> None:
    """Refuse an ``--out-dir`` whose tables would replace an input or irreplaceable data.

    Raises
    ------
    BatchError
        If a table's path is one of the recordings analysed, or holds a live or imported
        recording or a database (`insole.commands.common.irreplaceable`).
    """
    from insole.commands.common import irreplaceable

    inputs = {Path(f).resolve() for f in files}
    for name in OUTPUTS.values():
        path = out_dir / name
        if path.resolve() in inputs:
            raise BatchError(f"--out-dir {out_dir}: {path} is also a recording of the batch, "
                             f"which its {name} would replace; choose another --out-dir")
        kind = irreplaceable(path) if path.is_file() else None
        if kind:
            raise BatchError(f"--out-dir {out_dir}: {path} is {kind}, which the batch's "
                             f"{name} does not replace; choose another --out-dir")


class _Outputs:
    """The files of ``--out-dir``, written as results arrive (as ``*.part``, renamed at the end)."""

    def __init__(self, out_dir: Path, notes: list[str]) -> None:
        self.dir = out_dir
        self.notes = notes
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise BatchError(
                f"--out-dir {out_dir}: exists and is not a folder; give a folder") from None
        except OSError as exc:
            raise BatchError(
                f"--out-dir {out_dir}: cannot create it ({_one_line(exc)})") from exc
        self.paths = {k: out_dir / name for k, name in OUTPUTS.items()}
        self.pa: Any = None
        self.pq: Any = None
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            from insole.session.tables import LAB_EXTRA

            notes.append(f"pyarrow is not installed: Parquet files skipped (CSV written); "
                         f"install it with: {LAB_EXTRA}")
            del self.paths["steps_parquet"], self.paths["sessions_parquet"]
        else:
            self.pa, self.pq = pa, pq
        self._csv: TextIO = open(self._part("steps_csv"), "w", newline="", encoding="utf-8")
        from insole.core.summary import STEP_COLUMNS

        csv.writer(self._csv, lineterminator="\r\n").writerow(["recording", *STEP_COLUMNS])
        self._writer: Any = None
        self._schema: Any = None
        self._buffer: list[Any] = []
        self._buffered = 0

    def _part(self, key: str) -> Path:
        return self.paths[key].with_name(self.paths[key].name + ".part")

    def add_steps(self, result: dict[str, Any]) -> None:
        self._csv.write(result["csv"])
        if self.pa is None:
            return
        pa = self.pa
        columns = result["columns"]
        n = result["n_steps"]
        data = {"recording": pa.array([result["recording"]] * n, pa.string()), **columns}
        if self._schema is None:
            self._schema = pa.table(data).schema
            # Dictionary-encode only the text columns: 4x faster to write than the default
            # (which tries every column) and a smaller file, for float columns that do not
            # repeat.
            self._writer = self.pq.ParquetWriter(
                self._part("steps_parquet"), self._schema,
                use_dictionary=["recording", "side", "strike_pattern"],
            )
        self._buffer.append(pa.table(data, schema=self._schema))
        self._buffered += n
        if self._buffered >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._buffer and self._writer is not None:
            self._writer.write_table(self.pa.concat_tables(self._buffer),
                                     row_group_size=max(self._buffered, 1))
        self._buffer, self._buffered = [], 0

    def finish(self, sessions: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:
        self._csv.close()
        if self.pa is not None:
            self._flush()
            if self._writer is None:  # no recording analysed: an empty table with the columns
                self._write_empty_steps()
            else:
                self._writer.close()
            _write_sessions_parquet(sessions, self._part("sessions_parquet"), self.pa, self.pq)
        _write_sessions_csv(sessions, self._part("sessions_csv"))
        self._part("errors_json").write_text(json.dumps(errors, indent=2) + "\n",
                                             encoding="utf-8")
        for key in self.paths:
            os.replace(self._part(key), self.paths[key])

    def _write_empty_steps(self) -> None:
        from insole.core.summary import STEP_COLUMNS

        pa = self.pa
        kinds = {"side": pa.string(), "strike_pattern": pa.string(), "number": pa.int64(),
                 "has_gap": pa.bool_(), "toe_off_valid": pa.bool_()}
        data = {"recording": pa.array([], pa.string())}
        for c in STEP_COLUMNS:
            data[c] = pa.array([], kinds.get(c, pa.float64()))
        self.pq.write_table(pa.table(data), self._part("steps_parquet"))

    def abort(self) -> None:
        self._csv.close()
        if self._writer is not None:
            self._writer.close()
        for key in self.paths:
            self._part(key).unlink(missing_ok=True)


# --- engines ------------------------------------------------------------------------------------


#: Most files in one Dask task (see `_dask`).
MAX_FILES_PER_TASK = 16


@dataclass
class _Engine:
    """Where tasks run, and how many at once.

    ``submit(paths)`` gives a future of the list of results, ``wait(futures)`` the finished
    ones; ``window`` tasks of up to ``chunk`` files each are kept in flight.
    """

    name: str
    window: int
    submit: Callable[[list[str]], Any]
    wait: Callable[[set[Any]], set[Any]]
    close: Callable[[], None]
    restart: Callable[[], None] | None = None
    chunk: int = 1


def _local_pool(jobs: int, task: Callable[..., Any]) -> _Engine:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
    from concurrent.futures import wait as cf_wait

    ctx = multiprocessing.get_context("spawn")
    box = {"pool": ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)}

    def restart() -> None:
        box["pool"].shutdown(wait=False, cancel_futures=True)
        box["pool"] = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)

    return _Engine(
        name=f"processes:{jobs}",
        window=2 * jobs,
        submit=lambda p: box["pool"].submit(task, p),
        wait=lambda fs: cf_wait(fs, return_when=FIRST_COMPLETED).done,
        close=lambda: box["pool"].shutdown(wait=True, cancel_futures=True),
        restart=restart,
    )


def _dask(address: str, task: Callable[..., Any], n_files: int = 1) -> _Engine:
    """Tasks on a Dask cluster; several files per task when there are many files.

    Each task costs the scheduler a few milliseconds (bench/batch.py), as much as analysing
    a short recording: with more than 8 files per worker thread, a task takes up to
    `MAX_FILES_PER_TASK` files, keeping about 8 tasks per thread for the load balance.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        from insole.session.tables import LAB_EXTRA

        raise BatchError(
            f"--scheduler needs dask.distributed; install it with: {LAB_EXTRA}") from None
    if not re.fullmatch(r"([a-z]+://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):\d{1,5}", address):
        # Checked here: a Client made with a malformed address fails only after a delay.
        raise BatchError(f"--scheduler {address!r} is not a scheduler address; give "
                         "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)")
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(
            f"--scheduler {address}: cannot reach a Dask scheduler there ({_one_line(exc)}); "
            "check the address (tcp://HOST:PORT) and that 'dask scheduler' runs"
        ) from exc
    threads = sum(client.nthreads().values()) or 1
    finished = as_completed(loop=client.loop)  # futures submitted here, handed out when done

    def submit(paths: list[str]) -> Any:
        fut = client.submit(task, paths, pure=False)
        finished.add(fut)
        return fut

    return _Engine(
        name=f"dask:{address}",
        window=max(2 * threads, 4),
        submit=submit,
        wait=lambda fs: {next(finished)},
        close=client.close,
        chunk=max(1, min(MAX_FILES_PER_TASK, n_files // (8 * threads))),
    )


class _InProcess:
    """A finished future, for tasks run in this process."""

    def __init__(self, value: list[dict[str, Any]]) -> None:
        self._value = value

    def result(self) -> list[dict[str, Any]]:
        return self._value


def _in_process(task: Callable[..., Any]) -> _Engine:
    return _Engine(name="in-process", window=1, submit=lambda p: _InProcess(task(p)),
                   wait=lambda fs: set(fs), close=lambda: None)


def _results(engine: _Engine, paths: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, result)`` of every path as tasks finish; at most ``engine.window`` in flight."""
    pending: dict[Any, range] = {}
    starts = iter(range(0, len(paths), engine.chunk))

    def submit(block: range) -> None:
        pending[engine.submit([paths[i] for i in block])] = block

    def fill() -> None:
        while len(pending) < engine.window:
            start = next(starts, None)
            if start is None:
                return
            submit(range(start, min(start + engine.chunk, len(paths))))

    fill()
    while pending:
        for fut in engine.wait(set(pending)):
            block = pending.pop(fut)
            try:
                results = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its files, not the batch
                results = [{"recording": paths[i], "type": type(exc).__name__, "seconds": 0.0,
                            "error": f"the worker failed: {_one_line(exc)}"} for i in block]
                if engine.restart is not None and type(exc).__name__ == "BrokenProcessPool":
                    # Every task in flight died with the pool: run them again on a new one.
                    again = list(pending.values())
                    pending.clear()
                    engine.restart()
                    for b in again:
                        submit(b)
            yield from zip(block, results, strict=True)
        fill()


# --- the batch ----------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    files : int
        Files tried.
    sessions : list of dict
        One flat summary row per recording analysed (the rows of ``sessions.csv``).
    errors : list of dict
        ``{"recording", "error", "type"}`` per file not analysed (``errors.json``).
    steps : int
        Steps in all.
    outputs : dict of str to str
        Files written (empty without ``out_dir``).
    notes : list of str
        Things the user should know (e.g. Parquet skipped without pyarrow).
    engine : str
        ``in-process``, ``processes:N`` or ``dask:ADDRESS``.
    elapsed_s : float
        Wall time [s].
    analysis_s : float
        Sum of the per-file analysis times measured in the workers [s].
    collect_s : float
        Time this process spent taking in the results as they came: the session rows and
        the steps written to the outputs [s]. It is serial whatever the number of workers,
        so it bounds a batch's rate.
    """

    files: int
    sessions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    engine: str = ""
    elapsed_s: float = 0.0
    analysis_s: float = 0.0
    collect_s: float = 0.0

    def as_dict(self, *, with_sessions: bool = False) -> dict[str, Any]:
        """JSON-able form (what ``insole analyze ... --json`` prints for a batch)."""
        out: dict[str, Any] = {
            "files": self.files,
            "recordings": len(self.sessions),
            "steps": self.steps,
            "errors": self.errors,
            "damaged": sum(1 for s in self.sessions if s.get("damaged_blocks")),
            "outputs": self.outputs,
            "notes": self.notes,
            "engine": self.engine,
            "elapsed_s": round(self.elapsed_s, 3),
            "analysis_s": round(self.analysis_s, 3),
            "collect_s": round(self.collect_s, 3),
        }
        if with_sessions:
            out["sessions"] = self.sessions
        return out


class _Bar:
    """tqdm on stderr when it is a terminal (and tqdm is installed); otherwise nothing."""

    def __init__(self, total: int, enabled: bool, stream: TextIO) -> None:
        from insole.commands.progress import terminal_bar

        self.bar: Any = terminal_bar(stream, "insole analyze", total, "file") if enabled else None

    def update(self, errors: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{errors} errors", refresh=False)
            self.bar.update(1)

    def write(self, line: str, stream: TextIO) -> None:
        if self.bar is not None:
            self.bar.write(line, file=stream)
        else:
            print(line, file=stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.refresh()  # the final count, then the line is cleared
            self.bar.close()


def run_batch(
    paths: Iterable[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    strict: bool = False,
    progress: bool = False,
    on_error: Callable[[dict[str, Any]], str | None] | None = None,
    stream: TextIO | None = None,
) -> BatchResult:
    """Analyse many recordings; write the combined tables to ``out_dir``.

    Parameters
    ----------
    paths : iterable of path-like
        Recording files and folders (searched recursively for ``*.insrec``).
    out_dir : path-like, optional
        Folder for ``steps.parquet``, ``steps.csv``, ``sessions.parquet``, ``sessions.csv``
        and ``errors.json`` (created if needed; earlier tables in it are replaced, but never
        a recording of the batch, a live or imported recording or a database). Without it nothing
        is written and the result holds the sessions.
    jobs : int, default 1
        Local worker processes; 1 runs in this process.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://HOST:PORT``): the tasks run on its
        workers, which must see the same paths. Excludes ``jobs`` > 1.
    strict : bool, default False
        A damaged file is an error instead of being read past the damage.
    progress : bool, default False
        Show a progress bar (files done, errors, ETA) on ``stream`` when it is a terminal.
    on_error : callable, optional
        Called with each error entry as it happens; a line it returns is printed on
        ``stream`` (above the progress bar).
    stream : text stream, optional
        Where the progress bar goes (default: stderr).

    Returns
    -------
    BatchResult
        Counts, the sessions, the errors and the files written.

    Raises
    ------
    BatchError
        If there is nothing to analyse, ``out_dir`` cannot be made, or the scheduler cannot be
        reached.
    """
    import functools

    t0 = time.perf_counter()
    if jobs < 1:
        raise BatchError(f"--jobs must be 1 or more, not {jobs}")
    if scheduler is not None and jobs > 1:
        raise BatchError("--jobs and --scheduler exclude each other: the cluster's workers "
                         "set the parallelism")
    files = [str(p) for p in find_recordings(paths)]
    result = BatchResult(files=len(files))
    task = functools.partial(analyze_files, strict=strict, outputs=out_dir is not None)
    stream = stream if stream is not None else sys.stderr
    if scheduler is not None:
        engine = _dask(scheduler, task, len(files))
    elif jobs > 1 and len(files) > 1:
        engine = _local_pool(min(jobs, len(files)), task)
    else:
        engine = _in_process(task)
    try:
        if out_dir is not None:
            _check_outputs(Path(out_dir), files)
        outputs = None if out_dir is None else _Outputs(Path(out_dir), result.notes)
    except BaseException:
        engine.close()
        raise
    result.engine = engine.name
    bar = _Bar(len(files), progress, stream)
    done: dict[int, dict[str, Any]] = {}
    next_out = 0
    try:
        for i, res in _results(engine, files):
            result.analysis_s += float(res.get("seconds", 0.0))
            if "error" in res:
                entry = {k: res[k] for k in ("recording", "error", "type")}
                result.errors.append(entry)
                line = on_error(entry) if on_error is not None else None
                if line:
                    bar.write(line, stream)
            bar.update(len(result.errors))
            done[i] = res
            t1 = time.perf_counter()
            while next_out in done:  # write in input order
                _collect(done.pop(next_out), result, outputs)
                next_out += 1
            result.collect_s += time.perf_counter() - t1
        if outputs is not None:
            order = {f: k for k, f in enumerate(files)}
            result.errors.sort(key=lambda e: order[e["recording"]])
            outputs.finish(result.sessions, result.errors)
            result.outputs = {k: str(p) for k, p in outputs.paths.items()}
    except BaseException:
        if outputs is not None:
            outputs.abort()
        raise
    finally:
        bar.close()
        engine.close()
    result.elapsed_s = time.perf_counter() - t0
    return result


def _collect(res: dict[str, Any], result: BatchResult, outputs: _Outputs | None) -> None:
    if "error" in res:
        return
    result.sessions.append(_session_row(res["recording"], res["summary"]))
    result.steps += int(res["n_steps"])
    if outputs is not None:
        outputs.add_steps(res)


# --- the command line (``insole analyze`` with several paths, a folder or --out-dir) -----------


def add_batch_options(parser: Any) -> None:
    """Add ``--out-dir``, ``--jobs``, ``--scheduler`` and ``--quiet`` to the analyze parser."""
    parser.add_argument(
        "--out-dir", type=Path, metavar="D",
        help="batch: write steps.parquet/.csv (every step, with a recording column), "
        "sessions.parquet/.csv (one row per recording) and errors.json in folder D",
    )
    parser.add_argument(
        "--jobs", type=int, metavar="N", default=None,
        help="batch: analyse N recordings at a time in local processes (default 1)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="batch: run the analyses on a Dask distributed cluster (tcp://HOST:PORT); "
        "its workers must see the same paths",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def wants_batch(args: Any) -> bool:
    """True for several paths, a folder, ``--out-dir``, ``--jobs`` or ``--scheduler``."""
    paths = args.paths
    return (len(paths) > 1 or Path(paths[0]).is_dir() or args.out_dir is not None
            or args.jobs is not None or args.scheduler is not None)


def cmd_analyze_batch(args: Any) -> int:
    """Run ``insole analyze`` as a batch.

    Returns
    -------
    int
        0 when every file was analysed, 1 when some failed (listed on stderr and in
        ``errors.json``), 2 when none could be.
    """
    for flag, value in (("--steps-csv", args.steps_csv), ("--save", args.save)):
        if value:
            raise BatchError(f"{flag} takes one recording; a batch writes its tables with "
                             "--out-dir D (steps.csv, sessions.csv, ...)")
    result = run_batch(
        args.paths,
        out_dir=args.out_dir,
        jobs=1 if args.jobs is None else args.jobs,
        scheduler=args.scheduler,
        strict=args.strict,
        progress=not (args.quiet or args.json),
        on_error=lambda e: f"insole analyze: error: {_printable(e['error'])}",
    )
    if args.json:
        print(json.dumps(result.as_dict(with_sessions=args.out_dir is None), indent=2,
                         default=str))
    else:
        if args.out_dir is None:
            for row in result.sessions:
                print(_session_line(row))
        ok, failed = len(result.sessions), len(result.errors)
        damaged = result.as_dict()["damaged"]
        print(
            f"analysed {ok} of {result.files} recordings, {result.steps} steps in "
            f"{result.elapsed_s:.1f} s ({result.engine})"
            + (f"; {damaged} damaged, read past the damage (--strict refuses them)"
               if damaged else "")
            + (f"; {failed} could not be analysed" if failed else "")
        )
        for key, path in result.outputs.items():
            print(f"  {key.replace('_', ' '):<17}{_printable(path)}")
    for note in result.notes:
        print(f"insole analyze: note: {note}", file=sys.stderr)
    if not result.errors:
        return 0
    return 1 if result.sessions else 2


def _printable(text: object) -> str:
    from insole.commands.common import printable

    return printable(text)


def _session_line(row: dict[str, Any]) -> str:
    unit = row.get("force_unit") or "N"

    def num(key: str, fmt: str) -> str:
        v = row.get(key)
        return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt % v

    peak = (f"peak force {num('peak_force_n.median', '%.0f')} {unit} per contact (one force "
            "plate under both feet)" if row.get("plate_under_both_feet")
            else f"heel peak {num('heel_peak_n.median', '%.0f')} {unit}")
    return _printable(
        f"{row['recording']}: {row.get('step_count', 0)} steps, cadence "
        f"{num('cadence_spm', '%.1f')} spm, contact {num('contact_time_s', '%.3f')} s, {peak}"
    )
