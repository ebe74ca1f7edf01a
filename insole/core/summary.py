"""The steps table and the session summary, built from the pipeline's steps.

Cross-side timing (step time, flight time) needs both feet, so it is derived here from the full
set of steps sorted by time, not inside the per-side streaming path; the result is the same
whatever order the sides' steps arrived in.

Notes
-----
- Cadence: 120 / median stride time [steps/min] (two steps per stride).
- Symmetry index per metric: ``SI = 100 · (right − left) / mean(left, right)`` of the per-side
  medians. Healthy trained runners differ by about 0.6 % in contact time, 3.2 % in peak force and
  5.3 % in loading rate (Girard et al. 2019); insole flags compare against the runner's own
  baseline (training history), not against these numbers.
- Within-session heel-load trend: median heel peak force of the last `TREND_WINDOW_S` against
  the first (or the first/last fifth of shorter sessions): a drift up is the fatigue pattern
  DESIGN.md §2 describes (experimental).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..layouts import REGIONS
from .pipeline import StepRecord

__all__ = ["STEP_COLUMNS", "TREND_WINDOW_S", "session_summary", "steps_table"]

#: Length of the first and last windows compared for the heel-load trend [s].
TREND_WINDOW_S = 180.0
#: Fewest steps in each trend window for a trend to be reported.
MIN_TREND_STEPS = 20
#: A previous step of the other foot further back than this is not the step before [s].
MAX_STEP_GAP_S = 2.0

#: Columns of the steps table (the data dictionary is in docs/steps_table.md).
STEP_COLUMNS = (
    "side",
    "number",
    "heel_strike_s",
    "toe_off_s",
    "contact_s",
    "stride_s",
    "step_s",
    "flight_s",
    "cadence_spm",
    "peak_force_n",
    "heel_peak_n",
    "heel_impulse_ns",
    "impulse_ns",
    "impact_peak_n",
    "loading_rate_index",
    "strike_index_pct",
    "strike_pattern",
    "ml_index_pct",
    *(f"{r}_{m}" for r in REGIONS for m in ("peak_kpa", "peak_n", "impulse_ns", "share_pct")),
    "has_gap",
    "toe_off_valid",
)


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def steps_table(steps: list[StepRecord], *, single_plate: bool = False) -> list[dict[str, Any]]:
    """One row per step, sorted by heel strike, with cross-side timing filled in.

    Parameters
    ----------
    steps : list of StepRecord
        Steps from the pipeline, any order.
    single_plate : bool
        The data is one force plate under both feet (each contact is a step of alternating
        feet): step and flight times come from consecutive contacts of the one "side".

    Returns
    -------
    list of dict
        Rows with the keys `STEP_COLUMNS`.
    """
    ordered = sorted(steps, key=lambda s: (s.heel_strike_s, s.side))
    rows = []
    last_by_side: dict[str, StepRecord] = {}
    prev: StepRecord | None = None
    for s in ordered:
        other = prev if single_plate else _last_other(last_by_side, s.side)
        step_s = flight_s = float("nan")
        if other is not None and s.heel_strike_s - other.heel_strike_s <= MAX_STEP_GAP_S:
            step_s = s.heel_strike_s - other.heel_strike_s
            flight_s = s.heel_strike_s - other.toe_off_s
        load = s.load
        row: dict[str, Any] = {
            "side": s.side,
            "number": s.number,
            "heel_strike_s": s.heel_strike_s,
            "toe_off_s": s.toe_off_s,
            "contact_s": s.contact_s,
            "stride_s": s.stride_s,
            "step_s": step_s,
            "flight_s": flight_s,
            "cadence_spm": (60.0 / step_s if step_s > 0 else float("nan"))
            if single_plate
            else (120.0 / s.stride_s if s.stride_s > 0 else float("nan")),
            "peak_force_n": load.peak_force_n,
            "heel_peak_n": load.heel_peak_n,
            "heel_impulse_ns": load.heel_impulse_ns,
            "impulse_ns": load.impulse_ns,
            "impact_peak_n": _nan(s.impact_peak_n),
            "loading_rate_index": load.loading_rate_index,
            "strike_index_pct": load.strike_index_pct,
            "strike_pattern": load.strike_pattern,
            "ml_index_pct": load.ml_index_pct,
            "has_gap": load.has_gap,
            "toe_off_valid": bool(getattr(s, "toe_off_valid", True)),
        }
        for r in REGIONS:
            reg = load.regions.get(r)
            for m in ("peak_kpa", "peak_n", "impulse_ns", "share_pct"):
                row[f"{r}_{m}"] = float("nan") if reg is None else reg[m]
        rows.append(row)
        last_by_side[s.side] = s
        prev = s
    return rows


def _last_other(last_by_side: dict[str, StepRecord], side: str) -> StepRecord | None:
    others = [v for k, v in last_by_side.items() if k != side]
    return max(others, key=lambda s: s.heel_strike_s) if others else None


def _median(values: list[float] | np.ndarray) -> float:
    a = np.asarray(values, float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if len(a) else float("nan")


def _r(x: float, nd: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def session_summary(
    rows: list[dict[str, Any]],
    *,
    duration_s: float,
    sides: list[str],
    quality: dict[str, Any],
    unit: str = "N",
    single_plate: bool = False,
) -> dict[str, Any]:
    """Summarise a session from its steps table.

    Parameters
    ----------
    rows : list of dict
        Output of `steps_table`.
    duration_s : float
        Session length [s].
    sides : list of str
        Sides present in the data.
    quality : dict
        Data-quality counters (frames lost, CRC errors, gaps, damage) to include.
    unit : str
        Force unit of the data (``"N"``, or ``"counts"`` for uncalibrated footswitches).
    single_plate : bool
        One force plate under both feet: cadence from consecutive contacts (60 / step time).

    Returns
    -------
    dict
        JSON-able summary; see docs/summary.md for every key.
    """
    by_side = {s: [r for r in rows if r["side"] == s] for s in sides}
    col = {
        k: np.array([r[k] for r in rows], float)
        for k in (
            "contact_s",
            "stride_s",
            "heel_peak_n",
            "heel_impulse_ns",
            "heel_strike_s",
            "loading_rate_index",
            "strike_index_pct",
            "flight_s",
            "step_s",
            "peak_force_n",
        )
    }
    # A contact that ended in standing has no real toe-off: left out of contact times.
    valid_to = np.array([bool(r.get("toe_off_valid", True)) for r in rows], bool)
    col["contact_s"] = np.where(valid_to, col["contact_s"], np.nan)
    patterns = [r["strike_pattern"] for r in rows if r["strike_pattern"] != "unknown"]
    shares = {
        p: _r(patterns.count(p) / len(patterns)) if patterns else None
        for p in ("rearfoot", "midfoot", "forefoot")
    }
    regional = {}
    for s in sides:
        per = {}
        for reg in REGIONS:
            v = _median([r[f"{reg}_share_pct"] for r in by_side[s]])
            if math.isfinite(v):
                per[reg] = _r(v, 2)
        regional[s] = per
    heel = col["heel_peak_n"][np.isfinite(col["heel_peak_n"])]
    per_side: dict[str, dict[str, Any]] = {}
    for s in sides:
        rs = by_side[s]
        per_side[s] = {
            "steps": len(rs),
            "contact_time_s": _r(
                _median([r["contact_s"] for r in rs if r.get("toe_off_valid", True)])
            ),
            "peak_force_n": _r(_median([r["peak_force_n"] for r in rs]), 1),
            "heel_peak_n": _r(_median([r["heel_peak_n"] for r in rs]), 1),
            "heel_impulse_ns": _r(float(np.nansum([r["heel_impulse_ns"] for r in rs])), 1),
            "loading_rate_index": _r(_median([r["loading_rate_index"] for r in rs]), 0),
            "strike_index_pct": _r(_median([r["strike_index_pct"] for r in rs]), 2),
        }
    symmetry = {}
    if "left" in per_side and "right" in per_side:
        for m in ("contact_time_s", "peak_force_n", "heel_peak_n", "loading_rate_index"):
            lv, rv = per_side["left"][m], per_side["right"][m]
            if lv is not None and rv is not None and (lv + rv) != 0:
                symmetry[m] = _r(100.0 * (rv - lv) / ((lv + rv) / 2.0), 2)
    trend = None
    t = col["heel_strike_s"]
    win = min(TREND_WINDOW_S, duration_s / 5.0)
    first = col["heel_peak_n"][t <= t.min() + win] if len(rows) else np.zeros(0)
    last = col["heel_peak_n"][t >= t.max() - win] if len(rows) else np.zeros(0)
    if min(len(first), len(last)) >= MIN_TREND_STEPS:
        f, la = _median(first), _median(last)
        trend = {
            "window_s": _r(win, 1),
            "first_heel_peak_n": _r(f, 1),
            "last_heel_peak_n": _r(la, 1),
            "change_pct": _r(100.0 * (la - f) / f, 2) if f and math.isfinite(f) else None,
        }
    strides = col["step_s"] * 2.0 if single_plate else col["stride_s"]
    return {
        "duration_s": _r(duration_s, 3),
        "force_unit": unit,
        "step_count": len(rows),
        "steps": {s: len(by_side[s]) for s in sides},
        "cadence_spm": _r(120.0 / _median(strides), 2) if np.isfinite(strides).any() else None,
        "contact_time_s": _r(_median(col["contact_s"])),
        "flight_time_s": _r(_median(col["flight_s"])),
        "strike_pattern": shares,
        "strike_index_pct": _r(_median(col["strike_index_pct"]), 2),
        "regional_share_pct": regional,
        "heel_peak_n": {
            "median": _r(_median(heel), 1),
            "p10": _r(float(np.percentile(heel, 10)), 1) if len(heel) else None,
            "p90": _r(float(np.percentile(heel, 90)), 1) if len(heel) else None,
        },
        "heel_impulse_ns": _r(float(np.nansum(col["heel_impulse_ns"])), 1),
        "loading_rate_index": _r(_median(col["loading_rate_index"]), 0),
        "per_side": per_side,
        "symmetry_pct": symmetry,
        "heel_load_trend": trend,
        **quality,
    }
