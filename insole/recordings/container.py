"""Recording container: raw wire bytes with host receive times, written crash-safe.

A recording keeps the bytes of every transport stream exactly as they were received (the
COBS-framed wire bytes of ``firmware_protocol/SPEC.md``), each chunk stamped with the host's
monotonic receive time. Replay therefore goes through the same decoder as live data. This module
is only the container; decoding frames is done on top of :class:`BlockReader` (block by block,
in bounded memory) or :func:`read_raw_recording` (everything at once). The one exception: in a
file that ends inside a block, salvage decodes the last few KiB of each stream to name the
insoles that the cut ended early (:class:`MissingTail`).

The byte layout is specified in ``recordings/FORMAT.md``. In short::

    file   = file header, then blocks until the end of the file
    header = b"INSOLREC", u16 format_version, u16 reserved, u32 json_len, JSON, u32 crc32(JSON)
    block  = b"IBLK", u8 kind, u8 stream_id, u16 n_chunks, u32 payload_len, u32 crc,
             n_chunks x (f64 host_time_s, u32 byte_len), payload

The writer appends whole blocks with one ``write`` system call each time it flushes, at least
every ``flush_interval_s``; a process killed at any moment leaves a file whose blocks up to the
last flush are intact and whose torn tail, if any, the reader reports as :class:`Damage` (with
salvage, keeping the whole chunks of a torn block whose header and chunk table are whole).

Examples
--------
>>> header = {  # doctest: +SKIP
...     "source": "sim",
...     "streams": [{"stream_id": 0, "transport": "sim", "label": "left"}],
...     "devices": [],
... }
>>> with RecordingWriter("run.insrec", header) as writer:  # doctest: +SKIP
...     writer.write_chunk(0, b"...wire bytes...")
>>> rec = read_raw_recording("run.insrec")  # doctest: +SKIP
>>> rec.streams[0].data, rec.streams[0].chunk_time_s, rec.damage  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import struct
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, cast

import numpy as np

from firmware_protocol import Side, StreamDecoder
from firmware_protocol.frames import MAX_SENSORS
from insole.errors import RecordingError

try:  # ISA-L's CRC-32 (carry-less multiply): the same checksum as zlib's, about 10x as fast
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - isal is a core dependency; zlib gives the same values
    from zlib import crc32

__all__ = [
    "EVENT_STREAM_ID",
    "FORMAT_VERSION",
    "NO_CALIBRATION_NOTE",
    "KIND_DATA",
    "KIND_EVENT",
    "TAIL_MIN_S",
    "Block",
    "BlockReader",
    "Damage",
    "MissingTail",
    "RawRecording",
    "RawStream",
    "RecordingWriter",
    "StreamRun",
    "iter_blocks",
    "read_header",
    "read_raw_recording",
    "software_version",
]

FORMAT_VERSION = 1
"""Version of the container format written by this module (``recordings/FORMAT.md``)."""

KIND_DATA = 1
"""Block kind holding wire-byte chunks of one stream."""

KIND_EVENT = 2
"""Block kind holding one JSON event (disconnect, reconnect, gap, pause, note, ...)."""

EVENT_STREAM_ID = 255
"""Stream id of events that concern the whole recording rather than one stream."""

FILE_MAGIC = b"INSOLREC"
BLOCK_MAGIC = b"IBLK"

_FILE_HEAD = struct.Struct("<8sHHI")  # magic, format_version, reserved, header_len
_BLOCK_HEAD = struct.Struct("<4sBBHII")  # magic, kind, stream_id, n_chunks, payload_len, crc
_CHUNK_DTYPE = np.dtype([("host_time_s", "<f8"), ("byte_len", "<u4")])  # 12 bytes, packed
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_MAX_HEADER_LEN = 16 * 1024 * 1024
_MAX_CHUNKS_PER_BLOCK = 0xFFFF
_MAX_CHUNK_LEN = 0xFFFFFFFF

_MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects read or written in header and event JSON.

A real header nests about 6 levels (header, devices, device, layout, regions, list). The limit
keeps a corrupt or hostile file from exhausting Python's recursion limit in the JSON parser
(``RecursionError``) or in code that walks the header later.
"""

_KNOWN_EVENTS = ("disconnect", "reconnect", "gap", "pause", "note")
_HEADER_KEYS_REQUIRED = ("format_version", "software", "start_time", "source", "streams", "devices")
_HEADER_KEYS_OPTIONAL = ("notes", "extra")
_DEVICE_KEYS = ("device_id", "side", "sample_rate_hz", "n_sensors", "adc_bits", "layout",
                "calibration")


#: The header note of a recording whose devices sent no layout or calibration (``insole record``,
#: ``insole live --record``).
NO_CALIBRATION_NOTE = (
    "layout and calibration are not sent by the devices and were not known to the recorder; "
    "they are stored as empty dicts: add them before converting counts to force"
)


