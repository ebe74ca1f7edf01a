"""CRC-16/CCITT-FALSE of many messages at once, one byte position at a time (SPEC §1).

Notes
-----
The frame checksum is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection,
no final XOR (SPEC §1; check value 0x29B1 for ASCII "123456789"; Python's
``binascii.crc_hqx(data, 0xFFFF)``). Without a table, one message byte ``d`` updates the register
``crc`` as (the byte-wise form of the CCITT polynomial, e.g. avr-libc ``_crc_xmodem_update``)::

    x = (crc >> 8) ^ d
    x ^= x >> 4
    crc = ((crc << 8) ^ (x << 12) ^ (x << 5) ^ x) & 0xFFFF

Split into the register's high byte ``hi`` and low byte ``lo`` this is, with 8-bit shifts::

    x = hi ^ d;  x ^= x >> 4
    hi, lo = lo ^ (x << 4) ^ (x >> 3),  (x << 5) ^ x

`Crc16Lanes` runs that update for many messages side by side: the registers of 8 messages share
one 64-bit word (one byte lane each), and shifts are masked so that no bit crosses into the
next lane. Feeding byte position ``j`` of all messages costs 13 numpy operations on
``n / 8`` words, whatever ``n``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CRC16_INIT", "Crc16Lanes", "crc16_rows"]

#: Initial register value of CRC-16/CCITT-FALSE (SPEC §1).
CRC16_INIT = 0xFFFF

_LANES = 8  # byte lanes per 64-bit word
_M0F = np.uint64(0x0F0F0F0F0F0F0F0F)
_MF0 = np.uint64(0xF0F0F0F0F0F0F0F0)
_M1F = np.uint64(0x1F1F1F1F1F1F1F1F)
_ME0 = np.uint64(0xE0E0E0E0E0E0E0E0)


def padded(n: int) -> int:
    """``n`` rounded up to a whole number of 64-bit words of byte lanes."""
    return -(-n // _LANES) * _LANES


class Crc16Lanes:
    """CRC-16/CCITT-FALSE registers of ``n`` messages fed byte position by byte position.

    Parameters
    ----------
    n : int
        Number of messages. Columns fed to `update` hold ``padded(n)`` bytes (multiple of 8);
        the lanes past ``n`` are ignored.

    Examples
    --------
    >>> import binascii
    >>> msgs = np.frombuffer(b"123456789abcdefgh", np.uint8)[:16].reshape(2, 8)
    >>> crc = Crc16Lanes(2)
    >>> cols = np.zeros((8, 8), np.uint8)
    >>> cols[:, :2] = msgs.T
    >>> for col in cols:
    ...     crc.update(col)
    >>> crc.value().tolist() == [binascii.crc_hqx(bytes(m), 0xFFFF) for m in msgs]
    True
    """

    def __init__(self, n: int) -> None:
        self.n = n
        words = padded(n) // _LANES
        self._hi = np.full(words, 0xFFFFFFFFFFFFFFFF, np.uint64)  # CRC16_INIT in every lane
        self._lo = self._hi.copy()
        self._x = np.empty(words, np.uint64)
        self._y = np.empty(words, np.uint64)

    def update(self, column: np.ndarray) -> None:
        """Feed one byte of every message.

        Parameters
        ----------
        column : ndarray of uint8, shape (padded(n),), C-contiguous
            Byte ``j`` of message ``i`` at ``column[i]``.
        """
        d = column.view(np.uint64)
        hi, lo, x, y = self._hi, self._lo, self._x, self._y
        np.bitwise_xor(hi, d, out=x)
        np.right_shift(x, 4, out=y)
        np.bitwise_and(y, _M0F, out=y)
        np.bitwise_xor(x, y, out=x)
        np.left_shift(x, 4, out=hi)
        np.bitwise_and(hi, _MF0, out=hi)
        np.bitwise_xor(hi, lo, out=hi)
        np.right_shift(x, 3, out=y)
        np.bitwise_and(y, _M1F, out=y)
        np.bitwise_xor(hi, y, out=hi)
        np.left_shift(x, 5, out=lo)
        np.bitwise_and(lo, _ME0, out=lo)
        np.bitwise_xor(lo, x, out=lo)

    def value(self) -> np.ndarray:
        """The CRC of every message so far, ndarray of uint16, shape (n,)."""
        hi = self._hi.view(np.uint8)[: self.n].astype(np.uint16)
        return (hi << 8) | self._lo.view(np.uint8)[: self.n]


def crc16_rows(rows: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE of every row of a 2-D byte array.

    Parameters
    ----------
    rows : ndarray of uint8, shape (n, length)
        One message per row.

    Returns
    -------
    ndarray of uint16, shape (n,)
        ``binascii.crc_hqx(bytes(row), 0xFFFF)`` for every row.
    """
    n, length = rows.shape
    crc = Crc16Lanes(n)
    cols = np.zeros((length, padded(n)), np.uint8)
    for i0 in range(0, n, _BLOCK):
        i1 = min(i0 + _BLOCK, n)
        cols[:, i0:i1] = rows[i0:i1].T
    for col in cols:
        crc.update(col)
    return crc.value()


#: Rows per block when transposing: numpy transposes bytes ~7x faster block by block (a block of
#: 4096 rows stays in cache) than in one strided copy (measured, bench/decode_speed.py).
_BLOCK = 4096
