"""Compiled fast path of the stream decoder: frames cut, decoded and checked in one pass.

`decode_frames` is `firmware_protocol.decoder.StreamDecoder`'s path for large inputs once
numba is loaded: one kernel call per input finds the 0x00 delimiters (eight bytes at a time),
COBS-decodes the pieces and computes their CRCs (`decode_segments`'s kernel, below), then reads
and checks every frame's header and fields as the decoder's numpy path does (lengths, SPEC
§1.4 ranges, counts against the device's ADC resolution) and writes the frames' fields to
preallocated columns and the refused pieces to counters. Only per-call work is left to Python.

`decode_segments` does what `firmware_protocol.cobs.decode_segments` does (the readable,
vectorised reference the SPEC's test vectors use), with one compiled pass instead of a numpy
pass per byte position: each piece decodes in place in a copy of the buffer (the bytes after
its first code byte, every further code byte turned into the 0x00 it stands for), the chains of
code bytes of four pieces are followed side by side so that their memory latencies overlap,
and the CRC-16/CCITT-FALSE of every frame is computed eight bytes at a time (slicing-by-8
tables; Kounavis & Berry, "A Systematic Approach to Building High Performance Software-Based
CRC Generators", ISCC 2005) from the bytes just decoded.

tests/test_fast_decoder.py checks that both give the same frames and counters as the
reference code (``StreamDecoder(fast=False)``) on the golden vectors, lossy and damaged
streams and random garbage, fed whole or in pieces.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np

from .frames import (
    CRC_SIZE,
    HEADER_SIZE,
    IMU_CHANNELS,
    MAX_ADC_BITS,
    MAX_BATCH,
    MAX_FRAME_SIZE,
    MAX_NAME_BYTES,
    MAX_SAMPLE_RATE_HZ,
    MAX_SENSORS,
    MIN_FRAME_SIZE,
    PROTOCOL_VERSION,
)

__all__ = [
    "AVAILABLE",
    "FRAME_COLUMNS",
    "FRAME_COUNTERS",
    "MAX_ENCODED_SIZE",
    "crc16_tables",
    "decode_frames",
    "decode_segments",
]

#: Whether the compiled fast path can be used (numba installed). numba itself is imported, and
#: the kernel compiled or loaded from numba's cache, at the first call (`import
#: firmware_protocol` stays light).
AVAILABLE = importlib.util.find_spec("numba") is not None

_POLY = 0x1021

#: Index type of the hot loops: numba compiles a negative-index wraparound (a compare and a
#: select) into every access with a signed index, none with an unsigned one (`decode_frames`
#: takes a quarter less time).
_U = np.uint64

#: Longest run of bytes without 0x00 that can still be a frame (SPEC §3).
MAX_ENCODED_SIZE = 1100


def crc16_tables() -> np.ndarray:
    """Slicing-by-8 tables of CRC-16/CCITT-FALSE (polynomial 0x1021, not reflected).

    Returns
    -------
    ndarray of uint16, shape (8, 256)
        ``t[0][b]`` is the register after feeding byte ``b`` to a zero register's high byte;
        ``t[k][b]`` the same followed by ``k`` zero bytes.
    """
    t = np.zeros((8, 256), np.uint16)
    for b in range(256):
        crc = b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else crc << 1
        t[0, b] = crc & 0xFFFF
    for k in range(1, 8):
        prev = t[k - 1].astype(np.int64)
        t[k] = (t[0][prev >> 8].astype(np.int64) ^ (prev << 8)) & 0xFFFF
    return t




def _crc8(c: np.int64, out: np.ndarray, i: int, tables: np.ndarray) -> np.int64:
    """The CRC register ``c`` after the eight bytes ``out[i:i + 8]`` (slicing-by-8)."""
    u = _U(i)
    return (
        np.int64(tables[7, _U(c >> 8) ^ out[u]])
        ^ np.int64(tables[6, _U(c & 0xFF) ^ out[u + _U(1)]])
        ^ np.int64(tables[5, out[u + _U(2)]])
        ^ np.int64(tables[4, out[u + _U(3)]])
        ^ np.int64(tables[3, out[u + _U(4)]])
        ^ np.int64(tables[2, out[u + _U(5)]])
        ^ np.int64(tables[1, out[u + _U(6)]])
        ^ np.int64(tables[0, out[u + _U(7)]])
    )


def _crc_from(c: np.int64, out: np.ndarray, i: int, e: int, tables: np.ndarray) -> np.int64:
    """The CRC register ``c`` after the bytes ``out[i:e]``, eight at a time, then one by one."""
    while i + 8 <= e:
        c = _crc8(c, out, i, tables)
        i += 8
    while i < e:
        c = ((c << 8) & 0xFFFF) ^ np.int64(tables[0, _U(c >> 8) ^ out[_U(i)]])
        i += 1
    return c


def _crc_lanes(
    out: np.ndarray,
    starts: np.ndarray,
    dlen: np.ndarray,
    valid: np.ndarray,
    crc_min: int,
    tables: np.ndarray,
    crc: np.ndarray,
    i0: int,
) -> None:
    """CRC-16/CCITT-FALSE of pieces ``i0 .. i0 + 3`` (decoded bytes but the last two).

    The four registers are advanced side by side over the bytes all four have (their chains
    of table look-ups overlap), then each finishes alone. Pieces that are not valid or decode
    to fewer than ``crc_min`` bytes get -1 (their lane runs on the first bytes of ``out``).
    """
    n = starts.shape[0]
    a0 = a1 = a2 = a3 = 0
    e0 = e1 = e2 = e3 = 0
    if valid[i0] and dlen[i0] >= crc_min:
        a0 = starts[i0] + 1
        e0 = a0 + dlen[i0] - 2
    if i0 + 1 < n and valid[i0 + 1] and dlen[i0 + 1] >= crc_min:
        a1 = starts[i0 + 1] + 1
        e1 = a1 + dlen[i0 + 1] - 2
    if i0 + 2 < n and valid[i0 + 2] and dlen[i0 + 2] >= crc_min:
        a2 = starts[i0 + 2] + 1
        e2 = a2 + dlen[i0 + 2] - 2
    if i0 + 3 < n and valid[i0 + 3] and dlen[i0 + 3] >= crc_min:
        a3 = starts[i0 + 3] + 1
        e3 = a3 + dlen[i0 + 3] - 2
    common = min(e0 - a0, e1 - a1, e2 - a2, e3 - a3) // 8 * 8
    c0 = c1 = c2 = c3 = np.int64(0xFFFF)
    for k in range(0, common, 8):
        c0 = _crc8(c0, out, a0 + k, tables)
        c1 = _crc8(c1, out, a1 + k, tables)
        c2 = _crc8(c2, out, a2 + k, tables)
        c3 = _crc8(c3, out, a3 + k, tables)
    for lane, c, a, e in ((0, c0, a0, e0), (1, c1, a1, e1), (2, c2, a2, e2), (3, c3, a3, e3)):
        i = i0 + lane
        if i < n:
            need = valid[i] and dlen[i] >= crc_min
            crc[i] = _crc_from(c, out, a + common, e, tables) if need else -1


def _decode_inplace_py(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    crc_min: int,
    tables: np.ndarray,
    out: np.ndarray,
    valid: np.ndarray,
    dlen: np.ndarray,
    crc: np.ndarray,
) -> None:
    """Kernel of `decode_segments` (compiled by numba); fills ``out``, ``valid``, ``dlen``, ``crc``.

    ``out`` starts as a copy of ``buf``. A piece without a 0xFF code decodes in place: its
    bytes after the first code, each code turned into 0x00 (the chains of four pieces are
    followed side by side, so that their memory latencies overlap); the others are copied
    block by block to the same place, ``out[start + 1:]`` (`_finish` tells them apart).
    """
    n = starts.shape[0]
    for i0 in range(0, n, 4):
        # Up to four lanes; a missing lane is an empty chain at the last piece's delimiter.
        last = ends[n - 1]
        p0 = starts[i0]
        e0 = ends[i0]
        p1 = starts[i0 + 1] if i0 + 1 < n else last
        e1 = ends[i0 + 1] if i0 + 1 < n else last
        p2 = starts[i0 + 2] if i0 + 2 < n else last
        e2 = ends[i0 + 2] if i0 + 2 < n else last
        p3 = starts[i0 + 3] if i0 + 3 < n else last
        e3 = ends[i0 + 3] if i0 + 3 < n else last
        while p0 < e0 or p1 < e1 or p2 < e2 or p3 < e3:
            # Each lane moves to its next code and marks it as the 0x00 it stands for (a lane
            # at or past its end stays and marks its delimiter, which is 0x00 already).
            c0 = np.int64(buf[_U(p0)]) if p0 < e0 else 0
            c1 = np.int64(buf[_U(p1)]) if p1 < e1 else 0
            c2 = np.int64(buf[_U(p2)]) if p2 < e2 else 0
            c3 = np.int64(buf[_U(p3)]) if p3 < e3 else 0
            p0 += c0
            p1 += c1
            p2 += c2
            p3 += c3
            out[_U(min(p0, e0))] = 0
            out[_U(min(p1, e1))] = 0
            out[_U(min(p2, e2))] = 0
            out[_U(min(p3, e3))] = 0
        _finish(buf, starts, i0, p0, e0, crc_min, tables, out, valid, dlen, crc)
        if i0 + 1 < n:
            _finish(buf, starts, i0 + 1, p1, e1, crc_min, tables, out, valid, dlen, crc)
        if i0 + 2 < n:
            _finish(buf, starts, i0 + 2, p2, e2, crc_min, tables, out, valid, dlen, crc)
        if i0 + 3 < n:
            _finish(buf, starts, i0 + 3, p3, e3, crc_min, tables, out, valid, dlen, crc)
        _crc_lanes(out, starts, dlen, valid, crc_min, tables, crc, i0)


def _finish(
    buf: np.ndarray,
    starts: np.ndarray,
    i: int,
    p: int,
    e: int,
    crc_min: int,
    tables: np.ndarray,
    out: np.ndarray,
    valid: np.ndarray,
    dlen: np.ndarray,
    crc: np.ndarray,
) -> None:
    """Piece ``i`` after its chain was followed to ``p``: validity, decoded length and CRC."""
    ok = p == e  # the chain ends exactly at the piece's end
    valid[i] = ok
    if not ok:
        return
    start = starts[i]
    # A 0xFF code needs 254 bytes after it: only a long piece can hold one, and only then is
    # its chain followed again to look (not in the loop that follows the chains of four
    # pieces: a test per code there costs more than this on frames of a few hundred bytes).
    has_ff = False
    if e - start >= 0xFF:
        code_at = start
        while code_at < e:
            code = np.int64(buf[code_at])
            has_ff |= code == 0xFF
            code_at += code
    if not has_ff:
        dl = e - start - 1
    else:
        # 0xFF codes stand for no 0x00: copy block after block (also when the 0xFF was the
        # last code, which changes nothing).
        w = start + 1
        code_at = start
        while True:
            code = np.int64(buf[code_at])
            stop = code_at + code
            for j in range(code - 1):
                out[w + j] = buf[code_at + 1 + j]
            w += code - 1
            if stop == e:
                break
            if code != 0xFF:
                out[w] = 0
                w += 1
            code_at = stop
        dl = w - start - 1
    dlen[i] = dl



#: Room [bytes] before the copy of the input in the kernel's output buffer: the first piece of a
#: call (joined to the previous call's tail) is decoded there.
HEAD_ROOM = 1104
#: Pieces decoded by the kernel of `decode_frames` at a time (its temporary arrays).
_BATCH = 4096
#: Counters filled by `decode_frames`, in this order (`DecoderStats` names).
FRAME_COUNTERS = (
    "discarded_bytes",
    "cobs_errors",
    "short_frames",
    "crc_errors",
    "unsupported_frames",
    "unknown_frames",
    "malformed_frames",
    "out_of_range_frames",
)
#: Rows of the table `decode_frames` returns, in this order.
FRAME_COLUMNS = (
    "frame_type",
    "device_key",
    "seq",
    "timestamp_us",
    "sample_rate_hz",
    "n_sensors",
    "n_samples",
    "has_imu",
    "wire_end",
    "start",
    "length",
)


def _next_zero(buf: np.ndarray, words: np.ndarray, a0: int, i: int) -> int:
    """Index of the first 0x00 of ``buf`` at or after ``i`` (``len(buf)`` if none).

    ``words`` is ``buf[a0:]`` as aligned u64 words: those are tested eight bytes at a time
    (a word holds a 0x00 exactly when ``(v - 0x01..01) & ~v & 0x80..80`` is not zero).
    """
    n = buf.shape[0]
    while i < n and (i - a0) & 7:
        if buf[_U(i)] == 0:
            return i
        i += 1
    k = (i - a0) >> 3
    nw = words.shape[0]
    while k < nw:
        v = words[_U(k)]
        if (v - np.uint64(0x0101010101010101)) & ~v & np.uint64(0x8080808080808080):
            break
        k += 1
    i = max(i, a0 + 8 * k)
    while i < n and buf[_U(i)] != 0:
        i += 1
    return i


def _check_frame(
    out: np.ndarray,
    out64: np.ndarray,
    d: int,
    dl: int,
    crc: int,
    wire_len: int,
    wire_end: int,
    bits: np.ndarray,
    cols: np.ndarray,
    k: int,
    w: int,
    counters: np.ndarray,
) -> tuple[int, int]:
    """Check the decoded piece ``out[d:d + dl]`` (at least 14 bytes, CRC ``crc``) as a frame.

    A frame that passes has its fields written to ``cols[:, k]`` (its start ``d``); returns
    the new ``k`` and the end of the frame, ``d + dl`` (``w`` when it does not pass: its counter
    and its ``wire_len`` bytes are counted in ``counters``, `FRAME_COUNTERS`).
    """
    status = 0  # an index in FRAME_COUNTERS (7: also 6), 0 for a frame that passes
    if crc != (np.int64(out[d + dl - 2]) | (np.int64(out[d + dl - 1]) << 8)):
        status = 3
    elif out[d] != PROTOCOL_VERSION:
        status = 4
    ft = np.int64(out[d + 1])
    fl = np.int64(out[d + 2])
    key = ((np.int64(out[d + 4]) | (np.int64(out[d + 5]) << 8)) << 1) | (fl & 1)
    rate = np.int64(0)
    n_sens = np.int64(0)
    n_samp = np.int64(0)
    imu = np.int64(0)
    b = d + HEADER_SIZE
    if status != 0:
        pass
    elif ft == 1:
        expected = np.int64(-1)
        if dl >= HEADER_SIZE + 4 + CRC_SIZE:
            rate = np.int64(out[b]) | (np.int64(out[b + 1]) << 8)
            n_sens = np.int64(out[b + 2])
            n_samp = np.int64(out[b + 3])
            imu = (fl >> 1) & 1
            expected = (
                HEADER_SIZE + 4 + 2 * n_samp * n_sens + 2 * IMU_CHANNELS * n_samp * imu + CRC_SIZE
            )
        if expected != dl:
            status = 6
        elif (
            dl > MAX_FRAME_SIZE
            or rate < 1
            or rate > MAX_SAMPLE_RATE_HZ
            or n_sens < 1
            or n_sens > MAX_SENSORS
            or n_samp < 1
            or n_samp > MAX_BATCH
        ):
            status = 7
        elif bits[key] < MAX_ADC_BITS:
            # A count above 2**bits - 1 has a bit at or above ``bits``: OR all counts (the
            # bytes at even and at odd offsets apart; aligned words eight bytes at a time).
            a = b + 4
            e = a + 2 * n_sens * n_samp
            even = np.uint64(0)
            odd = np.uint64(0)
            while a < e and a & 7:
                if a & 1:
                    odd |= np.uint64(out[a])
                else:
                    even |= np.uint64(out[a])
                a += 1
            word = np.uint64(0)
            while a + 8 <= e:
                word |= out64[_U(a >> 3)]
                a += 8
            while a < e:
                if a & 1:
                    odd |= np.uint64(out[a])
                else:
                    even |= np.uint64(out[a])
                a += 1
            m = np.uint64(0x00FF00FF00FF00FF)
            x = word & m
            y = (word >> np.uint64(8)) & m
            x |= x >> np.uint64(32)
            y |= y >> np.uint64(32)
            x |= x >> np.uint64(16)
            y |= y >> np.uint64(16)
            even |= x & np.uint64(0xFF)
            odd |= y & np.uint64(0xFF)
            if (b + 4) & 1:
                value = np.int64(odd) | (np.int64(even) << 8)
            else:
                value = np.int64(even) | (np.int64(odd) << 8)
            if value >> np.int64(bits[key]):
                status = 7
    elif ft == 2:
        name_len = np.int64(out[b + 8]) if dl >= HEADER_SIZE + 9 + CRC_SIZE else np.int64(-1)
        if name_len < 0 or HEADER_SIZE + 9 + name_len + CRC_SIZE != dl:
            status = 6
        else:
            i_rate = np.int64(out[b + 6]) | (np.int64(out[b + 7]) << 8)
            if (
                dl > MAX_FRAME_SIZE
                or out[b + 4] < 1
                or out[b + 4] > MAX_SENSORS
                or out[b + 5] < 1
                or out[b + 5] > MAX_ADC_BITS
                or i_rate < 1
                or i_rate > MAX_SAMPLE_RATE_HZ
                or out[b + 8] > MAX_NAME_BYTES
            ):
                status = 7
            else:
                bits[key] = out[b + 5]
    elif ft == 3:
        if dl != HEADER_SIZE + 6 + CRC_SIZE:
            status = 6
    else:
        status = 5
    if status != 0:
        counters[0] += wire_len
        counters[status] += 1
        if status == 7:
            counters[6] += 1
        if status != 5:
            return k, w
        # An unknown frame type is skipped, but its `seq` counts (SPEC §2: one counter for all
        # of a device's frames, §7): its row goes out for the accounting, then is dropped.
    cols[0, k] = ft
    cols[1, k] = key
    cols[2, k] = np.int64(out[d + 6]) | (np.int64(out[d + 7]) << 8)
    cols[3, k] = (
        np.int64(out[d + 8])
        | (np.int64(out[d + 9]) << 8)
        | (np.int64(out[d + 10]) << 16)
        | (np.int64(out[d + 11]) << 24)
    )
    cols[4, k] = rate
    cols[5, k] = n_sens
    cols[6, k] = n_samp
    cols[7, k] = imu
    cols[8, k] = wire_end
    cols[9, k] = d
    cols[10, k] = dl
    return k + 1, d + dl


def _frames_py(
    buf: np.ndarray,
    words: np.ndarray,
    a0: int,
    first: int,
    base: int,
    head: np.ndarray,
    head_wire: int,
    head_crc: int,
    bits: np.ndarray,
    tables: np.ndarray,
    out: np.ndarray,
    out64: np.ndarray,
    cols: np.ndarray,
    counters: np.ndarray,
) -> tuple[int, int, int, bool]:
    """Kernel of `decode_frames` (compiled by numba).

    Checks ``head`` (the first piece, decoded already; none when empty), then cuts ``buf``
    from ``first`` on at its 0x00 (``words``: ``buf[a0:]`` as aligned u64 words) and, a batch
    of pieces at a time, decodes them in place in ``out`` (a copy of ``buf`` after
    `HEAD_ROOM` bytes) with their
    CRCs (`_decode_inplace_py`) and checks them in stream order (`_check_frame`). The fields
    of the frames that pass go to ``cols`` (``start``: their offset in ``out``, whose bytes
    ``out64`` views as u64 words); the pieces refused are counted in ``counters``. The head is
    decoded just before the copy of ``buf``.

    Returns the frames, the end of the last one in ``out``, where the unfinished tail after
    the last 0x00 starts in ``buf`` and True; or, when ``cols`` is full, where to go on and
    False.
    """
    n = buf.shape[0]
    body = out[HEAD_ROOM:]  # in the coordinates of ``buf``
    k = 0
    w = 0
    hl = head.shape[0]
    if hl:
        out[HEAD_ROOM - hl : HEAD_ROOM] = head
        if hl < MIN_FRAME_SIZE:
            counters[2] += 1
            counters[0] += head_wire
        else:
            k, w = _check_frame(
                out, out64, HEAD_ROOM - hl, hl, head_crc, head_wire, base + first, bits, cols,
                k, w, counters,
            )
    starts = np.empty(_BATCH, np.int64)
    ends = np.empty(_BATCH, np.int64)
    valid = np.empty(_BATCH, np.bool_)
    dlen = np.empty(_BATCH, np.int64)
    crc = np.empty(_BATCH, np.int64)
    i = first
    while True:
        room = min(_BATCH, cols.shape[1] - k)
        if room == 0:
            return k, w, i, False
        nb = 0
        while nb < room:
            e = _next_zero(buf, words, a0, i)
            if e == n:
                break
            length = e - i
            if length > MAX_ENCODED_SIZE:
                counters[0] += length
            elif length > 0:
                starts[nb] = i
                ends[nb] = e
                nb += 1
            i = e + 1
        if nb:
            _decode_inplace_py(
                buf, starts[:nb], ends[:nb], MIN_FRAME_SIZE, tables, body, valid, dlen, crc
            )
        for j in range(nb):
            wire_len = ends[j] - starts[j]
            if not valid[j]:
                counters[1] += 1
                counters[0] += wire_len
            elif dlen[j] < MIN_FRAME_SIZE:
                counters[2] += 1
                counters[0] += wire_len
            else:
                k, w = _check_frame(
                    out, out64, HEAD_ROOM + starts[j] + 1, dlen[j], crc[j], wire_len,
                    base + ends[j] + 1, bits, cols, k, w, counters,
                )
        if nb < room:
            return k, w, i, True


_KERNEL: Any = None
_FRAMES: Any = None
_TABLES = np.zeros((8, 256), np.uint16)  # `crc16_tables`, filled at the first `_kernel` call


_KERNEL_LOCK = threading.Lock()


def _kernel() -> Any:
    """The compiled kernel of `decode_segments` (compiled, or loaded from numba's cache, once).

    Also wraps `decode_frames`'s kernel (compiled or loaded at its first call). Thread-safe:
    the first callers wait for one of them to wrap the functions (two threads wrapping them at
    once would each wrap the other's compiled result).
    """
    global _KERNEL, _FRAMES, _crc8, _crc_from, _crc_lanes, _finish
    global _next_zero, _check_frame, _decode_inplace_py
    if _KERNEL is not None:
        return _KERNEL
    with _KERNEL_LOCK:
        if _KERNEL is not None:
            return _KERNEL
        _TABLES[:] = crc16_tables()
        if not AVAILABLE:  # pragma: no cover - numba is a core dependency
            _FRAMES = _frames_py
            _KERNEL = _decode_inplace_py
        else:
            from .jit import load_numba

            numba = load_numba()
            jit = numba.njit(cache=True, nogil=True, boundscheck=False)
            # Functions that allocate nothing are compiled without numba's reference counting
            # (``_nrt=False``): otherwise every call passing arrays (a `_check_frame` per
            # frame, a `_finish` per piece, ...) increments and decrements each array's count
            # with atomic instructions, a quarter of `decode_frames`' time.
            plain = numba.njit(cache=True, nogil=True, boundscheck=False, _nrt=False)
            # The kernels call these by their global names: wrapped first.
            _crc8 = plain(_crc8)
            _crc_from = plain(_crc_from)
            _crc_lanes = plain(_crc_lanes)
            _finish = plain(_finish)
            _next_zero = plain(_next_zero)
            _check_frame = plain(_check_frame)
            _decode_inplace_py = _KERNEL = plain(_decode_inplace_py)
            _FRAMES = jit(_frames_py)
        return _KERNEL


def decode_frames(
    data: bytes,
    first: int,
    base: int,
    head: bytes,
    bits: np.ndarray,
) -> tuple[np.ndarray, bytes, np.ndarray, int]:
    """Cut, COBS-decode, CRC-check and check the frames of ``data`` in one compiled pass.

    `firmware_protocol.decoder.StreamDecoder` without ``strict`` uses it for large inputs;
    the frames and counters are those of its reference path (tests/test_fast_decoder.py).

    Parameters
    ----------
    data : bytes
        The bytes fed; its pieces from ``first`` on are decoded.
    first : int
        Just past the first 0x00 of ``data``.
    base : int
        Stream offset of ``data[0]``.
    head : bytes
        The wire bytes of the first piece (the previous call's unfinished tail and
        ``data[:first - 1]``), at most `MAX_ENCODED_SIZE`; empty when there is none to decode
        (it was discarded, or is empty). It is COBS-decoded by `decode_segments`.
    bits : ndarray of uint8, shape (131072,)
        ADC resolution [bits] in force per device key (``device_id * 2 + side``; 16: counts
        are not checked); updated by the DEVICE_INFO frames decoded.

    Returns
    -------
    cols : ndarray of int64, shape (len(FRAME_COLUMNS), n_frames)
        The fields of the frames that passed every check, in stream order; ``start`` and
        ``length`` locate each frame in ``decoded``.
    decoded : bytes
        Those frames' bytes (with the few bytes of COBS overhead between them, or, where
        they are mostly refused pieces, one after another).
    counters : ndarray of int64
        The pieces refused, as `FRAME_COUNTERS` (the head included).
    tail : int
        Where the unfinished tail after the last 0x00 starts in ``data``.
    """
    _kernel()
    buf = np.frombuffer(data, np.uint8)
    counters = np.zeros(len(FRAME_COUNTERS), np.int64)
    head_dec = np.zeros(0, np.uint8)
    head_crc = -1
    if head:
        pieces, dstart, dlen, valid, crc = decode_segments(
            np.frombuffer(head + b"\x00", np.uint8), _HEAD_START, np.array([len(head)]),
            MIN_FRAME_SIZE,
        )
        if valid[0]:
            a = int(dstart[0])
            head_dec = pieces[0][a : a + int(dlen[0])]
            head_crc = int(crc[0])
            if not len(head_dec):  # a code byte alone: decodes to nothing (short)
                counters[2] += 1
                counters[0] += len(head)
        else:
            counters[1] += 1
            counters[0] += len(head)
    n = len(buf)
    a0 = min(-buf.ctypes.data % 8, n)
    words = buf[a0 : a0 + (n - a0) // 8 * 8].view(np.uint64)
    out64 = _scratch((HEAD_ROOM + n) // 8 + 1)
    out = out64.view(np.uint8)
    out[HEAD_ROOM : HEAD_ROOM + n] = buf
    # Room for every frame of a run of 1 MiB in one call (a frame takes 16 bytes or more).
    cap = min(n // (MIN_FRAME_SIZE + 2) + 2, 4 * _BATCH)
    parts = []
    done = False
    tail = first
    w = 0
    while not done:
        cols = np.empty((len(FRAME_COLUMNS), cap), np.int64)
        k, w_k, tail, done = _FRAMES(
            buf, words, a0, tail, base, head_dec, len(head), head_crc, bits, _TABLES, out,
            out64, cols, counters,
        )
        head_dec = head_dec[:0]
        if k:
            parts.append(cols[:, :k])
            w = w_k
    if not parts:
        return np.zeros((len(FRAME_COLUMNS), 0), np.int64), b"", counters, tail
    cols = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0].copy()
    start, length = cols[9], cols[10]
    lo = int(start[0])
    total = int(length.sum())
    if 2 * total >= w - lo:  # the bytes from the first frame to the last
        start -= lo
        return cols, out[lo:w].tobytes(), counters, tail
    # Mostly refused pieces in between (garbage): gather the frames (memory).
    packed = np.cumsum(length) - length
    idx = np.repeat(start - packed, length) + np.arange(total)
    cols[9] = packed
    return cols, out[idx].tobytes(), counters, tail


_HEAD_START = np.zeros(1, np.int64)

_LOCAL = threading.local()
#: Largest output buffer [u64 words] kept for the next call of the thread (a run of 1 MiB, or a
#: slice of `firmware_protocol.decoder.FEED_SLICE_BYTES`, with room).
_SCRATCH_KEPT = (4 * 1024 * 1024 + 2 * HEAD_ROOM) // 8


def _scratch(n_words: int) -> np.ndarray:
    """A u64 buffer of ``n_words``, reused by the thread's next calls (no page faults)."""
    held = getattr(_LOCAL, "out64", None)
    if held is not None and len(held) >= n_words:
        return held[:n_words]
    out64 = np.empty(n_words, np.uint64)
    if n_words <= _SCRATCH_KEPT:
        _LOCAL.out64 = out64
    return out64


def decode_segments(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, crc_min: int | None = None
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`firmware_protocol.cobs.decode_segments`, compiled: the same pieces, valid and CRC.

    Parameters
    ----------
    buf : ndarray of uint8
        Buffer holding the segments.
    starts, ends : ndarray of int64
        Each segment is ``buf[start:end]``, non-empty, without 0x00, not overlapping.
    crc_min : int, optional
        Compute, for every valid segment decoding to at least ``crc_min`` bytes, the
        CRC-16/CCITT-FALSE of its decoded bytes but the last two.

    Returns
    -------
    pieces : list of one ndarray of uint8
        The decoded bytes; between those of two valid segments may stand other bytes (the
        delimiter and first code byte between two frames).
    dec_starts, dec_lengths : ndarray of int64
        Per valid segment.
    valid : ndarray of bool
        Per segment.
    crc : ndarray of int64
        Per valid segment, the CRC, or -1 where it was not computed.
    """
    buf = np.ascontiguousarray(buf, np.uint8)
    starts = np.ascontiguousarray(starts, np.int64)
    ends = np.ascontiguousarray(ends, np.int64)
    n = len(starts)
    out = buf.copy()
    valid = np.zeros(n, bool)
    dlen = np.zeros(n, np.int64)
    crc = np.full(n, -1, np.int64)
    if n:
        if int((ends - starts).min()) <= 0:
            raise ValueError("segments must not be empty")
        _kernel()(buf, starts, ends, 1 << 62 if crc_min is None else crc_min, _TABLES, out,
                  valid, dlen, crc)
    dstart, dlen, crc = starts[valid] + 1, dlen[valid], crc[valid]
    total = int(dlen.sum())
    if total == 0:
        return [np.zeros(0, np.uint8)], np.zeros(len(dstart), np.int64), dlen, valid, crc
    # Keep the span of the valid pieces; gather them when it is mostly garbage (memory).
    lo, hi = int(dstart[0]), int(dstart[-1] + dlen[-1])
    if 2 * total >= hi - lo:
        return [out[lo:hi]], dstart - lo, dlen, valid, crc
    first = np.cumsum(dlen) - dlen
    return [out[np.repeat(dstart - first, dlen) + np.arange(total)]], first, dlen, valid, crc