def software_version() -> str:
    """Return the installed version of the insole package, or ``"unknown"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("insole")
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------------
# Header validation
# --------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _json_depth(value: object, limit: int = _MAX_JSON_DEPTH) -> int:
    """Nesting depth of arrays and objects in `value` (0 for a scalar), without recursion.

    Stops counting once the depth exceeds `limit` and returns that depth.
    """
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Collection[object] = list(item.values())
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((c, depth + 1) for c in children if isinstance(c, Mapping | list | tuple))
    return deepest


class _JSONTooDeep(ValueError):
    """JSON text whose arrays and objects nest deeper than ``_MAX_JSON_DEPTH``."""


def _load_json(data: bytes) -> Any:
    """Parse UTF-8 JSON text, refusing nesting deeper than ``_MAX_JSON_DEPTH``.

    Parameters
    ----------
    data : bytes
        The JSON text.

    Returns
    -------
    object
        The parsed value.

    Raises
    ------
    UnicodeDecodeError
        If `data` is not UTF-8.
    ValueError
        If it is not JSON; `_JSONTooDeep` if arrays and objects nest deeper than
        ``_MAX_JSON_DEPTH`` levels (instead of the parser's ``RecursionError``).
    """
    too_deep = f"arrays and objects nested more than {_MAX_JSON_DEPTH} levels deep"
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise _JSONTooDeep(too_deep) from None
    if _json_depth(value) > _MAX_JSON_DEPTH:
        raise _JSONTooDeep(too_deep)
    return value


def _validate_header(
    header: Mapping[str, Any], path: str, *, writing: bool, fix: str | None = None
) -> None:
    """Check the header structure; raise a one-line :class:`RecordingError` on the first problem.

    Parameters
    ----------
    header : mapping
        The complete header (defaults already filled in).
    path : str
        File name used in the message.
    writing : bool
        True when validating the header given to the writer (stricter: no unknown top-level
        keys; the message tells the caller to fix the dict), False when reading a file.
    fix : str, optional
        What the message says after the problem, instead of the default for `writing`.
    """
    if fix is None:
        fix = ("fix the header dict passed to RecordingWriter" if writing
               else "the header was not written by a compatible insole writer")

    def fail(what: str) -> NoReturn:
        raise RecordingError(f"{path}: {what}; {fix}", path=path,
                             offset=None if writing else _FILE_HEAD.size)

    if not isinstance(header, Mapping):
        fail(f"header must be a JSON object (dict), got {type(header).__name__}")
    for key in _HEADER_KEYS_REQUIRED:
        if key not in header:
            fail(f"header lacks the required key {key!r}")
    if writing:
        unknown = sorted(set(header) - set(_HEADER_KEYS_REQUIRED) - set(_HEADER_KEYS_OPTIONAL))
        if unknown:
            fail(f"header has unknown key(s) {unknown} (put custom data under 'extra')")
    if header["format_version"] != FORMAT_VERSION:
        fail(f"header['format_version'] must be {FORMAT_VERSION}, "
             f"got {header['format_version']!r}")
    software = header["software"]
    if not (isinstance(software, Mapping) and isinstance(software.get("name"), str)
            and isinstance(software.get("version"), str)):
        fail(f"header['software'] must be {{'name': str, 'version': str}}, got {software!r}")
    start_time = header["start_time"]
    try:
        parsed = datetime.fromisoformat(start_time) if isinstance(start_time, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        fail("header['start_time'] must be an ISO 8601 time with a UTC offset, e.g. "
             f"'2025-05-01T07:30:00.000000+02:00', got {start_time!r}")
    if not (isinstance(header["source"], str) and header["source"]):
        fail(f"header['source'] must be a non-empty string such as 'sim' or "
             f"'serial:/dev/ttyUSB0', got {header['source']!r}")

    streams = header["streams"]
    if not isinstance(streams, list):
        fail(f"header['streams'] must be a list, got {type(streams).__name__}")
    seen_streams: set[int] = set()
    for i, stream in enumerate(streams):
        where = f"header['streams'][{i}]"
        if not isinstance(stream, Mapping):
            fail(f"{where} must be a dict, got {type(stream).__name__}")
        for key in ("stream_id", "transport", "label"):
            if key not in stream:
                fail(f"{where} lacks the key {key!r}")
        sid = stream["stream_id"]
        if not (_is_int(sid) and 0 <= sid < EVENT_STREAM_ID):
            fail(f"{where}['stream_id'] must be an int in 0..254 (255 is reserved for "
                 f"recording-wide events), got {sid!r}")
        if sid in seen_streams:
            fail(f"{where}['stream_id'] {sid} is used twice")
        seen_streams.add(sid)
        for key in ("transport", "label"):
            if not isinstance(stream[key], str):
                fail(f"{where}[{key!r}] must be a string, got {stream[key]!r}")

    devices = header["devices"]
    if not isinstance(devices, list):
        fail(f"header['devices'] must be a list, got {type(devices).__name__}")
    seen_devices: set[tuple[int, str]] = set()
    for i, device in enumerate(devices):
        where = f"header['devices'][{i}]"
        if not isinstance(device, Mapping):
            fail(f"{where} must be a dict, got {type(device).__name__}")
        for key in _DEVICE_KEYS:
            if key not in device:
                fail(f"{where} lacks the key {key!r}")
        if not (_is_int(device["device_id"]) and 0 <= device["device_id"] <= 0xFFFF):
            fail(f"{where}['device_id'] must be an int in 0..65535, got {device['device_id']!r}")
        if device["side"] not in ("left", "right"):
            fail(f"{where}['side'] must be 'left' or 'right', got {device['side']!r}")
        if not (_is_number(device["sample_rate_hz"]) and device["sample_rate_hz"] > 0):
            fail(f"{where}['sample_rate_hz'] must be a positive number, "
                 f"got {device['sample_rate_hz']!r}")
        if not (_is_int(device["n_sensors"]) and 1 <= device["n_sensors"] <= MAX_SENSORS):
            fail(
                f"{where}['n_sensors'] must be an int in 1..{MAX_SENSORS}, "
                f"got {device['n_sensors']!r}"
            )
        if not (_is_int(device["adc_bits"]) and 1 <= device["adc_bits"] <= 16):
            fail(f"{where}['adc_bits'] must be an int in 1..16, got {device['adc_bits']!r}")
        for key in ("layout", "calibration"):
            if not isinstance(device[key], Mapping):
                fail(f"{where}[{key!r}] must be a dict (may be empty), got {device[key]!r}")
        ident = (device["device_id"], device["side"])
        if ident in seen_devices:
            fail(f"{where} repeats device_id {ident[0]} on side {ident[1]!r}")
        seen_devices.add(ident)

    if "notes" in header and not isinstance(header["notes"], str):
        fail(f"header['notes'] must be a string, got {type(header['notes']).__name__}")
    if "extra" in header and not isinstance(header["extra"], Mapping):
        fail(f"header['extra'] must be a dict, got {type(header['extra']).__name__}")


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------


class _Pending:
    """Chunks of one stream buffered until the next block is written."""

    __slots__ = ("times", "chunks", "n_bytes")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.chunks: list[bytes] = []
        self.n_bytes = 0


def _encode_block(kind: int, stream_id: int, times: list[float], chunks: list[bytes]) -> bytes:
    """Return the bytes of one block (header, chunk table, payload)."""
    table = np.empty(len(chunks), dtype=_CHUNK_DTYPE)
    table["host_time_s"] = times
    table["byte_len"] = [len(c) for c in chunks]
    body = table.tobytes() + b"".join(chunks)
    fields = struct.pack("<BBHI", kind, stream_id, len(chunks), len(body) - table.nbytes)
    crc = crc32(body, crc32(fields))
    return BLOCK_MAGIC + fields + struct.pack("<I", crc) + body


class RecordingWriter:
    """Write a recording as it streams, so that a killed process leaves a readable file.

    Chunks are buffered per stream and written as blocks (see ``recordings/FORMAT.md``). The
    design has no timer thread: buffered chunks are written by the calls that arrive —
    :meth:`write_chunk` when the oldest buffered chunk is ``flush_interval_s`` old or a stream's
    buffer exceeds ``block_bytes``, :meth:`write_event` always, :meth:`flush` and :meth:`close`
    always, and :meth:`maybe_flush` on the same age rule. A live runtime whose sources can fall
    silent (a disconnected insole) must call :meth:`maybe_flush` at least once a second, e.g.
    from the loop or timer it already has, so that received bytes never wait in memory longer
    than about ``flush_interval_s`` + 1 s.

    Parameters
    ----------
    path : str or os.PathLike
        File to create. An existing file is an error unless ``overwrite`` is true.
    header : dict
        Header of the recording (see ``recordings/FORMAT.md``). Required keys: ``source``,
        ``streams`` and ``devices`` (may be empty: devices also describe themselves in their
        DEVICE_INFO frames). ``format_version``, ``software`` and ``start_time`` are filled in
        when absent; ``start_time`` is then the wall-clock time of host time 0, i.e. of this
        constructor call. Optional: ``notes`` (str) and ``extra`` (dict).
    flush_interval_s : float, default 0.5
        Maximum age of a buffered chunk before the next call writes it to the operating system.
    block_bytes : int, default 65536
        A stream's buffer is written as a block as soon as it holds this many payload bytes.
    clock : callable, default time.monotonic
        Monotonic clock in seconds. Host time 0 is its value when the writer is created; chunk
        times default to ``clock() - start_clock_s``. Tests pass a fake clock.
    overwrite : bool, default False
        Replace an existing file instead of refusing to.

    Raises
    ------
    RecordingError
        If the header is invalid, the file exists (and ``overwrite`` is false), or the file
        cannot be created.

    Notes
    -----
    Crash safety: every flush hands whole blocks to the operating system with unbuffered
    ``write`` calls, so after a flush the data survives a SIGKILL of this process (it is in the
    OS page cache). ``os.fsync`` is called only by :meth:`close` (and by ``flush(fsync=True)``):
    syncing on every flush costs milliseconds per call on some disks and only adds safety
    against power loss or a kernel crash, not against the process being killed. A kill in the
    middle of a ``write`` leaves a torn last block, which readers report as :class:`Damage`
    with the blocks before it intact (salvage keeps its chunks that end before the cut).

    The methods are thread-safe (one lock), so reader threads may share one writer.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: Mapping[str, Any],
        *,
        flush_interval_s: float = 0.5,
        block_bytes: int = 64 * 1024,
        clock: Callable[[], float] = time.monotonic,
        overwrite: bool = False,
    ) -> None:
        self._path = Path(path)
        name = str(self._path)
        if not (_is_number(flush_interval_s) and flush_interval_s > 0):
            raise RecordingError(
                f"{name}: flush_interval_s must be a positive number of seconds, "
                f"got {flush_interval_s!r}; pass e.g. 0.5", path=name)
        if not (_is_int(block_bytes) and block_bytes > 0):
            raise RecordingError(
                f"{name}: block_bytes must be a positive int, got {block_bytes!r}; "
                "pass e.g. 65536", path=name)
        if not isinstance(header, Mapping):
            raise RecordingError(
                f"{name}: header must be a dict, got {type(header).__name__}; "
                "pass the header as a dict", path=name)
        self._flush_interval_s = float(flush_interval_s)
        self._block_bytes = block_bytes
        self._clock = clock

        self._start_clock_s = float(clock())
        full: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "software": {"name": "insole", "version": software_version()},
            "start_time": datetime.now(UTC).astimezone().isoformat(),
        }
        if _json_depth(header) > _MAX_JSON_DEPTH:
            raise RecordingError(
                f"{name}: header nests arrays and objects more than {_MAX_JSON_DEPTH} levels "
                "deep, which readers refuse; flatten the data under 'extra'", path=name)
        full.update(copy.deepcopy(dict(header)))
        _validate_header(full, name, writing=True)
        try:
            header_json = json.dumps(full, ensure_ascii=False, allow_nan=False,
                                     indent=2).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise RecordingError(
                f"{name}: header is not JSON-serialisable ({exc}); use only dicts, lists, "
                "strings, finite numbers, booleans and None", path=name) from None
        self._header = full
        self._stream_ids = frozenset(s["stream_id"] for s in full["streams"])

        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._pending_since: float | None = None  # clock() when the oldest pending chunk came
        self._blocks_written = 0
        self._bytes_written = 0
        self._closed = False

        try:
            self._file = open(self._path, "wb" if overwrite else "xb", buffering=0)
        except FileExistsError:
            raise RecordingError(
                f"{name}: file already exists; choose a new file name or pass overwrite=True",
                path=name) from None
        except OSError as exc:
            raise RecordingError(
                f"{name}: cannot create the recording ({exc.strerror or exc}); check that the "
                "folder exists and is writable", path=name) from None
        file_head = _FILE_HEAD.pack(FILE_MAGIC, FORMAT_VERSION, 0, len(header_json))
        with self._lock:
            self._write_all(file_head + header_json + struct.pack("<I", crc32(header_json)))

    # ---- properties ------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """Path of the file being written."""
        return self._path

    @property
    def header(self) -> dict[str, Any]:
        """The header as written, defaults filled in (a copy)."""
        return copy.deepcopy(self._header)

    @property
    def start_clock_s(self) -> float:
        """Value of ``clock()`` at host time 0 (when the writer was created)."""
        return self._start_clock_s

    @property
    def blocks_written(self) -> int:
        """Number of blocks handed to the operating system so far."""
        return self._blocks_written

    @property
    def bytes_written(self) -> int:
        """Number of file bytes handed to the operating system so far (header included)."""
        return self._bytes_written

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (or after a failed write)."""
        return self._closed

    def now_s(self) -> float:
        """Return the current host time: seconds on ``clock`` since the recording started."""
        return self._clock() - self._start_clock_s

    # ---- writing ---------------------------------------------------------------------------

    def write_chunk(
        self, stream_id: int, data: bytes, host_time_s: float | None = None
    ) -> None:
        """Buffer one chunk of received wire bytes; write blocks when they are due.

        Parameters
        ----------
        stream_id : int
            A ``stream_id`` declared in ``header['streams']``.
        data : bytes-like
            The bytes exactly as the transport delivered them. Empty chunks are ignored.
        host_time_s : float, optional
            Receive time in seconds since the recording start on the writer's clock. Defaults to
            now. Times should not decrease within a stream.

        Raises
        ------
        RecordingError
            If the writer is closed, the stream is not declared, the time is not finite, or the
            write to disk fails.
        """
        with self._lock:
            self._check_open()
            if stream_id not in self._stream_ids:
                raise RecordingError(
                    f"{self._path}: stream_id {stream_id!r} is not declared in "
                    f"header['streams'] (declared: {sorted(self._stream_ids)}); add it to the "
                    "header", path=str(self._path))
            now = self._clock()
            t = self._host_time(now, host_time_s)
            chunk = bytes(data)
            if not chunk:
                return
            if len(chunk) > _MAX_CHUNK_LEN:
                raise RecordingError(
                    f"{self._path}: chunk of {len(chunk)} bytes is too large (max 4 GiB - 1); "
                    "split it", path=str(self._path))
            pending = self._pending.get(stream_id)
            if pending is None:
                pending = self._pending[stream_id] = _Pending()
            pending.times.append(t)
            pending.chunks.append(chunk)
            pending.n_bytes += len(chunk)
            if self._pending_since is None:
                self._pending_since = now
            if now - self._pending_since >= self._flush_interval_s:
                self._write_pending([])
            elif (pending.n_bytes >= self._block_bytes
                  or len(pending.chunks) >= _MAX_CHUNKS_PER_BLOCK):
                self._write_pending([], only=stream_id)

    def write_event(
        self,
        event: str,
        *,
        stream_id: int = EVENT_STREAM_ID,
        host_time_s: float | None = None,
        **fields: Any,
    ) -> None:
        """Write an event block now, after all buffered chunks.

        Parameters
        ----------
        event : str
            Event name. Standard names: ``"disconnect"``, ``"reconnect"``, ``"gap"``,
            ``"pause"``, ``"note"``; readers keep unknown names as they are.
        stream_id : int, default 255
            The stream concerned, or 255 for the whole recording.
        host_time_s : float, optional
            Time of the event in seconds since the recording start; defaults to now.
        **fields
            Further JSON-serialisable fields stored with the event (e.g. ``text="..."``,
            ``reason="..."``). ``stream_offset`` is reserved: readers add it.

        Raises
        ------
        RecordingError
            If the writer is closed, the event name is empty, the stream is not declared, the
            fields are not JSON-serialisable, or the write fails.
        """
        with self._lock:
            self._check_open()
            if not (isinstance(event, str) and event):
                raise RecordingError(
                    f"{self._path}: event must be a non-empty string such as "
                    f"{_KNOWN_EVENTS}, got {event!r}", path=str(self._path))
            if stream_id != EVENT_STREAM_ID and stream_id not in self._stream_ids:
                raise RecordingError(
                    f"{self._path}: event stream_id {stream_id!r} is not declared in "
                    f"header['streams']; use a declared id or 255 for the whole recording",
                    path=str(self._path))
            if "stream_offset" in fields:
                raise RecordingError(
                    f"{self._path}: event field 'stream_offset' is reserved (readers compute "
                    "it); rename the field", path=str(self._path))
            t = self._host_time(self._clock(), host_time_s)
            record = {"event": event, "stream_id": stream_id, **fields}
            if _json_depth(record) > _MAX_JSON_DEPTH:
                raise RecordingError(
                    f"{self._path}: fields of event {event!r} nest arrays and objects more "
                    f"than {_MAX_JSON_DEPTH} levels deep, which readers refuse; flatten them",
                    path=str(self._path))
            try:
                payload = json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise RecordingError(
                    f"{self._path}: fields of event {event!r} are not JSON-serialisable "
                    f"({exc}); pass strings, finite numbers, lists or dicts",
                    path=str(self._path)) from None
            self._write_pending([_encode_block(KIND_EVENT, stream_id, [t], [payload])])

    def maybe_flush(self) -> bool:
        """Write buffered chunks if the oldest is at least ``flush_interval_s`` old.

        Call this at least once a second from an otherwise idle live runtime: the writer has no
        timer, so without new chunks nothing else would write the last ones out.

        Returns
        -------
        bool
            True if blocks were written.
        """
        with self._lock:
            if (self._closed or self._pending_since is None
                    or self._clock() - self._pending_since < self._flush_interval_s):
                return False
            self._write_pending([])
            return True

    def flush(self, *, fsync: bool = False) -> None:
        """Write all buffered chunks to the operating system now.

        Parameters
        ----------
        fsync : bool, default False
            Also ask the OS to put the data on the disk (``os.fsync``). Not needed to survive a
            killed process, only a power loss; :meth:`close` always does it.

        Raises
        ------
        RecordingError
            If the writer is closed or the write fails.
        """
        with self._lock:
            self._check_open()
            self._write_pending([])
            if fsync:
                self._fsync()

    def close(self) -> None:
        """Write buffered chunks, sync the file to disk and close it. Calling it again is a no-op.

        Raises
        ------
        RecordingError
            If the final write or sync fails (the file is closed anyway).
        """
        with self._lock:
            if self._closed:
                return
            try:
                self._write_pending([])
                self._fsync()
            finally:
                self._closed = True
                self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- internals (called with the lock held) ---------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RecordingError(
                f"{self._path}: the recording writer is closed; open a new RecordingWriter",
                path=str(self._path))

    def _host_time(self, now: float, host_time_s: float | None) -> float:
        if host_time_s is None:
            return now - self._start_clock_s
        if not _is_number(host_time_s):
            raise RecordingError(
                f"{self._path}: host_time_s must be a finite number of seconds, got "
                f"{host_time_s!r}; pass None to use the writer's clock", path=str(self._path))
        return float(host_time_s)

    def _write_pending(self, extra_blocks: list[bytes], *, only: int | None = None) -> None:
        """Encode buffered chunks as blocks and write them, then ``extra_blocks``.

        Blocks of different streams are ordered by the time of their first chunk, so a replay
        reading blocks in file order stays close to time order.
        """
        sids = [only] if only is not None else list(self._pending)
        sids.sort(key=lambda sid: self._pending[sid].times[0])
        blocks = []
        for sid in sids:
            pending = self._pending.pop(sid)
            blocks.append(_encode_block(KIND_DATA, sid, pending.times, pending.chunks))
        if not self._pending:
            self._pending_since = None
        blocks.extend(extra_blocks)
        if blocks:
            self._write_all(b"".join(blocks))
            self._blocks_written += len(blocks)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = self._file.write(view)
                if n is None:  # pragma: no cover - only for non-blocking files
                    continue
                self._bytes_written += n
                view = view[n:]
        except OSError as exc:
            # A partial block may now end the file; appending after it would bury good blocks
            # behind damage, so the writer stops here.
            self._closed = True
            self._file.close()
            raise RecordingError(
                f"{self._path}: writing the recording failed ({exc.strerror or exc}); the data "
                "up to the last flush is readable, check free disk space", path=str(self._path),
                offset=self._bytes_written) from None

    def _fsync(self) -> None:
        try:
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise RecordingError(
                f"{self._path}: syncing the recording to disk failed ({exc.strerror or exc}); "
                "check the disk", path=str(self._path)) from None


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Damage:
    """Where and why reading a recording stopped (or, with salvage, skipped bytes).

    Attributes
    ----------
    offset : int
        Byte offset in the file of the first byte that could not be read as a valid block.
    reason : str
        What is wrong there, one line (mentions "truncated", "magic", "CRC", ...).
    bytes_after : int
        Bytes from ``offset`` that were not read: to the end of the file, or with salvage to
        the next valid block (for a block in which the file ends and whose whole chunks
        salvage kept, the bytes of the chunk that the end of the file cuts).
    code : str
        Machine-readable class: ``"truncated"`` (the file ends inside a block — a writer killed
        mid-write), ``"bad_magic"``, ``"crc"`` or ``"malformed"`` (corruption); for the file
        header (offset 12 or 16), ``"header_repaired"`` (its length field or one flipped bit
        repaired: the header CRC matches) or ``"header"`` (its CRC fails and its JSON was used
        as read: its values may be wrong).
    bytes_kept : int
        Bytes of a damaged block that salvage kept and handed on all the same (0 when the block
        was skipped): the payload of a data block whose CRC fails but whose structure is intact
        (the wire frames in it carry their own CRC-16, so the decoder drops only the corrupt
        ones), a whole block whose only fault is its magic, or the whole chunks of a data block
        in which the file ends (``"truncated"``; ``bytes_after`` is then the bytes of its chunk
        that the end of the file cut); for the file header, the length of its JSON.
    missing_tail : tuple of MissingTail
        Only where salvage met the end of the file inside a block (code ``"truncated"``): each
        insole whose last frame comes at least `TAIL_MIN_S` before the last frame of another
        insole, i.e. whose data up to that time the cut took (the reason says so too). Empty
        otherwise.
    """

    offset: int
    reason: str
    bytes_after: int
    code: str = "malformed"
    bytes_kept: int = 0
    missing_tail: tuple[MissingTail, ...] = ()

    @property
    def kept(self) -> bool:
        """Whether salvage kept this damaged block's bytes instead of skipping them."""
        return self.bytes_kept > 0

    def as_dict(self) -> dict[str, Any]:
        """The damage as a JSON-able dict (``bytes_after`` is called ``bytes_skipped``).

        ``missing_tail`` (a list of `MissingTail.as_dict`) is there only when it is not empty.
        """
        out: dict[str, Any] = {
            "offset": self.offset, "code": self.code, "reason": self.reason,
            "bytes_skipped": self.bytes_after, "bytes_kept": self.bytes_kept}
        if self.missing_tail:
            out["missing_tail"] = [t.as_dict() for t in self.missing_tail]
        return out


