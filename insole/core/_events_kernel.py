"""Compiled kernels of the contact detector (`insole.core.events.ContactDetector`).

The whole per-sample and per-contact work of the detector runs here, in ``numba``-compiled
functions (``@njit(cache=True)``): threshold crossings, the start-up levels, opening and closing
contacts, the heel strike at the swing's noise floor, scuffs and released touches, valleys,
standing, early heel strikes, toe-off, the impact peak and the buffer trim. The Python class in
`insole.core.events` only holds the state arrays, feeds the samples and builds the `Contact`
objects from the rows this module emits. The algorithm, its parameters and its references are
documented there and in ``docs/events.md``; this module is a line-by-line port of it.

State lives in small arrays passed in and out (a compiled class cannot be cached):

``fp`` (float64)
    Parameters, indexed by the ``P_*`` constants.
``ist`` (int64)
    Integer parameters (``I_*`` below ``I_STATE``), the integer state and the open contact's
    integer fields (``O_*``).
``fst`` (float64)
    Levels and the open contact's float fields (``F_*``).
``peaks``, ``leads``, ``durs``, ``edges`` (float64)
    The recent contacts' peaks, rise times, durations and rising edges: fixed-length histories
    whose lengths are in ``ist`` (the edges a ring, the others oldest first).

`advance` is the one entry point the detector calls (`warm_up` loads it); `find_peaks` is also
called from Python, by tests. Compiled functions cached on disk must not recurse.

Exactness. Every result is bit-identical to the former pure numpy/Python implementation (the
same floating-point operations in the same order), except where the algorithm changed since
the port (the height factor of `_edge_fit`). Where numpy's own algorithm matters, it is
reproduced: medians are order statistics (quickselect on a copy gives the values
``np.partition`` gives), ``np.percentile`` uses numpy's linear interpolation (``_lerp``),
``np.arange`` with a float step its fill rule, ``np.interp`` its C loop and ``np.sum`` its
pairwise summation. Python's ``min`` and ``max`` of floats keep their NaN behaviour (`_pmin`,
`_pmax`). Set ``NUMBA_DISABLE_JIT=1`` to run this module as plain Python (slow) for debugging.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from insole.core._steps_kernel import pairwise_sum

#: Bounds of the height factor of a remembered rising edge matched against a contact whose edge
#: fell partly into lost samples (`_edge_fit`). The edge's height varies from step to step (the
#: loaded level is the median peak of the last contacts, each peak differs from it by several
#: per cent), and without the factor a higher or lower edge is matched at the wrong time. The
#: bounds are a project choice, not a literature value: wide enough for that variation, narrow
#: enough that an edge is not stretched into another strike pattern's. Measured with
#: bench/sim_accuracy.py --seeds 1-10 (2 % frame loss, worst seed within one sample): midfoot
#: 99.18 % without the factor, 99.53 % with these bounds; with (0.67, 1.5) mixed strikes got
#: worse (99.41 %).
EDGE_SCALE_LIMITS = (0.8, 1.25)

# Helpers that allocate nothing and call nothing that returns an array are compiled without
# numba's reference counting (``_nrt=False``): otherwise every call that passes arrays (the
# buffer and the state, several per contact) increments and decrements each array's count with
# atomic instructions, about a tenth of the detector's time (perf, as for the decoder in
# `firmware_protocol.fast`). Such a helper slices arrays itself: a call to a counted function
# that returns an array (`_x`) hands it a reference it never gives back, and the array (the
# whole buffer of samples) then lives for ever (one leaked buffer per contact until
# 2026-12-07: `insole analyze` peaked 1.31x higher on 4 h than on 1 h;
# `tests/core/test_events.py::test_the_detector_lets_go_of_every_buffer`).
_plain = njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: not in the stubs

# ----------------------------------------------------------------------------- layout
# Float parameters (``fp``).
P_FS = 0
P_ON_FRAC = 1
P_OFF_FRAC = 2
P_EDGE_FRAC = 3
P_IMPACT_WINDOW = 4
P_IMPACT_PROM = 5
P_FLOOR_SD_K = 6
P_FLOOR_FRAC = 7
P_VALLEY_FRAC = 8
P_SPLIT = 9
P_LATENCY_N = 10
P_IMPACT_MIN_WIDTH = 11  # least width of an impact peak [samples]
P_Q_LOW = 12  # quantiles of the bootstrap window: swing (low) and loaded (high) levels
P_Q_HIGH = 13
P_UNLOADED = 14  # the signal with the foot in the air (0 N); NaN: not known
P_SWING_LOAD = 15  # the most of its peak a contact's swing may carry (with P_UNLOADED)
N_FP = 16

# Integer parameters and state (``ist``).
I_BOOT_N = 0
I_BRIDGE_N = 1
I_MIN_CONTACT_N = 2
I_MAX_CONTACT_N = 3
I_EDGE_PRE_N = 4
I_EDGE_POST_N = 5
I_VALLEY_N = 6
I_CERTAIN_N = 7
I_NOISE_N = 8
I_EXTRAPOLATE = 9
I_EDGE_BEST = 10
I_PLATEAU_N = 11  # longest first phase below edge_fraction that is still weight acceptance
I_STATE = 12  # first state slot; below: parameters
I_BUF_START = 12  # absolute index of buf[0]
I_N_SEEN = 13  # absolute index of the next sample
I_POS = 14  # where the search continues
I_MODE = 15  # MODE_BOOT, MODE_SWING or MODE_CONTACT
I_SWING_START = 16
I_TRACK_START = 17  # first sample of the current tracking (after a (re)start)
I_HAS_OPEN = 18  # 1 if a contact is tracked (the O_* fields are valid)
I_N_PEAKS = 19
I_N_LEADS = 20  # 4 slots: "on", "upper", "impact", "peak"
I_N_EDGES = 24
I_N_DURS = 25
I_CUT_START = 26  # counters: incremented here, collected and zeroed by the caller
I_CUT_END = 27
I_RETRACTED = 28
I_N_OUT = 29  # rows of the last call's outputs
I_N_EARLY = 30
# The open contact's integer fields.
O_ON_INDEX = 31  # first sample at or above the on-threshold
O_EARLIEST = 32  # last sample before the contact at or below base_n
O_DROP = 33  # never reported: in progress at the start, or too long
O_OFF_INDEX = 34  # candidate toe-off, -1 for none
O_CHECKS = 35  # stuck-contact checks done so far
O_SWING_LO = 36  # first sample of the swing searched before the contact
O_HAS_GAP = 37  # lost samples between the last sample at the floor and the on-crossing
O_HAS_T_HS = 38  # heel strike certain (emitted early)
O_EMITTED = 39  # already reported (ended in standing)
O_SCAN = 40  # where the search for the early heel strike's edge goes on
I_EDGE_NEXT = 41  # slot of the edge history written next (a ring: the oldest is replaced)
I_CUT_END_KEPT = 42  # counter: in progress at the end, reported (toe-off flagged)
O_EMIT_AT = 43  # open contact reported as standing: where its search for valleys starts
I_SHIFTS = 44  # counter: contacts whose swing stayed loaded (weight shifts in a stand)
I_LOST_TIME = 45  # counter: contacts whose contact time a loss could hide (toe-off flagged)
I_BEFORE_STEP = 46  # 1 from a (re)start until the first step is reported
I_POST_N = 47  # parameter: samples after a toe-off over which the swing's level is measured
I_N_AIR = 48  # swing levels in the ring F_AIR (since the last (re)start; at most AIR_N)
I_AIR_NEXT = 49  # slot of the ring F_AIR written next
N_IST = 50

# Float state (``fst``).
F_LOW = 0  # swing level
F_HIGH = 1  # loaded level
F_ON = 2  # on-threshold
F_ON_N = 3  # open contact: on-threshold that opened it
F_OFF_N = 4  # off-threshold of this contact
F_LEVEL_N = 5  # median force of the preceding swing
F_BASE_N = 6  # level just before the contact
F_FLOOR_N = 7  # noise floor of the swing before
F_T_FLOOR = 8  # where the rise leaves the noise floor (fractional index)
F_NOISE_N = 9  # robust SD of the swing noise before the contact
F_MARGIN_N = 10  # height of the noise floor above the swing level
F_GAP_A = 11  # lost samples: last sample at the floor ...
F_GAP_B = 12  # ... and first sample seen after the loss
F_T_HS = 13  # heel strike once certain
F_T_EARLIEST = 14  # O_EARLIEST where the signal crosses the level that set it (interpolated)
F_AIR = 15  # ring of the last AIR_N swing levels (medians), where the foot is in the air
AIR_N = 9
N_FST = F_AIR + AIR_N

MODE_BOOT = 0
MODE_SWING = 1
MODE_CONTACT = 2

#: Names of the rise-time histories (rows of ``leads``).
LEAD_ON = 0
LEAD_UPPER = 1
LEAD_IMPACT = 2
LEAD_PEAK = 3

#: Columns of an emitted contact row.
C_T_HS = 0  # heel strike [fractional sample index, before the filter delay]
C_T_TO = 1  # toe-off
C_PEAK = 2  # peak force
C_IMPACT_T = 3  # impact peak [index], NaN without one
C_IMPACT_N = 4  # impact peak force, NaN without one
C_VALID = 5  # 1.0 if the toe-off is valid, 0.0 if the contact ended in standing
N_COLS = 6


# ----------------------------------------------------------------------------- scalar helpers
@njit(cache=True)
def _pmin(a: float, b: float) -> float:
    """Python's ``min(a, b)`` for floats (NaN behaviour included)."""
    return b if b < a else a


@njit(cache=True)
def _pmax(a: float, b: float) -> float:
    """Python's ``max(a, b)`` for floats (NaN behaviour included)."""
    return b if b > a else a


@njit(cache=True)
def _crossing(i0: int, x0: float, x1: float, level: float) -> float:
    """Fractional position in [i0, i0 + 1] where the segment x0 -> x1 meets ``level``."""
    if not (math.isfinite(x0) and math.isfinite(x1)) or x1 == x0:
        return float(i0)
    frac = (level - x0) / (x1 - x0)
    return float(i0) + _pmin(_pmax(frac, 0.0), 1.0)


@_plain
def _fall_in_gap(x, r, level):
    """Where a fall crosses ``level`` in lost samples right before ``x[r]`` (index into ``x``).

    The mean of two lines from the last sample seen before the loss (above ``level``): the
    tangent through it and the sample before (bounded by the chord), and the chord to
    ``x[r]``, as the rising edge's line (step 2 of docs/events.md). Without a sample above
    ``level`` before the loss, the loss's first sample. Used for the off-crossing and the
    toe-off when they fall into lost samples, which the first sample after the loss had put
    up to a lost frame late (60 ms at 100 Hz). The toe-offs that moved on the 19 gaitpdb walks
    with 2 % random loss of 6-sample frames (`bench/loss_steps.py` signals, seed 1), against
    the same walks without loss: with the loss's end p10/p90 -6.1/+22.4 ms, 46 over 20 ms
    and 7 over 50 ms; the tangent alone -11.7/+0.2 ms, 17 over 20 ms; the mean -7.1/+3.6
    ms, 4 over 20 ms (seeds 2, 3: 2 and 7), none over 50 ms.
    """
    m = r - 1
    while m > 0 and math.isnan(x[m]):
        m -= 1
    if not x[m] > level or r - m < 2:
        return float(min(m + 1, r))
    t_chord = m + (r - m) * (x[m] - level) / (x[m] - x[r])
    if m > 0 and x[m - 1] > x[m]:
        return 0.5 * (t_chord + _pmin(m + (x[m] - level) / (x[m - 1] - x[m]), t_chord))
    return t_chord


