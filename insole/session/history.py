"""The training history: a SQLite file of saved sessions.

One file per runner, by default ``history.sqlite3`` in the user's data directory
(``platformdirs.user_data_dir("insole")``); ``INSOLE_DB`` or ``--db PATH`` override it
(`default_db_path`). It holds health data, so it is created readable and writable by its owner
only (mode 0600; SQLite gives its ``-wal`` and ``-shm`` files the same mode).

Each session keeps its start time (timezone-aware ISO 8601, as in the recording), duration,
source, the session summary, per-side summary metrics, the per-step table and the recording it
came from (path and SHA-256 of the file's bytes). Saving the same recording again is idempotent:
`HistoryDB.save_session` returns the existing session and says so. A session that starts more
than a day after the present is refused (`check_start`: the recording's clock was wrong);
`HistoryDB.overlapping` finds the sessions a new one overlaps in time (the same run saved
from two files counts twice).

Concurrency: the database runs in WAL mode with a busy timeout, and every write is one
``BEGIN IMMEDIATE`` transaction, so two processes saving at once both succeed, one after the
other. A damaged or foreign file raises `HistoryError` (one line, naming the file and the fix)
and is never reset or rewritten. The schema is versioned with ``PRAGMA user_version``: version 2
added the ``profile`` table (body mass, foot length); a version-1 file is brought to version 2
by the first open that may write (one transaction that only adds the table), and is read as it
is, without a profile, by a read-only open.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC as _UTC
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from insole.core.summary import STEP_COLUMNS
from insole.errors import FileError
from insole.session.plain import Profile, fmt_start, fmt_utc_offset
from insole.session.tables import PLATE_BLANK_COLUMNS, plate_summary

__all__ = [
    "DB_ENV",
    "MAX_START_AHEAD",
    "SCHEMA_VERSION",
    "HistoryDB",
    "HistoryError",
    "SavedSession",
    "check_start",
    "default_db_path",
    "file_sha256",
]

#: Environment variable that overrides the default database path.
DB_ENV = "INSOLE_DB"
#: Schema version stored in ``PRAGMA user_version`` (1: sessions, sides, steps; 2: + profile).
SCHEMA_VERSION = 2
#: How long a writer waits for another process's transaction [ms].
BUSY_TIMEOUT_MS = 30_000
#: A session may start at most this long after the present (clocks and time zones that are
#: a little off); one starting later cannot have happened yet (`check_start`).
MAX_START_AHEAD = timedelta(days=1)
#: How far before a new session `HistoryDB.overlapping` looks for sessions still running at
#: its start: longer than any session (``insole simulate`` makes at most a week).
_OVERLAP_LOOKBACK = timedelta(days=8)

#: Per-side summary metrics kept as columns (keys of ``summary["per_side"][side]``).
SIDE_METRICS = (
    "steps",
    "contact_time_s",
    "peak_force_n",
    "heel_peak_n",
    "heel_impulse_ns",
    "loading_rate_index",
    "strike_index_pct",
)
#: Text and integer columns of the steps table; every other column of `STEP_COLUMNS` is REAL.
_STEP_TYPES = {
    "side": "TEXT NOT NULL",
    "number": "INTEGER",
    "strike_pattern": "TEXT",
    "has_gap": "INTEGER",
}


def _step_column_sql() -> str:
    return ",\n    ".join(f"{c} {_STEP_TYPES.get(c, 'REAL')}" for c in STEP_COLUMNS)


_SCHEMA = f"""
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    start TEXT NOT NULL,              -- ISO 8601 with the recording's UTC offset
    start_utc TEXT NOT NULL,          -- same instant in UTC, sortable
    local_date TEXT NOT NULL,         -- calendar date in the session's own local time
    duration_s REAL NOT NULL,
    step_count INTEGER NOT NULL,
    heel_impulse_ns REAL,
    heel_peak_median_n REAL,
    force_unit TEXT,
    source TEXT,
    recording_path TEXT NOT NULL,
    recording_sha256 TEXT NOT NULL UNIQUE,
    saved_at TEXT NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE INDEX sessions_start ON sessions (start_utc);
