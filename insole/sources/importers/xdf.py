"""Reader and importer for XDF files holding insole streams (``insole import xdf FILE``).

A lab records the insoles with EEG, EMG or motion capture by running ``insole live SOURCE
--lsl`` (`insole.live.lsl`) next to LabRecorder, which writes every selected Lab Streaming Layer
stream into one XDF file (https://github.com/sccn/xdf). This module reads such a file with
``pyxdf`` (the ``formats`` extra) and turns its insole streams back into an ordinary recording,
so the steps are analysed here exactly as for a recording made directly:

- an **insole stream** is one of type ``Pressure`` whose description has an ``<insole>`` node
  with ``kind`` = ``pressure`` (what `insole.live.lsl.LslPublisher` writes): the side, the device id
  and the sensor layout (``layout_json``; else the channels' ``location`` and ``area_mm2``;
  else the generic layout) come from there; the channels are pressures in kPa (``a.u.`` when
  the insoles were not calibrated: stored as relative force). A stream named ``insole left`` /
  ``insole right`` without the description is read with the generic layout;
- the **marker stream** (``insole events``: ``heel_strike/<side>``, ``toe_off/<side>``,
  ``heel_strike_retracted/<side>``) is kept
  in the header (``extra.import.markers``, times on the recording's time axis);
- every **other stream** (EEG, EMG, ...) is listed in ``extra.import.other_streams`` (name, type,
  channels, rate, samples), with ``extra.import.time_origin_lsl_s``: the recorder-clock time of
  the recording's time 0, to line the steps up with those streams.

Times are the XDF timestamps after pyxdf's clock synchronisation (the ClockOffset chunks put
every stream on the recording computer's clock); they are used as they are (no dejittering:
`insole.live.lsl` already stamps samples from a smooth clock map). A lost sample was published as a
row of NaN and is stored as the invalid count.

A damaged file is refused with one line naming the byte offset when a count in it (a chunk's
length, a stream's channels, a Samples chunk's samples) does not fit in the bytes that are
there: pyxdf would reserve memory for it first (`_check_chunks`). A file cut off mid-chunk (the
recorder killed) is not damage: what is there is read.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
from numpy.typing import NDArray

from insole.core.layouts import DEFAULT_FOOT_LENGTH_MM, LayoutError, SensorLayout, default_layout
from insole.sources.importers import ImportFormatError, existing_file
from insole.sources.importers.convert import ImportedDevice, ImportResult, write_devices

__all__ = ["XdfContents", "XdfInsole", "import_xdf", "read_xdf"]

_MAGIC = b"XDF:"
_INSTALL_HINT = "pip install 'insole[formats]'"


@dataclass
class XdfInsole:
    """One insole stream read from an XDF file.

    An item of `XdfContents.insoles`.

    Attributes
    ----------
    side : str
        ``"left"`` or ``"right"``.
    device_id : int
        Device id (from the description, else the stream's position).
    name, source_id : str
        The stream's name and source id.
    sample_rate_hz : float
        Nominal rate.
    time_s : ndarray of float64, shape (n_samples,)
        Timestamps on the recording computer's LSL clock [s].
    values : ndarray of float64, shape (n_samples, n_sensors)
        Pressures in kPa (``unit == "kPa"``) or relative force (``"counts"``); NaN for lost
        samples.
    unit : str
        ``"kPa"`` or ``"counts"``.
    layout : SensorLayout
        Sensor positions and areas.
    layout_source : str
        ``"layout_json"``, ``"channels"`` or ``"generic"``.
    """

    side: str
    device_id: int
    name: str
    source_id: str
    sample_rate_hz: float
    time_s: NDArray[np.float64]
    values: NDArray[np.float64]
    unit: str
    layout: SensorLayout
    layout_source: str


@dataclass
class XdfContents:
    """What `read_xdf` found.

    Attributes
    ----------
    insoles : list of XdfInsole
        The insole streams with samples.
    markers : list of (float, str)
        Markers of the insole event streams: ``(LSL time [s], marker)``, in time order.
    other_streams : list of dict
        Every other stream: ``name``, ``type``, ``channel_count``, ``nominal_srate``,
        ``samples``, ``source_id``.
    problems : list of str
        What pyxdf reported while reading (a chopped-off file, a damaged chunk skipped).
    datetime : str or None
        The file header's ``datetime`` (LabRecorder writes the recording start), if any.
    """

    insoles: list[XdfInsole] = field(default_factory=list)
    markers: list[tuple[float, str]] = field(default_factory=list)
    other_streams: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    datetime: str | None = None


class _Collect(logging.Handler):
    """Keep pyxdf's log messages (warnings and errors) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        self.messages.append(text)
        if record.levelno >= logging.ERROR:
            self.errors.append(text)


def _first(node: Any, *path: str) -> Any:
    """``node[path[0]][0][path[1]][0]...`` of pyxdf's dict-of-lists XML, or None."""
    for key in path:
        if not isinstance(node, dict):
            return None
        items = node.get(key)
        if not items:
            return None
        node = items[0]
    return node


def _text(node: Any, *path: str, default: str = "") -> str:
    value = _first(node, *path)
    return value.strip() if isinstance(value, str) else default


def _load(p: Path) -> tuple[list[dict[str, Any]], dict[str, Any], _Collect]:
    """Load with pyxdf: streams, file header and its log messages (or a one-line error)."""
    try:
        import pyxdf
    except ImportError as exc:
        raise ImportFormatError(
            f"reading XDF files needs the pyxdf package ({exc}); install it with: "
            f"{_INSTALL_HINT}", path=p) from None
    log = logging.getLogger("pyxdf.pyxdf")
    handler = _Collect()
    old = log.propagate, log.level
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.WARNING)
    try:
        streams, header = pyxdf.load_xdf(
            os.fspath(p), synchronize_clocks=True, dejitter_timestamps=False
        )
    except Exception as exc:  # pyxdf raises anything from struct.error to bare Exception
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ImportFormatError(
            f"XDF file {str(p)!r} cannot be read ({type(exc).__name__}: {text}); the file is "
            "damaged or not an XDF file", path=p) from None
    finally:
        log.removeHandler(handler)
        log.propagate = old[0]
        log.setLevel(old[1])
    return list(streams), header if isinstance(header, dict) else {}, handler