TAIL_MIN_S = 0.1
"""Shortest missing tail reported in a cut recording [s] (see `MissingTail`).

Two insoles' last frames lie this close in host time in an intact recording too: a BLE
notification every 30 ms per insole (6 samples at 200 Hz), a serial read every few ms.
"""


@dataclass(frozen=True)
class MissingTail:
    """An insole whose data end before another's in a recording that was cut.

    Where the file ends inside a block (a writer killed mid-write, a copy interrupted, a full
    disk), the data that each stream had not yet written are gone: the insole of a torn or
    unwritten block then ends before the other one. Its frames after its last one are not
    counted as lost — nothing comes after them to count from (their number is unknown) — but
    the time by which it ends early is known: from the host time of its last frame (that of
    the chunk holding the frame's last byte, ``recordings/FORMAT.md`` §3) to that of the
    insole that goes on longest.

    Attributes
    ----------
    side : str
        ``"left"`` or ``"right"`` (from the frames).
    device_id : int
        Device id from the frames.
    stream_id : int
        The stream that carried it.
    ends_s : float
        Host time of its last frame [s since the recording start].
    ends_before_s : float
        How much earlier than the last frame of the insole that goes on longest [s].
    before : str
        That insole, named as `name`.
    name : str
        How messages name this insole: its side, with its device id in hex when two insoles
        of the recording share a side (``"left 0x1a01"``).
    """

    side: str
    device_id: int
    stream_id: int
    ends_s: float
    ends_before_s: float
    before: str
    name: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict, times rounded to the millisecond."""
        return {"side": self.side, "device_id": self.device_id, "stream_id": self.stream_id,
                "ends_s": round(self.ends_s, 3), "ends_before_s": round(self.ends_before_s, 3),
                "before": self.before}


@dataclass(eq=False, repr=False)
class RawStream:
    """All bytes of one transport stream with the receive time of every chunk.

    Attributes
    ----------
    stream_id : int
        Stream id from the header.
    data : bytes
        All chunk payloads concatenated in order.
    chunk_end : numpy.ndarray of int64, shape (n_chunks,)
        Cumulative byte offset in ``data`` at the end of each chunk.
    chunk_time_s : numpy.ndarray of float64, shape (n_chunks,)
        Host receive time of each chunk [s since the recording start].

    Notes
    -----
    The host time of a decoded frame is that of the chunk holding its last byte:
    ``chunk_time_s[np.searchsorted(chunk_end, frame_end_offset, side="left")]`` where
    ``frame_end_offset`` is the offset just past the frame's 0x00 delimiter.
    """

    stream_id: int
    data: bytes
    chunk_end: np.ndarray
    chunk_time_s: np.ndarray

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return len(self.chunk_end)

    @property
    def chunk_start(self) -> np.ndarray:
        """Byte offset in ``data`` at the start of each chunk (int64)."""
        start = np.zeros(len(self.chunk_end), dtype=np.int64)
        start[1:] = self.chunk_end[:-1]
        return start

    def chunk(self, index: int) -> bytes:
        """Return the bytes of chunk ``index``."""
        end = int(self.chunk_end[index])
        return self.data[end - self.chunk_len(index):end]

    def chunk_len(self, index: int) -> int:
        """Return the length in bytes of chunk ``index``."""
        index = range(self.n_chunks)[index]
        start = int(self.chunk_end[index - 1]) if index > 0 else 0
        return int(self.chunk_end[index]) - start

    def iter_chunks(self) -> Iterator[tuple[float, bytes]]:
        """Yield ``(host_time_s, bytes)`` for every chunk in order."""
        start = 0
        for end, t in zip(self.chunk_end.tolist(), self.chunk_time_s.tolist(), strict=True):
            yield t, self.data[start:end]
            start = end

    def __repr__(self) -> str:
        return (f"RawStream(stream_id={self.stream_id}, n_chunks={self.n_chunks}, "
                f"n_bytes={len(self.data)})")


@dataclass(eq=False, repr=False)
class RawRecording:
    """Everything readable from a recording file, undecoded.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    header : dict
        The header JSON.
    streams : dict of int to RawStream
        Every stream declared in the header (empty if it has no data), plus any stream found
        only in blocks.
    events : list of dict
        Events in file order; each has ``event``, ``stream_id``, ``host_time_s`` and its fields.
        Events of one stream also get ``stream_offset``: the offset in that stream's ``data``
        where the event happened (its bytes read before the event block), e.g. where a decoder
        must be flushed at a ``reconnect``.
    damage : Damage or None
        The first damage met, None if the whole file was read.
    file_size : int
        Size of the file in bytes.
    damages : list of Damage
        All damaged regions (more than one only with ``salvage=True``).
    n_blocks : int
        Number of valid blocks read.
    unknown_blocks : int
        Valid blocks of a kind this reader does not know (skipped; written by a newer writer).
    """

    path: Path
    header: dict[str, Any]
    streams: dict[int, RawStream]
    events: list[dict[str, Any]]
    damage: Damage | None
    file_size: int
    damages: list[Damage] = field(default_factory=list)
    n_blocks: int = 0
    unknown_blocks: int = 0

    def timed_pieces(
        self, stream_id: int
    ) -> list[tuple[bytes, np.ndarray | None, np.ndarray | None]]:
        """`stream_pieces` with each piece's chunk end offsets (in the piece) and host times.

        Returns ``(data, chunk_ends, chunk_times)`` per piece; the single 0x00 between two
        pieces comes with ``None, None``. For `insole.core.pipeline.Pipeline.feed`.
        """
        stream = self.streams[stream_id]
        ends = stream.chunk_end.astype(np.int64)
        out: list[tuple[bytes, np.ndarray | None, np.ndarray | None]] = []
        begin = 0
        for i, piece in enumerate(self.stream_pieces(stream_id)):
            if i % 2:  # the 0x00 between two pieces: not in the stream's data
                out.append((piece, None, None))
                continue
            stop = begin + len(piece)
            k0 = int(np.searchsorted(ends, begin, side="right"))
            k1 = int(np.searchsorted(ends, stop, side="left"))
            sel = slice(k0, min(k1 + 1, len(ends)))
            out.append((piece, ends[sel] - begin, stream.chunk_time_s[sel]))
            begin = stop
        return out

    def stream_pieces(self, stream_id: int) -> list[bytes]:
        """A stream's bytes split at its reconnects, with a single 0x00 between the pieces.

        Feeding the result to a decoder ends any frame cut by the disconnect, so that it is
        counted, never merged with the bytes after the reconnect (SPEC §4.2).
        """
        data = self.streams[stream_id].data
        cuts = sorted(
            int(e["stream_offset"])
            for e in self.events
            if e.get("stream_id") == stream_id
            and e.get("event") == "reconnect"
            and "stream_offset" in e
        )
        pieces: list[bytes] = []
        prev = 0
        for c in cuts:
            pieces += [data[prev:c], b"\x00"]
            prev = c
        pieces.append(data[prev:])
        return pieces

    @property
    def skipped_bytes(self) -> int:
        """Bytes of the file that were not read because of damage."""
        return sum(d.bytes_after for d in self.damages)

    @property
    def start_time(self) -> datetime:
        """Wall-clock time of host time 0 (from the header)."""
        return datetime.fromisoformat(self.header["start_time"])

    @property
    def duration_s(self) -> float:
        """Host time of the last chunk or event [s], 0.0 for an empty recording."""
        last = [float(s.chunk_time_s.max()) for s in self.streams.values() if s.n_chunks]
        last += [float(e["host_time_s"]) for e in self.events]
        return max(last, default=0.0)

    def __repr__(self) -> str:
        streams = ", ".join(f"{sid}: {s.n_chunks} chunks/{len(s.data)} B"
                            for sid, s in self.streams.items())
        return (f"RawRecording(path={str(self.path)!r}, streams={{{streams}}}, "
                f"events={len(self.events)}, damage={self.damage!r})")


@dataclass(eq=False, repr=False)
class Block:
    """One valid block as met in file order (see :func:`iter_blocks`).

    Attributes
    ----------
    offset : int
        Byte offset of the block in the file.
    kind : int
        :data:`KIND_DATA`, :data:`KIND_EVENT`, or an unknown kind from a newer writer.
    stream_id : int
        Stream of the block (255 for recording-wide events).
    chunk_time_s : numpy.ndarray of float64
        Host time of each chunk.
    chunk_end : numpy.ndarray of int64
        Cumulative offset in ``payload`` at the end of each chunk.
    payload : bytes
        Chunk bytes concatenated.
    stream_offset : int
        Bytes of this block's stream in the data blocks before it: where ``payload`` starts in
        the stream's bytes (:attr:`RawStream.data`), or where an event falls in them.
    """

    offset: int
    kind: int
    stream_id: int
    chunk_time_s: np.ndarray
    chunk_end: np.ndarray
    payload: bytes
    stream_offset: int = 0

    def chunks(self) -> list[tuple[float, bytes]]:
        """Return ``(host_time_s, bytes)`` for every chunk of the block."""
        out = []
        start = 0
        for end, t in zip(self.chunk_end.tolist(), self.chunk_time_s.tolist(), strict=True):
            out.append((t, self.payload[start:end]))
            start = end
        return out

    @property
    def event(self) -> dict[str, Any] | None:
        """The event of an event block, with ``host_time_s`` added; None for other kinds.

        Unlike :attr:`RawRecording.events`, no ``stream_offset`` is added (it is the block's
        :attr:`stream_offset`).
        """
        if self.kind != KIND_EVENT:
            return None
        record: dict[str, Any] = _load_json(self.payload)
        record["host_time_s"] = float(self.chunk_time_s[0])
        return record

    def __repr__(self) -> str:
        return (f"Block(offset={self.offset}, kind={self.kind}, stream_id={self.stream_id}, "
                f"n_chunks={len(self.chunk_end)}, n_bytes={len(self.payload)})")


@dataclass(eq=False, repr=False)
class StreamRun:
    """Consecutive data blocks of one stream, joined (see :meth:`BlockReader.runs`).

    Attributes
    ----------
    stream_id : int
        The stream.
    data : bytes
        The chunks' bytes, concatenated.
    chunk_end : numpy.ndarray of int64
        Cumulative offset in ``data`` at the end of each chunk.
    chunk_time_s : numpy.ndarray of float64
        Host time of each chunk [s].
    stream_offset : int
        Offset of ``data[0]`` in the stream's bytes (its data blocks before this run).
    """

    stream_id: int
    data: bytes
    chunk_end: np.ndarray
    chunk_time_s: np.ndarray
    stream_offset: int

    def __repr__(self) -> str:
        return (f"StreamRun(stream_id={self.stream_id}, stream_offset={self.stream_offset}, "
                f"n_chunks={len(self.chunk_end)}, n_bytes={len(self.data)})")


def _open_error(p: Path, exc: OSError) -> RecordingError:
    """Return the one-line error for a recording that cannot be opened."""
    if isinstance(exc, FileNotFoundError):
        return RecordingError(f"{p}: no such recording; check the path", path=str(p))
    if isinstance(exc, IsADirectoryError):
        return RecordingError(f"{p}: is a folder, not a recording file; pass the file's path",
                              path=str(p))
    return RecordingError(f"{p}: cannot read the recording ({exc.strerror or exc}); check "
                          "its permissions", path=str(p))


# A valid block as found by the scanner, in the coordinates of the buffer holding it:
# (offset, kind, stream_id, n_chunks, table_start, payload_start, end).
_BlockRef = tuple[int, int, int, int, int, int, int]

_READ_BYTES = 4 * 1024 * 1024
"""Bytes the block reader reads from the file at a time (a larger block is read whole)."""

_RUN_BYTES = 2 * 1024 * 1024
"""Default size of a :class:`StreamRun` (consecutive blocks of one stream joined).

