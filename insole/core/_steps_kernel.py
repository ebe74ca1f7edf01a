"""Compiled kernels of the step features, the sample placement and the clock fit.

For `insole.core.steps`, `insole.core.pipeline` and `insole.core.clock`.

Five entry points, each ``numba``-compiled with explicit signatures and cached on disk (the
module is imported through ``insole.core.steps._kernel``, once per process; `slope_count` and
`place_frames` are loaded then, the others, per dtype, at their first call: `_PerDtype`):

`step_rows`
    Everything `insole.core.steps.step_features` does sample by sample, and the reductions
    over each contact's samples: baseline re-zeroing, lost values, clipping, total / heel /
    region force, centre of pressure, per-contact peaks and sums, the strike-window sums and
    the loading rate. One pass over each contact's rows of the force buffer, no gathered copy.
`swing_medians`
    The per-sensor medians of `insole.core.steps.swing_baselines`: a swing of up to 64 rows
    through a median network whose compare-exchanges take every sensor at once.
`place_rows`
    A feed's samples placed in the side's buffer (NaN rows for lost ones) and the total force
    of every row, for the detector.
`place_frames`
    The same for a feed's frames in order, straight from their counts in the decoded bytes:
    the counts gathered (`firmware_protocol.FrameTable.samples`), calibrated
    (`insole.core.calibration.Calibrator.force`) and placed in one pass, no array in between.
`slope_count`
    One pass over all pairwise slopes for the Theil–Sen fit of `insole.core.clock`: how many
    fall below a bracket and the ones inside it.

Exactness. Every number is bit for bit what the numpy implementations in
`insole.core.steps` (kept in tests/helpers_steps_oracle.py as ``step_features_numpy``, the
oracle of tests/core/test_steps_kernel.py) and `insole.core.clock` give: the same floating-point
operations in the same order. Sums over sensors and over a contact's samples follow numpy's
pairwise summation (`_pairwise`; ``pairwise_rows`` in tests/helpers_steps_oracle.py is its
numpy model);
``np.maximum`` keeps its NaN propagation. No fast-math: LLVM neither reassociates nor fuses
multiply-adds. Compiled functions cached on disk must not recurse, so `_pairwise` walks its
tree with an explicit stack. Set ``NUMBA_DISABLE_JIT=1`` to run this module as plain Python.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import float32, int64, njit, types, void

__all__ = [
    "pairwise_sum", "place_frames", "place_rows", "slope_count", "step_rows", "swing_medians",
]

#: Largest run numpy's pairwise summation adds without splitting it (``PW_BLOCKSIZE``).
_PW_BLOCK = 128

# Columns of ``out`` of `step_rows` (per contact).
C_PEAK = 0  # max(0, peak of the total force)
C_HEEL_PEAK = 1
C_IMPULSE = 2  # sum of max(total, 0) over the contact's samples (times dt: the caller)
C_HEEL_IMPULSE = 3
C_W_SUM = 4  # total clipped force over the strike window
C_Y_SUM = 5  # its moment about the y axis (with the CoP of each sample)
C_LR = 6  # loading-rate index
N_OUT = 7

#: Index type of the hot loops (`place_frames`, `step_rows`, `_middle`): numba compiles no
#: negative-index wraparound for unsigned indices (a compare and a select per access:
#: `place_frames` takes half the time, `step_rows` a quarter and `swing_medians` a seventh less).
_U = np.uint64


class _PerDtype:
    """A kernel compiled per dtype of its first argument, each at the first call with it.

    ``njit(signature, **options)(func)`` for the signature ``signatures[dtype]``, compiled (or
    loaded from numba's cache) when a call first needs it. Declaring all signatures at once
    (``njit([...])``) would load every one when this module is imported: recordings give
    float32 samples, so an analysis process would load the float64 variants for nothing
    (about 10 ms of its start-up). A dtype without a signature raises TypeError, as a
    dispatcher with declared signatures does.
    """

    def __init__(self, func: Any, signatures: dict[Any, str], **options: Any) -> None:
        self.func = func
        self.signatures = {np.dtype(k): v for k, v in signatures.items()}
        self.options = options
        self.compiled: dict[np.dtype, Any] = {}

    def __call__(self, first: np.ndarray, *args: Any) -> Any:
        kernel = self.compiled.get(first.dtype)
        if kernel is None:
            sig = self.signatures.get(first.dtype)
            if sig is None:
                raise TypeError(f"{self.func.__name__}: no kernel for {first.dtype} data")
            kernel = self.compiled.setdefault(
                first.dtype, njit(sig, **self.options)(self.func)
            )
        return kernel(first, *args)


@njit(cache=True, inline="always")
def _leaf(v: np.ndarray, off: int, n: int, zero: float) -> float:
    """Numpy's pairwise sum of ``v[off:off + n]`` for ``n <= 128``, plus the identity ``zero``.

    ``zero`` is 0.0 in the type of ``v`` (float32 sums stay in float32, as numpy's).
    """
    if n < 8:
        if n == 0:
            return zero
        res = v[off] + zero
        for i in range(off + 1, off + n):
            res += v[i]
        return res + zero
    r0, r1, r2, r3 = v[off], v[off + 1], v[off + 2], v[off + 3]
    r4, r5, r6, r7 = v[off + 4], v[off + 5], v[off + 6], v[off + 7]
    m = n - n % 8
    for i in range(off + 8, off + m, 8):
        r0 += v[i]
        r1 += v[i + 1]
        r2 += v[i + 2]
        r3 += v[i + 3]
        r4 += v[i + 4]
        r5 += v[i + 5]
        r6 += v[i + 6]
        r7 += v[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(off + m, off + n):
        res += v[i]
    return res + zero


@njit(cache=True, inline="always")
def _leaf_u(v: np.ndarray, off: Any, n: Any, zero: float) -> float:
    """`_leaf` (the same operations in the same order) for ``1 <= n <= 128``, indices uint64."""
    if n < _U(8):
        res = v[off] + zero
        i = off + _U(1)
        while i < off + n:
            res += v[i]
            i += _U(1)
        return res + zero
    r0, r1, r2, r3 = v[off], v[off + _U(1)], v[off + _U(2)], v[off + _U(3)]
    r4, r5, r6, r7 = v[off + _U(4)], v[off + _U(5)], v[off + _U(6)], v[off + _U(7)]
    i = off + _U(8)
    stop = off + n - n % _U(8)
    while i < stop:
        r0 += v[i]
        r1 += v[i + _U(1)]
        r2 += v[i + _U(2)]
        r3 += v[i + _U(3)]
        r4 += v[i + _U(4)]
        r5 += v[i + _U(5)]
        r6 += v[i + _U(6)]
        r7 += v[i + _U(7)]
        i += _U(8)
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < off + n:
        res += v[i]
        i += _U(1)
    return res + zero


@njit(cache=True)
def _pairwise(v: np.ndarray, off: int, n: int, zero: float) -> float:
    """``v[off:off + n].sum()`` as numpy adds it (pairwise; its numpy model: tests/).

    ``zero``: 0.0 in the type of ``v``.
    """
    if n <= _PW_BLOCK:
        return _leaf(v, off, n, zero)
    # Post-order walk of numpy's recursion: halves (the first a multiple of 8) until <= 128.
    node_off = np.empty(192, np.int64)
    node_n = np.empty(192, np.int64)
    node_done = np.empty(192, np.bool_)
    vals = np.empty(96, v.dtype)
    sp, vp = 1, 0
    node_off[0], node_n[0], node_done[0] = off, n, False
    while sp > 0:
        sp -= 1
        o, m, done = node_off[sp], node_n[sp], node_done[sp]
        if m <= _PW_BLOCK:
            vals[vp] = _leaf(v, o, m, zero)
            vp += 1
        elif done:
            vp -= 1
            right = vals[vp]
            vals[vp - 1] = vals[vp - 1] + right
        else:
            h = m // 2
            h -= h % 8
            node_off[sp], node_n[sp], node_done[sp] = o, m, True
            node_off[sp + 1], node_n[sp + 1], node_done[sp + 1] = o + h, m - h, False
            node_off[sp + 2], node_n[sp + 2], node_done[sp + 2] = o, h, False
            sp += 3
    return vals[0]


@njit(cache=True, inline="always")
def pairwise_sum(v: np.ndarray, off: int, n: int, zero: float) -> float:
    """``v[off:off + n].sum()`` as numpy adds it (``zero``: 0.0 in the type of ``v``).

    `_pairwise`, with the common short case inlined (a call per sum costs more than it).
    """
    return _leaf(v, off, n, zero) if n <= _PW_BLOCK else _pairwise(v, off, n, zero)


@njit(cache=True, inline="always")
def _max(acc: float, v: float) -> float:
    """One step of ``np.maximum.reduce``: NaN wins, otherwise the larger."""
    return v if (v > acc or math.isnan(v)) else acc


@njit(cache=True, inline="always")
def _clip0(x: float) -> float:
    """``np.maximum(x, 0.0)``: NaN stays, -0.0 and negatives become 0.0."""
    return x if (x > 0.0 or math.isnan(x)) else 0.0


@njit(cache=True, inline="always")
def _nan_to_num(x: float) -> float:
    if math.isnan(x):
        return 0.0
    if math.isinf(x):
        return 1.7976931348623157e308 if x > 0 else -1.7976931348623157e308
    return x


@njit(cache=True, inline="always")
def _cross(s: np.ndarray, j: int, level: float) -> float:
    """Fractional index where ``s`` crosses ``level`` between samples j and j + 1."""
    a, b = s[j], s[j + 1]
    jf = float(j)
    return jf + (level - a) / (b - a) if b != a else jf


_STEP_ROWS_SIG = (
    "void({force}[:, ::1], int64[::1], int64[::1], float64[:, ::1], int64[::1], int64[::1],"
    " int64[::1], float64[:, ::1], float64[::1], float64, int64, boolean,"
    " float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[:, ::1], boolean[::1],"
    " float32[::1], float32[::1])"
)


def _step_rows(
    force: np.ndarray, a: np.ndarray, length: np.ndarray, base: np.ndarray, heel: np.ndarray,
    members: np.ndarray, member_start: np.ndarray, xy: np.ndarray, impact: np.ndarray,
    fs: float, n_win: int, region_pairwise: bool, out: np.ndarray, sensor_peak: np.ndarray,
    region_peak: np.ndarray, region_sum: np.ndarray, has_gap: np.ndarray, cop_x: np.ndarray,
    cop_y: np.ndarray,
) -> None:  # fmt: skip
    """Per-sample figures and per-contact reductions of `insole.core.steps.step_features`.

    Parameters
    ----------
    force : (n_total, S) float32 or float64
        Sensor forces (NaN: lost).
    a, length : (n,) int64
        First row and number of rows of each contact (``a + length <= n_total``; rows of
        consecutive contacts are written one after the other to ``cop_x`` / ``cop_y``).
    base : (n, S) float64
        Baseline of each contact (zeros for none: ``x - 0.0`` is ``x``).
    heel, members, member_start
        Heel sensors; the sensors of region r are ``members[member_start[r]:member_start[r+1]]``.
    xy : (2, S) float64
        Sensor positions.
    impact : (n,) float64
        Baseline-corrected impact peak (NaN: none).
    fs, n_win, region_pairwise
        Sampling rate; samples of the strike window; whether there is one region only (its
        sum over the samples then pairwise, as numpy sums a 1-D series).

    Outputs: ``out`` (N_OUT, n) (rows ``C_*``); ``sensor_peak`` (S, n), ``region_peak`` and
    ``region_sum`` (R, n): max(0, peak) and sum over the samples; ``has_gap``; the CoP path.
    """
    n_total, n_s = force.shape
    n_steps = len(a)
    n_reg = len(member_start) - 1
    n_heel = len(heel)
    longest = 0
    for k in range(n_steps):
        longest = max(longest, length[k])
    xrow = np.empty(n_s, np.float64)
    hrow = np.empty(max(n_heel, 1), np.float64)
    lr_s = np.empty(longest + 1, np.float64)  # pre-sample + the contact's totals
    pos_tot = np.empty(max(longest, 1), np.float64)
    heel_s = np.empty(max(longest, 1), np.float64)
    reg_s = np.empty(max(longest, 1), np.float64)
    win = np.empty(max(n_win, 1), np.float64)
    win_y = np.empty(max(n_win, 1), np.float64)
    reg_acc = np.empty(max(n_reg, 1), np.float64)
    reg_pk = np.empty(max(n_reg, 1), np.float64)
    spk = np.empty(n_s, np.float64)
    # The per-sample loops index with unsigned integers (`_U`).
    short = 1 <= n_s <= _PW_BLOCK  # a row's sum is one leaf (`_leaf_u`)
    ns = _U(n_s)
    row_out = 0
    for k in range(n_steps):
        a_k, n_k = a[k], length[k]
        has_pre = a_k >= 1 and a_k - 1 < n_total
        if has_pre:
            for s in range(n_s):
                xrow[s] = _nan_to_num(np.float64(force[a_k - 1, s]) - base[k, s])
            lr_s[0] = pairwise_sum(xrow, 0, n_s, 0.0)
        p0 = 1 if has_pre else 0
        peak = 0.0
        heel_peak = 0.0
        for r in range(n_reg):
            reg_acc[r] = 0.0
        gap = False
        ku = _U(k)
        for t in range(n_k):
            iu = _U(a_k + t)
            for s in range(n_s):
                su = _U(s)
                xrow[su] = np.float64(force[iu, su]) - base[ku, su]
            total = _leaf_u(xrow, _U(0), ns, 0.0) if short else pairwise_sum(xrow, 0, n_s, 0.0)
            if math.isnan(total):
                for s in range(n_s):
                    if math.isnan(xrow[s]):
                        xrow[s] = 0.0
                        gap = True
                total = pairwise_sum(xrow, 0, n_s, 0.0)
            for s in range(n_s):
                su = _U(s)
                xrow[su] = _clip0(xrow[su])
            w = _leaf_u(xrow, _U(0), ns, 0.0) if short else pairwise_sum(xrow, 0, n_s, 0.0)
            if n_heel:
                for h in range(n_heel):
                    hrow[h] = xrow[heel[h]]
                hh = pairwise_sum(hrow, 0, n_heel, 0.0)
            else:
                hh = 0.0
            mx = xrow[0] * xy[0, 0]
            my = xrow[0] * xy[1, 0]
            for s in range(1, n_s):
                su = _U(s)
                mx += xrow[su] * xy[0, su]
                my += xrow[su] * xy[1, su]
            if w > 0:
                cx, cy = mx / w, my / w
            else:
                cx, cy = np.nan, np.nan
            cop_x[row_out + t] = np.float32(cx)
            cop_y[row_out + t] = np.float32(cy)
            if t < n_win:
                win[t] = w
                win_y[t] = w * _nan_to_num(cy)
            # Per-contact running figures.
            if t == 0:
                peak, heel_peak = total, hh
                for s in range(n_s):
                    spk[s] = xrow[s]
            else:
                peak, heel_peak = _max(peak, total), _max(heel_peak, hh)
                for s in range(n_s):
                    su = _U(s)
                    spk[su] = _max(spk[su], xrow[su])
            for r in range(n_reg):
                m0, m1 = member_start[r], member_start[r + 1]
                v = xrow[_U(members[m0])]
                for j in range(m0 + 1, m1):
                    v += xrow[_U(members[_U(j)])]
                if t == 0:
                    reg_pk[r] = v
                    reg_acc[r] = v + 0.0
                else:
                    reg_pk[r] = _max(reg_pk[r], v)
                    reg_acc[r] += v
                if region_pairwise:
                    reg_s[t] = v
            pos_tot[t] = _clip0(total)
            heel_s[t] = hh
            lr_s[p0 + t] = total
        has_gap[k] = gap
        if n_k == 0:
            peak = heel_peak = 0.0
            for s in range(n_s):
                spk[s] = 0.0
            for r in range(n_reg):
                reg_pk[r] = 0.0
        out[C_PEAK, k] = _clip0(peak)
        out[C_HEEL_PEAK, k] = _clip0(heel_peak)
        for s in range(n_s):
            sensor_peak[s, k] = _clip0(spk[s])
        for r in range(n_reg):
            region_peak[r, k] = _clip0(reg_pk[r])
            if n_k == 0:
                region_sum[r, k] = 0.0
            elif region_pairwise:
                region_sum[r, k] = pairwise_sum(reg_s, 0, n_k, 0.0)
            else:
                region_sum[r, k] = reg_acc[r]
        if n_k:
            out[C_IMPULSE, k] = pairwise_sum(pos_tot, 0, n_k, 0.0)
            out[C_HEEL_IMPULSE, k] = pairwise_sum(heel_s, 0, n_k, 0.0)
        else:
            out[C_IMPULSE, k] = 0.0
            out[C_HEEL_IMPULSE, k] = 0.0
        for t in range(n_k, n_win):
            win[t] = 0.0
            win_y[t] = 0.0
        out[C_W_SUM, k] = pairwise_sum(win, 0, n_win, 0.0)
        out[C_Y_SUM, k] = pairwise_sum(win_y, 0, n_win, 0.0)
        # Loading rate: from the last sample below 20 % of the impact peak before the first
        # at or above 80 % to that one, both crossings interpolated.
        lr = np.nan
        imp = impact[k]
        n_lr = n_k + p0
        if math.isfinite(imp) and imp > 0 and n_lr > 0:
            lo, hi = 0.2 * imp, 0.8 * imp
            j_hi = -1
            for j in range(n_lr):
                if lr_s[j] >= hi:
                    j_hi = j
                    break
            if j_hi > 0:
                j_lo = -1
                for j in range(j_hi, -1, -1):
                    if lr_s[j] < lo:
                        j_lo = j
                        break
                if j_lo >= 0:
                    t_lo = _cross(lr_s, j_lo, lo)
                    t_hi = _cross(lr_s, j_hi - 1, hi)
                    if t_hi > t_lo:
                        lr = (hi - lo) * fs / (t_hi - t_lo)
        out[C_LR, k] = lr
        row_out += n_k


step_rows = _PerDtype(
    _step_rows,
    {t: _STEP_ROWS_SIG.format(force=t) for t in ("float32", "float64")},
    cache=True,
    nogil=True,
    error_model="numpy",  # x / 0 is inf or NaN, as in numpy, never an exception
)


@njit(cache=True, inline="always")
def _middle(v: np.ndarray, m: Any, k: Any, tmp: np.ndarray) -> tuple[float, float]:
    """The k-th and the (k + 1)-th smallest of ``v[:m]``, as ``np.partition`` puts them.

    ``v[:m]`` holds no NaN, and ``k + 1 < m``. Quickselect with a three-way partition (below,
    equal to, above the median of three) that writes the values below the pivot to the front
    of the other buffer (``tmp`` or ``v``, in turn) and those above it to the back, each
    unconditionally with only its count advanced: no data-dependent branch (a branch per
    comparison would mispredict half the time on noisy data) and no load that waits for the
    store before it (as a swap in place does). The first ``m`` values of both buffers are
    overwritten. The (k + 1)-th is the smallest value set aside above the k-th: the pivot of a
    pass that went below it, or the smallest above the pivot of the last pass.
    """
    src, dst = v, tmp
    # Unsigned indices: no negative-index wraparound in the loops (see `_U`).
    m, k = _U(m), _U(k)
    lo, n = _U(0), m
    # The smallest value set aside above the k-th so far (in the data's precision: float32
    # unifies with float64 data and keeps float32 data float32).
    above: Any = np.float32(np.inf)
    while True:
        p, q, r = src[lo], src[lo + n // _U(2)], src[lo + n - _U(1)]
        pivot = max(min(p, q), min(max(p, q), r))
        n_lo = _U(0)
        n_hi = _U(0)
        top = m - _U(1)
        i = lo
        while i < lo + n:
            x = src[i]
            dst[n_lo] = x
            n_lo += _U(x < pivot)
            dst[top - n_hi] = x
            n_hi += _U(x > pivot)
            i += _U(1)
        n_eq = n - n_lo - n_hi
        if k < n_lo:
            above = pivot
            lo, n = _U(0), n_lo
        elif k < n_lo + n_eq:
            if k + _U(1) < n_lo + n_eq:
                return pivot, pivot
            i = m - n_hi
            while i < m:
                above = min(above, dst[i])
                i += _U(1)
            return pivot, above
        else:
            k -= n_lo + n_eq
            lo, n = m - n_hi, n_hi
        src, dst = dst, src


#: Longest swing whose medians `_swing_medians` takes from a sorting network (all sensors at
#: once); longer ones (a stand) select per sensor (`_middle`). Middle halves of walking and
#: running swings hold 15-60 samples at 100-200 Hz.
_NET_MAX = 64
#: Comparators of Batcher's odd-even merge sort of `_NET_MAX` inputs (543), the most any
#: median network below holds.
_NET_CAP = 544


@njit(cache=True, nogil=True)
def _median_network(m: int, pairs: np.ndarray, need: np.ndarray) -> int:
    """The comparators that put the middle value(s) of ``m`` inputs in place; returns their count.

    Batcher's odd-even merge sort (K. E. Batcher, "Sorting networks and their applications",
    AFIPS Spring Joint Computer Conference 1968) for ``m`` inputs,
    written to ``pairs[:n]`` as ``(lo, hi)`` rows (the smaller value goes to ``lo``), then
    only those on a path to outputs ``(m - 1) // 2`` and ``m // 2``: a median needs about
    four fifths of the sort. The sort of ``m`` inputs is the sort of the next power of two
    with the inputs from ``m`` on at +inf: their comparators change nothing and are left out.
    """
    n = 0
    p = 1
    while p < m:
        k = p
        while k > 0:
            j = k % p
            while j + k < m:
                for i in range(min(k, m - j - k)):
                    if (i + j) // (p + p) == (i + j + k) // (p + p):
                        pairs[n, 0] = i + j
                        pairs[n, 1] = i + j + k
                        n += 1
                j += k + k
            k //= 2
        p += p
    for i in range(m):
        need[i] = False
    need[(m - 1) // 2] = True
    need[m // 2] = True
    kept = n
    for c in range(n - 1, -1, -1):  # backwards: the comparators feeding a needed output
        lo, hi = pairs[c, 0], pairs[c, 1]
        if need[lo] or need[hi]:
            need[lo] = True
            need[hi] = True
            kept -= 1
            pairs[kept, 0] = lo
            pairs[kept, 1] = hi
    count = n - kept
    for c in range(count):
        pairs[c, 0] = pairs[kept + c, 0]
        pairs[c, 1] = pairs[kept + c, 1]
    return count


def _swing_medians(
    force: np.ndarray,
    a: np.ndarray,
    length: np.ndarray,
    two: np.ndarray,
    med: np.ndarray,
    valid: np.ndarray,
) -> None:
    """Per-sensor medians over the rows without a non-finite value of each swing.

    ``med[k]`` (the data's dtype) is set where at least 3 such rows exist (``valid[k]``); the
    mean of the two middle values of an even count is taken in the data's precision
    (``(lo + hi) / two[0]``, as ``np.median``).

    A swing of up to `_NET_MAX` rows is copied and put through a median network
    (`_median_network`, built once per call for each row count met) whose compare-exchanges
    take a whole row, every sensor at once: half the time of a selection per sensor. The
    values are the same: both give the order statistics themselves.
    """
    n_s = force.shape[1]
    longest = 0
    for k in range(len(a)):
        longest = max(longest, length[k])
    rows = np.empty(max(longest, 1), np.int64)
    col = np.empty(max(longest, 1), force.dtype)
    tmp = np.empty(max(longest, 1), force.dtype)
    n_net = min(longest, _NET_MAX)
    blk = np.empty(max(n_net, 1) * n_s, force.dtype)
    nets = np.empty((n_net + 1, _NET_CAP, 2), np.int64)
    n_comp = np.full(n_net + 1, -1, np.int64)  # -1: not built yet
    need = np.empty(max(n_net, 1), np.bool_)
    ns = _U(n_s)
    for k in range(len(a)):
        m = 0
        for t in range(length[k]):
            i = a[k] + t
            ok = True
            for s in range(n_s):
                if not math.isfinite(force[i, s]):
                    ok = False
            if ok:
                rows[m] = i
                m += 1
        valid[k] = m >= 3
        if m < 3:
            continue
        h = m // 2
        if m <= n_net:
            if n_comp[m] < 0:
                n_comp[m] = _median_network(m, nets[m], need)
            for j in range(m):
                r = rows[j]
                for s in range(n_s):
                    blk[j * n_s + s] = force[r, s]
            net = nets[m]
            for c in range(n_comp[m]):
                o1 = _U(net[c, 0]) * ns
                o2 = _U(net[c, 1]) * ns
                q = _U(0)
                while q < ns:  # unsigned indices: no wraparound checks (`_U`)
                    x = blk[o1 + q]
                    y = blk[o2 + q]
                    blk[o1 + q] = y if y < x else x
                    blk[o2 + q] = x if y < x else y
                    q += _U(1)
            if m % 2:
                for s in range(n_s):
                    med[k, s] = blk[h * n_s + s]
            else:
                for s in range(n_s):
                    med[k, s] = (blk[(h - 1) * n_s + s] + blk[h * n_s + s]) / two[0]
            continue
        for s in range(n_s):
            for j in range(m):
                col[j] = force[rows[j], s]
            if m % 2:
                med[k, s] = _middle(col, m, h, tmp)[0]
            else:
                lower, upper = _middle(col, m, h - 1, tmp)
                med[k, s] = (lower + upper) / two[0]


swing_medians = _PerDtype(
    _swing_medians,
    {
        t: f"void({t}[:, ::1], int64[::1], int64[::1], {t}[::1], {t}[:, ::1], boolean[::1])"
        for t in ("float32", "float64")
    },
    cache=True,
    nogil=True,
    error_model="numpy",  # x / 0 is inf or NaN, as in numpy, never an exception
)


def _slope_count(
    x: np.ndarray, y: np.ndarray, a: float, b: float, inside: np.ndarray
) -> tuple[int, int, bool]:
    """Count the pairwise slopes below ``a`` and copy those in ``[a, b]`` to ``inside``.

    The slopes are ``(y[j] - y[i]) / (x[j] - x[i])`` for ``i < j`` with ``x[j] > x[i]``, as
    `insole.core.clock` computes them. Returns ``(below, n_inside, ok)``: ``ok`` is False if a
    slope is not finite or ``inside`` overflowed. Written without data-dependent branches but
    the rare copy (the slopes' order is random: a branch per comparison would mispredict).
    """
    n = len(x)
    below = 0
    bad = 0
    n_in = 0
    cap = len(inside)
    row = np.empty(max(n, 1), np.float64)
    for i in range(n - 1):
        xi, yi = x[i], y[i]
        m = n - 1 - i
        # The row's slopes (a loop the compiler vectorises), NaN where x does not increase.
        for t in range(m):
            dx = x[i + 1 + t] - xi
            s = (y[i + 1 + t] - yi) / dx
            row[t] = s if dx > 0 else np.nan
        for t in range(m):
            s = row[t]
            below += s < a
            bad += (not abs(s) <= 1.7976931348623157e308) & (x[i + 1 + t] > xi)
        for t in range(m):
            s = row[t]
            if (s >= a) & (s <= b):
                if n_in < cap:
                    inside[n_in] = s
                n_in += 1
    return below, min(n_in, cap), bad == 0 and n_in <= cap


slope_count = njit(
    "Tuple((int64, int64, boolean))(float64[::1], float64[::1], float64, float64, float64[::1])",
    cache=True,
    nogil=True,
    error_model="numpy",  # x / 0 is inf or NaN, as in numpy, never an exception
)(_slope_count)


def _place_rows(block: np.ndarray, rel: np.ndarray, force: np.ndarray, total: np.ndarray) -> None:
    """``block[:] = nan; block[rel] = force`` and ``total = block.sum(axis=1)`` (float32).

    A later row wins where ``rel`` repeats (``0 <= rel < len(block)``). The row sums are
    numpy's, in float32 (`_sum`).
    """
    n_rows, n_s = block.shape
    written = np.zeros(n_rows, np.bool_)
    for i in range(len(rel)):
        r = rel[i]
        written[r] = True
        for s in range(n_s):
            block[r, s] = force[i, s]
    nan = np.float32(np.nan)
    zero: Any = np.float32(0.0)  # float32 sums, as numpy's
    flat = block.reshape(n_rows * n_s)
    for r in range(n_rows):
        if not written[r]:
            for s in range(n_s):
                block[r, s] = nan
        total[r] = pairwise_sum(flat, r * n_s, n_s, zero)


# Loaded at its first call, like the kernels above: the pipeline takes `place_frames` for a
# recording's frames, this one only for samples out of order or from other sources.
place_rows = _PerDtype(
    _place_rows,
    {"float32": "void(float32[:, ::1], int64[::1], float32[:, ::1], float32[::1])"},
    cache=True,
    nogil=True,
    error_model="numpy",
)


def _place_frames(
    dec: np.ndarray,
    first: np.ndarray,
    n_per: np.ndarray,
    rel0: np.ndarray,
    flat: np.ndarray,
    row: np.ndarray,
    clip: int,
    block: np.ndarray,
    total: np.ndarray,
) -> None:
    """Calibrate the counts of whole frames straight into ``block``, NaN rows between them.

    Frame ``f`` holds ``n_per[f]`` samples of ``n_s = block.shape[1]`` little-endian u16 counts
    from byte ``first[f]`` of ``dec``; its samples go to rows ``rel0[f] ..`` of ``block``, the
    frames in order without overlap (``rel0[f] >= rel0[f - 1] + n_per[f - 1]``) and the last
    ending at the last row. Each count ``c`` of sensor ``s`` becomes
    ``flat[row[s] + min(c, clip)]`` (`insole.core.calibration.Calibrator.force`), the rows
    between frames NaN, and ``total`` the float32 row sums (`_sum`): the values of
    `FrameTable.samples`, then ``Calibrator.force``, then `place_rows`, in one pass.
    """
    n_rows, n_s = block.shape
    nan = np.float32(np.nan)
    zero: Any = np.float32(0.0)  # float32 sums, as numpy's
    out = block.reshape(n_rows * n_s)
    short = 1 <= n_s <= _PW_BLOCK  # a row's sum is one leaf (`_leaf_u`)
    ns, cl = _U(n_s), _U(clip)
    r = 0
    for f in range(len(first)):
        stop = rel0[f]
        while r < stop:  # lost samples
            for s in range(n_s):
                block[r, s] = nan
            total[r] = pairwise_sum(out, r * n_s, n_s, zero)
            r += 1
        o = _U(first[f])
        w = _U(r * n_s)
        for _ in range(n_per[f]):
            for s in range(n_s):
                k = _U(s)
                b = o + _U(2) * k
                c = _U(dec[b]) | (_U(dec[b + _U(1)]) << _U(8))
                out[w + k] = flat[_U(row[s]) + (c if c < cl else cl)]
            total[r] = _leaf_u(out, w, ns, zero) if short else pairwise_sum(out, r * n_s, n_s, zero)
            o += _U(2) * ns
            w += ns
            r += 1


place_frames = njit(
    void(
        types.Array(types.uint8, 1, "C", readonly=True),
        int64[::1],
        int64[::1],
        int64[::1],
        float32[::1],
        int64[::1],
        int64,
        float32[:, ::1],
        float32[::1],
    ),
    cache=True,
    nogil=True,
    error_model="numpy",
)(_place_frames)
