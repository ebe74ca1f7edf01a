"""Consistent Overhead Byte Stuffing, vectorised over many frames at once.

Notes
-----
COBS (Cheshire & Baker, "Consistent Overhead Byte Stuffing", IEEE/ACM Trans. Networking 7(2),
1999) removes every 0x00 from a frame at a cost of at most one byte per 254, so that 0x00 can
delimit frames on the wire. The variant here is the common one (as on Wikipedia's reference
code): a block of 254 non-zero bytes gets code 0xFF and no zero follows it; a frame that ends with
such a block gets no extra trailing 0x01.

Both directions work on many frames in one call with numpy, so that a one-hour recording decodes
in a fraction of a second; the single-frame helpers call the same code.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cobs_decode", "cobs_decode_segments", "cobs_encode", "cobs_encode_many"]


def cobs_encode_many(data: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COBS-encode consecutive frames and append a 0x00 delimiter to each.

    Parameters
    ----------
    data : ndarray of uint8
        The frames concatenated.
    lengths : ndarray of int
        Length of each frame in bytes; they sum to ``len(data)``.

    Returns
    -------
    wire : ndarray of uint8
        The encoded frames, each followed by 0x00.
    wire_lengths : ndarray of int64
        Length of each encoded frame including its delimiter.
    """
    data = np.asarray(data, dtype=np.uint8)
    lengths = np.asarray(lengths, dtype=np.int64)
    n_frames = len(lengths)
    if n_frames == 0:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64)
    if int(lengths.sum()) != len(data):
        raise ValueError("lengths must sum to len(data)")
    if int(lengths.max()) <= 253:
        return _encode_short(data, lengths)
    # Append the implicit trailing zero to every frame: d2 = frame0 + 0 + frame1 + 0 ...
    frame_end = np.cumsum(lengths + 1) - 1  # positions of the implicit zeros in d2
    d2 = np.zeros(len(data) + n_frames, np.uint8)
    keep = np.ones(len(d2), bool)
    keep[frame_end] = False
    d2[keep] = data
    zeros = np.flatnonzero(d2 == 0)  # every zero ends a block; frame ends are among them
    block_start = np.empty_like(zeros)
    block_start[0] = 0
    block_start[1:] = zeros[:-1] + 1
    block_len = zeros - block_start
    is_last = np.zeros(len(zeros), bool)
    is_last[np.searchsorted(zeros, frame_end)] = True
    n_full = block_len // 254
    rem = block_len - 254 * n_full
    has_rem = (rem > 0) | ~is_last | (block_len == 0)
    # Output bytes per block: data + one code per full piece + one code for the remainder
    # piece, + one delimiter when the block is the last of its frame.
    out_len = block_len + n_full + has_rem + is_last
    out_start = np.concatenate(([0], np.cumsum(out_len)[:-1]))
    out = np.zeros(int(out_len.sum()), np.uint8)
    # Data bytes.
    nz = np.flatnonzero(d2)
    is_zero = np.zeros(len(d2), np.int32)
    is_zero[zeros] = 1
    blk = np.cumsum(is_zero, dtype=np.int32)[nz]  # block of each non-zero byte = zeros before it
    off = nz - block_start[blk]
    out[out_start[blk] + off + off // 254 + 1] = d2[nz]
    # Codes of full pieces.
    n_full_total = int(n_full.sum())
    if n_full_total:
        fb = np.repeat(np.arange(len(zeros)), n_full)
        piece = np.arange(n_full_total) - np.repeat(np.cumsum(n_full) - n_full, n_full)
        out[out_start[fb] + 255 * piece] = 0xFF
    # Codes of remainder pieces.
    rb = np.flatnonzero(has_rem)
    out[out_start[rb] + 255 * n_full[rb]] = (rem[rb] + 1).astype(np.uint8)
    # Delimiters stay 0 (already zero-initialised); frame lengths:
    frame_of_block = np.cumsum(is_last) - is_last
    wire_lengths = np.bincount(frame_of_block, weights=out_len, minlength=n_frames).astype(np.int64)
    return out, wire_lengths


def _encode_short(data: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`cobs_encode_many` for frames of at most 253 bytes: no block can reach 254 bytes.

    Each frame becomes ``code, frame bytes with every 0x00 replaced by a code, 0x00``: a code is
    the distance to the next 0x00 (or to the delimiter), so only the zero positions need work.
    """
    n = len(lengths)
    wire_lengths = lengths + 2
    if np.all(lengths == lengths[0]):
        out2d = np.zeros((n, int(lengths[0]) + 2), np.uint8)
        out2d[:, 1:-1] = data.reshape(n, -1)
        out = out2d.reshape(-1)
    else:
        out = np.zeros(int(wire_lengths.sum()), np.uint8)
        frame = np.repeat(np.arange(n), lengths)
        out[np.arange(len(data)) + 2 * frame + 1] = data
    delims = np.cumsum(wire_lengths) - 1
    zeros = np.flatnonzero(out == 0)  # code slots, zeros in data, delimiters
    out[zeros[:-1]] = np.diff(zeros).astype(np.uint8)
    out[delims] = 0
    return out, wire_lengths.astype(np.int64)


def cobs_encode(frame: bytes) -> bytes:
    """COBS-encode one frame (without the trailing 0x00 delimiter).

    A plain loop: for one frame it is an order of magnitude faster than the vectorised
    `cobs_encode_many`, and gives the same bytes.

    Parameters
    ----------
    frame : bytes
        Raw frame.

    Returns
    -------
    bytes
        The encoded frame; it contains no 0x00.
    """
    out = bytearray()
    parts = bytes(frame).split(b"\x00")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        while len(part) >= 254:
            out.append(0xFF)
            out += part[:254]
            part = part[254:]
            if not part and last:
                return bytes(out)
        out.append(len(part) + 1)
        out += part
    return bytes(out)


def cobs_decode_segments(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode many COBS segments of one buffer at once.

    Parameters
    ----------
    buf : ndarray of uint8
        Buffer holding the segments.
    starts, ends : ndarray of int64
        Each segment is ``buf[start:end]``; segments must not contain 0x00 and must not overlap.

    Returns
    -------
    decoded : ndarray of uint8
        The decoded bytes of the valid segments, concatenated.
    dec_starts, dec_lengths : ndarray of int64
        Where each valid segment's decoded bytes are in ``decoded``.
    valid : ndarray of bool
        Per input segment, whether it was well-formed COBS.
    """
    if len(starts) == 0:
        e = np.zeros(0, np.int64)
        return np.zeros(0, np.uint8), e, e, np.zeros(0, bool)
    if len(starts) <= _FEW_SEGMENTS:
        return _decode_few(buf, starts, ends)
    starts = starts.astype(np.int64)
    ends = ends.astype(np.int64)
    # Walk the chains of code bytes of all segments together: one numpy step per block.
    # In segments of at most 254 bytes a 0xFF code cannot occur in a valid chain, so every code
    # after the first stands for a decoded zero; longer segments track 0xFF codes.
    track_ff = int((ends - starts).max()) > 254
    code_pos: list[np.ndarray] = [starts]  # code bytes that do not stand for a decoded zero
    zero_pos: list[np.ndarray] = []  # code bytes that stand for a decoded zero
    reached = np.zeros(len(buf) + 1, bool)  # segment ends reached exactly by a chain
    # int32 positions halve the memory traffic of the walk when the buffer allows it.
    idx_type = np.int32 if len(buf) < 2**31 - 256 else np.int64
    pos = starts.astype(idx_type)
    end = ends.astype(idx_type)
    while len(pos):
        code = buf[pos]
        nxt = pos + code
        go = nxt < end
        if not go.all():
            stop = ~go
            hit = nxt[stop]
            reached[hit[hit == end[stop]]] = True
            nxt, end = nxt[go], end[go]
            if track_ff:
                code = code[go]
        pos = nxt
        if track_ff:
            is_ff = code == 0xFF
            code_pos.append(pos[is_ff])
            zero_pos.append(pos[~is_ff])
        else:
            zero_pos.append(pos)
    valid = reached[ends]
    out = buf.copy()
    if zero_pos:
        out[np.concatenate(zero_pos)] = 0
    # Drop: code bytes that are not zeros, and everything outside valid segments.
    vs, ve = starts[valid], ends[valid]
    gap_start = np.concatenate(([0], ve))
    gap_end = np.concatenate((vs, [len(buf)]))
    gap_len = gap_end - gap_start
    drop_gaps = np.repeat(gap_start - (np.cumsum(gap_len) - gap_len), gap_len) + np.arange(
        int(gap_len.sum())
    )
    first_codes = code_pos[0][valid]
    other = np.concatenate(code_pos[1:]) if len(code_pos) > 1 else np.zeros(0, np.int64)
    if len(other):
        other = other[valid[np.searchsorted(starts, other, side="right") - 1]]
    drops = np.sort(np.concatenate((drop_gaps, first_codes, other)))
    decoded = np.delete(out, drops)
    dec_starts = vs - np.searchsorted(drops, vs, side="left")
    dec_lengths = ve - np.searchsorted(drops, ve, side="left") - dec_starts
    return decoded, dec_starts, dec_lengths, valid


#: Below this many segments a plain loop beats the vectorised walk (one BLE notification).
_FEW_SEGMENTS = 8


def _decode_one(seg: bytes) -> bytes | None:
    """Decode one COBS segment in plain Python; None if it is not valid COBS."""
    out = bytearray()
    i, n = 0, len(seg)
    while i < n:
        code = seg[i]
        end = i + code
        if end > n:
            return None
        out += seg[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def _decode_few(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`cobs_decode_segments` for a handful of segments (same results, less overhead)."""
    raw = buf.tobytes()
    pieces: list[bytes] = []
    valid = np.zeros(len(starts), bool)
    for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        dec = _decode_one(raw[a:b])
        if dec is not None:
            valid[k] = True
            pieces.append(dec)
    lengths = np.array([len(p) for p in pieces], np.int64)
    dec_starts = np.cumsum(lengths) - lengths
    return np.frombuffer(b"".join(pieces), np.uint8), dec_starts, lengths, valid


def cobs_decode(encoded: bytes) -> bytes:
    """Decode one COBS-encoded frame (without its 0x00 delimiter).

    Parameters
    ----------
    encoded : bytes
        Encoded frame.

    Returns
    -------
    bytes
        The raw frame.

    Raises
    ------
    ValueError
        If ``encoded`` is empty, contains 0x00 or is not valid COBS.
    """
    encoded = bytes(encoded)
    if not encoded or b"\x00" in encoded:
        raise ValueError("COBS data must be non-empty and contain no 0x00")
    decoded = _decode_one(encoded)
    if decoded is None:
        raise ValueError("invalid COBS data: a code byte points past the end")
    return decoded