2 MiB: fewer calls through the pipeline's stages than 1 MiB while each run's arrays still stay
in the cache; `insole analyze` on the hour of bench/analyze_speed.py, alternating, best / median
of 6 (2026-12-07): 1 MiB 0.339 / 0.360 s, 2 MiB 0.319 / 0.338 s, 3 MiB 0.328 / 0.343 s."""


class _HeaderFault(RecordingError):
    """A damaged file header that `_salvage_header` may still read.

    A CRC mismatch, or a length field (not covered by the CRC) that is implausible or runs past
    the end of the file.
    """


def _parse_file_header(buf: bytes, path: Path) -> tuple[dict[str, Any], int]:
    """Return the header dict and the offset of the first block; raise on any problem.

    A damage that salvage may read past raises `_HeaderFault` (see `_read_head`).
    """
    name = str(path)

    def fail(what: str, offset: int | None) -> RecordingError:
        return RecordingError(f"{name}: {what}", path=name, offset=offset)

    def fault(what: str, offset: int) -> RecordingError:
        return _HeaderFault(f"{name}: {what}", path=name, offset=offset)

    if not buf:
        raise fail("file is empty, not an insole recording (the writer never wrote its "
                   "header); record again", 0)
    head = buf[:_FILE_HEAD.size]
    if not FILE_MAGIC.startswith(head[:len(FILE_MAGIC)]):
        raise fail(f"not an insole recording (starts with {head[:8]!r}, expected "
                   f"{FILE_MAGIC!r}); pass a file written by insole's RecordingWriter", 0)
    if len(buf) < _FILE_HEAD.size:
        raise fail(f"file ends after {len(buf)} bytes, inside the file header; the recording "
                   "is truncated beyond repair, record again", len(buf))
    _, version, _, header_len = _FILE_HEAD.unpack_from(buf, 0)
    if version != FORMAT_VERSION:
        raise fail(f"recording format version {version} is not supported (insole "
                   f"{software_version()} reads version {FORMAT_VERSION}); use the insole "
                   "version that wrote it or a newer one", 8)
    if header_len > _MAX_HEADER_LEN:
        raise fault(f"header length {header_len} is implausible (corrupt file header); the "
                    "recording cannot be read", 12)
    json_end = _FILE_HEAD.size + header_len
    if len(buf) < json_end + 4:
        raise fault(f"file ends after {len(buf)} bytes, inside the {json_end + 4}-byte header; "
                    "the recording is truncated beyond repair, record again", len(buf))
    header_json = buf[_FILE_HEAD.size:json_end]
    (crc,) = _U32.unpack_from(buf, json_end)
    if crc32(header_json) != crc:
        raise fault("header CRC mismatch (the header is corrupt); the recording cannot be read "
                    "without it", _FILE_HEAD.size)
    try:
        header = _load_json(header_json)
    except _JSONTooDeep as exc:
        raise fail(f"header JSON has {exc} (limit of this reader); the file was not written "
                   "by a compatible insole writer and cannot be read", _FILE_HEAD.size) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise fail(f"header is not valid UTF-8 JSON ({exc}); the file was not written by a "
                   "compatible insole writer and cannot be read", _FILE_HEAD.size) from None
    _validate_header(header, name, writing=False)
    return header, json_end + 4


def _read_head(p: Path) -> tuple[dict[str, Any], int, int, Damage | None]:
    """Return the header, the offset of the first block, the file size and the header's damage.

    A damaged header that `_salvage_header` can read (repaired, or its JSON used as read) comes
    with its :class:`Damage`, and the caller decides whether to refuse it; one that it cannot
    read raises :class:`RecordingError`, as does any other problem.
    """
    try:
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_FILE_HEAD.size)
            if len(head) == _FILE_HEAD.size and head.startswith(FILE_MAGIC):
                header_len = _FILE_HEAD.unpack(head)[3]
                # The header, its CRC and the first block's magic (which tells `_salvage_header`
                # whether the length field is right).
                head += f.read(min(header_len, _MAX_HEADER_LEN) + 4 + len(BLOCK_MAGIC))
            try:
                header, start = _parse_file_header(head, p)
            except _HeaderFault as fault:
                header, start, damage = _salvage_header(f, head, size, p, fault)
                return header, start, size, damage
    except OSError as exc:
        raise _open_error(p, exc) from None
    return header, start, size, None


_MAX_BIT_REPAIR_LEN = 1024 * 1024
"""Longest header JSON [bytes] in which `_salvage_header` looks for one flipped bit (~0.2 s)."""

_AS_READ = "the header is corrupt somewhere, though its JSON still reads as a valid header"


def _salvage_header(
    f: BinaryIO, head: bytes, size: int, path: Path, fault: _HeaderFault
) -> tuple[dict[str, Any], int, Damage]:
    """Read a damaged file header all the same (``recordings/FORMAT.md`` §4.1, step 0).

    Tried in turn, each result parsed and checked like an intact header:

    1. The length field, which the CRC does not cover: unless the first block's magic (or the
       end of the file) follows where it says the header ends, the header ends 4 bytes before
       the first ``IBLK`` (or the end of the file) where the header CRC matches the JSON
       before it. Repaired: the header is exactly as written.
    2. One flipped bit in the JSON or in its CRC, which a CRC-32 locates (`_one_flipped_bit`).
       Repaired, likewise.
    3. The JSON as read, if it parses and passes the header checks. Its values (sample rates,
       calibration, layout, start time...) may be wrong: the damage says so.

    Parameters
    ----------
    f : binary file
        The open recording.
    head : bytes
        The file's first bytes, as read by `_read_head`.
    size : int
        File size.
    path : pathlib.Path
        The recording, for messages.
    fault : _HeaderFault
        What `_parse_file_header` found wrong.

    Returns
    -------
    header : dict
        The header.
    start : int
        File offset of the first block.
    damage : Damage
        What was wrong and what was done: code ``"header_repaired"`` (steps 1 and 2) or
        ``"header"`` (step 3), ``bytes_kept`` the JSON's length.

    Raises
    ------
    RecordingError
        If none of the steps gives a header: the JSON does not parse or fails the checks.
    """
    name = str(path)
    head_size = _FILE_HEAD.size
    header_len = _FILE_HEAD.unpack_from(head)[3]
    json_end = head_size + header_len
    fits = header_len <= _MAX_HEADER_LEN and json_end + 4 <= size
    follows = head[json_end + 4:json_end + 4 + len(BLOCK_MAGIC)]
    if not (fits and (json_end + 4 == size or follows == BLOCK_MAGIC)):
        found = _find_header_end(f, size, name)
        if found is not None:
            header, length = found
            what = "implausible" if header_len > _MAX_HEADER_LEN else "corrupt"
            return header, head_size + length + 4, Damage(
                12, f"{what} header length {header_len} at offset 12, repaired: the header CRC "
                f"matches the {length} bytes of JSON before the first block", 0,
                "header_repaired", length)
    if not fits:
        raise RecordingError(str(fault), path=name, offset=fault.offset) from None
    data = head[head_size:json_end]
    (crc,) = _U32.unpack_from(head, json_end)
    flip = _one_flipped_bit(data, crc) if header_len <= _MAX_BIT_REPAIR_LEN else None
    if flip is not None:
        where, mask = flip
        fixed = bytearray(data)
        if where < header_len:
            fixed[where] ^= mask
        try:
            header = _load_json(bytes(fixed))
            _validate_header(header, name, writing=False)
        except (UnicodeDecodeError, ValueError):  # RecordingError is a ValueError
            pass  # not a single flipped bit after all: read the JSON as it is
        else:
            place = ("in the header JSON, repaired (the CRC then matches)" if where < header_len
                     else "in the stored CRC itself, repaired (the header JSON is intact)")
            return header, json_end + 4, Damage(
                head_size, f"header CRC mismatch at offset {head_size}: one flipped bit at byte "
                f"{head_size + where} {place}", 0, "header_repaired", header_len)
    beyond = "the header is corrupt beyond repair, and the recording cannot be read without it"
    try:
        header = _load_json(data)
    except _JSONTooDeep as exc:
        raise RecordingError(f"{name}: header CRC mismatch and the header JSON has {exc}: "
                             f"{beyond}", path=name, offset=head_size) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordingError(f"{name}: header CRC mismatch and the header is not valid UTF-8 "
                             f"JSON ({exc}): {beyond}", path=name, offset=head_size) from None
    _validate_header(header, name, writing=False,
                     fix=f"the header CRC does not match either: {beyond}")
    return header, json_end + 4, Damage(
        head_size, f"header CRC mismatch at offset {head_size}: {_AS_READ}; its values "
        "(sample rates, sensors, calibration, layout, start time) could be wrong and are used "
        "as read", 0, "header", header_len)


def _find_header_end(f: BinaryIO, size: int, name: str) -> tuple[dict[str, Any], int] | None:
    """The header and its JSON length, found from the first block instead of the length field.

    The candidates are every ``IBLK`` after the file header, then the end of the file (a
    recording without blocks); the first before which the 4 bytes of the header CRC match
    the JSON from offset 16, and whose JSON is a valid header, gives it. Reads at most
    ``_MAX_HEADER_LEN`` + 24 bytes, and computes one CRC over them.
    """
    head = _FILE_HEAD.size
    f.seek(0)
    buf = f.read(min(size, head + _MAX_HEADER_LEN + 4 + len(BLOCK_MAGIC)))
    view = memoryview(buf)
    running, done = 0, head
    k = head + 2 + 4  # the shortest JSON object, "{}", and its CRC
    while True:
        q = buf.find(BLOCK_MAGIC, k)
        if q == -1:
            if len(buf) < size:
                return None
            q = size
        json_end = q - 4
        if json_end < done or json_end - head > _MAX_HEADER_LEN:
            return None
        running = crc32(view[done:json_end], running)
        done = json_end
        if running == _U32.unpack_from(buf, json_end)[0]:
            try:
                header = _load_json(buf[head:json_end])
                _validate_header(header, name, writing=False)
            except (UnicodeDecodeError, ValueError):
                pass
            else:
                return header, json_end - head
        if q >= len(buf):
            return None
        k = q + 1


@functools.cache
def _crc32_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The CRC-32 byte table, and the index of each table entry by its top byte.

    The top bytes of the 256 entries are all different, which makes one step of the CRC
    register over a zero byte invertible (`_one_flipped_bit`).
    """
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
        table.append(c)
    by_top = {c >> 24: i for i, c in enumerate(table)}
    return tuple(table), tuple(by_top[t] for t in range(256))