@njit(cache=True)
def _interpolate(i0: int, x0: float, x1: float, level: float) -> float:
    """Fractional index where the line (i0, x0) -> (i0 + 1, x1) meets ``level``."""
    if not (math.isfinite(x0) and math.isfinite(x1)) or x1 == x0:
        return float(i0 + 1)
    frac = (level - x0) / (x1 - x0)
    return float(i0) + _pmin(_pmax(frac, 0.0), 1.0)


# ----------------------------------------------------------------------------- array helpers
@njit(cache=True)
def _finite(a: np.ndarray) -> np.ndarray:
    """The finite values of ``a``, in order."""
    out = np.empty(a.size, np.float64)
    n = 0
    for v in a:
        if math.isfinite(v):
            out[n] = v
            n += 1
    return out[:n]


@_plain
def _all_finite(a: np.ndarray) -> bool:
    for v in a:
        if not math.isfinite(v):
            return False
    return True


@_plain
def _any_finite(a: np.ndarray) -> bool:
    for v in a:
        if math.isfinite(v):
            return True
    return False


@_plain
def _sorted_median(a: np.ndarray) -> float:
    """Median of a non-empty array already in ascending order."""
    n = a.shape[0]
    k = n // 2
    if n % 2:
        return a[k]
    return (a[k - 1] + a[k]) / 2.0