# --- structure check before pyxdf -------------------------------------------------------------
#
# pyxdf allocates from numbers in the file before it reads the bytes they describe: a Samples
# chunk's sample count sizes its timestamp and value arrays (string streams: one Python list
# per sample, at once), a stream header's channel_count sizes a read buffer, and a chunk's
# length sizes ``f.read`` (which reserves the whole length first). A damaged file can ask for
# terabytes. `_check_chunks` walks the chunks exactly as pyxdf will (where pyxdf skips to the
# next boundary chunk after damage, so does the walk) and refuses a file in which one of those
# numbers does not fit in the bytes that are there.

#: pyxdf's ``_scan_forward`` looks for this 16-byte boundary-chunk UUID to resynchronise.
_BOUNDARY = bytes.fromhex("43a546dccbf5410fb30ed5467383cbe4")
_SCAN_BLOCK = 1 << 20
#: Bytes per value of each channel_format (0: string, a length-prefixed byte string).
_VALUE_BYTES = {"double64": 8, "float32": 4, "int64": 8, "int32": 4, "int16": 2, "int8": 1,
                "string": 0}
#: Most channels a stream may declare (pyxdf reserves a buffer of one sample per chunk).
_MAX_CHANNELS = 1 << 20
#: Most a chunk cut off by the end of the file (LabRecorder killed mid-write) may declare, and
#: most pyxdf may reserve for its samples; a longer chunk running past the end is damage.
_MAX_CUT_BYTES = 1 << 28
#: Chunk tag -> fewest bytes of length (tag, stream id, fixed fields).
_MIN_LENGTH = {1: 2, 2: 6, 3: 6, 4: 22, 6: 6}