def _one_flipped_bit(data: bytes, crc: int) -> tuple[int, int] | None:
    """Where one flipped bit would explain a CRC-32 mismatch: ``(byte index, bit mask)``, or None.

    The byte index counts from the start of `data`; ``len(data)`` and above are the 4 bytes
    of the stored `crc` (little-endian). The CRC is linear: ``crc32(data) ^ crc`` is the CRC
    register (started at 0, no final XOR) of the error pattern alone, so a single flipped bit
    ``mask`` at byte ``p`` leaves ``table[mask]`` carried through ``len(data) - 1 - p`` zero
    bytes. The register is stepped back one zero byte at a time until it is such an entry.
    One pass of ``len(data)`` steps; a random mismatch (several bits wrong) passes for a
    single flipped bit with probability about ``8 * len(data) / 2**32``.
    """
    syndrome = crc32(data) ^ crc
    if not syndrome:
        return None
    if syndrome & (syndrome - 1) == 0:  # one bit of the stored CRC
        bit = syndrome.bit_length() - 1
        return len(data) + bit // 8, 1 << (bit % 8)
    table, by_top = _crc32_tables()
    single = {table[1 << j]: 1 << j for j in range(8)}
    for back in range(len(data)):
        mask = single.get(syndrome)
        if mask is not None:
            return len(data) - 1 - back, mask
        i = by_top[syndrome >> 24]
        syndrome = ((syndrome ^ table[i]) << 8 | i) & 0xFFFFFFFF
    return None


def _header_refused(path: Path, damage: Damage, *, strict: bool) -> RecordingError:
    """The one-line error for a damaged header that a reader without salvage refuses."""
    what = (f"header CRC mismatch at offset {damage.offset} ({_AS_READ})"
            if damage.code == "header" else damage.reason.replace(", repaired", ", repairable", 1))
    how = (" and strict reading refuses it" if strict else
           ": salvage=True reads it (as the insole commands do without --strict)")
    return RecordingError(f"{path}: {what}; the recording is damaged{how}",
                          path=str(path), offset=damage.offset)


def _check_block(
    buf: bytes, view: memoryview, pos: int, *, base: int = 0, size: int | None = None
) -> _BlockRef | Damage:
    """Validate the block at ``buf[pos]``; return its reference or the damage found there.

    ``buf`` holds the file from offset ``base`` on; ``size`` is the file size (default: the
    buffer ends the file). The caller makes sure that ``buf`` holds the whole block when the
    block fits in the file (and its 16-byte header or the rest of the file otherwise).
    Offsets in the returned reference are indices in ``buf``; those in a :class:`Damage` are
    file offsets.
    """
    size = len(buf) if size is None else size - base  # end of the file, in buffer coordinates
    at = base + pos
    remaining = size - pos
    if remaining < _BLOCK_HEAD.size:
        if not BLOCK_MAGIC.startswith(buf[pos:pos + 4]):
            return Damage(at, f"bad block magic {buf[pos:pos + 4]!r} at offset {at} "
                          f"(expected {BLOCK_MAGIC!r})", remaining, "bad_magic")
        return Damage(at, f"truncated block header at offset {at}: the file ends "
                      f"{remaining} bytes into the {_BLOCK_HEAD.size}-byte block header "
                      "(writer killed mid-write?)", remaining, "truncated")
    magic, kind, stream_id, n_chunks, payload_len, crc = _BLOCK_HEAD.unpack_from(buf, pos)
    if magic != BLOCK_MAGIC:
        return Damage(at, f"bad block magic {magic!r} at offset {at} (expected "
                      f"{BLOCK_MAGIC!r})", remaining, "bad_magic")
    table_start = pos + _BLOCK_HEAD.size
    payload_start = table_start + n_chunks * _CHUNK_DTYPE.itemsize
    end = payload_start + payload_len
    if end > size:
        return Damage(at, f"truncated block at offset {at}: it needs {end - pos} bytes but "
                      f"the file ends {remaining} bytes after its start (writer killed "
                      "mid-write, or a corrupt block header)", remaining, "truncated")
    if crc32(view[table_start:end], crc32(view[pos + 4:pos + 12])) != crc:
        return Damage(at, f"block CRC mismatch at offset {at} (the block is corrupt)",
                      remaining, "crc")
    if n_chunks == 1:
        lengths_ok = _U32.unpack_from(buf, table_start + 8)[0] == payload_len
    else:
        table = np.frombuffer(buf, dtype=_CHUNK_DTYPE, count=n_chunks, offset=table_start)
        lengths_ok = int(table["byte_len"].sum(dtype=np.int64)) == payload_len
    if not lengths_ok:
        return Damage(at, f"malformed block at offset {at}: its chunk lengths do not add up "
                      "to its payload length", remaining, "malformed")
    if kind == KIND_EVENT:
        problem = None
        if n_chunks != 1:
            problem = f"holds {n_chunks} chunks instead of 1"
        else:
            try:
                record = _load_json(view[payload_start:end].tobytes())
            except _JSONTooDeep as exc:
                record, problem = None, f"holds JSON with {exc}"
            except (UnicodeDecodeError, ValueError):
                record = None
            if problem is None and not (
                isinstance(record, dict) and isinstance(record.get("event"), str)
            ):
                problem = "does not hold a JSON object with an 'event' string"
        if problem is not None:
            return Damage(at, f"malformed event block at offset {at}: it {problem}",
                          remaining, "malformed")
    return pos, kind, stream_id, n_chunks, table_start, payload_start, end


class _Window:
    """A window on an open file, moving forward: file bytes ``[base, base + len(buf))``.

    Parameters
    ----------
    f : binary file
        The open recording.
    start : int
        File offset where reading starts.
    size : int
        File size: nothing at or past it is read.
    read_bytes : int
        Bytes read at a time (more when one request needs more).
    """

    def __init__(self, f: BinaryIO, start: int, size: int, read_bytes: int) -> None:
        self.f = f
        self.size = size
        self.read_bytes = read_bytes
        self.base = start
        self.buf = b""

    def ensure(self, pos: int, n: int) -> int:
        """Hold file bytes ``[pos, pos + n)`` (fewer at the end of the file); return their index.

        The window is refilled from ``pos`` when it does not hold the range (also when ``pos``
        lies before it: a pass goes back only to a block in which the file ends, see
        `BlockReader._to_the_end`); otherwise nothing is read.
        """
        end = min(pos + n, self.size)
        have = self.base + len(self.buf)
        if self.base <= pos and end <= have:
            return pos - self.base
        stop = min(self.size, max(end, pos + self.read_bytes))
        # Read from ``pos`` again rather than joining the bytes held to the new ones: the few
        # bytes held come from the page cache, and the read needs no copy of the rest.
        self.f.seek(pos)
        self.buf = self.f.read(stop - pos)
        if len(self.buf) < stop - pos:  # the file shrank while it was read
            self.size = pos + len(self.buf)
        self.base = pos
        return 0


