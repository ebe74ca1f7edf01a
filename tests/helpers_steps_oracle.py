"""The numpy batch code of `insole.core.steps.step_features`: the compiled kernel's oracle.

`step_features` runs in a compiled kernel (`insole.core._steps_kernel`); this is the numpy code
it replaced, kept here (not in the package) as the oracle it must equal bit for bit
(tests/core/test_steps_kernel.py) and as the speed reference of bench/features_speed.py.
``step_features_numpy`` takes the same parameters as `step_features`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from insole.core.layouts import SensorLayout
from insole.core.steps import (
    STRIKE_WINDOW_S,
    StepFeatures,
    _batch_inputs,
    _contact_baselines,
    _contact_rows,
    _layout_info,
    _LayoutInfo,
    _ml_index,
    _no_steps,
    _region_shares,
    _start_unseen,
    _strike_index,
)

__all__ = ["pairwise_rows", "step_features_numpy"]

#: Samples searched first for the 80 % crossing of the loading rate, as one (contacts x
#: samples) array; contacts that cross later are searched in full, so any value gives the same
#: results. The running impact peak comes 20-50 ms after initial contact (Cavanagh & Lafortune
#: 1980), so at 200 Hz nearly every contact is resolved within the first 32 samples.
LR_WINDOW = 32


#: Samples (of all contacts) per block of the per-sample stage of `step_features`: 8192 x 16
#: sensors x 8 bytes = 1 MiB per float64 work array, within a core's L2 cache; 4096-8192 were
#: fastest in bench/features_speed.py. Any value gives the same results (every per-sample
#: number is computed sample by sample).
BLOCK_ROWS = 8192


def _length_groups(lengths: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Segments grouped by length: ``(n, indices of the segments of length n)``, n > 0."""
    order = np.argsort(lengths, kind="stable")
    sl = lengths[order]
    cuts = np.flatnonzero(np.diff(sl)) + 1
    return [
        (int(sl[g[0]]), order[g[0] : g[-1] + 1])
        for g in np.split(np.arange(len(sl)), cuts)
        if len(g) and sl[g[0]] > 0
    ]


def _segment_sums(
    values: np.ndarray,
    start: np.ndarray,
    groups: list[tuple[int, np.ndarray]],
    *,
    pairwise: bool,
) -> np.ndarray:
    """Sum of each row of ``values`` (C, n_rows) over each segment, as numpy sums a segment.

    ``pairwise``: like ``row[a:b].sum()`` of a 1-D series (numpy's pairwise summation);
    otherwise one sample after the other, like ``block[a:b].sum(axis=0)`` of a (samples x C)
    array. Segments of equal length are gathered into one array and reduced over the segment's
    axis, so each segment gets the same additions in the same order whatever else is in the
    batch. Returns (C, n_segments).
    """
    out = np.zeros((len(values), len(start)))
    for n, sel in groups:
        idx = start[sel] + np.arange(n)[:, None]  # (n, count)
        if pairwise:
            out[:, sel] = np.take(values, idx.T, axis=1).sum(axis=-1)
        else:
            # Added sample after sample explicitly (a numpy reduction over the samples of a
            # single segment would turn pairwise), from the reduction's identity 0.0.
            block = np.take(values, idx, axis=1)  # (C, n, count)
            acc = block[:, 0] + 0.0
            for j in range(1, n):
                acc += block[:, j]
            out[:, sel] = acc
    return out


def _segment_max(values: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``max(0, max over each segment)`` along the last axis (0 for empty segments)."""
    out = np.zeros(values.shape[:-1] + (len(start),))
    ne = length > 0
    if ne.any():
        out[..., ne] = np.maximum.reduceat(values, start[ne], axis=-1)
    return np.maximum(out, 0.0)


def _edge_search(
    lr_total: np.ndarray, o: np.ndarray, n: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First sample >= ``hi`` and the last one < ``lo`` up to it, in each segment (full search).

    Returns ``(j_lo, j_hi, found)``, indices relative to the segment starts ``o``.
    """
    none = np.zeros(len(o), bool)
    seg_of = np.full(len(lr_total), -1, np.int64)
    seg_of[np.repeat(o, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))] = (
        np.repeat(np.arange(len(o)), n)
    )
    inside = seg_of >= 0
    above = np.flatnonzero(lr_total >= np.where(inside, hi[seg_of], np.inf))
    if len(above) == 0:
        return o, o, none
    i = np.searchsorted(above, o)
    found = i < len(above)
    j_hi = np.where(found, above[np.minimum(i, len(above) - 1)] - o, -1)
    found &= j_hi < n
    below = np.flatnonzero(lr_total < np.where(inside, lo[seg_of], -np.inf))
    if len(below) == 0:
        return o, o, none
    i2 = np.searchsorted(below, o + j_hi, side="right") - 1
    j_lo = np.where(i2 >= 0, below[np.maximum(i2, 0)] - o, -1)
    return j_lo, j_hi, found & (j_lo >= 0)