class _Damaged(Exception):
    """A structural problem at a byte offset (turned into an ImportFormatError)."""

    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset


def _scan_forward(f: Any) -> bool:
    """Skip past the next boundary UUID, searched per 1 MiB block (as pyxdf recovers)."""
    while True:
        pos = f.tell()
        block = f.read(_SCAN_BLOCK)
        hit = block.find(_BOUNDARY)
        if hit != -1:
            f.seek(pos + hit + len(_BOUNDARY))
            return True
        if len(block) < _SCAN_BLOCK:
            return False


def _stream_shape(xml: bytes) -> tuple[int, int] | None:
    """(channels, bytes per value) from a StreamHeader, or None where pyxdf fails on it too."""
    try:
        root = ElementTree.fromstring(xml.decode("utf-8", "replace"))
    except (ElementTree.ParseError, ValueError):
        return None
    if root.tag != "info":
        return None
    count, fmt = root.find("channel_count"), root.find("channel_format")
    if count is None or len(count) or fmt is None or len(fmt) or fmt.text not in _VALUE_BYTES:
        return None
    try:
        n = int(count.text)  # type: ignore[arg-type]  # None fails as in pyxdf
    except (TypeError, ValueError):
        return None
    return n, _VALUE_BYTES[fmt.text]


def _walk_samples(buf: bytes, n: int, channels: int, width: int, base: int) -> int | None:
    """Bytes pyxdf reads for ``n`` samples at the start of ``buf``; None if they run past it.

    ``base`` is the file offset of ``buf`` (for messages).
    """
    end = len(buf)
    off = 0
    if width:  # numeric: [0 | 8 + double] then channels * width bytes
        stride = channels * width
        if n * (9 + stride) == end and np.frombuffer(buf, np.uint8)[:: 9 + stride].all():
            return end  # every sample time-stamped, as LabRecorder writes
        for _ in range(n):
            if off >= end:
                return None
            off += (9 if buf[off] else 1) + stride
        return off if off <= end else None
    for _ in range(n):  # strings: [0 | 8 + double] then per channel a length and the bytes
        if off >= end:
            return None
        off += 9 if buf[off] else 1
        for _ in range(channels):
            if off >= end:
                return None
            nb = buf[off]
            if nb not in (1, 4, 8):
                raise _Damaged(base + off, f"a string value's length field says {nb} bytes "
                               "(1, 4 or 8)")
            if off + 1 + nb > end:
                return None
            off += 1 + nb + int.from_bytes(buf[off + 1:off + 1 + nb], "little")
            if off > end:
                return None
    return off


def _check_chunks(p: Path) -> None:
    """Refuse an XDF file whose chunk structure would make pyxdf allocate without bound.

    Raises
    ------
    ImportFormatError
        Naming the byte offset of the first chunk whose length, channel count or sample
        count does not fit in the file.
    """
    size = p.stat().st_size
    streams: dict[int, tuple[int, int]] = {}
    try:
        with open(p, "rb") as f:
            f.seek(len(_MAGIC))
            while _check_chunk(f, size, streams):
                pass
    except _Damaged as exc:
        raise ImportFormatError(
            f"XDF file {str(p)!r} is damaged at byte {exc.offset}: {exc}; the file cannot be "
            "read safely (re-export it, or cut it before that byte)", path=p) from None