class BlockReader:
    """Read a recording block by block, in bounded memory whatever its length.

    The one reader of the container: :func:`read_raw_recording`, :func:`iter_blocks`, offline
    analysis (`insole.session.analysis`), replay (`insole.commands.replay`,
    `insole.sources.readers.file`) and `insole.recordings.loader.load_recording` all go through it.
    The header is read and checked when the reader is created; each call of :meth:`blocks` (or
    :meth:`runs`, :meth:`scan`) is then one pass over the file that reads it ``read_bytes`` at a
    time, checks every block (magic, fits in the file, CRC, chunk lengths, event JSON) and stops at
    the first damage, as specified in ``recordings/FORMAT.md`` §4. Apart from what it yields, a
    pass holds one read buffer (and one block, if a block is larger).

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    salvage : bool, default False
        Read past damage instead of stopping there (``recordings/FORMAT.md`` §4.1). A file
        header whose CRC fails is repaired when its CRC tells how (a corrupt length field, one
        flipped bit), else read as it is if its JSON is still a valid header, and reported as
        the first :class:`Damage` of every pass (`header_damage`); without salvage it is
        refused when the reader is created. A data block whose CRC fails but whose structure
        is intact (its chunk lengths add up to its payload length, or it ends exactly where the
        next block or the file begins) is kept: its bytes are yielded like those of a valid
        block, preceded by a :class:`Damage` with ``bytes_kept`` set, and its implausible chunk
        times are repaired. Anything else is skipped up to the next block that is valid (or
        keepable, by the stricter test of both), and each skipped region is reported as a
        :class:`Damage`. Where no such block follows and the file ends inside a data block
        whose header and whole chunk table are in the file and plausible, that block's
        chunks that end before the end of the file are kept likewise (code ``"truncated"``;
        its CRC cannot be checked); a damage where the file ends inside a block names, in
        ``missing_tail``, the insoles that end early because of the cut.
    strict : bool, default False
        Raise :class:`~insole.errors.RecordingError` at the first damage instead of yielding
        it (refuse a damaged file). Takes precedence over ``salvage``.
    read_bytes : int, default 4 MiB
        Bytes read from the file at a time.

    Attributes
    ----------
    path : pathlib.Path
        The recording.
    header : dict
        The header JSON.
    header_damage : Damage or None
        What was wrong with the file header, read past with ``salvage`` (code
        ``"header_repaired"``: repaired by its CRC; ``"header"``: its JSON used as read, its
        values unverified); also the first item of `damages`.
    file_size : int
        Size of the file when the last pass started (when the reader was created before that).
        A pass reads no further, so a file still being written is read up to that size.
    damages : list of Damage
        The damage met by the last pass (more than one only with ``salvage``), kept blocks
        included.
    events : list of dict
        The events met by the last pass, as in :attr:`RawRecording.events` (with
        ``host_time_s``, and ``stream_offset`` for the events of one stream).
    n_blocks, unknown_blocks : int
        Valid blocks, and valid blocks of unknown kinds, met by the last pass.
    stream_bytes, stream_chunks : dict of int to int
        Bytes and chunks per stream in the data blocks met by the last pass. Every stream
        declared in the header is a key, followed by streams found only in blocks, in file
        order.
    last_chunk_time_s : dict of int to float
        Host time of the last chunk of each stream with data [s].
    max_time_s : float
        Latest host time of any chunk or event [s], 0.0 if none.
    complete : bool
        Whether the last pass ran to the end (its counters then describe the whole file).

    Raises
    ------
    RecordingError
        If the file cannot be opened, its header is damaged beyond repair (its JSON unreadable
        or not a valid header), or its header is damaged at all and ``salvage`` is off (raised
        when the reader is created); a pass raises it if the file can no longer be opened.
        Damage after the header raises only with ``strict``.

    Notes
    -----
    Passes are sequential: the counters above belong to the pass running or last run. Run
    parallel passes (e.g. one per stream, merged by time) on separate readers.

    Examples
    --------
    >>> reader = BlockReader("run.insrec")  # doctest: +SKIP
    >>> for item in reader.runs():  # doctest: +SKIP
    ...     if isinstance(item, StreamRun):
    ...         pipeline.feed(item.stream_id, item.data, item.chunk_time_s,
    ...                       chunk_ends=item.chunk_end)
    >>> reader.damage  # doctest: +SKIP
    """

    def __init__(
        self, path: str | os.PathLike[str], *, salvage: bool = False, strict: bool = False,
        read_bytes: int = _READ_BYTES,
    ) -> None:
        self.path = Path(path)
        self.strict = bool(strict)
        self.salvage = bool(salvage) and not self.strict
        self.read_bytes = max(int(read_bytes), 64)
        self.header, self._start, self.file_size, self.header_damage = _read_head(self.path)
        if self.header_damage is not None and not self.salvage:
            raise _header_refused(self.path, self.header_damage, strict=self.strict)
        self._declared = [int(s["stream_id"]) for s in self.header["streams"]]
        # Streams that do not carry wire frames (UDP datagrams as received, insole.core.moticon):
        # left out of `MissingTail`, whose insoles come from the frames.
        self._not_frames = {int(s["stream_id"]) for s in self.header["streams"]
                            if s.get("transport") == "moticon-udp"}
        self._reset()

    def _reset(self) -> None:
        # The header's damage, read past with salvage, is the first of every pass.
        self.damages: list[Damage] = [] if self.header_damage is None else [self.header_damage]
        self.events: list[dict[str, Any]] = []
        self.n_blocks = 0
        self.unknown_blocks = 0
        self.stream_bytes: dict[int, int] = dict.fromkeys(self._declared, 0)
        self.stream_chunks: dict[int, int] = dict.fromkeys(self._declared, 0)
        self.last_chunk_time_s: dict[int, float] = {}
        self.max_time_s = 0.0
        self.complete = False
        # With salvage: the last bytes of each stream, to name the insoles a cut file ends.
        self._tails: dict[int, _StreamTail] = {}

    # ---- results of a pass -----------------------------------------------------------------

    @property
    def damage(self) -> Damage | None:
        """The first damage met by the last pass, None if it read the whole file."""
        return self.damages[0] if self.damages else None

    @property
    def stream_ids(self) -> list[int]:
        """Streams declared in the header or met in data blocks (declared first)."""
        return list(self.stream_bytes)

    @property
    def duration_s(self) -> float:
        """Host time of the last chunk or event of the last pass [s] (see `max_time_s`)."""
        return self.max_time_s

    @property
    def skipped_bytes(self) -> int:
        """Bytes of the file that the last pass did not read because of damage."""
        return sum(d.bytes_after for d in self.damages)

    @property
    def kept_bytes(self) -> int:
        """Bytes of damaged blocks that the last pass kept (salvage)."""
        return sum(d.bytes_kept for d in self.damages)

    @property
    def start_time(self) -> datetime:
        """Wall-clock time of host time 0 (from the header)."""
        return datetime.fromisoformat(self.header["start_time"])

    # ---- passes ----------------------------------------------------------------------------

    def scan(self) -> BlockReader:
        """Read the whole file once, keeping only the counters, events and damage; return self.

        Every block is checked as by :meth:`blocks`, but no payload is copied.
        """
        for _ in self.blocks(stream_ids=()):
            pass
        return self

    def blocks(self, stream_ids: Collection[int] | None = None) -> Iterator[Block | Damage]:
        """Iterate over the blocks in file order: one pass over the file.

        Parameters
        ----------
        stream_ids : collection of int, optional
            Yield only the blocks of these streams (data, events, unknown kinds); the others
            are still checked and counted. Recording-wide events have stream id 255. Default:
            every block.

        Yields
        ------
        Block or Damage
            Every valid block, and damage where reading stops (or, with ``salvage``, where
            bytes are skipped or kept; a damaged file header first). :attr:`Block.stream_offset`
            tells where a block falls in its stream's bytes.
        """
        return self._blocks(stream_ids, views=False)

    def _blocks(
        self, stream_ids: Collection[int] | None, *, views: bool
    ) -> Iterator[Block | Damage]:
        """`blocks`; with ``views``, each payload is a memoryview of the read buffer.

        For callers that join the payloads (`runs`, `read_raw_recording`): the bytes are then
        copied once, by the join, instead of once more into a `bytes` per block. Such a
        block must not outlive the join (its view holds a read buffer of ``read_bytes``).
        """
        self._reset()
        try:
            f = open(self.path, "rb")
        except OSError as exc:
            raise _open_error(self.path, exc) from None
        with f:
            self.file_size = os.fstat(f.fileno()).st_size
            if self.header_damage is not None:  # read past (salvage); already in `damages`
                yield self.header_damage
            window = _Window(f, self._start, self.file_size, self.read_bytes)
            for item in self._scan(window):
                if isinstance(item, Damage):
                    self.damages.append(item)
                    if self.strict:
                        raise RecordingError(
                            f"{self.path}: {item.reason}; the recording is damaged and strict "
                            "reading refuses it", path=str(self.path), offset=item.offset)
                    yield item
                    continue
                buf, base, ref, repair = item
                pos, kind, sid, n_chunks, table_start, payload_start, end = ref
                self.n_blocks += 1
                offset = self.stream_bytes.get(sid, 0)
                wanted = stream_ids is None or sid in stream_ids
                if repair is None:
                    table = np.frombuffer(buf, dtype=_CHUNK_DTYPE, count=n_chunks,
                                          offset=table_start)
                else:
                    table = _repair_table(repair, end - payload_start,
                                          self.last_chunk_time_s.get(sid, 0.0))
                    n_chunks = len(table)
                times = table["host_time_s"]
                chunk_end = np.cumsum(table["byte_len"], dtype=np.int64)
                if kind == KIND_DATA:
                    self.stream_bytes[sid] = offset + end - payload_start
                    self.stream_chunks[sid] = self.stream_chunks.get(sid, 0) + n_chunks
                    if n_chunks:
                        self.last_chunk_time_s[sid] = float(times[-1])
                        self.max_time_s = max(self.max_time_s, float(times.max()))
                    if self.salvage and sid not in self._not_frames:
                        tail = self._tails.get(sid)
                        if tail is None:
                            tail = self._tails[sid] = _StreamTail()
                        tail.add(memoryview(buf)[payload_start:end], chunk_end, times)
                elif kind == KIND_EVENT:
                    record = _load_json(buf[payload_start:end])
                    record["host_time_s"] = float(times[0])
                    if sid != EVENT_STREAM_ID:
                        record["stream_offset"] = offset
                    self.events.append(record)
                    self.max_time_s = max(self.max_time_s, record["host_time_s"])
                else:
                    self.unknown_blocks += 1
                if wanted:
                    payload = (
                        cast(bytes, memoryview(buf)[payload_start:end])
                        if views
                        else buf[payload_start:end]
                    )
                    yield Block(
                        offset=base + pos,
                        kind=kind,
                        stream_id=sid,
                        chunk_time_s=times.astype(np.float64),
                        chunk_end=chunk_end,
                        payload=payload,
                        stream_offset=offset,
                    )
            self.complete = True

    def __iter__(self) -> Iterator[Block | Damage]:
        return self.blocks()

    def runs(
        self, *, run_bytes: int = _RUN_BYTES, stream_ids: Collection[int] | None = None
    ) -> Iterator[StreamRun | dict[str, Any] | Damage]:
        """Iterate over the recording as runs of stream bytes, events and damage: one pass.

        Consecutive data blocks of one stream are joined into a :class:`StreamRun` of about
        ``run_bytes`` (fewer calls for a consumer such as a decoder). A stream's runs come in
        its byte order; a run is handed out when it is full, before any event or damage (all
        pending runs, in the order of their first block) and at the end, so every event comes
        after the bytes of its stream that precede it in the file (a ``reconnect`` falls at
        the end of the runs handed out before it).

        Parameters
        ----------
        run_bytes : int, default 2 MiB
            Hand out a stream's run once it holds this many bytes.
        stream_ids : collection of int, optional
            Only these streams (and their events; 255 = recording-wide events).

        Yields
        ------
        StreamRun, dict or Damage
            Stream bytes with chunk ends and host times; events (as in :attr:`events`); damage.
        """
        pending: dict[int, list[Block]] = {}
        size: dict[int, int] = {}
        for item in self._blocks(stream_ids, views=True):
            if isinstance(item, Damage):
                yield from _flush_runs(pending, size)
                yield item
            elif item.kind == KIND_DATA:
                sid = item.stream_id
                pending.setdefault(sid, []).append(item)
                size[sid] = size.get(sid, 0) + len(item.payload)
                if size[sid] >= run_bytes:
                    yield _join_run(pending.pop(sid))
                    del size[sid]
            elif item.kind == KIND_EVENT:
                yield from _flush_runs(pending, size)
                yield self.events[-1]
        yield from _flush_runs(pending, size)

    # ---- scanning --------------------------------------------------------------------------

    def _scan(
        self, window: _Window
    ) -> Iterator[tuple[bytes, int, _BlockRef, np.ndarray | None] | Damage]:
        """Yield ``(buffer, base, ref, repair)`` for every block read, and the damage met.

        ``repair`` is None for a valid block; for a damaged block kept by salvage it is the
        block's chunk table as found (``byte_len`` all zero when the table is unusable), to be
        repaired by `_repair_table`, and the block comes right after its :class:`Damage`.
        """
        pos = self._start
        while pos < window.size:
            ref = self._block_at(window, pos)
            if not isinstance(ref, Damage):
                yield window.buf, window.base, ref, None
                pos = window.base + ref[6]
                continue
            if not self.salvage:
                yield ref
                return
            kept = self._keepable(window, pos, expected=True)
            if kept is not None:
                block, block_ref, repair, damage = kept
                yield damage
                yield block, pos, block_ref, repair
                pos += len(block)
                continue
            candidate = self._next_valid(window, pos + 1)
            if candidate is None:
                yield from self._to_the_end(window, pos, ref)
                return
            if ref.code == "truncated":  # a valid block follows, so its length field was corrupt
                ref = Damage(pos, f"corrupt block header at offset {pos} (its length runs past "
                             "the next valid block)", ref.bytes_after, "malformed")
            yield Damage(ref.offset, ref.reason, candidate - pos, ref.code)
            pos = candidate

    @staticmethod
    def _block_at(window: _Window, pos: int) -> _BlockRef | Damage:
        """Check the block at file offset ``pos`` (reading it whole into the window)."""
        i = window.ensure(pos, _BLOCK_HEAD.size)
        buf = window.buf
        if len(buf) - i >= _BLOCK_HEAD.size and buf[i:i + 4] == BLOCK_MAGIC:
            n_chunks, payload_len = _BLOCK_HEAD.unpack_from(buf, i)[3:5]
            need = _BLOCK_HEAD.size + n_chunks * _CHUNK_DTYPE.itemsize + payload_len
            if pos + need <= window.size:
                i = window.ensure(pos, need)
                buf = window.buf
        return _check_block(buf, memoryview(buf), i, base=window.base, size=window.size)

    def _next_valid(self, window: _Window, pos: int) -> int | None:
        """File offset of the next valid block at or after ``pos``, None if there is none."""
        while pos < window.size:
            i = window.ensure(pos, len(BLOCK_MAGIC))
            k = window.buf.find(BLOCK_MAGIC, i)
            if k == -1:
                have = window.base + len(window.buf)
                if have >= window.size:
                    return None
                pos = max(pos + 1, have - len(BLOCK_MAGIC) + 1)
                continue
            candidate = window.base + k
            if not isinstance(self._block_at(window, candidate), Damage):
                return candidate
            if self._keepable(window, candidate, expected=False) is not None:
                return candidate
            pos = candidate + 1
        return None

    def _missing_tail(
        self, torn: tuple[int, memoryview, np.ndarray, np.ndarray] | None = None
    ) -> tuple[MissingTail, ...]:
        """The insoles that end early in a file that ends inside a block (`MissingTail`).

        Parameters
        ----------
        torn : tuple, optional
            ``(stream id, payload, chunk ends, chunk times)`` of the chunks kept from the block
            in which the file ends, not yet met by the pass.
        """
        tails = dict(self._tails)
        if torn is not None:
            sid, payload, ends, times = torn
            if sid not in self._not_frames:
                tail = tails[sid] = self._tails.get(sid, _StreamTail()).copy()
                tail.add(payload, ends, times)
        return _missing_tails(tails)

    def _to_the_end(
        self, window: _Window, pos: int, ref: Damage
    ) -> Iterator[tuple[bytes, int, _BlockRef, None] | Damage]:
        """Damage at ``pos`` with no valid or keepable block after it: the end of the file.

        Where the file ends inside a data block whose header and chunk table are whole (at
        ``pos``, or after bytes skipped), that block's whole chunks are kept (`_torn`). A file
        that ends inside a block (code ``"truncated"``) gets `missing_tail`.
        """
        torn = self._find_torn(window, pos)
        if torn is None:
            yield _with_tail(ref, self._missing_tail()) if ref.code == "truncated" else ref
            return
        block, block_ref, damage = torn
        at = damage.offset
        if at > pos:
            if ref.code == "truncated":  # the block at `pos` claims bytes of the torn block
                ref = Damage(pos, f"corrupt block header at offset {pos} (its length runs past "
                             f"the block at offset {at})", ref.bytes_after, "malformed")
            yield Damage(ref.offset, ref.reason, at - pos, ref.code)
        _, _, sid, n_kept, table_start, payload_start, end = block_ref
        table = np.frombuffer(block, dtype=_CHUNK_DTYPE, count=n_kept, offset=table_start)
        yield _with_tail(damage, self._missing_tail(
            (sid, memoryview(block)[payload_start:end],
             np.cumsum(table["byte_len"], dtype=np.int64), table["host_time_s"])))
        yield block, at, block_ref, None

    def _find_torn(
        self, window: _Window, pos: int
    ) -> tuple[bytes, _BlockRef, Damage] | None:
        """The block in which the file ends, at or after ``pos``, if `_torn` keeps its chunks."""
        torn = self._torn(window, pos)
        while torn is None:
            i = window.ensure(pos + 1, len(BLOCK_MAGIC))
            k = window.buf.find(BLOCK_MAGIC, i)
            if k == -1:
                have = window.base + len(window.buf)
                if have >= window.size:
                    return None
                pos = max(pos + 1, have - len(BLOCK_MAGIC))
                continue
            pos = window.base + k
            torn = self._torn(window, pos)
        return torn

    def _torn(self, window: _Window, pos: int) -> tuple[bytes, _BlockRef, Damage] | None:
        """The whole chunks of a data block at ``pos`` in which the file ends, or None.

        The block's header and chunk table must lie wholly in the file, the payload not, and
        they must be plausible: the data kind, a known stream, chunk lengths that add up to
        the payload length. The chunks that end before the end of the file are then its bytes
        as received; the block CRC, which covers the whole block, cannot be checked (the wire
        frames carry their own CRC-16). Implausible chunk times are repaired as in a kept
        corrupt block (`_repair_table`).

        Returns
        -------
        tuple or None
            ``(block bytes: the header for the kept chunks, their table and payload; its ref;
            its damage, without `missing_tail`)``, or None where the file ends inside the
            header or the table, the block is implausible or no chunk of it is whole.
        """
        head = _BLOCK_HEAD.size
        i = window.ensure(pos, head)
        if len(window.buf) - i < head:
            return None
        magic, kind, sid, n_chunks, payload_len, crc = _BLOCK_HEAD.unpack_from(window.buf, i)
        table_len = n_chunks * _CHUNK_DTYPE.itemsize
        payload_at = pos + head + table_len
        if not (magic == BLOCK_MAGIC and kind == KIND_DATA and sid in self.stream_bytes
                and n_chunks and payload_at <= window.size < payload_at + payload_len):
            return None
        i = window.ensure(pos, head + table_len)
        if len(window.buf) - i < head + table_len:  # the file shrank while it was read
            return None
        table = np.frombuffer(window.buf, dtype=_CHUNK_DTYPE, count=n_chunks, offset=i + head)
        ends = np.cumsum(table["byte_len"], dtype=np.int64)
        if int(ends[-1]) != payload_len:
            return None
        n_kept = int(np.searchsorted(ends, window.size - payload_at, side="right"))
        if n_kept == 0:
            return None
        kept = int(ends[n_kept - 1])
        fixed = _repair_table(table[:n_kept], kept, self.last_chunk_time_s.get(sid, 0.0))
        i = window.ensure(payload_at, kept)
        payload = window.buf[i:i + kept]
        fields = struct.pack("<BBHI", kind, sid, n_kept, kept)
        block = BLOCK_MAGIC + fields + _U32.pack(crc) + fixed.tobytes() + payload
        ref = (0, kind, sid, n_kept, head, head + n_kept * _CHUNK_DTYPE.itemsize, len(block))
        return block, ref, Damage(
            pos, f"truncated block at offset {pos}: the file ends {window.size - pos} bytes "
            f"into its {head + table_len + payload_len} bytes, inside its payload (writer "
            f"killed mid-write, or the file cut short); kept the {n_kept} of its {n_chunks} "
            f"chunks of stream {sid} that end before the cut ({kept} of {payload_len} payload "
            "bytes), unchecked by the block CRC, which covers the whole block (each frame's own "
            "CRC-16 still checks them)", window.size - payload_at - kept, "truncated", kept)

    def _repair_header(
        self, window: _Window, pos: int
    ) -> tuple[bytes, _BlockRef, None, Damage] | None:
        """Repair the 16-byte header of the block at ``pos`` if its CRC says how, else None.

        The magic is not covered by the CRC, the other header fields are: a block whose magic,
        kind, stream id, chunk count or payload length is corrupt but whose table and payload
        are intact is recognised by trying the plausible values (data kind, the streams seen,
        the payload length the chunk table gives, the chunk counts that make the block end at
        the next magic or at the end of the file) until the CRC matches.
        """
        head = _BLOCK_HEAD.size
        i = window.ensure(pos, head)
        magic, kind, sid, n_chunks, payload_len, crc = _BLOCK_HEAD.unpack_from(window.buf, i)
        extents = [(n_chunks, payload_len)]
        table_len = n_chunks * _CHUNK_DTYPE.itemsize
        if pos + head + table_len <= window.size:
            i = window.ensure(pos, head + table_len)
            table = np.frombuffer(window.buf, dtype=_CHUNK_DTYPE, count=n_chunks,
                                  offset=i + head)
            extents.append((n_chunks, int(table["byte_len"].sum(dtype=np.int64))))
        # A corrupt chunk count: the block ends at one of the next magics, or at the file end.
        ends: list[int] = []
        if pos + head + payload_len <= window.size:
            span = min(window.size - pos, head + _MAX_CHUNKS_PER_BLOCK * _CHUNK_DTYPE.itemsize
                       + payload_len + len(BLOCK_MAGIC))
            i = window.ensure(pos, span)
            buf = window.buf
            ends = [window.size - pos] if window.size - pos <= span else []
            k = i + head
            while len(ends) < 8 and (k := buf.find(BLOCK_MAGIC, k, i + span)) != -1:
                ends.append(k - i)
                k += 1
        for end in ends:
            n, rest = divmod(end - head - payload_len, _CHUNK_DTYPE.itemsize)
            if rest == 0 and 0 <= n <= _MAX_CHUNKS_PER_BLOCK:
                extents.append((n, payload_len))
        candidates = dict.fromkeys([(kind, sid), *((KIND_DATA, s) for s in self.stream_bytes)])
        for n, length in dict.fromkeys(extents):
            size = head + n * _CHUNK_DTYPE.itemsize + length
            if length < 0 or pos + size > window.size:
                continue
            i = window.ensure(pos, size)
            body = memoryview(window.buf)[i + head:i + size]
            for k_kind, k_sid in candidates:
                fields = struct.pack("<BBHI", k_kind, k_sid, n, length)
                if crc32(body, crc32(fields)) != crc:
                    continue
                block = BLOCK_MAGIC + fields + struct.pack("<I", crc) + bytes(body)
                ref = _check_block(block, memoryview(block), 0, base=pos, size=pos + size)
                if isinstance(ref, Damage):
                    return None
                fixed = [name for name, was, now in (
                    ("magic", magic, BLOCK_MAGIC), ("kind", kind, k_kind),
                    ("stream id", sid, k_sid), ("chunk count", n_chunks, n),
                    ("payload length", payload_len, length)) if was != now]
                return block, ref, None, Damage(
                    pos, f"corrupt block header at offset {pos} ({', '.join(fixed)}), "
                    "repaired: its CRC matches the corrected header", 0,
                    "bad_magic" if fixed == ["magic"] else "crc", len(block))
        return None

    def _keepable(
        self, window: _Window, pos: int, *, expected: bool
    ) -> tuple[bytes, _BlockRef, np.ndarray | None, Damage] | None:
        """A damaged block at ``pos`` that salvage can keep, or None.

        Called for a block that `_block_at` refused. The block is kept when its extent is
        certain: its chunk lengths add up to its payload length, or it ends exactly at the
        file's end or at the next block's magic (both when its own magic is wrong, or when
        ``expected`` is false, i.e. when searching for a place to resume). A block whose only
        fault is its magic (the CRC does not cover it) is read as valid, whatever its kind;
        otherwise only data blocks of a known stream are kept, with their bytes as they are.

        Parameters
        ----------
        window : _Window
            The file window; ``pos`` must not lie before it.
        pos : int
            File offset of the block.
        expected : bool
            Whether a block must start at ``pos`` (it follows a block read whole); when false,
            ``pos`` is a candidate found by searching for the magic.

        Returns
        -------
        tuple or None
            ``(block bytes with the magic restored, ref in them, table to repair or None,
            damage to report)``.
        """
        head = _BLOCK_HEAD.size
        i = window.ensure(pos, head)
        buf = window.buf
        if len(buf) - i < head:
            return None
        magic, kind, sid, n_chunks, payload_len, crc = _BLOCK_HEAD.unpack_from(buf, i)
        magic_ok = magic == BLOCK_MAGIC
        if not (magic_ok or expected):
            return None
        repaired = self._repair_header(window, pos)
        if repaired is not None:
            return repaired
        table_len = n_chunks * _CHUNK_DTYPE.itemsize
        if pos + head + table_len > window.size:
            return None
        i = window.ensure(pos, head + table_len)
        table = np.frombuffer(window.buf, dtype=_CHUNK_DTYPE, count=n_chunks, offset=i + head)
        table_sum = int(table["byte_len"].sum(dtype=np.int64))
        for length in dict.fromkeys((payload_len, table_sum)):
            end = pos + head + table_len + length
            if end > window.size:
                continue
            i = window.ensure(pos, end - pos + len(BLOCK_MAGIC))
            buf = window.buf
            at_end = i + end - pos
            lands = end == window.size or buf[at_end:at_end + len(BLOCK_MAGIC)] == BLOCK_MAGIC
            adds_up = table_sum == length
            if length != payload_len or not (magic_ok and expected):
                certain = lands and adds_up
            else:
                certain = lands or adds_up
            if not certain:
                continue
            block = BLOCK_MAGIC + buf[i + len(BLOCK_MAGIC):at_end]
            if kind != KIND_DATA or sid not in self.stream_bytes or length == 0:
                return None
            repair = np.frombuffer(block, dtype=_CHUNK_DTYPE, count=n_chunks, offset=head)
            if not adds_up:
                repair = repair.copy()
                repair["byte_len"] = 0
            what = ["block CRC mismatch" if magic_ok else f"bad block magic {magic!r}"]
            if length != payload_len:
                what.append("its payload length field was corrupt")
            if not adds_up:
                what.append("its chunk table is damaged (its bytes are kept as one chunk)")
            ref = (0, kind, sid, n_chunks, head, head + table_len, len(block))
            return block, ref, repair, Damage(
                pos, f"{', '.join(what)} at offset {pos}: kept its {length} payload bytes "
                f"of stream {sid} (the frames' own CRC drops the corrupt ones)", 0, "crc",
                length)
        return None


