"""A small XDF writer for tests (pyxdf only reads).

Follows the XDF specification (https://github.com/sccn/xdf/wiki/Specifications): the magic
``XDF:``, then chunks ``[NumLengthBytes: 1 byte (1, 4 or 8)] [Length: that many bytes, little
endian, counting tag and content] [Tag: uint16] [Content]`` with tags 1 FileHeader (XML),
2 StreamHeader (uint32 stream id + XML), 3 Samples (stream id, a variable-length sample count,
then per sample ``[TimeStampBytes: 0 or 8] [double timestamp] [values]``), 4 ClockOffset (stream
id, double collection time, double offset value), 5 Boundary (16-byte UUID), 6 StreamFooter
(stream id + XML). Numbers are little endian; a string value is a variable-length byte count
followed by its UTF-8 bytes. This is what LabRecorder writes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

FORMATS = {
    "float32": "<f4",
    "double64": "<f8",
    "int8": "<i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
}
BOUNDARY_UUID = bytes.fromhex("4390d3d5f43e4cd2bf1bb6b29c0e8f6a")  # any 16 bytes


def varlen(n: int) -> bytes:
    """XDF variable-length integer: one byte giving 1, 4 or 8, then the value."""
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2**32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def chunk(tag: int, content: bytes) -> bytes:
    """One chunk: length field (of tag + content), tag, content."""
    return varlen(len(content) + 2) + struct.pack("<H", tag) + content


def stream_header_xml(
    *,
    name: str,
    type: str,  # noqa: A002 - the XDF field's name
    channel_count: int,
    nominal_srate: float,
    channel_format: str,
    source_id: str = "",
    desc_xml: str = "",
) -> str:
    """A StreamHeader XML as an LSL inlet's ``info().as_xml()`` gives it."""
    return (
        '<?xml version="1.0"?><info>'
        f"<name>{escape(name)}</name><type>{escape(type)}</type>"
        f"<channel_count>{channel_count}</channel_count>"
        f"<channel_format>{channel_format}</channel_format>"
        f"<source_id>{escape(source_id)}</source_id>"
        f"<nominal_srate>{nominal_srate:.10f}</nominal_srate>"
        "<version>1.1000000000000001</version><created_at>0</created_at>"
        "<uid>00000000-0000-0000-0000-000000000000</uid><session_id>default</session_id>"
        f"<hostname>localhost</hostname><desc>{desc_xml}</desc></info>"
    )


class XdfWriter:
    """Write an XDF file chunk by chunk.

    Parameters
    ----------
    path : path-like
        File to create.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._formats: dict[int, str] = {}
        self._f.write(b"XDF:")
        self._f.write(chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>'))

    def stream_header(self, stream_id: int, xml: str) -> None:
        """Write a StreamHeader chunk (its channel format is read from the XML)."""
        fmt = xml.split("<channel_format>", 1)[1].split("<", 1)[0]
        self._formats[stream_id] = fmt
        self._f.write(chunk(2, struct.pack("<I", stream_id) + xml.encode("utf-8")))

    def samples(
        self, stream_id: int, time_stamps: Sequence[float] | np.ndarray, values: Any
    ) -> None:
        """Write one Samples chunk: every sample with its 8-byte timestamp."""
        fmt = self._formats[stream_id]
        out = [struct.pack("<I", stream_id), varlen(len(time_stamps))]
        if fmt == "string":
            for ts, row in zip(time_stamps, values, strict=True):
                out.append(struct.pack("<Bd", 8, float(ts)))
                for v in row:
                    b = str(v).encode("utf-8")
                    out.append(varlen(len(b)) + b)
        else:
            arr = np.asarray(values, dtype=FORMATS[fmt])
            for ts, row in zip(time_stamps, arr, strict=True):
                out.append(struct.pack("<Bd", 8, float(ts)) + row.tobytes())
        self._f.write(chunk(3, b"".join(out)))

    def clock_offset(self, stream_id: int, collection_time: float, offset: float) -> None:
        """Write a ClockOffset chunk (remote clock + offset = recorder clock)."""
        self._f.write(chunk(4, struct.pack("<Idd", stream_id, collection_time, offset)))

    def boundary(self) -> None:
        """Write a Boundary chunk."""
        self._f.write(chunk(5, BOUNDARY_UUID))

    def stream_footer(
        self, stream_id: int, first: float, last: float, count: int,
        offsets: Sequence[tuple[float, float]] = (),
    ) -> None:
        """Write a StreamFooter chunk."""
        offs = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>"
                       for t, v in offsets)
        xml = (
            '<?xml version="1.0"?><info>'
            f"<first_timestamp>{first!r}</first_timestamp>"
            f"<last_timestamp>{last!r}</last_timestamp>"
            f"<sample_count>{count}</sample_count>"
            f"<clock_offsets>{offs}</clock_offsets></info>"
        )
        self._f.write(chunk(6, struct.pack("<I", stream_id) + xml.encode("utf-8")))

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    def __enter__(self) -> XdfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_xdf(
    path: str | Path,
    streams: Sequence[dict[str, Any]],
    *,
    chunk_samples: int = 500,
) -> Path:
    """Write whole streams as LabRecorder would (headers, interleaved samples, offsets, footers).

    Parameters
    ----------
    path : path-like
        File to create.
    streams : sequence of dict
        Each with ``xml`` (StreamHeader XML), ``time_stamps``, ``time_series`` (rows) and
        optionally ``clock_offsets`` (list of (collection time, offset)).
    chunk_samples : int
        Samples per Samples chunk.

    Returns
    -------
    Path
        ``path``.
    """
    with XdfWriter(path) as w:
        for sid, s in enumerate(streams, start=1):
            w.stream_header(sid, s["xml"])
        longest = max((len(s["time_stamps"]) for s in streams), default=0)
        for start in range(0, max(longest, 1), chunk_samples):
            for sid, s in enumerate(streams, start=1):
                ts = s["time_stamps"][start:start + chunk_samples]
                if len(ts):
                    w.samples(sid, ts, s["time_series"][start:start + chunk_samples])
            if start == 0:
                w.boundary()
        for sid, s in enumerate(streams, start=1):
            for t, v in s.get("clock_offsets", ()):
                w.clock_offset(sid, t, v)
        for sid, s in enumerate(streams, start=1):
            ts = s["time_stamps"]
            w.stream_footer(sid, float(ts[0]) if len(ts) else 0.0,
                            float(ts[-1]) if len(ts) else 0.0, len(ts),
                            s.get("clock_offsets", ()))
    return Path(path)