def _check_chunk(f: Any, size: int, streams: dict[int, tuple[int, int]]) -> bool:
    """Check the chunk at ``f``'s position and move past it as pyxdf does; False at the end."""
    start = f.tell()
    head = f.read(1)
    if not head:
        return False
    nb = head[0]
    raw = f.read(nb) if nb in (1, 4, 8) else b""
    if nb not in (1, 4, 8):  # pyxdf: unreadable length, skip to the next boundary chunk
        if not f.read(1):
            return False
        f.seek(start + 1)
        return _scan_forward(f)
    if len(raw) < nb:
        return False  # pyxdf stops at the end of the file
    length = int.from_bytes(raw, "little")
    body = f.tell()
    end = body + length
    tag_bytes = f.read(2)
    if len(tag_bytes) < 2:
        return False  # pyxdf fails on the missing tag: a one-line error from _load
    tag = int.from_bytes(tag_bytes, "little")
    what = f"chunk (tag {tag}) of {length} bytes"
    if length < _MIN_LENGTH.get(tag, 2):
        raise _Damaged(start, f"{what} is shorter than its fixed fields")
    if end > size and length > _MAX_CUT_BYTES:
        raise _Damaged(start, f"{what} runs past the end of the file ({size} bytes)")
    stream_id = -1
    if tag in (2, 3, 4, 6):
        sid = f.read(4)
        if len(sid) < 4:
            return False  # only at the end of the file
        stream_id = int.from_bytes(sid, "little")
    if tag == 2:
        shape = _stream_shape(f.read(length - 6))
        if shape is None:
            return False  # pyxdf fails on this header: a one-line error from _load
        if not 0 <= shape[0] <= _MAX_CHANNELS:
            raise _Damaged(start, f"stream header declares {shape[0]} channels (0 .. "
                           f"{_MAX_CHANNELS})")
        streams[stream_id] = shape
        return True
    if tag == 3:
        return _check_samples(f, start, end, size, streams.get(stream_id))
    if tag == 4:
        if stream_id not in streams or len(f.read(16)) < 16:
            return False  # pyxdf fails: a one-line error from _load
        return True
    f.seek(min(end, size))  # file header, footer, boundary, unknown: read whole
    return True


def _check_samples(f: Any, start: int, end: int, size: int,
                   shape: tuple[int, int] | None) -> bool:
    if shape is None:  # pyxdf: samples of an unknown stream, skip to the next boundary
        _scan_forward(f)
        return True
    nb_b = f.read(1)
    if not nb_b:
        return False
    nb = nb_b[0]
    if nb not in (1, 4, 8):  # pyxdf: damaged count, skip to the next boundary
        _scan_forward(f)
        return True
    raw = f.read(nb)
    if len(raw) < nb:
        return False
    n = int.from_bytes(raw, "little")
    channels, width = shape
    per_sample = 1 + (channels * width if width else 2 * channels)
    room = end - f.tell()
    if n * per_sample > room:
        raise _Damaged(start, f"Samples chunk of {end - start} bytes declares {n} samples of "
                       f"at least {per_sample} bytes each")
    cut = end > size
    reserve = n * (8 + (channels * width if width else 72 + 8 * channels))
    if cut and reserve > _MAX_CUT_BYTES:
        raise _Damaged(start, f"Samples chunk cut off by the end of the file declares {n} "
                       "samples")
    data_at = f.tell()
    used = _walk_samples(f.read(min(end, size) - data_at), n, channels, width, data_at)
    if used is None:
        if cut:
            return False  # pyxdf drops the chunk at the end of the file
        raise _Damaged(start, f"the {n} samples of the Samples chunk run past its end")
    f.seek(data_at + used)
    return True


def _layout(desc: Any, n: int, where: str, p: Path) -> tuple[SensorLayout, str]:
    """Sensor layout of an insole stream: layout_json, else channel locations, else generic."""
    raw = _text(desc, "insole", "layout_json")
    try:
        if raw:
            layout = SensorLayout.from_json(json.loads(raw))
            source = "layout_json"
        else:
            chans = (_first(desc, "channels") or {}).get("channel") or []
            try:
                x = [float(_text(c, "location", "X")) for c in chans]
                y = [float(_text(c, "location", "Y")) for c in chans]
                area = [float(_text(c, "area_mm2")) for c in chans]
                region = [_text(c, "region") for c in chans]
                foot = float(_text(desc, "insole", "foot_length_mm") or DEFAULT_FOOT_LENGTH_MM)
            except ValueError:
                chans = []
            if chans and len(chans) == n:
                layout = SensorLayout("xdf", foot, np.array(x), np.array(y), np.array(area),
                                      tuple(region))
                source = "channels"
            else:
                layout = default_layout(n)
                source = "generic"
    except (LayoutError, ValueError, TypeError) as exc:
        raise ImportFormatError(
            f"XDF file {str(p)!r}: {where}: the sensor layout in the description is invalid "
            f"({exc})", path=p) from None
    if layout.n_sensors != n:
        raise ImportFormatError(
            f"XDF file {str(p)!r}: {where} has {n} channels but its layout {layout.n_sensors} "
            "sensors", path=p)
    return layout, source