def _join_run(blocks: list[Block]) -> StreamRun:
    """Join consecutive data blocks of one stream (their payloads may be memoryviews)."""
    first = blocks[0]
    if len(blocks) == 1:
        return StreamRun(first.stream_id, bytes(first.payload), first.chunk_end,
                         first.chunk_time_s, first.stream_offset)
    ends = [b.chunk_end + (b.stream_offset - first.stream_offset) for b in blocks]
    return StreamRun(
        first.stream_id,
        b"".join(b.payload for b in blocks),
        np.concatenate(ends),
        np.concatenate([b.chunk_time_s for b in blocks]),
        first.stream_offset,
    )


def _flush_runs(pending: dict[int, list[Block]], size: dict[int, int]) -> Iterator[StreamRun]:
    """Hand out every pending run, in the order of their first block."""
    for sid in list(pending):
        yield _join_run(pending.pop(sid))
    size.clear()


_TIME_SLACK_S = 1.0
"""How far a kept damaged block's chunk time may lie from the median of its neighbours [s]."""


def _repair_table(table: np.ndarray, payload_len: int, previous_s: float) -> np.ndarray:
    """The chunk table of a damaged block that salvage kept, with plausible host times.

    A time is implausible when it is not finite, lies before the stream's previous chunk, or
    lies more than `_TIME_SLACK_S` from the median of the five chunks around it (a bit flip in
    an exponent); it takes the time of the chunk before it. A table whose lengths do not add up
    (all ``byte_len`` zero, see `BlockReader._keepable`) becomes one chunk holding the whole
    payload, at the latest plausible time.

    Parameters
    ----------
    table : numpy.ndarray of the chunk-table dtype
        The table as found in the file.
    payload_len : int
        The block's payload length.
    previous_s : float
        Host time of the stream's last chunk before the block [s].

    Returns
    -------
    numpy.ndarray of the chunk-table dtype
        The repaired table (a new array).
    """
    times = table["host_time_s"].astype(np.float64)
    ok = np.isfinite(times) & (times >= previous_s)
    if len(times) >= 3:
        padded = np.pad(np.where(np.isfinite(times), times, np.nan), 2, mode="edge")
        with warnings.catch_warnings():  # a window of NaN only: no median, time refused
            warnings.simplefilter("ignore", RuntimeWarning)
            local = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)
        ok &= np.abs(times - local) <= _TIME_SLACK_S
    fill = np.maximum.accumulate(np.where(ok, np.arange(len(times)), -1))
    times = np.where(fill >= 0, times[np.maximum(fill, 0)], previous_s)
    if int(table["byte_len"].sum(dtype=np.int64)) != payload_len:
        out = np.zeros(1, dtype=_CHUNK_DTYPE)
        out["host_time_s"] = times.max(initial=previous_s)
        out["byte_len"] = payload_len
        return out
    out = table.copy()
    out["host_time_s"] = times
    return out