def _loading_rates(
    lr_total: np.ndarray,
    seg_start: np.ndarray,
    seg_len: np.ndarray,
    impact_n: np.ndarray,
    fs: float,
) -> np.ndarray:
    """Loading-rate index of every segment of ``lr_total`` [unit/s].

    ``lr_total[seg_start[k] : seg_start[k] + seg_len[k]]`` is contact k's total force from one
    sample before its start; ``impact_n[k]`` its baseline-corrected impact peak (NaN: none).
    The slope runs from the last sample below 20 % of the impact peak before the first sample
    at or above 80 % to that sample, both crossings interpolated linearly; NaN without an
    impact peak or such a rising edge.
    """
    out = np.full(len(seg_start), np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.flatnonzero(np.isfinite(impact_n) & (impact_n > 0) & (seg_len > 0))
    if len(ok) == 0:
        return out
    o, n, imp = seg_start[ok], seg_len[ok], impact_n[ok]
    lo, hi = 0.2 * imp, 0.8 * imp
    # First the first LR_WINDOW samples of every contact, as one array.
    j = np.arange(LR_WINDOW)
    inwin = j < n[:, None]
    win = lr_total[np.minimum(o[:, None] + j, len(lr_total) - 1)]
    at_hi = (win >= hi[:, None]) & inwin
    found = at_hi.any(axis=1)
    j_hi = np.argmax(at_hi, axis=1)  # the first
    below = (win < lo[:, None]) & (j <= j_hi[:, None])
    j_lo = np.where(below.any(axis=1), LR_WINDOW - 1 - np.argmax(below[:, ::-1], axis=1), -1)
    found &= j_lo >= 0
    later = np.flatnonzero(~at_hi.any(axis=1) & (n > LR_WINDOW))
    if len(later):
        j_lo[later], j_hi[later], found[later] = _edge_search(
            lr_total, o[later], n[later], lo[later], hi[later]
        )
    found &= j_hi > 0
    if not found.any():
        return out
    k = np.flatnonzero(found)
    o, lo, hi, j_lo, j_hi = o[k], lo[k], hi[k], j_lo[k], j_hi[k]

    def cross(j: np.ndarray, level: np.ndarray) -> np.ndarray:
        a, b = lr_total[o + j], lr_total[o + j + 1]
        jf = j.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b != a, jf + (level - a) / (b - a), jf)

    t_lo = cross(j_lo, lo)
    t_hi = cross(j_hi - 1, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.where(t_hi > t_lo, (hi - lo) * fs / (t_hi - t_lo), np.nan)
    out[ok[k]] = lr
    return out


def pairwise_rows(a: np.ndarray) -> np.ndarray:
    """Column sums of ``a`` (k, n), added exactly as numpy adds one row of k numbers.

    ``x.sum(axis=1)`` of an (n, k) array runs numpy's pairwise summation over each row of k:
    below 8 terms one after the other; up to 128 in 8 interleaved partial sums combined as
    ``((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))`` followed by the remainder; beyond
    that, the two halves (the first rounded down to a multiple of 8) recursively; all added to
    the identity 0.0 (``pairwise_sum`` in numpy/_core/src/umath/loops_utils.h.src; checked
    against ``x.sum(axis=1)`` for 1-300 terms by tests/core/test_steps_batch.py). Done here
    with whole-row operations on the transposed block, so the sums (and every figure of a
    contact) are bit for bit what `step_load` computed per contact.
    """
    k = len(a)
    if k < 8:
        res = a[0] + 0.0 if k else np.zeros(a.shape[1:])
        for j in range(1, k):
            res += a[j]
    elif k <= 128:
        m = k - k % 8
        acc = a[0:8].copy()
        for i in range(8, m, 8):
            acc += a[i : i + 8]
        pair = acc[0::2] + acc[1::2]
        quad = pair[0::2] + pair[1::2]
        res = quad[0] + quad[1]
        for i in range(m, k):
            res += a[i]
    else:
        h = k // 2
        h -= h % 8
        return pairwise_rows(a[:h]) + pairwise_rows(a[h:])
    res += 0.0  # the identity the reduction starts from (turns -0.0 into 0.0)
    return res


def _row_block(
    xt: np.ndarray, info: _LayoutInfo
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample figures of baseline-corrected samples ``xt`` (sensors x samples, float64).

    ``xt`` is modified in place. Returns the total force (lost values counted as 0), the
    clipped (>= 0) sensor forces, their sum, the heel sum, the region sums (regions x samples),
    the CoP moments (2 x samples) and the indices of samples with lost values. Every figure is
    computed sample by sample, with the additions `step_load` made for one contact.
    """
    total = pairwise_rows(xt)
    bad = np.flatnonzero(np.isnan(total))  # samples with a NaN (or inf - inf)
    gap_rows = bad[:0]
    if len(bad):
        xb = xt[:, bad]
        nan = np.isnan(xb)
        gap_rows = bad[nan.any(axis=0)]
        xb[nan] = 0.0
        xt[:, bad] = xb
        total[bad] = pairwise_rows(xb)
    pos = np.maximum(xt, 0.0, out=xt)
    w = pairwise_rows(pos)
    heel = pairwise_rows(pos[info.heel]) if len(info.heel) else np.zeros(pos.shape[1])
    # Region sums member by member in sensor order: the additions of ``pos @ membership``
    # (weights 0 and 1, so the matrix product only adds the members, in that order).
    region = np.empty((len(info.members), pos.shape[1]))
    for k, m in enumerate(info.members):
        col = region[k]
        np.copyto(col, pos[m[0]])
        for j in m[1:]:
            col += pos[j]
    # CoP moments, sensor after sensor (step_load's BLAS product added in an order that depends
    # on the contact's length; any fixed order gives the same CoP to float32 precision).
    xy = info.xy
    moment = pos[0] * xy[:, :1]
    term = np.empty_like(moment)
    for j in range(1, len(pos)):
        np.multiply(pos[j], xy[:, j : j + 1], out=term)
        moment += term
    return total, pos, w, heel, region, moment, gap_rows


def step_features_numpy(
    force_n: np.ndarray,
    *,
    layout: SensorLayout,
    sampling_rate_hz: float,
    heel_strike_index: ArrayLike,
    toe_off_index: ArrayLike,
    baseline_n: np.ndarray | None = None,
    impact_peak_n: ArrayLike | None = None,
) -> StepFeatures:
    """`step_features` in numpy alone: the oracle of the compiled kernel (same parameters).

    The samples of all contacts are gathered into one (rows x sensors) array, processed a
    block of `BLOCK_ROWS` rows at a time (baseline, clipping, region sums, centre of pressure),
    and reduced per contact with ``np.maximum.reduceat`` and one summation per distinct
    contact length. Kept as the readable statement of what `step_features` computes bit for
    bit (tests/core/test_steps_kernel.py). Parameters and result as `step_features`.
    """
    fs = float(sampling_rate_hz)
    dt = 1.0 / fs
    info = _layout_info(layout)
    force_n, hs, to, impact = _batch_inputs(force_n, heel_strike_index, toe_off_index,
                                            impact_peak_n)
    n_steps, (n_total, n_sensors) = len(hs), force_n.shape
    if n_steps == 0:
        return _no_steps(info.names, n_sensors)
    base, impact = _contact_baselines(baseline_n, n_steps, n_sensors, impact)

    a, length, start, n_rows = _contact_rows(hs, to, n_total)
    seg = np.repeat(np.arange(n_steps), length)
    rows = np.arange(n_rows) + np.repeat(a - start, length)

    total = np.empty(n_rows)
    w = np.empty(n_rows)
    heel = np.empty(n_rows)
    region = np.empty((len(info.names), n_rows))
    moment = np.empty((2, n_rows))
    sensor_peak = np.zeros((n_sensors, n_steps))
    base_t = None if base is None else np.ascontiguousarray(base.T)
    gaps = []
    # Blocks of whole contacts of about BLOCK_ROWS samples, sensors x samples.
    ends = start + length
    k0 = 0
    while k0 < n_steps:
        k1 = max(int(np.searchsorted(ends, start[k0] + BLOCK_ROWS, side="right")), k0 + 1)
        r0, r1 = int(start[k0]), int(ends[k1 - 1])
        if r1 > r0:
            xt = np.take(force_n, rows[r0:r1], axis=0).T
            if base_t is None:
                xt = xt.astype(np.float64, order="C")
            else:
                xt = np.subtract(
                    xt, np.repeat(base_t[:, k0:k1], length[k0:k1], axis=1), dtype=np.float64
                )
            t, pos, ww, hh, rr, mm, gr = _row_block(xt, info)
            total[r0:r1], w[r0:r1], heel[r0:r1], region[:, r0:r1], moment[:, r0:r1] = (
                t, ww, hh, rr, mm
            )  # fmt: skip
            gaps.append(gr + r0)
            ne = np.flatnonzero(length[k0:k1]) + k0
            sensor_peak[:, ne] = np.maximum.reduceat(pos, start[ne] - r0, axis=1)
        k0 = k1
    sensor_peak = np.maximum(sensor_peak, 0.0).T * info.kpa_per_n
    has_gap = np.zeros(n_steps, bool)
    if gaps:
        has_gap[seg[np.concatenate(gaps)]] = True

    groups = _length_groups(length)
    impulse, heel_impulse = (
        _segment_sums(np.stack((np.maximum(total, 0.0), heel)), start, groups, pairwise=True) * dt
    )
    # ``region_force.sum(axis=0)`` of step_load: row after row, but pairwise for one region.
    region_impulse = _segment_sums(region, start, groups, pairwise=len(region) == 1).T * dt
    share = _region_shares(region_impulse)
    peak_kpa = np.stack([sensor_peak[:, m].max(axis=1) for m in info.members], axis=1)

    # Centre of pressure (foot frame).
    with np.errstate(invalid="ignore", divide="ignore"):
        cop = np.where(w > 0, moment / w, np.nan)
    strike = np.full(n_steps, np.nan)
    if layout.n_sensors > 1 and n_rows:
        n_win = max(1, int(round(STRIKE_WINDOW_S * fs)))
        j = np.arange(n_win)
        inwin = j < length[:, None]
        idx = np.where(inwin, start[:, None] + j, 0)
        ww = np.where(inwin, w[idx], 0.0)
        w_sum = ww.sum(axis=1)
        y_sum = (ww * np.where(inwin, np.nan_to_num(cop[1][idx]), 0.0)).sum(axis=1)
        strike = _strike_index(y_sum, w_sum, length, layout)

    ml = _ml_index(region_impulse, info.names)

    # Loading rate on the baseline-corrected total force, from one sample before the contact
    # (at 200 Hz a fast impact can pass 20 % of its peak within the first sample of contact).
    has_pre = (a >= 1) & (a - 1 < n_total)
    n_pre = np.cumsum(has_pre)
    lr_start = start + n_pre - has_pre
    lr_total = np.empty(n_rows + int(n_pre[-1]))
    lr_total[np.arange(n_rows) + np.repeat(n_pre, length)] = total
    pre_k = np.flatnonzero(has_pre)
    pre = np.ascontiguousarray(force_n[a[pre_k] - 1], np.float64)
    if base is not None:
        pre = pre - base[pre_k]
    lr_total[lr_start[pre_k]] = np.nan_to_num(pre).sum(axis=1)  # row sums, as step_load
    lr = _loading_rates(lr_total, lr_start, length + has_pre, impact, fs)

    cop32 = cop.astype(np.float32)
    return _start_unseen(force_n, a, fs, StepFeatures(
        region_names=info.names,
        peak_force_n=_segment_max(total, start, length),
        heel_peak_n=_segment_max(heel, start, length),
        impulse_ns=impulse,
        heel_impulse_ns=heel_impulse,
        region_peak_kpa=peak_kpa,
        region_peak_n=_segment_max(region, start, length).T,
        region_impulse_ns=region_impulse,
        region_share_pct=share,
        strike_index_pct=strike,
        ml_index_pct=ml,
        loading_rate_index=lr,
        has_gap=has_gap,
        cop_x_mm=cop32[0],
        cop_y_mm=cop32[1],
        cop_start=np.append(start, n_rows),
    ))