def _is_insole(info: dict[str, Any]) -> bool:
    if _text(info, "desc", "insole", "kind") == "pressure":
        return True
    name = _text(info, "name").lower()
    return _text(info, "type") == "Pressure" and name in ("insole left", "insole right")


def _is_events(info: dict[str, Any]) -> bool:
    return (_text(info, "desc", "insole", "kind") == "events"
            or _text(info, "name") == "insole events")


def read_xdf(path: str | os.PathLike[str]) -> XdfContents:
    """Read the insole streams, the insole markers and a list of the other streams.

    Parameters
    ----------
    path : path-like
        The ``.xdf`` file (as LabRecorder writes it).

    Returns
    -------
    XdfContents
        What the file holds.

    Raises
    ------
    ImportFormatError
        If the file is missing, not an XDF file, damaged beyond reading, holds no insole
        stream with samples, or an insole stream is malformed (side, channels, rate, times).
    """
    p = existing_file(path, "XDF file", "an .xdf file (LabRecorder)", "*.xdf")
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic != _MAGIC:
        raise ImportFormatError(
            f"XDF file {str(p)!r} does not start with 'XDF:' ({magic!r}); give a file written "
            "by LabRecorder (.xdf; .xdfz must be uncompressed first)", path=p)
    _check_chunks(p)
    streams, header, log = _load(p)
    problems = log.messages
    out = XdfContents(problems=problems)
    out.datetime = _text(header, "info", "datetime") or None
    seen: set[tuple[int, str]] = set()
    for k, stream in enumerate(streams):
        info = stream.get("info") or {}
        name = _text(info, "name")
        where = f"stream {name!r}"
        ts = np.asarray(stream.get("time_stamps", []), np.float64).ravel()
        if _is_events(info):
            series = stream.get("time_series") or []
            for t, row in zip(ts.tolist(), series, strict=False):
                marker = str(row[0]) if len(row) else ""
                if math.isfinite(t) and marker:
                    out.markers.append((float(t), marker))
            continue
        if not _is_insole(info):
            out.other_streams.append({
                "name": name,
                "type": _text(info, "type"),
                "channel_count": int(float(_text(info, "channel_count") or 0)),
                "nominal_srate": float(_text(info, "nominal_srate") or 0.0),
                "samples": int(len(ts)),
                "source_id": _text(info, "source_id"),
            })
            continue
        if len(ts) == 0:
            problems.append(f"{where} holds no samples")
            continue
        desc = _first(info, "desc")
        side = _text(desc, "insole", "side") or name.split()[-1].lower()
        if side not in ("left", "right"):
            raise ImportFormatError(
                f"XDF file {str(p)!r}: {where} does not say which foot it is (no <insole><side> "
                "left|right)", path=p)
        try:
            srate = float(_text(info, "nominal_srate"))
            n_ch = int(float(_text(info, "channel_count")))
        except ValueError:
            srate, n_ch = math.nan, 0
        if not (math.isfinite(srate) and srate > 0):
            raise ImportFormatError(
                f"XDF file {str(p)!r}: {where} has no regular sampling rate (nominal_srate "
                f"{_text(info, 'nominal_srate')!r})", path=p)
        try:
            values = np.asarray(stream.get("time_series"), np.float64)
        except (TypeError, ValueError):
            raise ImportFormatError(
                f"XDF file {str(p)!r}: {where} does not hold numbers", path=p) from None
        if values.ndim != 2 or values.shape != (len(ts), n_ch) or n_ch < 1:
            raise ImportFormatError(
                f"XDF file {str(p)!r}: {where} holds samples of shape {values.shape} but "
                f"declares {n_ch} channels and has {len(ts)} timestamps", path=p)
        layout, layout_source = _layout(desc, n_ch, where, p)
        try:
            device_id = int(_text(desc, "insole", "device_id") or k)
        except ValueError:
            device_id = k
        if not 0 <= device_id <= 0xFFFF or (device_id, side) in seen:
            device_id = k
        seen.add((device_id, side))
        unit_text = _text((((_first(desc, "channels") or {}).get("channel")) or [{}])[0], "unit")
        calibrated = _text(desc, "insole", "calibrated", default="true") != "false"
        if calibrated and unit_text in ("", "kPa"):
            unit = "kPa"
        else:  # relative pressure back to relative force per sensor
            unit = "counts"
            values = values * (layout.area_mm2 / 1000.0)
        out.insoles.append(XdfInsole(
            side=side, device_id=device_id, name=name, source_id=_text(info, "source_id"),
            sample_rate_hz=srate, time_s=ts, values=values, unit=unit, layout=layout,
            layout_source=layout_source,
        ))
    if not out.insoles:
        found = ", ".join(f"{s['name']!r} ({s['type']})" for s in out.other_streams) or "none"
        extra = f"; pyxdf reported: {log.errors[0]}" if log.errors else ""
        raise ImportFormatError(
            f"XDF file {str(p)!r} holds no insole stream with samples (type 'Pressure' with an "
            f"<insole> description, as 'insole live --lsl' publishes); streams found: "
            f"{found}{extra}", path=p)
    out.markers.sort()
    return out