CREATE TABLE session_sides (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    side TEXT NOT NULL,
    {", ".join(f"{m} REAL" for m in SIDE_METRICS)},
    PRIMARY KEY (session_id, side)
);
CREATE TABLE steps (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    {_step_column_sql()},
    extra_json TEXT,                  -- columns added to the steps table after this schema
    PRIMARY KEY (session_id, idx)
);
"""

#: Added in schema version 2: the runner's profile, one row per change (the latest applies).
_PROFILE_SCHEMA = """
CREATE TABLE profile (
    id INTEGER PRIMARY KEY,
    set_at TEXT NOT NULL,             -- UTC time the profile was set
    mass_kg REAL NOT NULL,
    foot_length_mm REAL
);
"""


class HistoryError(FileError):
    """The history database cannot be used; the message names the file and the fix.

    As `insole.errors.FileError`; ``path`` is the database file.
    """


def default_db_path() -> Path:
    """Path of the history database: ``$INSOLE_DB``, else the user's data directory.

    Returns
    -------
    Path
        ``$INSOLE_DB`` when set and not empty, otherwise
        ``platformdirs.user_data_dir("insole") / "history.sqlite3"``.
    """
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("insole")) / "history.sqlite3"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _clean(v: Any) -> Any:
    """JSON-able value: NaN/inf → None, numpy scalars → Python."""
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@dataclass(frozen=True)
class SavedSession:
    """One session of the history (a row of ``sessions``).

    As `HistoryDB.session` and `HistoryDB.sessions` read it back (and `HistoryDB.save_session`
    returns it).

    Attributes
    ----------
    id : int
        Session number in this database.
    start : datetime
        Start, timezone-aware, in the recording's own UTC offset.
    duration_s : float
        Session length [s].
    step_count : int
        Steps, both feet.
    heel_impulse_ns : float or None
        Session heel load: sum of the steps' heel impulse [N·s].
    heel_peak_median_n : float or None
        Median heel peak force of the session [N].
    source : str or None
        Recording source (``sim``, ``ble``, ...).
    recording_path : str
        Path of the recording when it was saved.
    recording_sha256 : str
        SHA-256 of the recording file.
    summary : dict
        The full session summary.
    """

    id: int
    start: datetime
    duration_s: float
    step_count: int
    heel_impulse_ns: float | None
    heel_peak_median_n: float | None
    source: str | None
    recording_path: str
    recording_sha256: str
    summary: dict[str, Any]

    @property
    def symmetry_pct(self) -> dict[str, float]:
        """Left/right symmetry indices of the session [%]."""
        return dict(self.summary.get("symmetry_pct") or {})

    @property
    def end(self) -> datetime:
        """End of the session: `start` + `duration_s`."""
        return self.start + timedelta(seconds=self.duration_s)


class HistoryDB:
    """The training-history database (a context manager; close it).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Database file (default `default_db_path`). Created with mode 0600 when missing.
    create : bool
        Create the file when it does not exist (default). With False a missing file raises
        `HistoryError`.
    readonly : bool
        Only read: never create, write or set up the file (``PRAGMA query_only``), so a history
        on a read-only file or folder can be listed. A file or folder this process cannot
        write is opened with SQLite's ``mode=ro``; in a read-only folder, where SQLite cannot
        create its ``-shm`` file, a WAL database without pending ``-wal`` content is opened
        ``immutable``. An empty file reads as no sessions.

    Raises
    ------
    HistoryError
        If the file is damaged, not an insole history, or from a newer version of insole; if
        it cannot be created or opened (permissions, full disk).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.readonly = readonly
        self._empty = False  # a read-only open of a file without the schema yet
        self._version = 0
        self._checked = False  # opened to write, tables checked (or known unchanged since)
        if not self.path.exists():
            if not create or readonly:
                raise HistoryError(
                    f"{self.path}: no history database yet; save a session with "
                    "'insole analyze FILE --save'",
                    path=self.path,
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # O_CREAT with mode 0600: the file never exists with wider permissions.
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                raise self._damaged(exc) from None
        if self.path.is_dir():
            raise HistoryError(f"{self.path}: is a directory; give a file path", path=self.path)
        self._con: sqlite3.Connection | None = None
        # Before connecting: an open connection in WAL mode makes a -wal file at once.
        self._unchanged = not readonly and self._unchanged_since_check()
        try:
            self._con = self._connect()
            self._con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._con.execute("PRAGMA foreign_keys = ON")
            self._open_schema()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._damaged(exc) from None
        except BaseException:
            self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        """Open the connection: read-write, or read-only (``mode=ro``, else ``immutable``).

        A read-only open of a file we could write uses an ordinary connection with
        ``PRAGMA query_only``, so SQLite still removes its ``-wal`` and ``-shm`` files on
        close; only a file or folder we cannot write needs ``mode=ro``.
        """
        writable = os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        if not self.readonly or writable:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            if self.readonly:
                con.execute("PRAGMA query_only = ON")
            return con
        uri = self.path.resolve().as_uri()
        con = sqlite3.connect(
            f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            con.execute("PRAGMA user_version").fetchone()
            return con
        except sqlite3.OperationalError as exc:
            con.close()
            wal = self.path.with_name(self.path.name + "-wal")
            pending = wal.exists() and wal.stat().st_size > 0
            if _sqlite_code(exc) not in (_SQLITE_READONLY, _SQLITE_CANTOPEN) or pending:
                raise
        # A WAL database in a folder we cannot write: SQLite cannot make its -shm file. With
        # no -wal content left, the main file holds every committed session: read it as is.
        return sqlite3.connect(
            f"{uri}?mode=ro&immutable=1", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
        )

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent).

        After a write-mode open, record the file's state as checked (`_CHECK_MARKER`).
        """
        if self._con is not None:
            self._con.close()
            self._con = None
            if self._checked:
                self._mark_checked()

    def __enter__(self) -> HistoryDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def con(self) -> sqlite3.Connection:
        """The open connection."""
        if self._con is None:
            raise HistoryError(f"{self.path}: database is closed", path=self.path)
        return self._con

    def _damaged(self, exc: BaseException) -> HistoryError:
        """The one-line error for a failed database operation.

        Busy, disk full, disk error and permissions are told apart from a damaged file, so a
        full disk never says "restore a backup". The file's state is not recorded as checked
        after any of them.
        """
        self._checked = False
        text = str(exc).lower()
        code = _sqlite_code(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return HistoryError(
                f"{self.path}: another process kept the history database busy for more than "
                f"{BUSY_TIMEOUT_MS // 1000} s; try again",
                path=self.path,
            )
        disk_full = (
            code == _SQLITE_FULL
            or "disk is full" in text
            or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
        )
        disk_error = code == _SQLITE_IOERR or "disk i/o error" in text
        if disk_full or (disk_error and self._disk_nearly_full()):
            return HistoryError(
                f"{self.path}: the disk is full ({exc}); the history database itself is intact "
                "and was not changed — free some disk space and run the command again",
                path=self.path,
            )
        if disk_error:
            return HistoryError(
                f"{self.path}: the disk reported an error while using the history database "
                f"({exc}); the database was not changed — check the disk (full, unplugged, "
                "failing?) and run the command again",
                path=self.path,
            )
        if isinstance(exc, OSError):
            return HistoryError(
                f"{self.path}: cannot create the history database ({exc.strerror or exc}); "
                "check that its folder is writable, or use another file with --db PATH",
                path=self.path,
            )
        if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN) or (
            isinstance(exc, sqlite3.OperationalError)
            and ("unable to open" in text or "readonly" in text)
        ):
            doing = "reading" if self.readonly else "writing"
            return HistoryError(
                f"{self.path}: cannot open the history database for {doing} ({exc}); check the "
                "file and directory permissions",
                path=self.path,
            )
        return HistoryError(
            f"{self.path}: not a readable insole history database ({exc}); it was left "
            "untouched — restore a backup, or use another file with --db PATH or INSOLE_DB",
            path=self.path,
        )

    def _disk_nearly_full(self) -> bool:
        """Whether the database's file system has less than 1 MiB free."""
        try:
            return shutil.disk_usage(self.path.parent).free < 1 << 20
        except OSError:
            return False

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on error).

        SQLite may already have rolled the transaction back itself (disk full, I/O error); then
        there is nothing to roll back, and the original error is what the caller sees.
        """
        if self.readonly:
            raise HistoryError(
                f"{self.path}: opened read-only; cannot save (internal error)", path=self.path
            )
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
            raise

    def _refuse_other_sqlite(self, note: str) -> None:
        """Raise `HistoryError` if the file (at schema version 0) holds another program's tables."""
        names = self.con.execute("SELECT name FROM sqlite_master").fetchall()
        if names:
            raise HistoryError(
                f"{self.path}: an SQLite file that is not an insole history "
                f"(tables {', '.join(n[0] for n in names[:3])}); {note}use another file with "
                "--db PATH",
                path=self.path,
            )

    def _open_schema(self) -> None:
        con = self.con
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and self.readonly:
            self._refuse_other_sqlite("")
            self._empty = True  # created, but no session was ever saved
            return
        if version == 0:
            with self._write():
                version = con.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:  # still empty: nobody created it meanwhile
                    self._refuse_other_sqlite("left untouched — ")
                    for stmt in (_SCHEMA + _PROFILE_SCHEMA).split(";"):
                        if stmt.strip():
                            con.execute(stmt)
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    version = SCHEMA_VERSION
        if version == 1 and not self.readonly:
            with self._write():  # migration 1 → 2: add the profile table, nothing else
                if con.execute("PRAGMA user_version").fetchone()[0] == 1:
                    con.execute(_PROFILE_SCHEMA)
                    con.execute("PRAGMA user_version = 2")
                version = 2
        self._version = version
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: history schema version {version} was written by a newer insole "
                f"(this one reads {SCHEMA_VERSION}); update insole",
                path=self.path,
            )
        if not self.readonly:
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                raise HistoryError(f"{self.path}: cannot use WAL mode (got {mode})",
                                   path=self.path)
        if self.readonly:
            return
        if not self._unchanged:
            for table in _CHECKED_TABLES:
                check = con.execute(f"PRAGMA quick_check{table}").fetchall()
                if check != [("ok",)]:
                    raise self._damaged(
                        sqlite3.DatabaseError("; ".join(str(r[0]) for r in check[:2]))
                    )
        self._checked = True

    # --- the checked-state marker ------------------------------------------------------------

    @property
    def _marker_path(self) -> Path:
        return self.path.with_name(self.path.name + _CHECK_MARKER)

    def _file_state(self) -> dict[str, int] | None:
        """Size, modification time and CRC-32 of the first 64 KiB of the file; None: unknown.

        None while a ``-wal`` file exists (committed sessions not yet in the main file).
        """
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            if wal.exists():
                return None
            st = self.path.stat()
            with open(self.path, "rb") as f:
                head = f.read(_MARKER_HEAD_BYTES)
        except OSError:
            return None
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "crc32": zlib.crc32(head)}

    def _unchanged_since_check(self) -> bool:
        """Whether the file is as this program left it after a checked open (see `close`)."""
        try:
            marker = json.loads(self._marker_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        state = self._file_state()
        return state is not None and marker == state

    def _mark_checked(self) -> None:
        """Record the file's state after a checked open and this connection's writes.

        Best effort: a marker that cannot be written only means the next save checks again.
        """
        state = self._file_state()
        marker = self._marker_path
        try:
            if state is None:
                marker.unlink(missing_ok=True)
                return
            tmp = marker.with_name(marker.name + f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state, f)
            os.replace(tmp, marker)
        except OSError:
            with contextlib.suppress(OSError):
                marker.unlink(missing_ok=True)

    # --- writing -----------------------------------------------------------------------------

    def save_session(
        self,
        summary: dict[str, Any],
        steps: Sequence[dict[str, Any]],
        *,
        recording_path: str | os.PathLike[str],
        recording_sha256: str | None = None,
        now: datetime | None = None,
    ) -> tuple[SavedSession, bool]:
        """Save one analysed session in one transaction.

        Parameters
        ----------
        summary : dict
            Session summary (`insole.session.analysis.SessionAnalysis.summary_`), with ``start``.
        steps : list of dict
            The steps table (`insole.session.analysis.SessionAnalysis.steps_`).
        recording_path : str or os.PathLike
            The recording analysed.
        recording_sha256 : str, optional
            Its SHA-256 (computed from the file when not given).
        now : datetime, optional
            The present, timezone-aware (default: the clock's): a session that starts more
            than `MAX_START_AHEAD` after it is refused (`check_start`).

        Returns
        -------
        session : SavedSession
            The saved session (or the one saved before from the same recording).
        created : bool
            False when this recording was already in the history (nothing was written).

        Raises
        ------
        HistoryError
            If the summary has no timezone-aware start time, starts more than a day in the
            future (the recording's clock was wrong), or the database is damaged.
        """
        start = _parse_start(summary.get("start"), self.path)
        check_start(start, recording=recording_path, now=now, path=self.path)
        sha = recording_sha256 or file_sha256(recording_path)
        clean_summary = {k: _clean(v) for k, v in summary.items()}
        # One force plate under both feet has no heel region: its "heel" figures are its whole
        # force (`insole.session.tables.plate_summary`), never heel load in the history.
        plate = bool(summary.get("plate_under_both_feet"))
        sides = (plate_summary(summary) if plate else summary).get("per_side") or {}
        if plate:
            steps = [{**r, **dict.fromkeys(PLATE_BLANK_COLUMNS, float("nan"))} for r in steps]
        try:
            with self._write() as con:
                row = con.execute(
                    "SELECT id FROM sessions WHERE recording_sha256 = ?", (sha,)
                ).fetchone()
                if row is not None:
                    created = False
                    sid = int(row[0])
                else:
                    created = True
                    heel = {} if plate else summary.get("heel_peak_n") or {}
                    cur = con.execute(
                        "INSERT INTO sessions (start, start_utc, local_date, duration_s, "
                        "step_count, heel_impulse_ns, heel_peak_median_n, force_unit, source, "
                        "recording_path, recording_sha256, saved_at, summary_json) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            start.isoformat(),
                            _utc_text(start),
                            start.date().isoformat(),
                            float(summary["duration_s"]),
                            int(summary["step_count"]),
                            None if plate else _clean(summary.get("heel_impulse_ns")),
                            _clean(heel.get("median")),
                            summary.get("force_unit"),
                            summary.get("source"),
                            str(Path(recording_path).resolve()),
                            sha,
                            datetime.now(_UTC).isoformat(timespec="seconds"),
                            json.dumps(clean_summary, default=str),
                        ),
                    )
                    sid = int(cur.lastrowid or 0)
                    for side, m in sides.items():
                        con.execute(
                            f"INSERT INTO session_sides (session_id, side, "
                            f"{', '.join(SIDE_METRICS)}) VALUES (?, ?{', ?' * len(SIDE_METRICS)})",
                            (sid, side, *(_clean(m.get(k)) for k in SIDE_METRICS)),
                        )
                    cols = self._step_columns()
                    con.executemany(
                        f"INSERT INTO steps (session_id, idx, {', '.join(cols)}, extra_json) "
                        f"VALUES (?, ?{', ?' * len(cols)}, ?)",
                        (
                            (
                                sid,
                                i,
                                *(_clean(r.get(c)) for c in cols),
                                _extra_json(r, cols),
                            )
                            for i, r in enumerate(steps)
                        ),
                    )
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        return self.session(sid), created

    def overlapping(self, session: SavedSession) -> list[SavedSession]:
        """The other sessions whose time overlaps `session`'s (start to start + duration).

        One history is one runner, who cannot run two sessions at once: an overlap is the same
        run saved twice from two different files (a copy re-recorded or re-imported, a live
        recording and a `record` of the same run), or a second runner's session. Sessions
        that merely touch (one ends when the other starts) do not overlap. Read through the
        index on the start time: sessions that started up to 8 days before `session`.

        Parameters
        ----------
        session : SavedSession
            A session of this history.

        Returns
        -------
        list of SavedSession
            Oldest first; empty when none overlaps.
        """
        rows = self._select(
            "WHERE id != ? AND start_utc < ? AND start_utc > ?",
            (session.id, _utc_text(session.end), _utc_text(session.start - _OVERLAP_LOOKBACK)),
        )
        return [s for s in rows if s.end > session.start]

    def set_profile(self, profile: Profile) -> Profile:
        """Store the runner's profile (a new row; the latest row applies).

        Parameters
        ----------
        profile : Profile
            Body mass and optional foot length.

        Returns
        -------
        Profile
            What was stored.
        """
        try:
            with self._write() as con:
                con.execute(
                    "INSERT INTO profile (set_at, mass_kg, foot_length_mm) VALUES (?, ?, ?)",
                    (
                        datetime.now(_UTC).isoformat(timespec="seconds"),
                        float(profile.mass_kg),
                        None if profile.foot_length_mm is None else float(profile.foot_length_mm),
                    ),
                )
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        return profile

    def profile(self) -> Profile | None:
        """The runner's latest profile, or None (none set, or a version-1 file read-only)."""
        if self._empty or self._version < 2:
            return None
        rows = self._query(
            "SELECT mass_kg, foot_length_mm FROM profile ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        return Profile(mass_kg=float(rows[0][0]), foot_length_mm=rows[0][1])

    # --- reading -----------------------------------------------------------------------------

    _COLUMNS = (
        "id, start, duration_s, step_count, heel_impulse_ns, heel_peak_median_n, source, "
        "recording_path, recording_sha256, summary_json"
    )

    @staticmethod
    def _row(r: tuple[Any, ...]) -> SavedSession:
        summary = json.loads(r[9])
        # A force plate under both feet has no heel figures, also as saved before 2026-12-08.
        plate = isinstance(summary, dict) and bool(summary.get("plate_under_both_feet"))
        return SavedSession(
            id=int(r[0]),
            start=datetime.fromisoformat(r[1]),
            duration_s=float(r[2]),
            step_count=int(r[3]),
            heel_impulse_ns=None if plate else r[4],
            heel_peak_median_n=None if plate else r[5],
            source=r[6],
            recording_path=r[7],
            recording_sha256=r[8],
            summary=summary,
        )

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one query; a damaged file raises `HistoryError`."""
        if self._empty:
            return []
        try:
            return self.con.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None

    def _select(
        self, where: str = "", params: Sequence[Any] = (), *, tail: str = ""
    ) -> list[SavedSession]:
        """Sessions matching ``WHERE`` `where`, oldest first (by UTC start time, then id)."""
        sql = f"SELECT {self._COLUMNS} FROM sessions {where} ORDER BY start_utc, id {tail}"
        return [self._row(r) for r in self._query(sql, params)]

    def sessions(self) -> list[SavedSession]:
        """All sessions, oldest first (by UTC start time)."""
        return self._select()

    def count(self) -> int:
        """Number of sessions."""
        rows = self._query("SELECT COUNT(*) FROM sessions")
        return int(rows[0][0]) if rows else 0

    def latest_start(self, n: int) -> datetime | None:
        """Start of the `n`-th latest session (None without sessions; read from the index).

        ``sessions_for_rules(latest_start(n), ...)[-n:]`` are the `n` latest sessions.
        """
        rows = self._query(
            "SELECT start FROM sessions ORDER BY start_utc DESC, id DESC LIMIT 1 OFFSET ?",
            (max(0, int(n) - 1),),
        )
        if not rows:
            rows = self._query("SELECT start FROM sessions ORDER BY start_utc, id LIMIT 1")
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def sessions_for_rules(
        self,
        start: datetime,
        *,
        lookback: timedelta,
        first: int,
        until: datetime | None = None,
    ) -> list[SavedSession]:
        """Sessions from `start` on, with the earlier ones the warning rules read about them.

        Every query uses the index on the start time, so the rows read are bounded by the
        sessions of the window, not by the length of the history.

        Parameters
        ----------
        start : datetime
            Timezone-aware; sessions that started at or after it are returned.
        lookback : timedelta
            Also returned: the sessions that started less than `lookback` before the last
            session that started before `start` (`insole.session.rules.history_needed`).
        first : int
            Also returned: the `first` oldest sessions of the history.
        until : datetime, optional
            Leave out the sessions that started after it.

        Returns
        -------
        list of SavedSession
            Oldest first, each session once.
        """
        before = self._query(
            "SELECT start_utc FROM sessions WHERE start_utc < ? "
            "ORDER BY start_utc DESC, id DESC LIMIT 1",
            (_utc_text(start),),
        )
        anchor = datetime.fromisoformat(before[0][0]) if before else start
        since = _utc_text(anchor - lookback)
        oldest = self._select("WHERE start_utc < ?", (since, max(0, first)), tail="LIMIT ?")
        if until is None:
            recent = self._select("WHERE start_utc >= ?", (since,))
        else:
            recent = self._select(
                "WHERE start_utc >= ? AND start_utc <= ?", (since, _utc_text(until))
            )
        return oldest + recent

    def session(self, session_id: int) -> SavedSession:
        """One session by its id.

        Raises
        ------
        HistoryError
            If there is no such session.
        """
        try:
            r = None if self._empty else self.con.execute(
                f"SELECT {self._COLUMNS} FROM sessions WHERE id = ?", (int(session_id),)
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        if r is None:
            raise HistoryError(
                f"{self.path}: no session {session_id}; 'insole history' lists them",
                path=self.path,
            )
        return self._row(r)

    def steps(self, session_id: int) -> list[dict[str, Any]]:
        """The steps table of a session (missing values as NaN, like `steps_table`)."""
        if self._empty:
            return []
        cols = self._step_columns()
        try:
            rows = self.con.execute(
                f"SELECT {', '.join(cols)}, extra_json FROM steps WHERE session_id = ? "
                "ORDER BY idx",
                (int(session_id),),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        out = []
        for r in rows:
            row: dict[str, Any] = dict(zip(cols, r[:-1], strict=True))
            if r[-1]:
                row.update(json.loads(r[-1]))
            if "has_gap" in row and row["has_gap"] is not None:
                row["has_gap"] = bool(row["has_gap"])
            out.append({k: (float("nan") if v is None else v) for k, v in row.items()})
        return out

    def _step_columns(self) -> list[str]:
        """Step columns of this database's steps table (its schema may be older)."""
        info = self.con.execute("PRAGMA table_info(steps)").fetchall()
        return [r[1] for r in info if r[1] not in ("session_id", "idx", "extra_json")]

    def side_metrics(self, session_id: int) -> dict[str, dict[str, Any]]:
        """Per-side summary metrics of a session, ``{side: {metric: value}}``."""
        if self._empty:
            return {}
        rows = self.con.execute(
            f"SELECT side, {', '.join(SIDE_METRICS)} FROM session_sides WHERE session_id = ?",
            (int(session_id),),
        ).fetchall()
        return {r[0]: dict(zip(SIDE_METRICS, r[1:], strict=True)) for r in rows}


#: Suffix of the file beside the history that records its state after the last checked open
#: to write and the writes that followed (size, modification time in ns, CRC-32 of the first
#: 64 KiB). When the file is found exactly so, nothing else wrote it since it was checked
#: (another program changes at least its modification time; one writing in the same clock
#: tick would also have to leave the first 64 KiB -- the header and schema pages -- as they
#: were): the check of `_CHECKED_TABLES` is skipped, which keeps a save's cost from growing
#: with the history (about 6 ms for 2,000 sessions, `bench/history_scale.py`). Any other change
#: (another writer, a backup restored, damage by a disk tool) means a full check again.
_CHECK_MARKER = "-checked"
_MARKER_HEAD_BYTES = 65536

#: What `HistoryDB` checks when it opens a file to write (``PRAGMA quick_check(TABLE)``,
#: SQLite ≥ 3.33; an older SQLite checks the whole file): the tables a save writes besides its
#: own new pages, a few kB per session (about 5 ms for 2,000 sessions). The steps table, nearly
#: all of the file, and every page a read-only open reads are checked by SQLite as they are
#: read (a damaged page raises `HistoryError`), so listing the latest sessions and saving do
#: not slow down with the size of the file.
_CHECKED_TABLES = (
    ("(sessions)", "(session_sides)") if sqlite3.sqlite_version_info >= (3, 33, 0) else ("",)
)

_SQLITE_IOERR = 10
_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14


def _sqlite_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of an exception (``SQLITE_FULL`` = 13, ...), or None."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _extra_json(row: dict[str, Any], cols: list[str]) -> str | None:
    extra = {k: _clean(v) for k, v in row.items() if k not in cols}
    return json.dumps(extra) if extra else None


def _utc_text(t: datetime) -> str:
    """The ``start_utc`` column's text of a time: ISO 8601 in UTC (sorts as the instants do)."""
    return t.astimezone(_UTC).isoformat()


def check_start(
    start: datetime,
    *,
    recording: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    path: str | os.PathLike[str] | None = None,
) -> None:
    """Refuse a session that starts more than `MAX_START_AHEAD` after `now`.

    Such a start cannot be right: the clock that stamped the recording was wrong (or the start
    given to ``insole simulate`` / ``insole import`` was). Saved, the session would stand as
    the runner's latest one from then on: every real run would be compared with a "future"
    one, read as back after a break, and get no next-run limit.

    Parameters
    ----------
    start : datetime
        The session's start, timezone-aware.
    recording : path-like, optional
        The recording, for the message.
    now : datetime, optional
        The present, timezone-aware (default: the clock's).
    path : path-like, optional
        The history database (`HistoryError.path`).

    Raises
    ------
    HistoryError
        If `start` is more than `MAX_START_AHEAD` after `now`; the message says how to fix it.
    """
    now = datetime.now(_UTC) if now is None else now
    ahead = start - now
    if ahead <= MAX_START_AHEAD:
        return
    days = round(ahead.total_seconds() / 86400)
    when = f"{fmt_start(start)} {fmt_utc_offset(start)}".strip()
    name = f"{recording}: " if recording is not None else ""
    raise HistoryError(
        f"{name}the recording starts on {when}, {days} day{'s' * (days != 1)} from now, so "
        "the clock that stamped it was wrong; not saved to the history (it would stand as "
        "your latest run) — give it its real start (simulate or import it again with --start "
        "TIME) or record the run again",
        path=path,
    )


def _parse_start(value: Any, path: Path) -> datetime:
    if not value:
        raise HistoryError(
            "the recording has no start time; cannot place it in the history", path=path
        )
    start = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if start.tzinfo is None:
        raise HistoryError(
            f"the recording's start time {value} has no UTC offset; cannot place it in the "
            "history (record or simulate it with a time zone, e.g. --start ...+02:00)",
            path=path,
        )
    return start
