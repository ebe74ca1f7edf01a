"""Per-step load distribution: what each contact put through each region of the foot.

`step_load` takes one side's calibrated sensor forces around one detected contact and returns a
`StepLoad`: regional peak pressure, peak force, impulse and share of the step's impulse; heel
peak force and impulse; the centre-of-pressure path; the strike index and class; a
medial-lateral index; and the loading-rate index. It is a plain function of the samples of that
contact (and the swing baseline before it), so a step's numbers never depend on how the stream
was chunked.

Notes
-----
- Strike index (Cavanagh & Lafortune 1980, J Biomech 13:397): antero-posterior centre of
  pressure at first contact as % of foot length from the heel; < 33.3 % rearfoot,
  33.3-66.7 % midfoot, > 66.7 % forefoot. The CoP at contact is the force-weighted mean over the
  first `STRIKE_WINDOW_S` of contact, because the CoP of the first sample alone rests on a few
  newtons of sensor noise.
- Loading-rate index: slope of the vertical force between 20 % and 80 % of the impact peak,
  computed only when the contact has an impact peak (DESIGN.md §2, after the force-plate
  definition used e.g. by Davis et al. 2016, Br J Sports Med 50:887). From insoles this is an
  *index*: insoles show 7-28 % hysteresis and underestimate force, so it is compared with the
  runner's own baseline, never with force-plate thresholds.
- Baseline re-zeroing: each sensor's swing-phase reading (median over the middle half of the
  preceding swing) is subtracted, cancelling drift and the residual load of a laced shoe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..layouts import HEEL_REGIONS, REGIONS, SensorLayout

__all__ = [
    "MIDFOOT_MAX_PCT",
    "REARFOOT_MAX_PCT",
    "STRIKE_WINDOW_S",
    "StepLoad",
    "classify_strike",
    "step_load",
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
        heel=heel,
        x=np.asarray(layout.x_mm, float),
        y=np.asarray(layout.y_mm, float),
    )
    if len(_LAYOUT_CACHE) > 64:
        _LAYOUT_CACHE.clear()
    _LAYOUT_CACHE[id(layout)] = (layout, info)
    return info


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
        Whether samples inside the contact were lost.
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


def _loading_rate(total: np.ndarray, impact_n: float | None, fs: float) -> float:
    """Slope of ``total`` between 20 % and 80 % of ``impact_n`` on the rising edge [unit/s]."""
    if impact_n is None or not np.isfinite(impact_n) or impact_n <= 0:
        return float("nan")
    lo, hi = 0.2 * impact_n, 0.8 * impact_n
    seg = total
    above_hi = np.flatnonzero(seg >= hi)
    if len(above_hi) == 0:
        return float("nan")
    j_hi = int(above_hi[0])
    below_lo = np.flatnonzero(seg[: j_hi + 1] < lo)
    if len(below_lo) == 0 or j_hi == 0:
        return float("nan")
    j_lo = int(below_lo[-1])  # last sample below 20 % before reaching 80 %

    def cross(j: int, level: float) -> float:
        a, b = seg[j], seg[j + 1]
        return j + (level - a) / (b - a) if b != a else float(j)

    t_lo = cross(j_lo, lo)
    t_hi = cross(j_hi - 1, hi)
    if t_hi <= t_lo:
        return float("nan")
    return float((hi - lo) * fs / (t_hi - t_lo))


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
    """Compute the load distribution of one contact.

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
    fs = float(sampling_rate_hz)
    info = _layout_info(layout)
    a = max(int(np.ceil(heel_strike_index)), 0)
    b = min(int(np.floor(toe_off_index)) + 1, len(force_n))
    seg = force_n[a:b].astype(np.float64)
    if baseline_n is not None:
        seg = seg - baseline_n[None, :]
    nan = np.isnan(seg)
    has_gap = bool(nan.any())
    if has_gap:
        seg = np.where(nan, 0.0, seg)
    seg_pos = np.maximum(seg, 0.0)
    dt = 1.0 / fs
    total = seg.sum(axis=1)
    impulse = float(np.sum(np.maximum(total, 0.0)) * dt)
    # Per region: summed force (n, R), its peak and impulse; the highest sensor pressure.
    region_force = seg_pos @ info.membership
    region_impulse = region_force.sum(axis=0) * dt
    region_peak = region_force.max(axis=0, initial=0.0)
    sensor_peak_kpa = (seg_pos.max(axis=0, initial=0.0)) * info.kpa_per_n
    total_region_impulse = float(region_impulse.sum())
    regions: dict[str, dict[str, float]] = {}
    impulse_of: dict[str, float] = {}
    for k, r in enumerate(info.names):
        imp = float(region_impulse[k])
        impulse_of[r] = imp
        regions[r] = {
            "peak_kpa": float(sensor_peak_kpa[info.members[k]].max()),
            "peak_n": float(region_peak[k]),
            "impulse_ns": imp,
            "share_pct": 100.0 * imp / total_region_impulse if total_region_impulse > 0 else 0.0,
        }
    heel = seg_pos[:, info.heel].sum(axis=1) if len(info.heel) else np.zeros(len(seg))
    # Centre of pressure (foot frame).
    w = seg_pos.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = np.where(w > 0, seg_pos @ info.x / w, np.nan)
        cop_y = np.where(w > 0, seg_pos @ info.y / w, np.nan)
    strike_index = float("nan")
    if layout.n_sensors > 1 and len(seg):
        n_win = max(1, int(round(STRIKE_WINDOW_S * fs)))
        ww = w[:n_win]
        if ww.sum() > 0:
            y0 = float(np.sum(ww * np.nan_to_num(cop_y[:n_win])) / ww.sum())
            strike_index = 100.0 * y0 / float(layout.foot_length_mm)
    med = sum(impulse_of.get(r, 0.0) for r in _MEDIAL)
    lat = sum(impulse_of.get(r, 0.0) for r in _LATERAL)
    ml = 100.0 * (lat - med) / (lat + med) if lat + med > 0 else float("nan")
    # Loading rate on the baseline-corrected total force, from the contact start.
    impact = impact_peak_n
    if impact is not None and baseline_n is not None:
        impact = impact - float(np.nansum(baseline_n))
    # Start one sample before contact: at 200 Hz a fast impact can pass 20 % of its peak
    # within the first sample of contact.
    pre = force_n[a - 1 : a].astype(np.float64) if a >= 1 else np.zeros((0, seg.shape[1]))
    if baseline_n is not None and len(pre):
        pre = pre - baseline_n[None, :]
    lr_total = np.concatenate((np.nan_to_num(pre).sum(axis=1), total))
    lr = _loading_rate(lr_total, impact, fs)
    return StepLoad(
        peak_force_n=float(total.max(initial=0.0)),
        heel_peak_n=float(heel.max(initial=0.0)),
        impulse_ns=impulse,
        heel_impulse_ns=float(heel.sum() * dt),
        regions=regions,
        strike_index_pct=strike_index,
        strike_pattern=classify_strike(strike_index),
        ml_index_pct=ml,
        loading_rate_index=lr,
        cop_x_mm=cop_x.astype(np.float32),
        cop_y_mm=cop_y.astype(np.float32),
        has_gap=has_gap,
    )