def _start_time(text: str | None) -> datetime | None:
    if not text:
        return None
    for candidate in (text, text.replace(" ", "T")):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def import_xdf(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import the insole streams of an XDF file as a recording.

    `read_xdf` reads the file; each insole stream becomes a device, and the markers and the
    other streams are listed in ``extra.import``.

    Parameters
    ----------
    path, out : path-like
        The ``.xdf`` file and the recording to write.
    start : datetime, optional
        Wall-clock time of the first sample; default the file header's ``datetime`` (the
        recording start LabRecorder wrote; streams may start a little later), else now.
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is malformed (see `read_xdf`) or its insole streams have different rates.
    """
    p = Path(path)
    xdf = read_xdf(p)
    rates = sorted({round(s.sample_rate_hz, 9) for s in xdf.insoles})
    if len(rates) > 1:
        raise ImportFormatError(
            f"XDF file {str(p)!r}: the insole streams have different rates "
            f"({', '.join(f'{r:g}' for r in rates)} Hz); a recording has one rate", path=p)
    t0 = min(float(s.time_s[0]) for s in xdf.insoles)
    devices = [
        ImportedDevice(
            side=s.side,
            values=s.values,
            time_s=s.time_s,
            layout=s.layout,
            unit=s.unit,
            columns=[f"{s.name} ch{i + 1}" for i in range(s.layout.n_sensors)],
            device_id=s.device_id,
            label=f"xdf {s.name}",
            info={"stream": s.name, "source_id": s.source_id,
                  "layout_source": s.layout_source},
        )
        for s in xdf.insoles
    ]
    counts: dict[str, int] = {}
    for _, marker in xdf.markers:
        counts[marker] = counts.get(marker, 0) + 1
    info = {
        "time_origin_lsl_s": t0,
        "markers": [[round(t - t0, 6), m] for t, m in xdf.markers],
        "marker_counts": counts,
        "other_streams": xdf.other_streams,
        "problems": xdf.problems,
    }
    header_start = _start_time(xdf.datetime) if start is None else None
    return write_devices(out, p, devices, fmt="xdf", sample_rate_hz=float(rates[0]), info=info,
                         start=start, file_start=header_start, overwrite=overwrite)