_TAIL_BYTES = 8192
"""Bytes kept of the end of each stream to find its insoles' last frames (`_missing_tails`).

Several frames of the largest size (1024 bytes, SPEC §1), so that the last frame of every
insole of a stream carrying two (a serial link) lies in them.
"""


class _StreamTail:
    """The last `_TAIL_BYTES` (or a little more) of a stream, with their chunks' ends and times.

    Fed block by block (`BlockReader._blocks`, with salvage): the last blocks of each stream
    whose payloads hold `_TAIL_BYTES`, whatever the length of the recording. They are kept as
    the reader gave them (views of its read buffers, which are never written to: at most a
    few buffers per stream stay alive) and cut and joined only where a cut needs them
    (`joined`): every block of every salvaged read passes here, and copying its tail cost
    about a quarter of the reading (`bench/analyze_speed.py`, 2026-12-07).
    """

    __slots__ = ("pieces", "n_bytes")

    def __init__(self) -> None:
        # (bytes, end of each chunk in them, its host time), oldest first
        self.pieces: list[tuple[bytes | memoryview, np.ndarray, np.ndarray]] = []
        self.n_bytes = 0

    def copy(self) -> _StreamTail:
        """A copy that can be fed on its own (the pieces are shared, never changed)."""
        out = _StreamTail()
        out.pieces = list(self.pieces)
        out.n_bytes = self.n_bytes
        return out

    def add(self, payload: bytes | memoryview, chunk_end: np.ndarray, times: np.ndarray) -> None:
        """Append a block's payload (``chunk_end``: its chunks' cumulative ends in it)."""
        n = len(payload)
        if not n:
            return
        self.pieces.append((payload, chunk_end, times))
        self.n_bytes += n
        while self.n_bytes - len(self.pieces[0][0]) >= _TAIL_BYTES:
            self.n_bytes -= len(self.pieces.pop(0)[0])

    def joined(self) -> tuple[bytes, np.ndarray, np.ndarray]:
        """The last `_TAIL_BYTES` or a little more, the end of each chunk in them and its time.

        The first piece is cut where its chunk that holds the `_TAIL_BYTES`-th last byte begins
        (its earlier chunks are not needed; the frame cut there is dropped by the decoder).
        """
        data, ends, times = [], [], []
        shift = 0
        for i, (d, e, t) in enumerate(self.pieces):
            e = np.asarray(e, dtype=np.int64)
            t = np.asarray(t, dtype=np.float64)
            if i == 0:
                cut = max(0, len(d) - max(0, _TAIL_BYTES - (self.n_bytes - len(d))))
                first = int(np.searchsorted(e, cut, side="right"))
                start = int(e[first - 1]) if first else 0
                d, e, t = d[start:], e[first:] - start, t[first:]
            data.append(bytes(d))
            ends.append(e + shift)
            times.append(t)
            shift += len(d)
        return (b"".join(data), np.concatenate([np.zeros(0, np.int64), *ends]),
                np.concatenate([np.zeros(0, np.float64), *times]))


def _missing_tails(tails: Mapping[int, _StreamTail]) -> tuple[MissingTail, ...]:
    """The insoles whose last frame comes `TAIL_MIN_S` or more before another insole's.

    Each stream's last bytes are decoded (`firmware_protocol.StreamDecoder`; the frame cut by
    where they begin is dropped); a frame's host time is that of the chunk holding its last
    byte, as `insole.recordings.loader` gives it (``recordings/FORMAT.md`` §3).
    """
    last: dict[tuple[int, int], tuple[float, int]] = {}  # (device, side) -> (time, stream)
    for sid, tail in tails.items():
        data, ends, times = tail.joined()
        if not len(ends):
            continue
        frames = StreamDecoder().feed_table(data)
        if not len(frames):
            continue
        chunk = np.minimum(np.searchsorted(ends, frames.wire_end - 1, side="right"),
                           len(ends) - 1)
        frame_s = times[chunk]
        for dev_id, side in frames.devices():
            mine = (frames.device_id == dev_id) & (frames.side == int(side))
            t = float(frame_s[mine].max())
            key = (dev_id, int(side))
            if key not in last or t > last[key][0]:
                last[key] = (t, sid)
    if len(last) < 2:
        return ()
    sides = [Side(side).label for _, side in last]

    def name(key: tuple[int, int]) -> str:
        label = Side(key[1]).label
        return label if sides.count(label) == 1 else f"{label} {key[0]:#06x}"

    latest = max(last, key=lambda k: last[k][0])
    end_s = last[latest][0]
    out = [
        MissingTail(Side(side).label, dev_id, sid, t, end_s - t, name(latest),
                    name((dev_id, side)))
        for (dev_id, side), (t, sid) in last.items()
        if end_s - t >= TAIL_MIN_S
    ]
    out.sort(key=lambda m: (m.side != "left", m.device_id))
    return tuple(out)


def _with_tail(damage: Damage, tails: tuple[MissingTail, ...]) -> Damage:
    """`damage` (the file ends inside its block) with the insoles that end early, if any.

    They are added to its reason as ``"right ends 9.3 s before left: the recording was cut"``
    (several joined by commas) and set as its `missing_tail`.
    """
    if not tails:
        return damage
    said = ", ".join(f"{t.name} ends {t.ends_before_s:.1f} s before {t.before}" for t in tails)
    return replace(damage, reason=f"{damage.reason}; {said}: the recording was cut",
                   missing_tail=tails)


def read_header(path: str | os.PathLike[str], *, salvage: bool = False) -> dict[str, Any]:
    """Read and check only the header of a recording.

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    salvage : bool, default False
        Read a header whose CRC fails all the same, as :class:`BlockReader` does with
        ``salvage`` (repaired, or its JSON as read; ``recordings/FORMAT.md`` §4.1).

    Returns
    -------
    dict
        The header JSON.

    Raises
    ------
    RecordingError
        If the file is missing, not a recording, of an unsupported version, or its header is
        damaged (with ``salvage``: beyond repair).
    """
    p = Path(path)
    header, _, _, damage = _read_head(p)
    if damage is not None and not salvage:
        raise _header_refused(p, damage, strict=False)
    return header


def read_raw_recording(
    path: str | os.PathLike[str], *, salvage: bool = False
) -> RawRecording:
    """Read a recording: header, every stream's bytes and chunk times, events, and damage.

    Reading stops at the first damaged block and reports where (:attr:`RawRecording.damage`):
    a killed writer leaves a truncated last block, everything before it is returned.

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    salvage : bool, default False
        After damage, search for the next valid block (its ``IBLK`` magic and CRC) and continue
        from there; every skipped region is listed in :attr:`RawRecording.damages`. Bytes of
        a stream lost in a skipped region simply are missing (the decoder sees a gap).

    Returns
    -------
    RawRecording
        The undecoded recording.

    Raises
    ------
    RecordingError
        If the file is missing, empty, not a recording, of an unsupported format version, or
        its header is damaged (with ``salvage``: beyond repair, see :class:`BlockReader`).
        Damage after the header never raises.

    Notes
    -----
    All stream bytes are held in memory (about the file size, and twice that while the
    payloads are joined). For long recordings, process the file block by block with
    :class:`BlockReader` instead, as analysis, replay and the loader do.
    """
    reader = BlockReader(path, salvage=salvage)
    payloads: dict[int, list[bytes]] = {}
    ends: dict[int, list[np.ndarray]] = {}
    times: dict[int, list[np.ndarray]] = {}
    for item in reader.blocks():
        if isinstance(item, Damage) or item.kind != KIND_DATA:
            continue
        sid = item.stream_id
        payloads.setdefault(sid, []).append(item.payload)
        ends.setdefault(sid, []).append(item.chunk_end + item.stream_offset)
        times.setdefault(sid, []).append(item.chunk_time_s)
    streams = {}
    for sid in reader.stream_ids:
        streams[sid] = RawStream(
            stream_id=sid,
            data=b"".join(payloads.pop(sid, [])),
            chunk_end=np.concatenate(ends.get(sid) or [np.zeros(0, np.int64)]),
            chunk_time_s=np.concatenate(times.get(sid) or [np.zeros(0, np.float64)]),
        )
    return RawRecording(
        path=reader.path, header=reader.header, streams=streams, events=reader.events,
        damage=reader.damage, file_size=reader.file_size, damages=reader.damages,
        n_blocks=reader.n_blocks, unknown_blocks=reader.unknown_blocks,
    )


def iter_blocks(
    path: str | os.PathLike[str], *, salvage: bool = False
) -> Iterator[Block | Damage]:
    """Iterate over the blocks of a recording in file order, in bounded memory.

    The header is read (and checked) when this function is called; the returned iterator then
    reads the file a few MiB at a time and yields a :class:`Block` for every valid block and a
    :class:`Damage` where reading stops (or, with ``salvage``, where bytes are skipped). Blocks
    of different streams interleave in file order, which the writer keeps close to time order
    (each flush writes its blocks sorted by their first chunk time); a replay needing exact
    order merges the chunks by ``chunk_time_s``. Same as ``BlockReader(path).blocks()``.

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    salvage : bool, default False
        Continue after damage at the next valid block (see :func:`read_raw_recording`).

    Returns
    -------
    iterator of Block or Damage
        Blocks in file order, with damage where it is met.

    Raises
    ------
    RecordingError
        If the file cannot be opened or its header is damaged (with ``salvage``: beyond
        repair; raised by this call, before iteration starts).
    """
    return BlockReader(path, salvage=salvage).blocks()