@_plain
def _kth_pair(src: np.ndarray, dst: np.ndarray, m: int, k: int) -> tuple[float, float]:
    """The k-th and the (k + 1)-th smallest of ``src[:m]`` (no NaN, ``k + 1 < m``).

    Quickselect with a three-way partition (below, equal to, above the median of three) that
    writes the values below the pivot to the front of the other buffer and those above it to
    its back, each store unconditional with only its count advanced: no data-dependent branch
    (on noisy swings a branch per comparison mispredicts half the time) and no swap in place.
    Both buffers are overwritten. The (k + 1)-th is the smallest value set aside above the k-th.
    Order statistics: the same values as sorting (or ``np.partition``).

    The same algorithm as `insole.core._steps_kernel._middle` (float64 only here, signed
    indices), kept apart on purpose: numba's disk cache is keyed on the calling module's own
    source, so a kernel calling into another module would keep a stale copy of it after that
    module changes.
    """
    lo, n = 0, m
    above = np.inf
    while True:
        p, q, r = src[lo], src[lo + n // 2], src[lo + n - 1]
        pivot = max(min(p, q), min(max(p, q), r))
        n_lo = n_hi = 0
        top = m - 1
        for i in range(lo, lo + n):
            x = src[i]
            dst[n_lo] = x
            n_lo += x < pivot
            dst[top - n_hi] = x
            n_hi += x > pivot
        n_eq = n - n_lo - n_hi
        if k < n_lo:
            above = pivot
            lo, n = 0, n_lo
        elif k < n_lo + n_eq:
            if k + 1 < n_lo + n_eq:
                return pivot, pivot
            for i in range(m - n_hi, m):
                above = min(above, dst[i])
            return pivot, above
        else:
            k -= n_lo + n_eq
            lo, n = m - n_hi, n_hi
        src, dst = dst, src


@njit(cache=True)
def _median_inplace(a: np.ndarray) -> float:
    """Median of a non-empty array without NaN, as ``np.median``; overwrites ``a``."""
    n = a.shape[0]
    if n == 1:
        return a[0]
    lower, upper = _kth_pair(a, np.empty(n, np.float64), n, (n - 1) // 2)
    if n % 2:
        return lower
    return (lower + upper) / 2.0


@njit(cache=True)
def _median(a: np.ndarray) -> float:
    """Median of a non-empty array without NaN, as ``np.median`` (``a`` is left unchanged)."""
    return _median_inplace(a.copy())


@_plain
def _nanmax(a: np.ndarray) -> float:
    """``np.nanmax`` (NaN for an all-NaN array)."""
    best = np.nan
    for v in a:
        if not math.isnan(v) and (math.isnan(best) or v > best):
            best = v
    return best


@_plain
def _nanargmax(a: np.ndarray) -> int:
    """``np.nanargmax``: first index of the largest non-NaN value (0 if all NaN)."""
    best = -1
    for i in range(a.size):
        if not math.isnan(a[i]) and (best < 0 or a[i] > a[best]):
            best = i
    return max(best, 0)


@_plain
def _nanargmin(a: np.ndarray) -> int:
    """``np.nanargmin``: first index of the smallest non-NaN value (0 if all NaN)."""
    best = -1
    for i in range(a.size):
        if not math.isnan(a[i]) and (best < 0 or a[i] < a[best]):
            best = i
    return max(best, 0)


@njit(cache=True)
def _noise_sd(a: np.ndarray) -> float:
    """Robust SD of a swing's noise: ``1.4826 · MAD(first differences) / sqrt(2)``."""
    d = _finite(a)
    if d.size < 3:
        return 0.0
    for i in range(d.size - 1):  # |first differences|, in place
        d[i] = abs(d[i + 1] - d[i])
    return 1.4826 * _median_inplace(d[: d.size - 1]) / math.sqrt(2.0)


@_plain
def _lerp(a: float, b: float, t: float) -> float:
    """Linear interpolation as numpy's ``_lerp`` in `numpy.percentile`."""
    diff = b - a
    if t >= 0.5:
        return b - diff * (1 - t)
    return a + diff * t


@_plain
def _quantile_sorted(s: np.ndarray, q: float) -> float:
    """``np.percentile(s, 100 * q)`` of a sorted finite array (numpy's linear method)."""
    n = s.size
    virtual = (n - 1) * q
    prev = math.floor(virtual)
    if virtual >= n - 1:
        return _lerp(s[n - 1], s[n - 1], virtual - (-1.0))
    if virtual < 0:
        return _lerp(s[0], s[0], virtual)
    return _lerp(s[prev], s[prev + 1], virtual - prev)


@njit(cache=True)
def _np_sum(a: np.ndarray) -> float:
    """``np.sum`` of a contiguous 1-D float64 array, bit for bit."""
    return pairwise_sum(a, 0, a.size, 0.0)


@njit(cache=True)
def _np_arange(start: float, stop: float, step: float) -> np.ndarray:
    """``np.arange(start, stop, step)`` for floats, bit for bit (numpy's fill rule)."""
    length = max(0, math.ceil((stop - start) / step))
    out = np.empty(length, np.float64)
    if length > 0:
        out[0] = start
    if length > 1:
        out[1] = start + step
        delta = out[1] - out[0]
        for i in range(2, length):
            out[i] = start + i * delta
    return out


@njit(cache=True)
def find_peaks(x: np.ndarray, prominence: float, width: float) -> np.ndarray:
    """Local maxima of ``x`` with at least this prominence and width at half prominence.

    The same peaks as ``scipy.signal.find_peaks(x, prominence=prominence, width=width)``: flat
    tops give their middle sample; prominence against the lowest point before a higher sample
    on each side; width between the interpolated crossings of half the prominence.
    """
    n = x.size
    out = np.empty(max(n // 2, 1), np.int64)
    n_out = 0
    i = 1
    while i < n - 1:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < n - 1 and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peak = (i + ahead - 1) // 2
                xp = x[peak]
                # Prominence: lowest point on each side before a higher sample.
                lo = peak
                left_min, left_base = xp, peak
                while lo > 0 and x[lo - 1] <= xp:
                    lo -= 1
                    if x[lo] < left_min:
                        left_min, left_base = x[lo], lo
                hi = peak
                right_min, right_base = xp, peak
                while hi < n - 1 and x[hi + 1] <= xp:
                    hi += 1
                    if x[hi] < right_min:
                        right_min, right_base = x[hi], hi
                prom = xp - _pmax(left_min, right_min)
                if prom >= prominence:
                    height = xp - 0.5 * prom
                    a = peak
                    while left_base < a and height < x[a]:
                        a -= 1
                    left_ip = float(a)
                    if x[a] < height:
                        left_ip += (height - x[a]) / (x[a + 1] - x[a])
                    b = peak
                    while b < right_base and height < x[b]:
                        b += 1
                    right_ip = float(b)
                    if x[b] < height:
                        right_ip -= (height - x[b]) / (x[b - 1] - x[b])
                    if right_ip - left_ip >= width:
                        out[n_out] = peak
                        n_out += 1
                i = ahead
        i += 1
    return out[:n_out]


# ----------------------------------------------------------------------------- histories
@_plain
def _push(hist: np.ndarray, count: int, value: float) -> int:
    """Append ``value`` to a fixed-length history (dropping the oldest); return the count."""
    cap = hist.size
    if count == cap:
        for i in range(cap - 1):
            hist[i] = hist[i + 1]
        hist[cap - 1] = value
        return count
    hist[count] = value
    return count + 1


# ----------------------------------------------------------------------------- the detector
@_plain
def _announce(ist, early, t, sign):
    """Append a heel strike to ``early``: ``sign`` 1.0 announces it, -1.0 retracts it."""
    n = ist[I_N_EARLY]
    early[n, 0] = t
    early[n, 1] = sign
    ist[I_N_EARLY] = n + 1


@_plain
def _retract(ist, fst, early):
    """The open contact is no step: retract its heel strike if it was announced early."""
    if ist[O_HAS_T_HS]:
        ist[O_HAS_T_HS] = 0
        ist[I_RETRACTED] += 1
        _announce(ist, early, fst[F_T_HS], -1.0)


@njit(cache=True)
def _x(buf: np.ndarray, ist: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The samples with absolute indices [start, stop)."""
    b0 = ist[I_BUF_START]
    assert start >= b0, "internal error: sample already discarded"
    return buf[start - b0 : stop - b0]


@_plain
def _set_levels(fp, fst, low, high):
    fst[F_LOW] = low
    fst[F_HIGH] = high
    fst[F_ON] = low + fp[P_ON_FRAC] * (high - low)


@njit(cache=True)
def _window_levels(buf, fp, ist, start, stop):
    """Robust (swing level, loaded level) of the samples [start, stop)."""
    window = _finite(_x(buf, ist, start, stop))
    if window.size < 2:
        return np.nan, np.nan
    s = np.sort(window)
    bottom = _quantile_sorted(s, fp[P_Q_LOW])
    high = _quantile_sorted(s, fp[P_Q_HIGH])
    mid = 0.5 * (bottom + high)
    n = 0  # the samples at or below the midpoint: a prefix of the sorted window
    while n < s.size and s[n] <= mid:
        n += 1
    return _sorted_median(s[:n]), high


@_plain
def _new_open(ist, fst, index, on, off, level, base, earliest, drop):
    """Set the open contact's fields (the other fields to their defaults)."""
    ist[I_HAS_OPEN] = 1
    ist[O_ON_INDEX] = index
    ist[O_EARLIEST] = earliest
    fst[F_T_EARLIEST] = float(earliest)
    ist[O_DROP] = drop
    ist[O_OFF_INDEX] = -1
    ist[O_CHECKS] = 0
    ist[O_SWING_LO] = 0
    ist[O_HAS_GAP] = 0
    ist[O_HAS_T_HS] = 0
    ist[O_EMITTED] = 0
    ist[O_SCAN] = 0
    fst[F_ON_N] = on
    fst[F_OFF_N] = off
    fst[F_LEVEL_N] = level
    fst[F_BASE_N] = base
    fst[F_FLOOR_N] = np.nan
    fst[F_T_FLOOR] = np.nan
    fst[F_NOISE_N] = 0.0
    fst[F_MARGIN_N] = 0.0
    fst[F_GAP_A] = np.nan
    fst[F_GAP_B] = np.nan
    fst[F_T_HS] = np.nan


@_plain
def _start_at(buf, fp, ist, fst, index):
    """Start tracking at sample ``index`` with the current levels."""
    first = buf[index - ist[I_BUF_START]]
    low, high = fst[F_LOW], fst[F_HIGH]
    off = low + fp[P_OFF_FRAC] * (high - low)
    ist[I_BEFORE_STEP] = 1
    if first >= off:  # a contact in progress: it is never reported
        _new_open(ist, fst, index, fst[F_ON], off, low, low, index, 1)
        ist[I_MODE] = MODE_CONTACT
    else:
        ist[I_HAS_OPEN] = 0
        ist[I_MODE] = MODE_SWING
        ist[I_SWING_START] = index
    ist[I_POS] = index + 1
    ist[I_TRACK_START] = index
    ist[I_N_AIR] = 0  # a restart: the levels (an offset) may have changed
    ist[I_AIR_NEXT] = 0


@njit(cache=True)
def _bootstrap(buf, fp, ist, fst, final):
    """Set the starting levels from the first window with a non-zero range."""
    while ist[I_MODE] == MODE_BOOT:
        stop = ist[I_POS] + ist[I_BOOT_N]
        if stop > ist[I_N_SEEN]:
            if not final or ist[I_N_SEEN] - ist[I_POS] < 2:
                return False
            stop = ist[I_N_SEEN]
        low, high = _window_levels(buf, fp, ist, ist[I_POS], stop)
        if high > low:  # False for NaN too
            _set_levels(fp, fst, low, high)
            _start_at(buf, fp, ist, fst, ist[I_POS])
            if ist[I_MODE] == MODE_CONTACT:
                ist[I_CUT_START] += 1  # in progress where tracking starts: counted only
            return True
        ist[I_POS] = stop  # flat or empty window: skip it and try the next one
    return True


@_plain
def _first_crossing(buf, ist, start, stop, threshold, rising):
    """First absolute index i in [start, stop) where the signal crosses ``threshold``, or -1."""
    b0 = ist[I_BUF_START]
    i = max(start, b0 + 1)
    if i >= stop:
        return -1
    prev = buf[i - 1 - b0]
    if rising:
        was = prev >= threshold
        for a in range(i, stop):
            v = buf[a - b0]
            now = v >= threshold
            if now and not was:
                return a
            was = now
    else:
        was = prev < threshold
        for a in range(i, stop):
            v = buf[a - b0]
            now = v < threshold
            if now and not was:
                return a
            was = now
    return -1


@_plain
def _first_at_or_above(buf, ist, start, stop, level):
    """First absolute index i in [start, stop) with ``x[i] >= level``, or -1."""
    b0 = ist[I_BUF_START]
    if start < stop:
        assert start >= b0, "internal error: sample already discarded"
    for a in range(start, stop):
        if buf[a - b0] >= level:
            return a
    return -1


@_plain
def _last_at_or_below(a, level):
    """Index of the last element of ``a`` at or below ``level`` (NaN never is), or -1."""
    for i in range(a.size - 1, -1, -1):
        if a[i] <= level:
            return i
    return -1


@_plain
def _next_check(ist):
    """Sample index of the next stuck-contact check of the open contact."""
    return ist[O_ON_INDEX] + ist[I_MAX_CONTACT_N] + ist[O_CHECKS] * ist[I_BOOT_N]


#: A run of lost samples inside a long contact can hide a toe-off, a swing and the next heel
#: strike only if it is at least as long as a swing: at least half the median contact duration
#: and ``bridge_n`` (the shortest swing, 0.1 s). In walking the swing is about 40 % of the gait
#: cycle and the stance 60 % (a swing of 0.67 x the stance; Perry & Burnfield 2010), in
#: Parkinson's gait stance grows to about 65 % (0.54 x); a runner's swing is longer than the
#: stance. Shorter losses inside long contacts (a pivot in a turn) cut steps that are not
#: there: with 0.1 s alone, 2 % random loss of 60 ms frames on the gaitpdb walks invented 5
#: steps in seeds 1-3 (`bench/loss_steps.py`).
_HIDDEN_SWING_FRACTION = 0.5


#: A heel strike lost with its rising edge is placed the usual time before the contact's
#: impact peak or peak (more exact landmarks than the toe-off) only where the recent contacts'
#: times from heel strike to that landmark spread (interquartile range) by at most this
#: fraction of the usual contact, and that estimate agrees with the usual contact time before
#: the toe-off within it. Stance time varies by a few % from step to step (CV 1.9 % in
#: controls, 3.1 % in Huntington's disease, Gaßner et al. 2020): 5 % is about two SD. The two
#: humps of a walking stance, either of which can be its peak, lie 40-50 % of the stance apart
#: (Perry & Burnfield 2010).
_PEAK_AGREES_FRACTION = 0.05


@njit(cache=True)
def _hidden_swing_n(ist, durs):
    """Lost samples in a row that can hide a swing (`_HIDDEN_SWING_FRACTION`, ``bridge_n``)."""
    n_durs = ist[I_N_DURS]
    need = float(ist[I_BRIDGE_N])
    if n_durs >= 3:
        need = max(need, _HIDDEN_SWING_FRACTION * _median(durs[:n_durs]))
    return need


@_plain
def _has_lost_run(a, need):
    """True if ``a`` holds at least ``need`` lost samples (NaN) in a row."""
    run = 0
    for v in a:
        run = run + 1 if math.isnan(v) else 0
        if run >= need:
            return True
    return False


@njit(cache=True)
def _scuff(buf, ist, fst, durs, k):
    """True if the open contact [on_index, k) never loaded above the middle of the range.

    Not where lost samples in a row could hide a contact's load: as long as a swing that
    could hide a step (`_HIDDEN_SWING_FRACTION` of the median contact, at least ``bridge_n``),
    as in `_valleys`. A loss from 45 ms into a running contact, before it passed the middle,
    had dropped the step whose heel strike was seen; with ``bridge_n`` alone, 2 % random loss
    of 60 ms frames kept a light touch at the end of a gaitpdb walk as a step.
    """
    mid = fst[F_LOW] + 0.5 * (fst[F_HIGH] - fst[F_LOW])
    seg = _x(buf, ist, ist[O_ON_INDEX], k)
    m = _nanmax(seg)
    if math.isnan(m) or m >= mid:
        return False
    return not _has_lost_run(seg, _hidden_swing_n(ist, durs))


@njit(cache=True)
def _is_long(fp, ist, durs, n_samples):
    """True if a contact of ``n_samples`` is much longer than the recent ones."""
    if n_samples > ist[I_MAX_CONTACT_N]:
        return True
    n = ist[I_N_DURS]
    if n < 3:
        return False
    return n_samples > fp[P_SPLIT] * _median(durs[:n])


@njit(cache=True)
def _valleys(buf, fp, ist, fst, durs, j, k, lost):
    """Valleys inside the contact [j, k): rows (first sample, end, index of the minimum, lost).

    A clear valley is a run below ``valley_fraction`` of the range for ``min_valley_s``, loaded
    above the middle of the range for ``min_contact_s`` on both sides. With ``lost`` a run of
    lost samples (NaN) long enough to hide a swing (`_HIDDEN_SWING_FRACTION`) counts too, with
    the samples below the cut next to it (last column 1; the third column is then where the next
    piece's swing starts: the first sample seen after the loss, else the loss's first sample):
    it can hold a toe-off, a swing and the next heel strike, which the contact was kept open
    across. Only if it starts within a usual contact after the piece before it begins
    (``split_factor`` x the median of the recent durations, as `_is_long`), and the contact
    lasts at least two usual ones (two contacts and the swing between them were merged): a
    loss later in a long contact, or in one only a little longer than usual, lies in a stand
    or a pivot, not in a step.
    """
    out = np.empty((0, 4), np.int64)
    low, high = fst[F_LOW], fst[F_HIGH]
    rng = high - low
    if not rng > 0 or k - j < 3:
        return out
    cut = low + fp[P_VALLEY_FRAC] * rng
    mid = low + 0.5 * rng
    x = _x(buf, ist, j, k)
    size = x.size
    n_durs = ist[I_N_DURS]
    median_n = _median(durs[:n_durs]) if n_durs >= 3 else -1.0
    usual = fp[P_SPLIT] * median_n
    hidden_swing_n = _hidden_swing_n(ist, durs)
    out = np.empty((size // 2 + 1, 4), np.int64)
    n_out = 0
    prev = 0
    a = 0
    while a < size:
        if not (x[a] < cut or (lost and math.isnan(x[a]))):
            a += 1
            continue
        b = a
        longest_nan = run_nan = 0
        n_below = 0
        seen_after = a
        while b < size and (x[b] < cut or (lost and math.isnan(x[b]))):
            if math.isnan(x[b]):
                run_nan += 1
                longest_nan = max(longest_nan, run_nan)
                seen_after = b + 1
            else:
                run_nan = 0
                n_below += 1
            b += 1
        # A run below the cut (or lost): [a, b). Without ``lost`` every sample is below.
        is_lost = (
            lost and longest_nan >= hidden_swing_n and a - prev <= usual
            and size >= 2.0 * median_n
        )
        ok = not (a == 0 or b == size or (n_below < ist[I_VALLEY_N] and not is_lost))
        # Both sides of a clear valley bear weight. Before a loss, the piece may be short and
        # light (the loss cut it): it is the step already counted; after it, the next step.
        if ok and (
            (a - prev < ist[I_MIN_CONTACT_N] and not is_lost) or size - b < ist[I_MIN_CONTACT_N]
        ):
            ok = False
        if ok and not (_nanmax(x[b:]) >= mid and (is_lost or _nanmax(x[prev:a]) >= mid)):
            ok = False
        if ok:
            seg = x[a:b]
            out[n_out, 0] = j + a
            out[n_out, 1] = j + b
            out[n_out, 3] = 1 if is_lost else 0
            if is_lost:  # the swing of the next piece: seen after the loss, else the loss
                out[n_out, 2] = j + (seen_after if seen_after < b else a)
                n_out += 1
                prev = b
            elif n_below:
                out[n_out, 2] = j + a + _nanargmin(seg)
                n_out += 1
                prev = b
        a = b
    return out[:n_out]


@_plain
def _certain_end(fp, ist, fst):
    """Last sample needed before the open contact's heel strike is certain."""
    j = ist[O_ON_INDEX]
    t_floor = fst[F_T_FLOOR]
    if not math.isfinite(t_floor):
        return j + ist[I_CERTAIN_N]
    by_latency = math.floor(t_floor + fp[P_LATENCY_N])
    return max(j, min(j + ist[I_CERTAIN_N], by_latency))


@_plain
def _upper_index(buf, fp, ist, fst, stop):
    """First sample at ``edge_fraction`` of the range within the certainty window, or -1."""
    upper = fst[F_LOW] + fp[P_EDGE_FRAC] * (fst[F_HIGH] - fst[F_LOW])
    if not upper > fst[F_ON_N]:
        return -1
    end = min(stop, _certain_end(fp, ist, fst) + 1)
    return _first_at_or_above(buf, ist, ist[O_ON_INDEX], end, upper)


@_plain
def _edge_start(ist):
    """First sample of the stretch just before the open contact that edge matching uses."""
    return max(ist[O_EARLIEST] - ist[I_EDGE_PRE_N], ist[O_SWING_LO] - 1, ist[I_BUF_START])


@njit(cache=True)
def _edge_seen(buf, ist, stop):
    """True if no sample is lost from just before the open contact up to index ``stop``."""
    return _all_finite(_x(buf, ist, _edge_start(ist), stop))


@njit(cache=True)
def _released(buf, ist, fst, u):
    """Initial contact after a light touch released before the main rise; NaN for none."""
    j = ist[O_ON_INDEX]
    seg = _x(buf, ist, j, u + 1)
    n = seg.size
    # The largest fall below the running maximum (np.maximum.accumulate, NaN propagating) and
    # where it is (np.argmax: the first NaN, else the first largest).
    r_max = seg[0]
    v, drop_v, runmax_v = 0, r_max - seg[0], r_max
    if not math.isnan(drop_v):
        for i in range(1, n):
            x = seg[i]
            if (x > r_max or math.isnan(x)) and not math.isnan(r_max):
                r_max = x
            d = r_max - x
            if math.isnan(d) or d > drop_v:
                v, drop_v, runmax_v = i, d, r_max
                if math.isnan(d):
                    break
    margin = fst[F_MARGIN_N]
    height = runmax_v - (fst[F_FLOOR_N] - margin)
    if not (drop_v > 0.5 * height and drop_v > margin):
        return np.nan
    floor = seg[v] + margin
    r = v
    for i in range(v, n):
        if seg[i] > floor:
            r = i
            break
    return j + _crossing(r - 1, seg[r - 1], seg[r], floor)


@njit(cache=True)
def _rising_edge(buf, fp, ist, fst, u):
    """Heel strike of the open contact, whose edge is seen whole (``u``: -1 for None)."""
    j = ist[O_ON_INDEX]
    on, base = fst[F_ON_N], fst[F_BASE_N]
    earliest = fst[F_T_EARLIEST]
    x0 = _x(buf, ist, j - 1, j)[0]
    x1 = _x(buf, ist, j, j + 1)[0]
    t_on = _interpolate(j - 1, x0, x1, on)
    t_floor = fst[F_T_FLOOR]
    t_hs = t_floor if math.isfinite(t_floor) else t_on
    t_line = np.nan
    if u >= 0 and u > j:
        upper = fst[F_LOW] + fp[P_EDGE_FRAC] * (fst[F_HIGH] - fst[F_LOW])
        xu0 = _x(buf, ist, u - 1, u)[0]
        xu1 = _x(buf, ist, u, u + 1)[0]
        t_up = _interpolate(u - 1, xu0, xu1, upper)
        if t_up > t_on and on > base:
            chord = (upper - on) / (t_up - t_on)
            t_line = t_on - (on - base) / chord
            tangent = x1 - x0
            if tangent >= 0.5 * chord:
                t_line = 0.5 * (t_line + t_on - (on - base) / tangent)
            # The line never reaches back past the last swing sample at the local level.
            t_hs = _pmin(t_hs, _pmax(t_line, earliest))
    if ist[O_HAS_GAP]:
        a, b = fst[F_GAP_A], fst[F_GAP_B]
        t_hs = _pmin(_pmax(t_line if math.isfinite(t_line) else b, a), b)
    if t_floor < ist[O_SWING_LO] and ist[O_SWING_LO] <= ist[I_TRACK_START]:
        return float(ist[I_TRACK_START])  # rising already at the first sample: dropped
    t_hs = _pmin(_pmax(t_hs, earliest), t_on)
    released = _released(buf, ist, fst, _certain_end(fp, ist, fst) if u < 0 else u)
    return t_hs if math.isnan(released) else released


@_plain
def _weight_shift(fp, fst, peak_n):
    """True if the open contact's swing carried more than ``P_SWING_LOAD`` of its peak.

    ``peak_n`` is the contact's peak at its end; for an early heel strike, the loaded level
    (the usual peak), the contact's own being unknown yet. Measured above the unloaded level
    ``P_UNLOADED`` (NaN: unknown, never true), with the lower of the swing's median and its
    last 0.1 s. In swing the foot is in the air and the insole carries only the shoe's
    residual load (gaitpdb: at most 0.36 of the peak, 99 % under 0.04: bench/swing_load.py);
    a foot that stays loaded between two "contacts" is standing and shifting its weight (each
    foot carries about half the body weight then), not stepping.
    """
    unloaded = fp[P_UNLOADED]
    carried = _pmin(fst[F_LEVEL_N], fst[F_BASE_N]) - unloaded
    return carried > fp[P_SWING_LOAD] * (peak_n - unloaded)


@_plain
def _stood_before(fp, fst, peak_n, post_level):
    """True if the open contact's "swing" was the foot on the ground (see below).

    That is: it carried more than the on-threshold above the swing that follows the contact.
    Asked only of the contacts after a (re)start, until the first step is reported
    (``I_BEFORE_STEP``): the starting levels come from a window that may hold no swing of
    this foot (a wearer standing when the recording starts, then walking off), so the stand,
    or a dip of the standing foot's load as the other foot shifts its weight, passes for a
    swing and the load the foot takes as the other one lifts for a heel strike. With a true zero
    (``P_UNLOADED``; NaN: never true), the swing after the contact shows where this foot
    reads in the air (the shoe's residual load included: the same before and after a real
    swing). A "swing" that carried more than ``P_ON_FRAC`` of the contact's range above it was,
    by the detector's own on-threshold, part of a contact; no heel strike lies in it. Moticon
    OpenGo walk (``../shared/data``): the right foot stands at 300-400 N for 1.8 s, its load
    dips to 306 N as the left foot shifts, then takes 985 N: the "swing" carried 0.32 of the
    range above the 0 N swing after it. The same test on every contact of the 19 gaitpdb
    walks would cut 5 steps of turns and shuffles (a swing after a partial unload carries
    0.17-0.25 of the range), so it is not asked after the first step.
    """
    if math.isnan(fp[P_UNLOADED]) or not math.isfinite(post_level):
        return False
    carried = _pmin(fst[F_LEVEL_N], fst[F_BASE_N])
    return carried - post_level > fp[P_ON_FRAC] * (peak_n - post_level)


@njit(cache=True)
def _early_heel_strike(buf, fp, ist, fst, early, stop):
    """Fix the open contact's heel strike once certain (see ``pop_heel_strikes``)."""
    if not ist[I_EXTRAPOLATE]:
        return
    upper = fst[F_LOW] + fp[P_EDGE_FRAC] * (fst[F_HIGH] - fst[F_LOW])
    j = ist[O_ON_INDEX]
    c_end = _certain_end(fp, ist, fst)
    start = max(ist[O_SCAN], j)
    u = -1
    if upper > fst[F_ON_N]:
        u = _first_at_or_above(buf, ist, start, min(stop, c_end + 1), upper)
    if u < 0:
        if min(stop, ist[I_N_SEEN]) <= c_end:
            ist[O_SCAN] = max(start, min(stop, c_end + 1))
            return  # not yet certain
    ist[O_SCAN] = ist[I_N_SEEN] + ist[I_MAX_CONTACT_N]  # decided: never look again
    if not _edge_seen(buf, ist, (c_end if u < 0 else u) + 1):
        return  # lost samples on the edge: placed at the contact's end
    t_hs = _rising_edge(buf, fp, ist, fst, u)
    if t_hs <= ist[I_TRACK_START]:
        return  # began before the data: dropped at close
    if _weight_shift(fp, fst, fst[F_HIGH]):
        # The swing carried more than half the usual peak: most likely a stand's sway. Decided
        # at the contact's end (a step then announced late), so a stand cues nothing.
        return
    ist[O_HAS_T_HS] = 1
    fst[F_T_HS] = t_hs
    _announce(ist, early, t_hs, 1.0)


@_plain
def _air_level(fp, ist, fst):
    """The signal with the foot in the air: the lowest of the last swings' levels.

    Only for signals with a true zero (``P_UNLOADED``; NaN otherwise, as it): an insole in N
    whose unloaded sensors keep a residual load (a tight shoe, an offset) reads that residual
    in every swing instead of 0 N. Until a swing is seen, ``P_UNLOADED``.
    """
    unloaded = fp[P_UNLOADED]
    if math.isnan(unloaded) or ist[I_N_AIR] == 0:
        return unloaded
    air = fst[F_AIR]
    for i in range(1, ist[I_N_AIR]):
        air = _pmin(air, fst[F_AIR + i])
    return _pmax(air, unloaded)


@_plain
def _push_air(ist, fst, level):
    """Remember a swing's level in the ring ``F_AIR``."""
    fst[F_AIR + ist[I_AIR_NEXT]] = level
    ist[I_AIR_NEXT] = (ist[I_AIR_NEXT] + 1) % AIR_N
    ist[I_N_AIR] = min(ist[I_N_AIR] + 1, AIR_N)


@njit(cache=True)
def _open_contact(buf, fp, ist, fst, j):
    """Enter the contact state at on-crossing sample ``j``; measure the preceding swing."""
    low, high, on_thr = fst[F_LOW], fst[F_HIGH], fst[F_ON]
    bridge_n, noise_n = ist[I_BRIDGE_N], ist[I_NOISE_N]
    swing_start = ist[I_SWING_START]
    lo = max(swing_start, j - ist[I_BOOT_N])
    swing = _x(buf, ist, lo, j)
    finite = _finite(swing)
    noise = 0.0
    slope, t_ref = 0.0, float(j)
    just_started = False
    if finite.size:
        level = _median_inplace(finite)  # the whole swing: sets the off-threshold
        pre = _finite(swing[max(swing.size - bridge_n, 0) :])
        base = _median(pre) if pre.size else level  # just before contact (``pre`` kept)
        # A swing shorter than bridge_n right after a start may hold a rising edge; after a
        # valley (swing_start at its minimum) it is the valley itself, a true swing level.
        just_started = swing.size < bridge_n and swing_start <= ist[I_TRACK_START]
        if just_started:
            base = _pmin(base, low)
        earliest = lo + max(_last_at_or_below(swing, base), 0)
        earliest_level = base
        recent = swing[max(swing.size - noise_n, 0) :]
        if just_started:
            # Right after a start the "swing" may be a few samples ending on the rising edge
            # itself: its steps would inflate the noise (3 SD of 60 N steps is a 90 N floor).
            # Keep the samples before the first one above the fraction-only floor.
            lim = base + fp[P_FLOOR_FRAC] * (high - low)
            for i in range(recent.size):
                if recent[i] > lim:
                    recent = recent[:i]
                    break
        noise = _noise_sd(recent)
        floor_base = np.nan  # set below: by the swing's line, else its median
        line_start = np.nan  # the line's level at the start of its window
        # The swing level under the noise floor: a robust line through the swing (the
        # medians of its two halves, not falling), from the end of the previous push-off to
        # 0.1 s before the on-crossing, continued to the contact.
        w_lo = max(lo, swing_start + bridge_n, j - noise_n)
        w_hi = j - bridge_n
        if w_hi - w_lo >= 6:
            wv = _x(buf, ist, w_lo, w_hi)
            vals = np.empty(wv.size, np.float64)
            idx = np.empty(wv.size, np.float64)
            n = 0
            for i in range(wv.size):
                if math.isfinite(wv[i]):
                    vals[n] = wv[i]
                    idx[n] = float(i) + w_lo
                    n += 1
            if n >= 6:
                h = n // 2
                m1, m2 = _median_inplace(vals[:h]), _median_inplace(vals[h:n])
                c1, c2 = _sorted_median(idx[:h]), _sorted_median(idx[h:n])
                slope = _pmax((m2 - m1) / (c2 - c1), 0.0)
                floor_base, t_ref = m2, c2
                line_start = m1
        if math.isnan(floor_base):
            fr = _finite(recent)
            floor_base = _median_inplace(fr) if fr.size else base
        if just_started:
            floor_base = _pmin(floor_base, low)
    else:
        level = base = floor_base = low
        pre = finite  # empty
        earliest = lo
        earliest_level = np.nan
        line_start = np.nan
    off = _pmin(level + fp[P_OFF_FRAC] * (high - level), on_thr)
    margin = _pmax(fp[P_FLOOR_SD_K] * noise, fp[P_FLOOR_FRAC] * (high - low))
    air = _air_level(fp, ist, fst)
    if finite.size and not just_started:
        _push_air(ist, fst, level)
    if slope > 0 and line_start - air <= margin:
        # The swing began in the air (at the unloaded level): its rise is the foot's first
        # load, not a sensor's creep, so the floor stays at the swing's level in the air and
        # does not climb with it (NaN: no zero known, never true).
        slope = 0.0
        floor_base = line_start
    cap = 0.5 * (floor_base + slope * (j - t_ref) + on_thr)  # stays below the on-threshold
    floor = _pmin(floor_base + margin + slope * (j - t_ref), cap)
    if math.isnan(fp[P_UNLOADED]) and base > floor_base + margin and pre.size >= 4:
        # No true zero (footswitch voltages, counts with an offset) and the last 0.1 s settled
        # at a level above the noise floor (its halves' medians within the margin): a level
        # below the on-threshold is the swing's, so the heel strike is where the signal
        # leaves it (its median + the margin), not somewhere up the step onto it.
        h = pre.size // 2
        if abs(_median_inplace(pre[h:]) - _median_inplace(pre[:h])) <= margin:
            earliest = lo + max(_last_at_or_below(swing, base + margin), 0)
            earliest_level = base + margin
    # The last sample at or below the floor line before j (the line capped as np.minimum).
    fb_margin = floor_base + margin
    hit = -1
    b0 = ist[I_BUF_START]
    assert lo >= b0 or lo >= j, "internal error: sample already discarded"
    for i in range(j - 1, lo - 1, -1):
        line = fb_margin + slope * (i - t_ref)
        if math.isnan(line) or math.isnan(cap):
            continue
        if cap < line:
            line = cap
        if buf[i - b0] <= line:
            hit = i
            break
    has_gap = 0
    gap_a = gap_b = np.nan
    if hit >= 0:
        x = _x(buf, ist, hit, j + 1)
        at_hit = _pmin(fb_margin + slope * (hit - t_ref), cap)
        t_floor = hit + _crossing(0, x[0], x[1], at_hit)
        for i in range(x.size - 1, 0, -1):
            if math.isnan(x[i]):  # the floor crossing may be hidden in lost samples
                has_gap = 1
                gap_a = float(hit)
                gap_b = float(hit + 1 + (i - 1) + 1)
                break
    else:  # the rise began before the swing searched (at the start: before the data)
        t_floor = float(lo) - 1.0
    if hit >= 0 and earliest > hit and floor_base - air <= margin:
        # A swing in the air (at the unloaded level): whatever rises above its noise floor is
        # the foot's load, a first phase included, not a creep of the sensor. The last sample
        # at the local level may lie inside that first phase; the floor's last sample bounds.
        earliest = hit
        earliest_level = np.nan  # bounded by the floor's crossing (t_floor) already
    _new_open(ist, fst, j, on_thr, off, level, base, earliest, 0)
    # The bound is where the signal leaves that level, interpolated like every crossing.
    if earliest + 1 < j and earliest >= b0 and math.isfinite(earliest_level):
        xe, xn = buf[earliest - b0], buf[earliest + 1 - b0]
        if xe <= earliest_level < xn:
            fst[F_T_EARLIEST] = earliest + (earliest_level - xe) / (xn - xe)
    ist[O_SWING_LO] = lo
    fst[F_FLOOR_N] = floor
    fst[F_T_FLOOR] = t_floor
    fst[F_NOISE_N] = noise
    fst[F_MARGIN_N] = margin
    ist[O_HAS_GAP] = has_gap
    fst[F_GAP_A] = gap_a
    fst[F_GAP_B] = gap_b
    ist[I_MODE] = MODE_CONTACT


@njit(cache=True)
def _post_level(buf, ist, fst, k, look_end):
    """Median of the look-ahead after the toe-off candidate ``k``."""
    after = _finite(_x(buf, ist, k, look_end))
    return _median_inplace(after) if after.size else fst[F_BASE_N]


@njit(cache=True)
def _toe_off(buf, fp, ist, fst, k, look_end, t_off, peak_rel, body, x, post_level):
    """Toe-off: where the fall reaches the noise floor of the swing after the contact."""
    j = ist[O_ON_INDEX]
    n_samples = k - j
    off = fst[F_OFF_N]
    low, high = fst[F_LOW], fst[F_HIGH]
    after = x[n_samples:]  # sample k - 1 onwards
    noise = _noise_sd(after[1:])
    floor = post_level + _pmax(fp[P_FLOOR_SD_K] * noise, fp[P_FLOOR_FRAC] * (high - low))
    floor = _pmin(floor, 0.5 * (post_level + off))
    t_to = t_off
    for r in range(1, after.size):
        if after[r] <= floor:
            i = k + r - 1
            prev = x[i - j] if i > k else x[n_samples]
            if math.isnan(prev):  # the crossing lies in lost samples
                t_to = _pmax(t_off, (j - 1) + _fall_in_gap(x, i - j + 1, floor))
            else:
                t_to = _pmax(t_off, _crossing(i - 1, prev, x[i - j + 1], floor))
            break
    second = 2.0 * off - fst[F_LEVEL_N]  # twice the off-threshold's height
    peak_n = body[peak_rel]
    if peak_n >= second and second > off:
        last = -1
        for r in range(body.size - 1, peak_rel - 1, -1):
            if body[r] >= second:
                last = r
                break
        d2 = last
        t2 = _interpolate(j + d2, x[d2 + 1], x[d2 + 2], second)
        upper = low + fp[P_EDGE_FRAC] * (high - low)
        last_high = -1
        for r in range(body.size - 1, peak_rel - 1, -1):
            if body[r] >= upper:
                last_high = r
                break
        steep = last_high >= 0 and k - (j + last_high) <= ist[I_CERTAIN_N]
        if t_off > t2 and off > post_level and steep:
            t_line = t_off + (t_off - t2) * (off - post_level) / (second - off)
            t_to = _pmax(t_to, t_line)
    latest = look_end - 1
    for r in range(n_samples + 1, x.size):
        if x[r] <= post_level:
            latest = k + (r - n_samples - 1)
            break
    return _pmax(_pmin(t_to, float(latest)), t_off)


@_plain
def _push_edge(fp, ist, edges, offsets_start, t_hs, seg, base, rng):
    """Add one rising edge to the edge history, replacing the oldest when it is full.

    The slots are a ring, not in time order: edge matching uses them as a set.
    """
    cap = edges.shape[1]
    slot = ist[I_EDGE_NEXT]
    for i in range(seg.size):
        edges[0, slot, i] = float(offsets_start + i) - t_hs
        edges[1, slot, i] = (seg[i] - base) / rng
    ist[I_EDGE_NEXT] = (slot + 1) % cap
    ist[I_N_EDGES] = min(ist[I_N_EDGES] + 1, cap)


@njit(cache=True)
def _remember_edge(buf, fp, ist, fst, edges, t_hs, k):
    """Keep the rising edge of the open contact, seen whole (heel strike ``t_hs``)."""
    rng = fst[F_HIGH] - fst[F_LOW]
    a = math.floor(t_hs) - ist[I_EDGE_PRE_N]
    b = math.floor(t_hs) + ist[I_EDGE_POST_N] + 1
    if not rng > 0 or a < max(ist[O_SWING_LO] - 1, ist[I_BUF_START]) or b > k:
        return
    seg = _x(buf, ist, a, b)
    if not _all_finite(seg):
        return
    _push_edge(fp, ist, edges, a, t_hs, seg, fst[F_BASE_N], rng)


@njit(cache=True)
def _edge_fit(idx, y, shifts, xp, fp):
    """Best shift of one remembered edge against the samples seen.

    For each shift ``s``: ``m = np.interp(idx - shifts[s], xp, fp, left=0.0)``, its
    least-squares height factor ``a = clip(m @ y / (m @ m), *EDGE_SCALE_LIMITS)`` (1 when
    ``m`` is all zero) and ``sse[s] = np.sum((a * m - y) ** 2)``; returns ``(np.argmin(sse),
    sse.min())``. The interpolation is numpy's C loop
    (slopes precomputed; the interval guessed from the grid, spaced about one apart, and
    corrected to numpy's: the last ``j`` with ``xp[j] <= x``), written out here because calls
    with array arguments cost more than the work; the sum is numpy's pairwise summation
    (`insole.core._steps_kernel.pairwise_sum`, inlined).
    """
    n, m = idx.size, xp.size
    slopes = np.empty(m - 1, np.float64)
    for i in range(m - 1):
        slopes[i] = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])
    sq = np.empty(n, np.float64)
    best, best_sse = -1, np.inf
    for s in range(shifts.size):
        for i in range(n):
            x = idx[i] - shifts[s]
            if x != x:
                model = x
            elif x > xp[m - 1]:
                model = fp[m - 1]
            elif x < xp[0]:
                model = 0.0  # left
            else:
                j = min(int(x - xp[0]), m - 1)
                while j + 1 < m and xp[j + 1] <= x:
                    j += 1
                while j > 0 and xp[j] > x:
                    j -= 1
                if j == m - 1 or xp[j] == x:
                    model = fp[j]
                else:
                    model = slopes[j] * (x - xp[j]) + fp[j]
                    if model != model:
                        model = slopes[j] * (x - xp[j + 1]) + fp[j + 1]
                        if model != model and fp[j] == fp[j + 1]:
                            model = fp[j]
            sq[i] = model
        # The edge's height varies from step to step: each shift gets its least-squares
        # height factor, bounded by EDGE_SCALE_LIMITS.
        mm = 0.0
        my = 0.0
        for i in range(n):
            mm += sq[i] * sq[i]
            my += sq[i] * y[i]
        a = 1.0
        if mm > 0:
            a = min(max(my / mm, EDGE_SCALE_LIMITS[0]), EDGE_SCALE_LIMITS[1])
        for i in range(n):
            d = a * sq[i] - y[i]
            sq[i] = d * d
        sse = pairwise_sum(sq, 0, n, 0.0)
        if best < 0 or sse < best_sse or (sse != sse and best_sse == best_sse):
            best, best_sse = s, sse
    return best, best_sse


@njit(cache=True)
def _match_edge(buf, ist, fst, edges, j, k):
    """Heel strike of a contact whose rising edge is partly lost; NaN for none."""
    rng = fst[F_HIGH] - fst[F_LOW]
    n_edges = ist[I_N_EDGES]
    if n_edges < 3 or not rng > 0:
        return np.nan
    lo_hs = float(ist[O_EARLIEST]) - 1.0
    hi_hs = float(j)
    a = _edge_start(ist)
    last = edges.shape[2] - 1
    span = edges[0, 0, last]
    for e in range(1, n_edges):
        span = _pmin(span, edges[0, e, last])
    b = min(math.floor(lo_hs + span) + 1, k)
    if b <= j:
        return np.nan
    seg = _x(buf, ist, a, b)
    idx = np.empty(seg.size, np.float64)
    y = np.empty(seg.size, np.float64)
    n = 0
    base = fst[F_BASE_N]
    for i in range(seg.size):
        if math.isfinite(seg[i]):
            idx[n] = float(a + i)
            y[n] = (seg[i] - base) / rng
            n += 1
    shifts = _np_arange(lo_hs, hi_hs + 1e-9, 0.1)
    fit_sse = np.empty(n_edges, np.float64)
    fit_shift = np.empty(n_edges, np.float64)
    idx, y = idx[:n], y[:n]
    for e in range(n_edges):
        best, fit_sse[e] = _edge_fit(idx, y, shifts, edges[0, e], edges[1, e])
        fit_shift[e] = shifts[best]
    # fits.sort() on (sse, shift) tuples, then the median shift of the best three.
    order = np.arange(n_edges)
    for p in range(1, n_edges):  # insertion sort: stable, lexicographic
        q = p
        while q > 0 and (
            fit_sse[order[q]] < fit_sse[order[q - 1]]
            or (
                fit_sse[order[q]] == fit_sse[order[q - 1]]
                and fit_shift[order[q]] < fit_shift[order[q - 1]]
            )
        ):
            order[q], order[q - 1] = order[q - 1], order[q]
            q -= 1
    n_best = min(ist[I_EDGE_BEST], n_edges)
    best3 = np.empty(n_best, np.float64)
    for i in range(n_best):
        best3[i] = fit_shift[order[i]]
    return _median_inplace(best3)


@njit(cache=True)
def _impact_peak(fp, body, j, t_hs, t_to, peak_n):
    """(absolute index, force) of the impact peak; (NaN, NaN) for none."""
    if body.size < 3 or not _all_finite(body):
        return np.nan, np.nan
    peaks = find_peaks(body, fp[P_IMPACT_PROM] * abs(peak_n), fp[P_IMPACT_MIN_WIDTH])
    if peaks.size < 2:
        return np.nan, np.nan  # an impact peak needs a later, larger main peak
    limit = t_hs + fp[P_IMPACT_WINDOW] * (t_to - t_hs)
    main = peaks[0]
    for i in peaks:  # the main (largest, first) peak
        if body[i] > body[main]:
            main = i
    best = -1
    for i in peaks:
        if i < main and t_hs < j + i and j + i <= limit:
            if best < 0 or body[i] > body[best]:
                best = i
    if best < 0:
        return np.nan, np.nan  # no maximum before the main peak within the window
    return float(j + best), body[best]


@njit(cache=True)
def _median_hist(hist, n):
    return _median(hist[:n])


@njit(cache=True)
def _main_rise(x, j, u, t_hs, margin):
    """Heel strike where the main rise leaves a long first phase, or NaN.

    The last sample before the ``upper`` crossing (``x[u + 1]``, sample ``j + u``) at or below
    the phase's median + ``margin``, interpolated; NaN if the phase has lost samples. ``x[i]``
    is sample ``j - 1 + i``; the phase starts at the first heel strike ``t_hs``.
    """
    a = max(int(math.ceil(t_hs)) - (j - 1), 0)  # first sample of the phase, in x
    seg = x[a : u + 1]
    if seg.size < 3 or not _all_finite(seg):
        return np.nan
    floor = _median(seg) + margin
    for i in range(u, a - 1, -1):
        if x[i] <= floor:
            return (j - 1) + _crossing(i, x[i], x[i + 1], floor)
    return np.nan


@njit(cache=True)
def _finish(
    buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, look_end, t_to_in, standing
):
    """Measure the open contact [on_index, k) and emit it (unless not reported).

    ``t_to_in`` fixes the toe-off (NaN: measure it; a step cut at a valley); ``standing`` marks
    a contact cut at ``k`` whose toe-off is not measured: the wearer stands, or lost samples
    that could hide a swing begin there (`_emit_pieces`; toe-off invalid, duration not kept).
    """
    j = ist[O_ON_INDEX]
    n_samples = k - j
    low, high = fst[F_LOW], fst[F_HIGH]
    earliest = float(ist[O_EARLIEST])
    has_t_hs = ist[O_HAS_T_HS] != 0
    extrapolate = ist[I_EXTRAPOLATE] != 0
    piece = not math.isnan(t_to_in) or standing
    post_level = low if piece else _post_level(buf, ist, fst, k, look_end)
    x = _x(buf, ist, j - 1, look_end)  # x[i] is sample j - 1 + i
    body = x[1 : n_samples + 1]  # samples j .. k - 1
    peak_rel = _nanargmax(body)
    peak_n = body[peak_rel]
    stood = ist[I_BEFORE_STEP] != 0 and not piece and _stood_before(fp, fst, peak_n, post_level)
    if _weight_shift(fp, fst, peak_n) or stood:
        _retract(ist, fst, early)
        ist[I_SHIFTS] += 1
        return
    on, off = fst[F_ON_N], fst[F_OFF_N]
    t_on = _interpolate(j - 1, x[0], x[1], on)
    t_off = _interpolate(k - 1, x[n_samples], x[n_samples + 1], off)
    if math.isnan(x[n_samples]):  # the off-crossing lies in lost samples
        t_off = (j - 1) + _fall_in_gap(x, n_samples + 1, off)
    # A crossing hidden in lost samples (NaN): continue the edge's first (last) two valid
    # samples to the threshold, no further back (on) than the gap reaches.
    if not math.isfinite(x[0]) and n_samples >= 2 and x[2] > x[1] and x[1] > -np.inf:
        t_on = _pmax(j - (x[1] - on) / (x[2] - x[1]), earliest)
    if not math.isfinite(x[n_samples + 1]) and n_samples >= 2 and x[n_samples - 1] > x[n_samples]:
        slope = x[n_samples] - x[n_samples - 1]
        t_off = _pmin(k - 1 + (off - x[n_samples]) / slope, float(look_end - 1))
    t_hs = t_on
    upper = low + fp[P_EDGE_FRAC] * (high - low)
    edge = extrapolate and peak_n >= upper and upper > on
    u = 0
    up_seen = False
    t_up = np.nan
    gap_before = not math.isfinite(x[0])
    if extrapolate:
        if has_t_hs:
            t_hs = fst[F_T_HS]
        else:
            t_hs = _rising_edge(buf, fp, ist, fst, _upper_index(buf, fp, ist, fst, k))
        if edge:
            for r in range(peak_rel + 1):
                if body[r] >= upper:
                    u = r
                    break
            up_seen = u >= 1 and math.isfinite(x[u])
            t_up = _interpolate(j + u - 1, x[u], x[u + 1], upper)
            if up_seen and t_up - t_hs > ist[I_PLATEAU_N]:
                t_main = _main_rise(x, j, u, t_hs, fst[F_MARGIN_N])
                if t_main > t_hs:
                    if has_t_hs:  # announced at the first phase: retracted, announced anew
                        _retract(ist, fst, early)
                        has_t_hs = False
                    t_hs = t_main
        if t_hs <= ist[I_TRACK_START]:  # began before the data: in progress at the start
            ist[I_CUT_START] += 1
            if post_level < high:
                _set_levels(fp, fst, post_level, high)
            return
    if standing:
        t_to = float(k)
    elif not math.isnan(t_to_in):
        t_to = t_to_in
    else:
        t_to = t_off
        if extrapolate:
            t_to = _toe_off(buf, fp, ist, fst, k, look_end, t_off, peak_rel, body, x, post_level)
    impact_t, impact_n = _impact_peak(fp, body, j, t_hs, t_to, peak_n)
    has_impact = not math.isnan(impact_t)
    if (edge and not piece) or (edge and not has_t_hs):
        # Landmarks of the rising edge, and how long after the heel strike they come.
        t_peak = float(j + peak_rel)
        matched = np.nan
        edge_seen = _edge_seen(buf, ist, j + u + 1)  # no sample lost up to `upper`
        if edge_seen and up_seen:
            if t_on > t_hs:
                ist[I_N_LEADS + LEAD_ON] = _push(
                    leads[LEAD_ON], ist[I_N_LEADS + LEAD_ON], t_on - t_hs
                )
            if t_up > t_hs:
                ist[I_N_LEADS + LEAD_UPPER] = _push(
                    leads[LEAD_UPPER], ist[I_N_LEADS + LEAD_UPPER], t_up - t_hs
                )
            if t_peak > t_hs:
                ist[I_N_LEADS + LEAD_PEAK] = _push(
                    leads[LEAD_PEAK], ist[I_N_LEADS + LEAD_PEAK], t_peak - t_hs
                )
            if has_impact and impact_t > t_hs:
                ist[I_N_LEADS + LEAD_IMPACT] = _push(
                    leads[LEAD_IMPACT], ist[I_N_LEADS + LEAD_IMPACT], impact_t - t_hs
                )
            _remember_edge(buf, fp, ist, fst, edges, t_hs, k)
        if not edge_seen:
            # Part of the rising edge fell into lost samples: match the samples seen with the
            # rising edges of recent whole contacts.
            matched = _match_edge(buf, ist, fst, edges, j, k)
        if not math.isnan(matched):
            t_hs = _pmin(_pmax(matched, earliest - 1.0), float(j))
        elif not gap_before and not up_seen:
            # The upper crossing was not seen: use the usual delay from heel strike to the
            # (seen) on-crossing.
            n_on = ist[I_N_LEADS + LEAD_ON]
            if n_on >= 3:
                t_hs = _pmax(t_on - _median_hist(leads[LEAD_ON], n_on), earliest)
        elif (
            gap_before
            and (u == 0 or t_on <= earliest)
            and not standing
            and _stance_before_toe_off(buf, ist)
        ):
            t_hs = _heel_strike_before_toe_off(ist, leads, durs, k, impact_t, t_peak)
            t_hs = _pmin(_pmax(t_hs, earliest), float(j))
        elif gap_before:
            # The on-crossing fell into lost samples: the usual time before the first landmark
            # seen after the gap.
            for name in (LEAD_UPPER, LEAD_IMPACT, LEAD_PEAK):
                if name == LEAD_UPPER:
                    present, t = up_seen, t_up
                elif name == LEAD_IMPACT:
                    present, t = has_impact, impact_t
                else:
                    present, t = True, t_peak
                n_name = ist[I_N_LEADS + name]
                if present and n_name >= 3:
                    t_hs = _pmin(t - _median_hist(leads[name], n_name), t_on)
                    t_hs = _pmax(t_hs, earliest)
                    break
        if has_t_hs:
            t_hs = fst[F_T_HS]  # announced early: the same time, always
    if not has_t_hs:  # certain only now (lost samples, a small contact, a first phase)
        _announce(ist, early, t_hs, 1.0)
    # A loss that could hide a swing inside the contact or right before it: the contact may
    # run across a toe-off, a swing and a heel strike not seen (or its heel strike lies
    # somewhere in the loss), so its contact time is no measurement (`_loss_hides_a_swing`).
    lost_time = not standing and _loss_hides_a_swing(buf, ist, t_hs, t_to)
    if lost_time:
        ist[I_LOST_TIME] += 1
    ist[I_N_PEAKS] = _push(peaks, ist[I_N_PEAKS], peak_n)
    if not (standing or lost_time):
        ist[I_N_DURS] = _push(durs, ist[I_N_DURS], float(n_samples))
    new_high = _median(peaks[: ist[I_N_PEAKS]])
    _set_levels(fp, fst, post_level if post_level < new_high else low, new_high)
    row = ist[I_N_OUT]
    out[row, C_T_HS] = t_hs
    out[row, C_T_TO] = t_to
    out[row, C_PEAK] = peak_n
    out[row, C_IMPACT_T] = impact_t
    out[row, C_IMPACT_N] = impact_n
    out[row, C_VALID] = 0.0 if standing or lost_time else 1.0
    ist[I_N_OUT] = row + 1
    ist[I_BEFORE_STEP] = 0


@njit(cache=True)
def _heel_strike_before_toe_off(ist, leads, durs, k, impact_t, t_peak):
    """Heel strike of a contact whose data resume after a loss as long as a swing, on no edge.

    That is where the data resume past the rising edge, or on samples that, continued back to
    the on-threshold, reach past the loss's start (`_stance_before_toe_off`). The heel strike
    is the usual contact (median of the recent durations, off-crossing ``k`` back to the
    on-crossing, then the usual delay from heel strike to on-crossing) before the toe-off
    seen; or the usual time before the impact peak ``impact_t`` or the peak ``t_peak``, where
    that landmark is a steady one (not either hump of a walking stance) and agrees
    (`_PEAK_AGREES_FRACTION`). Not bounded to the loss: the caller does.
    """
    n_on = ist[I_N_LEADS + LEAD_ON]
    lead = _median_hist(leads[LEAD_ON], n_on) if n_on >= 3 else 0.0
    usual = _median_hist(durs, ist[I_N_DURS])
    t_hs = float(k) - usual - lead
    tol = _PEAK_AGREES_FRACTION * usual
    for name in (LEAD_IMPACT, LEAD_PEAK):
        n_name = ist[I_N_LEADS + name]
        t = impact_t if name == LEAD_IMPACT else t_peak
        if n_name < 3 or math.isnan(t):
            continue
        s = np.sort(leads[name][:n_name])
        t_mark = t - _quantile_sorted(s, 0.5)
        spread = _quantile_sorted(s, 0.75) - _quantile_sorted(s, 0.25)
        if spread <= tol and abs(t_mark - t_hs) <= tol:
            return t_mark
    return t_hs


@_plain
def _stance_before_toe_off(buf, ist):
    """True if the open contact's heel strike is better placed from its toe-off.

    That is so when the samples lost right before its on-crossing are as many as the shortest
    swing (``bridge_n``) and recent contacts give a usual contact time: the time from heel
    strike to toe-off varies by a few % from step to step (CV 1.9 % in controls, 3.1 % in
    Huntington's disease, Gaßner et al. 2020), 10-30 ms in walking, while the loss can hold
    the heel strike anywhere in it. On the 19 gaitpdb walks with 1 % burst loss
    (`bench/loss_steps.py`), heel strikes placed at the loss's start (the on-crossing
    continued back from two samples of a plateau) were 270-500 ms early.
    """
    if ist[I_N_DURS] < 3:
        return False
    need = ist[I_BRIDGE_N]
    j = ist[O_ON_INDEX]
    start = max(j - need, ist[I_BUF_START])
    b0 = ist[I_BUF_START]  # a slice, not `_x`: a helper without reference counting must not
    # call one that returns an array (the view's count, raised by `_x`, would never fall again)
    return j - start >= need and _has_lost_run(buf[start - b0 : j - b0], need)


@_plain
def _loss_hides_a_swing(buf, ist, t_hs, t_to):
    """True if ``bridge_n`` lost samples in a row lie in or right before the contact.

    The samples searched run from ``bridge_n`` before the heel strike ``t_hs`` (within the
    swing searched) to the toe-off ``t_to``.

    ``bridge_n`` is the shortest swing (``max(refractory_s, min_swing_s)``, 0.1 s by default):
    a loss this long can hold a toe-off, a swing and the next heel strike, and the detector
    keeps a contact open across lost samples. With a simulated 0.3-1.5 s loss from
    mid-stance, the contact ran on to the next toe-off seen and reported 0.47-1.67 s of
    contact; with 1 % burst loss, 1-5 contact times per 300 s were 50-700 ms off the truth.
    """
    if not (math.isfinite(t_hs) and math.isfinite(t_to)):
        return False
    need = ist[I_BRIDGE_N]
    start = max(int(math.ceil(t_hs - need)), ist[O_SWING_LO], ist[I_BUF_START])
    stop = min(int(math.floor(t_to)) + 1, ist[I_N_SEEN])
    b0 = ist[I_BUF_START]  # a slice, not `_x` (see `_stance_before_toe_off`)
    return stop > start and _has_lost_run(buf[start - b0 : stop - b0], need)


@njit(cache=True)
def _emit_pieces(
    buf, fp, ist, fst, peaks, leads, durs, edges, out, early, valleys, k, look_end, standing=False
):
    """Cut the open contact at ``valleys``; emit every piece before the last valley.

    With ``k >= 0`` (the contact's toe-off candidate) the last piece is emitted too; otherwise
    it stays open as the contact in progress. Each new piece replaces the open contact's fields.
    With ``standing`` the open contact was reported already (it ended in standing): the piece
    before the first valley is its tail and is not emitted again.
    """
    margin = _pmax(fp[P_FLOOR_SD_K] * fst[F_NOISE_N], fp[P_FLOOR_FRAC] * (fst[F_HIGH] - fst[F_LOW]))
    for v in range(valleys.shape[0]):
        a, b, m = valleys[v, 0], valleys[v, 1], valleys[v, 2]
        if valleys[v, 3]:
            # Lost samples that could hold a toe-off, a swing and a heel strike: the step before
            # ends where they begin, its toe-off not seen (flagged as a stand's, its duration
            # not kept); the next starts from the swing seen after them, if any.
            n_before = ist[I_N_OUT]
            _finish(
                buf, fp, ist, fst, peaks, leads, durs, edges, out, early, a, a + 1, np.nan, True
            )
            ist[I_LOST_TIME] += ist[I_N_OUT] - n_before
            saved = ist[I_SWING_START]
            ist[I_SWING_START] = m
            _open_contact(buf, fp, ist, fst, b)
            ist[I_SWING_START] = saved
            continue
        x = _x(buf, ist, a - 1, m + 1)  # x[i] is sample a - 1 + i
        floor = x[x.size - 1] + margin
        i = x.size - 1
        for r in range(x.size):
            if x[r] <= floor:
                i = r
                break
        t_to = (a - 1) + (_crossing(i - 1, x[i - 1], x[i], floor) if i else 0.0)
        if not (standing and v == 0):
            _finish(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, a, m + 1, t_to, False)
        saved = ist[I_SWING_START]
        ist[I_SWING_START] = m
        _open_contact(buf, fp, ist, fst, b)  # the next step, after the swing [m, b)
        ist[I_SWING_START] = saved
    if k >= 0:
        _finish(
            buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, look_end, np.nan, False
        )  # noqa: E501
        return
    # The rest stays open: the contact goes on from the last valley's rise.
    ist[I_MODE] = MODE_CONTACT


@njit(cache=True)
def _cycles(buf, ist, start, stop, low, high):
    """Rises through the middle of [low, high] in the samples [start, stop), with hysteresis."""
    x = _finite(_x(buf, ist, start, stop))
    if x.size < 2 or not high > low:
        return 0
    up_level = low + 0.6 * (high - low)
    down_level = low + 0.4 * (high - low)
    count = 0
    state = 0
    # A rise counts only after the window was seen loaded: a rise under way when the window
    # starts (the contact's own slow edge, still rising 0.1 s after its on-crossing) is no cycle.
    loaded = False
    for v in x:
        s = 1 if v >= up_level else (-1 if v <= down_level else 0)
        if s == 0:
            continue
        if s == 1 and state == -1 and loaded:
            count += 1
        if s == 1:
            loaded = True
        state = s
    return count


@njit(cache=True)
def _recut(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, start, k, look_end, standing):
    """Cut the open contact at the clear valleys in [start, k) (`_valleys`); True if any.

    With ``look_end < 0`` (a check while the contact goes on) the last piece stays open;
    otherwise it ends at ``k`` (`_emit_pieces`; ``standing``: the contact was reported).
    """
    valleys = _valleys(buf, fp, ist, fst, durs, start, k, not standing)
    if valleys.shape[0] == 0:
        return False
    k_end = -1 if look_end < 0 else k
    _emit_pieces(
        buf, fp, ist, fst, peaks, leads, durs, edges, out, early, valleys, k_end, look_end, standing
    )
    return True


@njit(cache=True)
def _standing_valleys(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, look_end):
    """Re-cut a contact reported as standing at clear valleys; True if it found any.

    A valley in a stand (below ``valley_fraction`` of the range for ``min_valley_s``, loaded
    above the middle on both sides: `_valleys`) is the foot unloading and loading again, a step
    out of the stand (gaitndd als4: a 25 s stand that ends with a step from a valley at 24 %
    of the range, annotated as a step). Each valley starts a step like any valley of a long
    contact; the stand itself stays reported once. Only with levels proven by three contacts
    (as `_is_long`): a stand at the start of a recording has levels from its own sway. With
    ``look_end < 0`` (a check while the stand goes on) the last step stays open; otherwise
    the contact ends at ``k``. The search starts at most ``bootstrap_s`` before ``k``.
    """
    if ist[O_DROP] or not ist[O_EMITTED] or ist[I_N_DURS] < 3:
        return False
    start = ist[O_EMIT_AT]
    if _recut(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, start, k, look_end, True):
        return True
    ist[O_EMIT_AT] = max(start, k - ist[I_BOOT_N])
    return False


@njit(cache=True)
def _check_stuck(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, check):
    """Handle the open contact still loaded at ``check``: re-cut, restart, or standing."""
    ist[I_POS] = check
    j = ist[O_ON_INDEX]
    if not ist[O_DROP] and not ist[O_EMITTED]:
        if _recut(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, j, check, -1, False):
            return
        if not _all_finite(_x(buf, ist, max(check - ist[I_MIN_CONTACT_N], j), check)):
            # Samples lost up to (almost) now: whether the foot stays loaded is not known
            # (a disconnect). Decide at the next check, or when the contact ends (its loss
            # may then be a valley: `_close_contact`).
            ist[O_CHECKS] += 1
            return
    if _standing_valleys(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, check, -1):
        return
    ist[O_CHECKS] += 1
    settled = ist[O_ON_INDEX] + ist[I_BRIDGE_N]
    w0 = max(check - ist[I_BOOT_N], settled)
    low, high = _window_levels(buf, fp, ist, w0, check)
    if (
        high - low >= 0.5 * (fst[F_HIGH] - fst[F_LOW])
        and _cycles(buf, ist, w0, check, low, high) >= 2
    ):  # noqa: E501
        if not ist[O_EMITTED]:  # the levels were wrong: no step of it is reported
            _retract(ist, fst, early)
        ist[O_DROP] = 1
        ist[I_N_PEAKS] = 0
        _set_levels(fp, fst, low, high)
        _start_at(buf, fp, ist, fst, check - 1)
        return
    if not ist[O_DROP] and not ist[O_EMITTED]:
        ist[O_EMITTED] = 1
        ist[O_EMIT_AT] = check
        if _scuff(buf, ist, fst, durs, check):
            # Never loaded above the middle of the range: no step (as at a normal end).
            _retract(ist, fst, early)
            return
        n0 = ist[I_N_OUT]
        _finish(
            buf, fp, ist, fst, peaks, leads, durs, edges, out, early, check - 1, check, np.nan, True
        )  # noqa: E501
        if ist[I_N_OUT] > n0 and _loss_hides_a_swing(buf, ist, out[n0, C_T_HS], out[n0, C_T_TO]):
            # Still "loaded" after max_contact_s across a loss (a disconnect): whether the
            # wearer stood is not known; counted with the contact times lost, not as standing.
            ist[I_LOST_TIME] += 1


@njit(cache=True)
def _close_contact(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, look_end):
    """Finish the open contact [on_index, k): none, one, or several steps."""
    j = ist[O_ON_INDEX]
    n_samples = k - j
    if n_samples < ist[I_MIN_CONTACT_N] and not ist[O_DROP]:
        _retract(ist, fst, early)
        return  # a spike: the swing goes on (swing_start unchanged)
    if not ist[O_DROP] and not ist[O_EMITTED] and _scuff(buf, ist, fst, durs, k):
        # Never loaded above the middle of the range: a touch, not a step (as a scuff).
        _retract(ist, fst, early)
        return  # the swing goes on (swing_start unchanged)
    ist[I_SWING_START] = k
    if _standing_valleys(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, look_end):
        return
    # Longer than max_contact_s and not reported only where a check fell into lost samples
    # (`_check_stuck`): re-cut at its loss if it hid a swing, else one step, its contact time
    # flagged as lost (`_loss_hides_a_swing`).
    if ist[O_DROP] or ist[O_EMITTED]:
        post_level = _post_level(buf, ist, fst, k, look_end)
        if post_level < fst[F_HIGH]:
            _set_levels(fp, fst, post_level, fst[F_HIGH])
        return
    if _is_long(fp, ist, durs, n_samples):
        if _recut(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, j, k, look_end, False):
            return
    _finish(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, look_end, np.nan, False)


@njit(cache=True)
def _swing_crossing(buf, fp, ist, fst, n_end):
    """On-crossing in the swing from ``I_POS``, or -1 (``I_POS`` then moves on).

    The unloaded sensor cannot read below its swing level for long. Where a whole block of
    ``bridge_n`` samples of the swing (blocks aligned to absolute indices, so any chunking gives
    the same result) has its median ``m`` so far below the swing level that the on-threshold
    sits more than twice ``on_fraction`` of the range above it (outside the 5-20 % band used
    for on-thresholds), the level was measured where the foot was not in swing (the look-ahead
    after a slow fall, a stand, the start-up window): it is lowered to ``m`` before the search
    goes on, unless the block ends already above the new on-threshold (a rise under way). It is
    never raised here.
    """
    block = ist[I_BRIDGE_N]
    pos = ist[I_POS]
    while True:
        bend = (pos // block + 1) * block
        stop = min(bend, n_end)
        j = _first_crossing(buf, ist, pos, stop, fst[F_ON], True)
        if j >= 0 or stop < bend:
            ist[I_POS] = stop
            return j
        a = bend - block
        if a >= ist[I_SWING_START] and a >= ist[I_BUF_START]:
            high = fst[F_HIGH]
            f = fp[P_ON_FRAC]
            # The test below needs m < (on - 2 f high) / (1 - 2 f): at least half the block
            # below that (plus a margin for rounding), else the median cannot pass. Counting
            # is much cheaper than the median of every block of the swing.
            x = _x(buf, ist, a, bend)
            n_fin = n_below = 0
            below = (fst[F_ON] - 2.0 * f * high) / (1.0 - 2.0 * f) if f < 0.5 else np.inf
            below += 1e-9 * (abs(fst[F_ON]) + abs(high))
            for v in x:
                if math.isfinite(v):
                    n_fin += 1
                    if v < below:
                        n_below += 1
            if 2 * n_fin >= block and 2 * n_below >= n_fin:
                m = _median_inplace(_finite(x))
                last = buf[bend - 1 - ist[I_BUF_START]]
                step = f * (high - m)
                if fst[F_ON] - m > 2.0 * step and last < m + step:
                    _set_levels(fp, fst, m, high)
        pos = bend


@_plain
def _trim_keep(ist):
    """First sample that a pending decision can need (the buffer may start there)."""
    pos = ist[I_POS]
    keep = pos - 1
    mode = ist[I_MODE]
    if mode == MODE_SWING:
        keep = max(ist[I_SWING_START], pos - ist[I_BOOT_N]) - 1
    elif mode == MODE_CONTACT and ist[I_HAS_OPEN]:
        # The stuck-contact check needs its window; a spike needs the swing before it.
        window = max(_next_check(ist) - ist[I_BOOT_N], ist[O_ON_INDEX])
        if ist[O_DROP]:
            keep = pos - 1 if ist[O_OFF_INDEX] < 0 else ist[O_OFF_INDEX] - 1
        else:
            keep = max(ist[I_SWING_START], ist[O_ON_INDEX] - ist[I_BOOT_N]) - 1
        keep = min(keep, window)
    elif mode == MODE_BOOT:
        keep = pos
    return max(keep, ist[I_BUF_START])


@njit(cache=True)
def advance(buf, fp, ist, fst, peaks, leads, durs, edges, final):
    """Run the detector over the buffered samples.

    Parameters
    ----------
    buf : ndarray of float64
        The buffered samples; ``buf[0]`` is sample ``ist[I_BUF_START]``.
    fp, ist, fst, peaks, leads, durs, edges : ndarray
        Parameters and state (see the module docstring); updated in place.
    final : bool
        True at the end of the stream.

    Returns
    -------
    out : ndarray of float64, shape (ist[I_N_OUT], N_COLS)
        The contacts completed, one row each (``C_*`` columns).
    early : ndarray of float64, shape (ist[I_N_EARLY], 2)
        Heel strikes that became certain [fractional sample index] (column 0), in order,
        with 1.0 in column 1; -1.0 there retracts a heel strike announced before (its
        contact turned out to be no step, or its first phase swing).
    keep : int
        First sample the buffer must keep (the caller drops the samples before it).
    """
    # Bound on rows: every contact (and every early heel strike) has its own on-crossing, a
    # buffered sample.
    cap = ist[I_N_SEEN] - ist[I_BUF_START] + 4
    out = np.empty((cap, N_COLS), np.float64)
    # A contact announces, retracts and announces again at most: three rows each.
    early = np.empty((3 * cap, 2), np.float64)
    ist[I_N_OUT] = 0
    ist[I_N_EARLY] = 0
    if ist[I_MODE] == MODE_BOOT and not _bootstrap(buf, fp, ist, fst, final):
        return out[:0], early[:0], _trim_keep(ist)
    n_end = ist[I_N_SEEN]
    while True:
        if ist[I_MODE] == MODE_SWING:
            j = _swing_crossing(buf, fp, ist, fst, n_end)
            if j < 0:
                ist[I_POS] = n_end
                break
            _open_contact(buf, fp, ist, fst, j)
            ist[I_POS] = j + 1
            continue
        assert ist[I_HAS_OPEN], "internal error: no open contact"
        if ist[O_OFF_INDEX] < 0:
            check = _next_check(ist)
            stop = min(n_end, check)
            k = _first_crossing(buf, ist, ist[I_POS], stop, fst[F_OFF_N], False)
            if not (ist[O_HAS_T_HS] or ist[O_DROP] or ist[O_EMITTED]):  # its edge, so far
                _early_heel_strike(buf, fp, ist, fst, early, k if k >= 0 else stop)
            if k < 0:
                if n_end >= check:
                    _check_stuck(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, check)
                    continue
                ist[I_POS] = n_end
                break
            if k - ist[O_ON_INDEX] < ist[I_MIN_CONTACT_N] and not ist[O_DROP]:
                # A spike: discarded at once, so a contact right after it starts afresh.
                _retract(ist, fst, early)
                ist[I_HAS_OPEN] = 0
                ist[I_MODE] = MODE_SWING
                ist[I_POS] = k + 1
                continue
            ist[O_OFF_INDEX] = k
            ist[I_POS] = k + 1
        k = ist[O_OFF_INDEX]
        look_end = k + ist[I_BRIDGE_N]  # a rise above `on` before this index bridges the dip
        m = _first_crossing(buf, ist, ist[I_POS], min(look_end, n_end), fst[F_ON_N], True)
        drop, emitted = ist[O_DROP] != 0, ist[O_EMITTED] != 0
        if m >= 0 and emitted and not drop:
            # The wearer stood and lifted the foot briefly: the rise is the next step.
            ist[I_SWING_START] = k
            _open_contact(buf, fp, ist, fst, m)
            ist[I_POS] = m + 1
            continue
        if m >= 0 and not drop and not emitted and _scuff(buf, ist, fst, durs, k):
            # A light touch that fell back before the real contact: not a step.
            _retract(ist, fst, early)
            _open_contact(buf, fp, ist, fst, m)
            ist[I_POS] = m + 1
            continue
        if m >= 0:  # shorter than the refractory period / minimum swing: same contact
            ist[O_OFF_INDEX] = -1
            ist[I_POS] = m + 1
            continue
        if n_end < look_end and not final:
            ist[I_POS] = n_end
            break
        look_end = min(look_end, n_end)
        # The swing after the contact, whose level times the toe-off: ``I_POST_N`` samples,
        # or up to the next rise where that comes first (a shorter bridge, e.g. the flight
        # between two contacts on one plate under both feet).
        post_end = k + ist[I_POST_N]
        if post_end > look_end:
            m = _first_crossing(buf, ist, look_end, min(post_end, n_end), fst[F_ON_N], True)
            if m >= 0:
                post_end = m
            elif n_end < post_end and not final:
                ist[I_POS] = look_end  # no rise up to there: only the level is awaited
                break
            else:
                post_end = min(post_end, n_end)
        else:
            post_end = look_end
        _close_contact(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, k, post_end)
        ist[I_HAS_OPEN] = 0
        ist[I_MODE] = MODE_SWING
        ist[I_POS] = look_end
        if final and look_end >= n_end:
            break
    if final and ist[I_HAS_OPEN] and ist[I_MODE] == MODE_CONTACT and ist[O_OFF_INDEX] < 0:
        # A stand still open at the end: its valleys start steps too (the last in progress).
        _standing_valleys(buf, fp, ist, fst, peaks, leads, durs, edges, out, early, n_end, -1)
    if final and ist[I_HAS_OPEN] and not (ist[O_DROP] or ist[O_EMITTED]):
        # In progress when the stream ends: reported as a step (its toe-off, the last sample,
        # flagged) if it is one, as long as a contact and loaded above the middle; counted.
        j = ist[O_ON_INDEX]
        n_out = ist[I_N_OUT]
        if (
            ist[I_MODE] == MODE_CONTACT
            and ist[O_OFF_INDEX] < 0
            and n_end - j >= ist[I_MIN_CONTACT_N]
            and j >= 1
            and not _scuff(buf, ist, fst, durs, n_end)
        ):
            ist[O_EMITTED] = 1
            _finish(
                buf, fp, ist, fst, peaks, leads, durs, edges, out, early, n_end - 1, n_end,
                np.nan, True,
            )  # noqa: E501
        if ist[I_N_OUT] > n_out:
            ist[I_CUT_END_KEPT] += 1
        else:
            ist[I_CUT_END] += 1
            _retract(ist, fst, early)  # announced, but no step by the end
    return out[: ist[I_N_OUT]], early[: ist[I_N_EARLY]], _trim_keep(ist)


def warm_up() -> None:
    """Load (or compile) `advance` now, with the argument types the detector passes.

    The first call of a compiled function loads it from the disk cache (or compiles it); the
    detector calls this once, when the first `ContactDetector` is made, so that the first chunk
    of a live stream does not wait for it.
    """
    ist = np.zeros(N_IST, dtype=np.int64)
    ist[I_BOOT_N] = 2  # the start-up window waits for more samples: returns at once
    ist[I_MODE] = MODE_BOOT
    advance(
        np.empty(0, dtype=np.float64),
        np.zeros(N_FP, dtype=np.float64),
        ist,
        np.full(N_FST, np.nan),
        np.zeros(1, dtype=np.float64),
        np.zeros((4, 1), dtype=np.float64),
        np.zeros(1, dtype=np.float64),
        np.zeros((2, 1, 1), dtype=np.float64),
        False,
    )
