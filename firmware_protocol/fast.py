"""Compiled fast path of the stream decoder: COBS decoding and frame CRCs in one pass.

`decode_segments` does what `firmware_protocol.cobs.decode_segments` does (the readable,
vectorised reference the SPEC's test vectors use), with one compiled pass instead of a numpy
pass per byte position: each piece decodes in place in a copy of the buffer (the bytes after
its first code byte, every further code byte turned into the 0x00 it stands for), the chains of
code bytes of four pieces are followed side by side so that their memory latencies overlap,
and the CRC-16/CCITT-FALSE of every frame is computed eight bytes at a time (slicing-by-8
tables; Kounavis & Berry, "A Systematic Approach to Building High Performance Software-Based
CRC Generators", ISCC 2005) from the bytes just decoded.

`firmware_protocol.decoder.StreamDecoder` uses it when numba is installed
(``StreamDecoder(fast=False)`` keeps the reference); tests/test_fast_decoder.py checks that
both give the same frames and counters on the golden vectors, lossy and damaged streams and
random garbage.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np

__all__ = ["AVAILABLE", "crc16_tables", "decode_segments"]

#: Whether the compiled fast path can be used (numba installed). numba itself is imported, and
#: the kernel compiled or loaded from numba's cache, at the first call (`import
#: firmware_protocol` stays light).
AVAILABLE = importlib.util.find_spec("numba") is not None

_POLY = 0x1021


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
    return (
        np.int64(tables[7, (c >> 8) ^ out[i]])
        ^ np.int64(tables[6, (c & 0xFF) ^ out[i + 1]])
        ^ np.int64(tables[5, out[i + 2]])
        ^ np.int64(tables[4, out[i + 3]])
        ^ np.int64(tables[3, out[i + 4]])
        ^ np.int64(tables[2, out[i + 5]])
        ^ np.int64(tables[1, out[i + 6]])
        ^ np.int64(tables[0, out[i + 7]])
    )


def _crc_from(c: np.int64, out: np.ndarray, i: int, e: int, tables: np.ndarray) -> np.int64:
    """The CRC register ``c`` after the bytes ``out[i:e]``, eight at a time, then one by one."""
    while i + 8 <= e:
        c = _crc8(c, out, i, tables)
        i += 8
    while i < e:
        c = ((c << 8) & 0xFFFF) ^ np.int64(tables[0, (c >> 8) ^ out[i]])
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
    block by block to the same place, ``out[start + 1:]``.
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
        f0 = f1 = f2 = f3 = False
        while p0 < e0 or p1 < e1 or p2 < e2 or p3 < e3:
            # Each lane moves to its next code and marks it as the 0x00 it stands for (a lane
            # at or past its end stays and marks its delimiter, which is 0x00 already).
            c0 = np.int64(buf[p0]) if p0 < e0 else 0
            c1 = np.int64(buf[p1]) if p1 < e1 else 0
            c2 = np.int64(buf[p2]) if p2 < e2 else 0
            c3 = np.int64(buf[p3]) if p3 < e3 else 0
            f0 |= c0 == 0xFF
            f1 |= c1 == 0xFF
            f2 |= c2 == 0xFF
            f3 |= c3 == 0xFF
            p0 += c0
            p1 += c1
            p2 += c2
            p3 += c3
            out[min(p0, e0)] = 0
            out[min(p1, e1)] = 0
            out[min(p2, e2)] = 0
            out[min(p3, e3)] = 0
        _finish(buf, starts, i0, p0, e0, f0, crc_min, tables, out, valid, dlen, crc)
        if i0 + 1 < n:
            _finish(buf, starts, i0 + 1, p1, e1, f1, crc_min, tables, out, valid, dlen, crc)
        if i0 + 2 < n:
            _finish(buf, starts, i0 + 2, p2, e2, f2, crc_min, tables, out, valid, dlen, crc)
        if i0 + 3 < n:
            _finish(buf, starts, i0 + 3, p3, e3, f3, crc_min, tables, out, valid, dlen, crc)
        _crc_lanes(out, starts, dlen, valid, crc_min, tables, crc, i0)


def _finish(
    buf: np.ndarray,
    starts: np.ndarray,
    i: int,
    p: int,
    e: int,
    has_ff: bool,
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


_KERNEL: Any = None
_TABLES = np.zeros((8, 256), np.uint16)  # `crc16_tables`, filled at the first `_kernel` call


_KERNEL_LOCK = threading.Lock()


def _kernel() -> Any:
    """The compiled kernel (compiled, or loaded from numba's on-disk cache, once).

    Thread-safe: the first callers wait for one of them to compile or load it (two threads
    wrapping the same functions at once would each wrap the other's compiled result).
    """
    global _KERNEL, _crc8, _crc_from, _crc_lanes, _finish
    if _KERNEL is not None:
        return _KERNEL
    with _KERNEL_LOCK:
        if _KERNEL is not None:
            return _KERNEL
        _TABLES[:] = crc16_tables()
        if not AVAILABLE:  # pragma: no cover - numba is a core dependency
            _KERNEL = _decode_inplace_py
        else:
            import numba

            jit = numba.njit(cache=True, nogil=True, boundscheck=False)
            # The kernel calls these by their global names: compiled first.
            _crc8 = jit(_crc8)
            _crc_from = jit(_crc_from)
            _crc_lanes = jit(_crc_lanes)
            _finish = jit(_finish)
            _KERNEL = jit(_decode_inplace_py)
        return _KERNEL


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
