"""Per-step load distribution: what each contact put through each region of the foot.

`step_features` takes one side's calibrated sensor forces and any number of detected contacts
and returns, per contact: regional peak pressure, peak force, impulse and share of the step's
impulse; heel peak force and impulse; the centre-of-pressure path; the strike index and class;
a medial-lateral index; and the loading-rate index (`StepFeatures`, arrays; `StepFeatures.loads`
gives one `StepLoad` per contact). `swing_baselines` gives the baseline each contact is
re-zeroed with. Offline analysis computes the thousands of contacts of a recording in one call,
a live feed the 0-2 it completed; `step_load` is the one-contact case. The per-sample work
and the per-contact reductions run in compiled kernels (`insole.core._steps_kernel`, numba),
one pass over each contact's rows; the numpy batch code they replaced, bit for bit the same, is
kept in tests/ as their oracle (``tests/helpers_steps_oracle.py``, used by
tests/core/test_steps_kernel.py and bench/features_speed.py).

Every number of a contact is a function of that contact's samples (and the swing baseline
before it) only, computed with the same floating-point operations in the same order whatever
else is in the batch, so a step's numbers never depend on how the stream was chunked. They are
also those of the former per-contact implementation bit for bit, except the strike index
(within a few ulp: its centre of pressure came from a BLAS product whose summation order varied
with the contact's length); tests/core/test_steps_batch.py keeps that implementation as the
oracle.

Notes
-----
- Strike index (Cavanagh & Lafortune 1980, J Biomech 13:397): antero-posterior centre of
  pressure at first contact as % of foot length from the heel; < 33.3 % rearfoot,
  33.3-66.7 % midfoot, > 66.7 % forefoot. The CoP at contact is the force-weighted mean over the
  first `STRIKE_WINDOW_S` of contact, because the CoP of the first sample alone rests on a few
  newtons of sensor noise.
- Loading-rate index: slope of the vertical force between 20 % and 80 % of the impact peak,
  computed only when the contact has an impact peak (docs/domain.md, after the force-plate
  definition used e.g. by Davis et al. 2016, Br J Sports Med 50:887). From insoles this is an
  *index*: insoles show 7-28 % hysteresis and underestimate force, so it is compared with the
  runner's own baseline, never with force-plate thresholds.
- Baseline re-zeroing: each sensor's swing-phase reading (median over the middle half of the
  preceding swing) is subtracted, cancelling drift and the residual load of a laced shoe.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike

from insole.core.layouts import HEEL_REGIONS, REGIONS, SensorLayout

__all__ = [
    "MIDFOOT_MAX_PCT",
    "REARFOOT_MAX_PCT",
    "STRIKE_WINDOW_S",
    "UNSEEN_LOSS_S",
    "StepFeatures",
    "StepLoad",
    "classify_strike",
    "lost_rows",
    "step_features",
    "step_load",
    "step_loads",
    "swing_baselines",
]

#: Strike-index class limits [% of foot length from the heel] (Cavanagh & Lafortune 1980).
REARFOOT_MAX_PCT = 100.0 / 3.0
MIDFOOT_MAX_PCT = 200.0 / 3.0
#: Time after initial contact over which the contact CoP is averaged [s].
STRIKE_WINDOW_S = 0.015

_MEDIAL = ("heel_medial", "forefoot_medial")
_LATERAL = ("heel_lateral", "forefoot_lateral")


@dataclass(frozen=True)
class _LayoutInfo:
    names: tuple[str, ...]
    members: tuple[np.ndarray, ...]
    membership: np.ndarray  # (n_sensors, n_regions) 0/1
    kpa_per_n: np.ndarray
    heel: np.ndarray
    x: np.ndarray
    y: np.ndarray
    xy: np.ndarray  # (2, n_sensors): x and y
    member_index: np.ndarray  # the members of all regions, one region after the other
    member_start: np.ndarray  # region k's are member_index[member_start[k]:member_start[k+1]]


_LAYOUT_CACHE: dict[int, tuple[SensorLayout, _LayoutInfo]] = {}


def _layout_info(layout: SensorLayout) -> _LayoutInfo:
    """Region membership and geometry of a layout, computed once per layout object."""
    hit = _LAYOUT_CACHE.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    region_of = np.asarray(layout.region)
    names = tuple(r for r in REGIONS if np.any(region_of == r))
    members = tuple(np.flatnonzero(region_of == r) for r in names)
    membership = np.zeros((layout.n_sensors, len(names)))
    for k, m in enumerate(members):
        membership[m, k] = 1.0
    heel = layout.indices(*HEEL_REGIONS)
    if len(heel) == 0 and layout.n_sensors == 1:
        heel = np.array([0])  # a whole-foot sensor counts as heel (footswitch, plate)
    info = _LayoutInfo(
        names=names,
        members=members,
        membership=membership,
        kpa_per_n=1000.0 / np.asarray(layout.area_mm2, float),
        heel=np.ascontiguousarray(heel, np.int64),
        x=np.asarray(layout.x_mm, float),
        y=np.asarray(layout.y_mm, float),
        xy=np.array((layout.x_mm, layout.y_mm), float).reshape(2, layout.n_sensors),
        member_index=np.concatenate([np.zeros(0, np.int64), *members]).astype(np.int64),
        member_start=np.cumsum([0, *(len(m) for m in members)]).astype(np.int64),
    )
    if len(_LAYOUT_CACHE) > 64:
        _LAYOUT_CACHE.clear()
    _LAYOUT_CACHE[id(layout)] = (layout, info)
    return info


def kernels() -> ModuleType:
    """The compiled kernels (`insole.core._steps_kernel`), imported and loaded on first use.

    Importing numba and loading the cached kernels cost start-up time: importing this module
    stays light and the first batch of steps pays it (the detector has loaded numba by then).
    Thread-safe: the first callers wait while one of them loads it.
    """
    global _KERNEL
    if _KERNEL is None:
        with _KERNEL_LOCK:
            if _KERNEL is None:
                from firmware_protocol.jit import load_numba

                load_numba()  # numba without scipy.linalg and cffi (start-up)
                from insole.core import _steps_kernel

                _KERNEL = _steps_kernel
    return _KERNEL


_KERNEL: ModuleType | None = None
_KERNEL_LOCK = threading.Lock()


def classify_strike(strike_index_pct: float) -> str:
    """Rearfoot / midfoot / forefoot from the strike index (Cavanagh & Lafortune 1980)."""
    if not np.isfinite(strike_index_pct):
        return "unknown"
    if strike_index_pct < REARFOOT_MAX_PCT:
        return "rearfoot"
    if strike_index_pct <= MIDFOOT_MAX_PCT:
        return "midfoot"
    return "forefoot"


@dataclass
class StepLoad:
    """Load distribution of one contact (units in the names; forces in the data's unit).

    Attributes
    ----------
    peak_force_n, heel_peak_n : float
        Peak of the total and of the heel (medial + lateral) force.
    impulse_ns, heel_impulse_ns : float
        Impulse (time integral of force) of the whole foot and of the heel.
    regions : dict of str to dict
        Per region present in the layout: ``peak_kpa``, ``peak_n``, ``impulse_ns``,
        ``share_pct`` (shares sum to 100 %).
    strike_index_pct : float
        AP centre of pressure at contact, % of foot length (NaN without position information).
    strike_pattern : str
        ``"rearfoot"``, ``"midfoot"``, ``"forefoot"`` or ``"unknown"``.
    ml_index_pct : float
        100 · (lateral − medial) / (lateral + medial) impulse of the heel and forefoot regions;
        positive = lateral loading. NaN without medial/lateral sensors.
    loading_rate_index : float
        Slope between 20 % and 80 % of the impact peak [N/s]; NaN without an impact peak.
    cop_x_mm, cop_y_mm : ndarray
        Centre-of-pressure path over the contact (foot frame; NaN where unloaded).
    has_gap : bool
        Whether samples inside the contact were lost, or at least `UNSEEN_LOSS_S` just before
        it (its initial contact was not seen: no strike index or loading-rate index then).
    """

    peak_force_n: float
    heel_peak_n: float
    impulse_ns: float
    heel_impulse_ns: float
    regions: dict[str, dict[str, float]]
    strike_index_pct: float
    strike_pattern: str
    ml_index_pct: float
    loading_rate_index: float
    cop_x_mm: np.ndarray = field(repr=False)
    cop_y_mm: np.ndarray = field(repr=False)
    has_gap: bool = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small objects.

    Building the `StepLoad` objects of an hour (tens of thousands of objects and dicts, none of
    them in a reference cycle) otherwise triggers collections that scan every live object,
    which takes longer than building them once many objects are alive. The previous state is
    restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, eq=False)
class StepFeatures:
    """Load distribution of a batch of contacts, one row per contact (see `StepLoad`).

    Attributes
    ----------
    region_names : tuple of str
        Regions of the layout, in `REGIONS` order (columns of the ``region_*`` arrays).
    peak_force_n, heel_peak_n, impulse_ns, heel_impulse_ns : ndarray, shape (n,)
        As in `StepLoad`.
    region_peak_kpa, region_peak_n, region_impulse_ns, region_share_pct : ndarray, shape (n, R)
        Per-region figures of `StepLoad.regions`.
    strike_index_pct, ml_index_pct, loading_rate_index : ndarray, shape (n,)
        As in `StepLoad`.
    has_gap : ndarray of bool, shape (n,)
        Whether samples inside the contact were lost, or at least `UNSEEN_LOSS_S` just before
        it (its initial contact was not seen: no strike index or loading-rate index then).
    cop_x_mm, cop_y_mm : ndarray of float32, shape (n_rows,)
        Centre-of-pressure paths of all contacts, one after the other.
    cop_start : ndarray of int, shape (n + 1,)
        Contact ``k``'s path is ``cop_x_mm[cop_start[k]:cop_start[k + 1]]``.
    """

    region_names: tuple[str, ...]
    peak_force_n: np.ndarray
    heel_peak_n: np.ndarray
    impulse_ns: np.ndarray
    heel_impulse_ns: np.ndarray
    region_peak_kpa: np.ndarray
    region_peak_n: np.ndarray
    region_impulse_ns: np.ndarray
    region_share_pct: np.ndarray
    strike_index_pct: np.ndarray
    ml_index_pct: np.ndarray
    loading_rate_index: np.ndarray
    has_gap: np.ndarray
    cop_x_mm: np.ndarray = field(repr=False)
    cop_y_mm: np.ndarray = field(repr=False)
    cop_start: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.peak_force_n)

    @property
    def strike_pattern(self) -> list[str]:
        """Strike class of each contact (`classify_strike`)."""
        si = self.strike_index_pct
        code = np.zeros(len(si), np.int64)  # unknown
        with np.errstate(invalid="ignore"):
            code[si < REARFOOT_MAX_PCT] = 1
            code[(si >= REARFOOT_MAX_PCT) & (si <= MIDFOOT_MAX_PCT)] = 2
            code[si > MIDFOOT_MAX_PCT] = 3
        names = ("unknown", "rearfoot", "midfoot", "forefoot")
        return [names[c] for c in code.tolist()]

    def loads(self) -> list[StepLoad]:
        """One `StepLoad` per contact; the CoP paths are views of `cop_x_mm` / `cop_y_mm`."""
        with gc_paused():
            return self._loads()

    def _loads(self) -> list[StepLoad]:
        names = self.region_names
        per_region = np.stack(
            (self.region_peak_kpa, self.region_peak_n, self.region_impulse_ns,
             self.region_share_pct),
            axis=-1,
        ).tolist()  # fmt: skip
        bounds = self.cop_start.tolist()
        cop_x, cop_y = self.cop_x_mm, self.cop_y_mm
        return [
            StepLoad(
                pf,
                hp,
                imp,
                himp,
                dict(
                    zip(
                        names,
                        [
                            {"peak_kpa": p, "peak_n": n, "impulse_ns": i, "share_pct": s}
                            for p, n, i, s in reg
                        ],
                        strict=True,
                    )
                ),
                si,
                sp,
                ml,
                lr,
                cop_x[a:b],
                cop_y[a:b],
                gap,
            )
            for pf, hp, imp, himp, reg, si, sp, ml, lr, gap, a, b in zip(
                self.peak_force_n.tolist(),
                self.heel_peak_n.tolist(),
                self.impulse_ns.tolist(),
                self.heel_impulse_ns.tolist(),
                per_region,
                self.strike_index_pct.tolist(),
                self.strike_pattern,
                self.ml_index_pct.tolist(),
                self.loading_rate_index.tolist(),
                self.has_gap.tolist(),
                bounds[:-1],
                bounds[1:],
                strict=True,
            )
        ]


def _no_steps(names: tuple[str, ...], n_sensors: int) -> StepFeatures:
    e, er = np.zeros(0), np.zeros((0, len(names)))
    return StepFeatures(
        names, e, e, e, e, er, er, er, er, e, e, e, e.astype(bool),
        np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(1, np.int64),
    )  # fmt: skip


def _strike_index(
    y_sum: np.ndarray, w_sum: np.ndarray, length: np.ndarray, layout: SensorLayout
) -> np.ndarray:
    """Strike index [% of foot length] from the force-weighted sums of the first window."""
    with np.errstate(invalid="ignore", divide="ignore"):
        y0 = y_sum / w_sum
    return np.where(
        (length > 0) & (w_sum > 0), 100.0 * y0 / float(layout.foot_length_mm), np.nan
    )


def _ml_index(region_impulse: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Medial-lateral index [%] from the region impulses (steps x regions)."""
    index_of = {r: j for j, r in enumerate(names)}
    zero = np.zeros(region_impulse.shape[0])
    med = sum((region_impulse[:, index_of[r]] for r in _MEDIAL if r in index_of), zero)
    lat = sum((region_impulse[:, index_of[r]] for r in _LATERAL if r in index_of), zero)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(lat + med > 0, 100.0 * (lat - med) / (lat + med), np.nan)


def _batch_inputs(
    force_n: ArrayLike, heel_strike_index: ArrayLike, toe_off_index: ArrayLike,
    impact_peak_n: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arguments of `step_features` as arrays: forces, heel strikes, toe-offs, impacts.

    Impact peaks: NaN (or None) where a contact has none, broadcast to one per contact.
    """
    force = np.asarray(force_n)
    hs = np.atleast_1d(np.asarray(heel_strike_index, np.float64))
    to = np.atleast_1d(np.asarray(toe_off_index, np.float64))
    impact = np.atleast_1d(np.asarray(np.nan if impact_peak_n is None else impact_peak_n))
    if impact.dtype == object:
        impact = np.array([np.nan if v is None else v for v in impact], np.float64)
    return force, hs, to, np.broadcast_to(impact.astype(np.float64), (len(hs),))


def _contact_rows(
    hs: np.ndarray, to: np.ndarray, n_total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The samples of each contact: first sample, count, first row in the batch; rows in all.

    A contact holds the samples from ``ceil(hs)`` to ``floor(to)``, both within ``n_total``.
    """
    a = np.maximum(np.ceil(hs), 0).astype(np.int64)
    b = np.minimum(np.floor(to).astype(np.int64) + 1, n_total)
    length = np.maximum(b - a, 0)
    start = np.cumsum(length) - length  # row of each contact's first sample in the batch
    return a, length, start, int(length.sum())


#: A contact whose first samples seen follow at least this much lost data has no strike or
#: loading-rate index [s] (`_start_unseen`). The impact peak of running comes 20-50 ms after
#: initial contact (Cavanagh & Lafortune 1980), and walking's loading response, with the
#: centre of pressure under the heel, lasts the first 10 % of the gait cycle, about 0.1 s
#: (Perry & Burnfield 2010); the first samples after a shorter loss still belong to the
#: initial contact. In simulated running with 2 % frame loss (single 30 ms
#: frames, seeds 1-3 of bench/sim_accuracy.py's patterns) every contact with a lost sample just
#: before it (26-29 per 2,548 steps) still had its true strike pattern; a 365 ms burst over a
#: walking heel strike gave "midfoot" from mid-stance samples and a heel peak of 143 N against
#: 530 N.
UNSEEN_LOSS_S = 0.05


def lost_rows(force_n: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` of ``force_n`` are lost samples: NaN for every sensor (a lost frame).

    A lost row is NaN throughout, so the first sensor is tested for all rows and the rest only
    where it is NaN.
    """
    lost = np.isnan(force_n[rows, 0])
    cand = np.flatnonzero(lost)
    if cand.size:
        lost[cand] = np.isnan(force_n[rows[cand]]).all(axis=1)
    return lost


def _start_unseen(
    force_n: np.ndarray, a: np.ndarray, fs: float, features: StepFeatures
) -> StepFeatures:
    """Mark the contacts whose initial contact fell into lost samples; return ``features``.

    When at least `UNSEEN_LOSS_S` of samples right before a contact's first sample are lost
    (whole rows NaN: frames lost in transit), its rise from the swing was not seen: the
    detector placed the heel strike inside the loss, or at the first sample after it when no
    edge was seen at all (docs/events.md, step 7), and the first samples seen may be
    mid-stance. Such a contact gets ``has_gap``, and no strike index and no loading-rate
    index: both are measured at initial contact.
    """
    m = max(1, int(math.ceil(UNSEEN_LOSS_S * fs - 1e-9)))
    pre = np.flatnonzero((a >= m) & (a - 1 < len(force_n)))
    if not pre.size:
        return features
    pre = pre[lost_rows(force_n, a[pre] - 1)]  # the sample before lost: few left
    if not pre.size:
        return features
    rows = a[pre, None] - 1 - np.arange(m)
    unseen = pre[lost_rows(force_n, rows.ravel()).reshape(rows.shape).all(axis=1)]
    features.has_gap[unseen] = True
    features.strike_index_pct[unseen] = np.nan
    features.loading_rate_index[unseen] = np.nan
    return features


def _contact_baselines(
    baseline_n: np.ndarray | None, n_steps: int, n_sensors: int, impact: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """Each contact's baseline, (n_steps, n_sensors) or None, and the impact peaks less it.

    The impact peak is corrected by the baseline's sum in the baseline's own precision (as
    `step_load` did).
    """
    if baseline_n is None:
        return None, impact
    base = np.asarray(baseline_n)
    base = np.broadcast_to(base, (n_steps, n_sensors)) if base.ndim == 1 else base
    return base, impact - np.nansum(np.ascontiguousarray(base), axis=1).astype(np.float64)


def _region_shares(region_impulse: np.ndarray) -> np.ndarray:
    """Share of each region in the impulse of each contact [%] (0 with no impulse)."""
    region_total = region_impulse.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            region_total[:, None] > 0, 100.0 * region_impulse / region_total[:, None], 0.0
        )


def step_features(
    force_n: np.ndarray,
    *,
    layout: SensorLayout,
    sampling_rate_hz: float,
    heel_strike_index: ArrayLike,
    toe_off_index: ArrayLike,
    baseline_n: np.ndarray | None = None,
    impact_peak_n: ArrayLike | None = None,
) -> StepFeatures:
    """Compute the load distribution of a batch of contacts at once, as arrays.

    One pass of a compiled kernel (`insole.core._steps_kernel.step_rows`) over each contact's
    rows of ``force_n`` (baseline, lost values, clipping, region sums, centre of pressure,
    then the contact's peaks, sums and loading rate), without gathering the samples; the few
    per-contact figures derived from those (shares, pressures, strike index, medial-lateral
    index) in numpy. Each contact's numbers depend only on its own samples, so they are the
    same whatever else is in the batch (chunk invariance of the pipeline); they are bit for bit
    those of the numpy oracle in ``tests/helpers_steps_oracle.py``.

    Parameters
    ----------
    force_n : ndarray, shape (n_samples, n_sensors)
        Sensor forces of one side; NaN rows are lost samples.
    layout : SensorLayout
        Sensor positions, areas and regions.
    sampling_rate_hz : float
        Sampling rate [Hz].
    heel_strike_index, toe_off_index : array_like, shape (n,)
        Contact starts and ends as fractional sample indices into ``force_n``.
    baseline_n : ndarray, shape (n_sensors,) or (n, n_sensors), optional
        Swing-phase reading of each sensor (one for all contacts, or one per contact),
        subtracted first.
    impact_peak_n : array_like, shape (n,), optional
        Impact peak of the total force of each contact; NaN (or None) where there is none.

    Returns
    -------
    StepFeatures
        One row per contact.
    """
    fs = float(sampling_rate_hz)
    dt = 1.0 / fs
    info = _layout_info(layout)
    force_n, hs, to, impact = _batch_inputs(force_n, heel_strike_index, toe_off_index,
                                            impact_peak_n)
    n_steps, (n_total, n_sensors) = len(hs), force_n.shape
    if n_steps == 0:
        return _no_steps(info.names, n_sensors)
    b_in, impact = _contact_baselines(baseline_n, n_steps, n_sensors, impact)
    if b_in is None:
        base = np.zeros((n_steps, n_sensors))  # x - 0.0 is x, NaN and -0.0 included
    else:
        base = np.array(b_in, np.float64, order="C")  # exact: the kernel subtracts in float64
    # The kernel takes C-ordered, writeable float32 or float64 (other types: every value
    # exactly in float64).
    dtype = np.float32 if force_n.dtype == np.float32 else np.float64
    if force_n.dtype != dtype or not (force_n.flags.c_contiguous and force_n.flags.writeable):
        force_n = np.array(force_n, dtype, order="C")

    a, length, start, n_rows = _contact_rows(hs, to, n_total)
    n_reg = len(info.names)
    k = kernels()
    out = np.empty((k.N_OUT, n_steps))
    sensor_peak = np.empty((n_sensors, n_steps))
    region_peak = np.empty((n_reg, n_steps))
    region_sum = np.empty((n_reg, n_steps))
    has_gap = np.empty(n_steps, bool)
    cop_x = np.empty(n_rows, np.float32)
    cop_y = np.empty(n_rows, np.float32)
    n_win = max(1, int(round(STRIKE_WINDOW_S * fs)))
    k.step_rows(
        force_n, a, length, base, info.heel, info.member_index,
        info.member_start, info.xy, np.array(impact, np.float64), fs, n_win, n_reg == 1,
        out, sensor_peak, region_peak, region_sum, has_gap, cop_x, cop_y,
    )  # fmt: skip
    impulse = out[k.C_IMPULSE] * dt
    heel_impulse = out[k.C_HEEL_IMPULSE] * dt
    region_impulse = region_sum.T * dt
    share = _region_shares(region_impulse)
    sensor_kpa = sensor_peak.T * info.kpa_per_n
    peak_kpa = np.stack([sensor_kpa[:, m].max(axis=1) for m in info.members], axis=1)

    strike = np.full(n_steps, np.nan)
    if layout.n_sensors > 1 and n_rows:
        w_sum = out[k.C_W_SUM]
        strike = _strike_index(out[k.C_Y_SUM], w_sum, length, layout)

    ml = _ml_index(region_impulse, info.names)

    return _start_unseen(force_n, a, fs, StepFeatures(
        region_names=info.names,
        peak_force_n=out[k.C_PEAK],
        heel_peak_n=out[k.C_HEEL_PEAK],
        impulse_ns=impulse,
        heel_impulse_ns=heel_impulse,
        region_peak_kpa=peak_kpa,
        region_peak_n=region_peak.T,
        region_impulse_ns=region_impulse,
        region_share_pct=share,
        strike_index_pct=strike,
        ml_index_pct=ml,
        loading_rate_index=out[k.C_LR],
        has_gap=has_gap,
        cop_x_mm=cop_x,
        cop_y_mm=cop_y,
        cop_start=np.append(start, n_rows),
    ))


def step_loads(
    force_n: np.ndarray,
    *,
    layout: SensorLayout,
    sampling_rate_hz: float,
    heel_strike_index: ArrayLike,
    toe_off_index: ArrayLike,
    baseline_n: np.ndarray | None = None,
    impact_peak_n: ArrayLike | None = None,
) -> list[StepLoad]:
    """`step_features` as one `StepLoad` per contact (same parameters)."""
    return step_features(
        force_n,
        layout=layout,
        sampling_rate_hz=sampling_rate_hz,
        heel_strike_index=heel_strike_index,
        toe_off_index=toe_off_index,
        baseline_n=baseline_n,
        impact_peak_n=impact_peak_n,
    ).loads()


def step_load(
    force_n: np.ndarray,
    *,
    layout: SensorLayout,
    sampling_rate_hz: float,
    heel_strike_index: float,
    toe_off_index: float,
    baseline_n: np.ndarray | None = None,
    impact_peak_n: float | None = None,
) -> StepLoad:
    """Compute the load distribution of one contact (`step_loads` for a batch of one).

    Parameters
    ----------
    force_n : ndarray, shape (n_samples, n_sensors)
        Sensor forces of one side; sample indices are those of the contact indices below.
        NaN rows are lost samples.
    layout : SensorLayout
        Sensor positions, areas and regions.
    sampling_rate_hz : float
        Sampling rate [Hz].
    heel_strike_index, toe_off_index : float
        Contact start and end as fractional sample indices into ``force_n``.
    baseline_n : ndarray, shape (n_sensors,), optional
        Swing-phase reading of each sensor, subtracted first.
    impact_peak_n : float, optional
        Height of the impact peak of the total force (from the detector) for the loading rate.

    Returns
    -------
    StepLoad
        The step's load distribution.
    """
    return step_loads(
        force_n,
        layout=layout,
        sampling_rate_hz=sampling_rate_hz,
        heel_strike_index=[heel_strike_index],
        toe_off_index=[toe_off_index],
        baseline_n=None if baseline_n is None else np.asarray(baseline_n)[None, :],
        impact_peak_n=[np.nan if impact_peak_n is None else impact_peak_n],
    )[0]


def swing_baselines(
    force_n: np.ndarray,
    heel_strike_index: ArrayLike,
    toe_off_index: ArrayLike,
    *,
    baseline_n: np.ndarray,
    previous_toe_off_index: float | None = None,
    first_index: int = 0,
) -> np.ndarray:
    """Swing baseline in effect at each contact of a sequence of consecutive contacts.

    Contact k's baseline is each sensor's median over the middle half of the swing before it
    (from the previous toe-off to its heel strike), over the samples where no sensor is NaN,
    when there are at least 3 such samples; otherwise the previous contact's baseline is kept.

    Parameters
    ----------
    force_n : ndarray, shape (n_samples, n_sensors)
        Sensor forces; row 0 is sample ``first_index``.
    heel_strike_index, toe_off_index : array_like, shape (n,)
        Contact starts and ends [sample indices, the same index space as ``first_index``].
    baseline_n : ndarray, shape (n_sensors,)
        Baseline in effect before the first contact.
    previous_toe_off_index : float, optional
        Toe-off of the contact before the first one (None: the first contact has no swing).
    first_index : int
        Sample index of ``force_n[0]``; swings starting before it are not used.

    Returns
    -------
    ndarray, shape (n, n_sensors)
        Baselines, in the dtype of ``force_n`` (the medians' dtype; ``baseline_n`` is cast).
    """
    force_n = np.asarray(force_n)
    dtype = force_n.dtype if np.issubdtype(force_n.dtype, np.floating) else np.dtype(np.float64)
    hs = np.atleast_1d(np.asarray(heel_strike_index, np.float64))
    to = np.atleast_1d(np.asarray(toe_off_index, np.float64))
    n_steps, n_sensors = len(hs), force_n.shape[1]
    b0 = np.asarray(baseline_n).astype(dtype)
    if n_steps == 0:
        return np.zeros((0, n_sensors), dtype)
    prev = np.concatenate(
        ([np.nan if previous_toe_off_index is None else previous_toe_off_index], to[:-1])
    )
    with np.errstate(invalid="ignore"):
        lo = np.ceil(prev + 0.25 * (hs - prev))
        hi = np.floor(prev + 0.75 * (hs - prev))
        ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo) & (lo >= first_index)
    a = np.where(ok, lo, first_index).astype(np.int64) - first_index
    b = np.minimum(np.where(ok, hi, first_index).astype(np.int64) - first_index, len(force_n))
    length = np.maximum(b - a, 0)
    if force_n.dtype not in (np.float32, np.float64):
        # Integers: exactly in float64 (the medians' dtype); float16 and long double (never
        # met in practice) in float64 too, the mean of two middle values then rounded once.
        force_n = force_n.astype(np.float64)
    elif not (force_n.flags.c_contiguous and force_n.flags.writeable):
        force_n = np.array(force_n, order="C")
    med = np.zeros((n_steps, n_sensors), force_n.dtype)
    valid = np.empty(n_steps, bool)
    # Per sensor, the middle order statistic(s) of the swing's samples without a non-finite
    # value (the mean of two in the data's precision, as np.median).
    kernels().swing_medians(force_n, a, length, np.full(1, 2, force_n.dtype), med, valid)
    med = med.astype(dtype, copy=False)
    last = np.maximum.accumulate(np.where(valid, np.arange(n_steps), -1))
    return np.where((last >= 0)[:, None], med[np.maximum(last, 0)], b0[None, :])
