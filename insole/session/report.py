"""A one-page, self-contained HTML report of a session (hand-written inline SVG, no URLs).

`build_report` draws: the session's warnings and notices; a few seconds of total and heel force
per foot with heel-strike and toe-off markers; the average peak-pressure map of each foot on the
insole outline; histograms of contact time and heel peak; strike-pattern shares; left/right
symmetry; and 8-12-week trends of duration, step count and session heel load with the warning
bands of the "too much, too soon" rule (Frandsen et al. 2025), and of heel peak and left/right
differences with the runner's usual range (30-day mean + 2 SD). No plotting library: the SVG is
generated here, so the page opens in any browser without network access. Every sentence a
runner reads comes from `insole.session.plain`, as in the terminal and ``insole history``.

Every figure is in the recording's own force unit: newtons (pressures in kPa), or ``counts``
for uncalibrated sensors (stAPPone insoles, gaitndd footswitches), which are relative readings
without a true zero — their curves' axis spans the data (a footswitch's digital value is
negative in swing), their map gives counts, not pressures, and no body weights are shown. The
force curves are drawn as recorded, with the swing baseline the steps table measures each step
above, so the heel peaks stated can be found on them.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from insole.session import plain
from insole.session.plain import Profile
from insole.session.rules import (
    DISCLAIMER,
    HEALTHY_ASYMMETRY_PCT,
    LEVELS,
    Assessment,
    RuleConfig,
)

__all__ = ["build_report", "force_curves", "pressure_maps"]

SIDE_COLOR = {"left": "#1f6fb4", "right": "#e07b00"}
LEVEL_COLOR = {"none": "#7fb77e", "caution": "#f2c94c", "warning": "#f2994a", "high": "#eb5757"}
#: Bars of sessions above the runner's usual range (30-day mean + 2 SD; heel peak, left/right).
RANGE_COLOR = "#9b51e0"
#: Bars of sessions before the rule is armed (or without a baseline yet).
UNARMED_COLOR = "#b0b0b0"
#: Dashes of the outline of a trend bar left out for too few steps (an empty bar).
FEW_STEPS_DASH = "4 2"
_VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
#: Seconds of force shown per foot.
CURVE_WINDOW_S = 4.0
#: Days shown at most in the trend charts (12 weeks) ...
TREND_DAYS = 84
#: ... and at least (8 weeks).
MIN_TREND_DAYS = 56


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _tick_label(v: float) -> str:
    if abs(v) >= 10000:
        return f"{v / 1000:.0f}k"
    if abs(v) >= 1000:
        return f"{v / 1000:.1f}k".replace(".0k", "k")
    return _num(v) if v != int(v) else f"{int(v)}"


@dataclass
class _Axes:
    """A plot area: data → pixel transforms and the SVG of its frame and ticks."""

    width: float
    height: float
    x0: float
    x1: float
    y0: float
    y1: float
    left: float = 56
    right: float = 12
    top: float = 22
    bottom: float = 40

    def x(self, v: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (v - self.x0) / span * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return (
            self.height
            - self.bottom
            - (v - self.y0) / span * (self.height - self.top - self.bottom)
        )

    def frame(
        self,
        title: str,
        xlabel: str,
        ylabel: str,
        *,
        xticks: Sequence[tuple[float, str]] | None = None,
    ) -> str:
        parts = [
            f'<text x="{self.left}" y="14" class="t">{_e(title)}</text>',
        ]
        for v in _nice_ticks(self.y0, self.y1):
            yy = self.y(v)
            parts.append(
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{yy:.1f}" '
                f'y2="{yy:.1f}" class="grid"/><text x="{self.left - 5}" y="{yy + 4:.1f}" '
                f'class="yt">{_tick_label(v)}</text>'
            )
        ticks = xticks or [(v, _tick_label(v)) for v in _nice_ticks(self.x0, self.x1)]
        yb = self.height - self.bottom
        for v, label in ticks:
            xx = self.x(v)
            parts.append(
                f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{yb}" y2="{yb + 4}" class="ax"/>'
                f'<text x="{xx:.1f}" y="{yb + 16}" class="xt">{_e(label)}</text>'
            )
        parts.append(
            f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{yb}" y2="{yb}" '
            f'class="ax"/><line x1="{self.left}" x2="{self.left}" y1="{self.top}" y2="{yb}" '
            'class="ax"/>'
        )
        parts.append(
            f'<text x="{(self.left + self.width - self.right) / 2:.0f}" '
            f'y="{self.height - 6}" class="xl">{_e(xlabel)}</text>'
        )
        parts.append(
            f'<text transform="translate(13,{(self.top + yb) / 2:.0f}) rotate(-90)" '
            f'class="xl">{_e(ylabel)}</text>'
        )
        return "".join(parts)


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(label)}">'
        f"{body}</svg>"
    )


def _polyline(xs: np.ndarray, ys: np.ndarray, ax: _Axes, color: str, width: float = 1.5) -> str:
    ok = np.isfinite(xs) & np.isfinite(ys)
    pts = " ".join(f"{ax.x(a):.1f},{ax.y(b):.1f}" for a, b in zip(xs[ok], ys[ok], strict=True))
    return (
        f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}" '
        'stroke-linejoin="round"/>'
    )


# --- data from the recording -------------------------------------------------------------------


def _device_force(dev: Any) -> tuple[Any, np.ndarray, np.ndarray, str]:
    """Layout, force per sensor, times [s] and force unit (N or counts) of one decoded insole."""
    from insole.core.calibration import Calibrator
    from insole.core.layouts import SensorLayout, default_layout, single_sensor_layout

    if dev.header.get("layout"):
        layout = SensorLayout.from_json(dev.header["layout"])
    elif dev.n_sensors == 1:
        layout = single_sensor_layout()
    else:
        layout = default_layout(dev.n_sensors)
    cal = Calibrator(dev.header.get("calibration") or {}, layout)
    return layout, cal.force(dev.counts), np.asarray(dev.device_time_s, float), cal.unit


def _on_own_clocks(
    steps: Sequence[dict[str, Any]], alignment: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Steps with right-insole times back on the right insole's clock (its samples' times).

    The steps table puts right-insole times on the left clock (``clock_alignment`` in the
    summary); curves and maps are cut from each insole's own samples.
    """
    from insole.core.pipeline import SideAlignment

    al = SideAlignment.from_dict(alignment)
    if not al.applied:
        return list(steps)
    out = []
    for s in steps:
        if s["side"] == "right":
            s = dict(s, heel_strike_s=al.to_right(s["heel_strike_s"]))
            s["toe_off_s"] = al.to_right(s["toe_off_s"])
        out.append(s)
    return out


def _load(recording: Any) -> Any:
    from insole.recordings.loader import Recording, load_recording

    return recording if isinstance(recording, Recording) else load_recording(recording)


@dataclass
class _Side:
    """One insole's samples and steps, as the report draws them."""

    side: str
    layout: Any
    force: np.ndarray  # (n_samples, n_sensors), in `unit`
    t: np.ndarray  # [s]
    unit: str  # "N", or "counts" (relative readings without a true zero)
    steps: list[dict[str, Any]]

    def times(self) -> tuple[np.ndarray, np.ndarray]:
        """Heel strikes and toe-offs [s] of the steps with both times."""
        hs = np.array([s["heel_strike_s"] for s in self.steps], float).reshape(-1)
        to = np.array([s["toe_off_s"] for s in self.steps], float).reshape(-1)
        ok = np.isfinite(hs) & np.isfinite(to)
        return hs[ok], to[ok]

    def contacts(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample indices of `times`: contacts as slices ``force[a:b]`` of the samples."""
        hs, to = self.times()
        return np.searchsorted(self.t, hs), np.searchsorted(self.t, to, side="right")

    def baselines(self) -> np.ndarray:
        """Each step's swing baseline per sensor, ``(n_steps, n_sensors)``, as the pipeline's.

        The steps table re-zeroes every sensor on the middle half of the swing before each
        contact (`insole.core.steps.swing_baselines`), so its peaks are heights above this
        level; before the first usable swing, each sensor's median over the recording.
        """
        from insole.core.steps import swing_baselines

        a, b = self.contacts()
        with warnings.catch_warnings():  # a sensor without any value: NaN, said nowhere else
            warnings.simplefilter("ignore", RuntimeWarning)
            first = np.nanmedian(self.force[:: max(1, len(self.force) // 20000)], axis=0)
        return swing_baselines(
            self.force, a, b, baseline_n=np.nan_to_num(first), previous_toe_off_index=None
        )


def _sides(recording: Any, steps: Sequence[dict[str, Any]]) -> Iterator[_Side]:
    """Samples and steps of each insole with samples."""
    for dev in _load(recording).devices:
        if dev.n_samples == 0:
            continue
        layout, force, t, unit = _device_force(dev)
        yield _Side(dev.side, layout, force, t, unit,
                    [s for s in steps if s["side"] == dev.side])


def force_curves(
    recording: Any, steps: Sequence[dict[str, Any]], *, window_s: float = CURVE_WINDOW_S
) -> dict[str, dict[str, Any]]:
    """Total and heel force of each foot over a few seconds, with the steps' events.

    Parameters
    ----------
    recording : str or Path or Recording
        The recording file, or it loaded (`insole.recordings.loader.load_recording`).
    steps : list of dict
        Its steps table (heel strikes and toe-offs drawn as markers).
    window_s : float
        Seconds to return, from the middle of the recording.

    Returns
    -------
    dict
        ``{side: {"t": times [s], "total": force, "heel": force, "hs": [...], "to": [...],
        "baseline_total": float, "baseline_heel": float, "unit": str}}``; forces are
        calibrated but not re-zeroed on swing, in ``unit`` (``"N"``, or ``"counts"``: relative
        readings without a true zero, e.g. a footswitch's ADC value, which may be negative).
        ``baseline_*`` is the swing baseline the steps table measures each step above (the
        median over the steps shown of each step's baseline; NaN without steps).
    """
    from insole.core.layouts import HEEL_REGIONS

    out = {}
    for sd in _sides(recording, steps):
        t, force, layout = sd.t, sd.force, sd.layout
        t0 = max(0.0, min(t[-1] / 2 - window_s / 2, t[-1] - window_s))
        sel = (t >= t0) & (t <= t0 + window_s)
        heel_idx = layout.indices(*HEEL_REGIONS)
        if len(heel_idx) == 0:
            heel_idx = layout.indices("whole_foot")
        if len(heel_idx) == 0:
            heel_idx = np.arange(layout.n_sensors)
        base = sd.baselines()
        hs, to = sd.times()
        shown = (hs >= t0) & (to <= t0 + window_s)
        if not shown.any():  # no whole step in the window: the baseline of every step
            shown = np.ones(len(base), bool)
        out[sd.side] = {
            "t": t[sel],
            "total": np.nansum(force[sel], axis=1),
            "heel": np.nansum(force[sel][:, heel_idx], axis=1),
            "hs": [
                s["heel_strike_s"] for s in sd.steps
                if t0 <= s["heel_strike_s"] <= t0 + window_s
            ],
            "to": [s["toe_off_s"] for s in sd.steps if t0 <= s["toe_off_s"] <= t0 + window_s],
            "baseline_total": _median_or_nan(base[shown].sum(axis=1)),
            "baseline_heel": _median_or_nan(base[shown][:, heel_idx].sum(axis=1)),
            "unit": sd.unit,
        }
    return out


def _median_or_nan(v: np.ndarray) -> float:
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else float("nan")


def pressure_maps(recording: Any, steps: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean over steps of each sensor's peak pressure during contact, per foot.

    Each step's peak is taken above the swing baseline before it, sensor by sensor, as the
    steps table's (`insole.core.steps.swing_baselines`).

    Parameters
    ----------
    recording : str or Path or Recording
        The recording file, or it loaded.
    steps : list of dict
        Its steps table (contacts from heel strike to toe-off).

    Returns
    -------
    dict
        ``{side: {"layout": SensorLayout, "unit": "kPa" or "counts", "peak": (n_sensors,)
        mean peak, "kpa": the same in kPa or None, "n": steps}}``. Forces in newtons give
        pressures (force / sensor area, kPa); uncalibrated readings (``counts``) are no
        pressures, so they stay per-sensor counts and ``kpa`` is None.
    """
    out = {}
    for sd in _sides(recording, steps):
        if sd.unit == "N":
            unit, scale = "kPa", (1000.0 / sd.layout.area_mm2).astype(np.float32)
        else:
            unit, scale = "counts", np.ones(sd.layout.n_sensors, np.float32)
        base = sd.baselines()
        a, b = sd.contacts()
        with warnings.catch_warnings():  # a sensor without a value in a contact: NaN there
            warnings.simplefilter("ignore", RuntimeWarning)
            peaks = [
                (np.nanmax(sd.force[i:j], axis=0) - bl) * scale
                for i, j, bl in zip(a, b, base, strict=True)
                if j > i
            ]
            mean = np.nanmean(peaks, axis=0) if peaks else None
        if mean is not None:
            peak = np.clip(mean, 0, None)
            out[sd.side] = {
                "layout": sd.layout,
                "unit": unit,
                "peak": peak,
                "kpa": peak if unit == "kPa" else None,
                "n": len(peaks),
            }
    return out


# --- sections ----------------------------------------------------------------------------------


def _curve_range(c: dict[str, Any], *, plate: bool) -> tuple[float, float]:
    """The y range of a force chart: all of the data, and zero for forces in newtons.

    Relative readings (counts) have no true zero and may be negative (a footswitch's digital
    value around its mid-scale offset): the axis spans the data, so swing and toe-off show.
    """
    parts = [c["total"]] + ([] if plate else [c["heel"]])
    vals = np.concatenate([np.asarray(v, float).ravel() for v in parts])
    vals = np.concatenate([vals, [c.get("baseline_total", np.nan),
                                  np.nan if plate else c.get("baseline_heel", np.nan)]])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return 0.0, 1.0
    lo, hi = float(vals.min()), float(vals.max())
    relative = c.get("unit", "N") != "N"
    if not relative:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = (hi - lo) or max(abs(hi), 1.0)
    if relative:
        return lo - 0.08 * span, hi + 0.08 * span
    # newtons: zero at the bottom, unless some samples lie below it (then they show too)
    return (lo - 0.03 * span if lo < 0 else 0.0), hi + 0.08 * span


def _baseline_note(
    curves: dict[str, dict[str, Any]], per_side: dict[str, Any], *, plate: bool
) -> str:
    """Where the steps' figures are measured from: each side's swing baseline and heel peak."""
    parts = []
    for side, c in curves.items():
        unit = str(c.get("unit", "N"))
        b = c.get("baseline_total" if plate else "baseline_heel", float("nan"))
        hp = (per_side.get(side) or {}).get("heel_peak_n")
        if b is None or not math.isfinite(b):
            continue
        what = "force plate" if plate else f"{side} heel"
        text = f"{what}: swing baseline {_count(b)} {unit}"
        if hp is not None and math.isfinite(float(hp)):
            peak = "peak force per contact" if plate else "heel peak"
            curve = "force" if plate else "heel"
            text += (f", median {peak} {_count(float(hp))} {unit} above it, so the {curve} "
                     f"curve peaks near {_count(b + float(hp))} {unit}")
        parts.append(text)
    return "; ".join(parts)


def _count(v: float) -> str:
    """``−1,576``: a rounded value with thousands separators and a real minus sign."""
    return f"{round(v):,}".replace("-", "−")


def _force_section(
    curves: dict[str, dict[str, Any]],
    *,
    plate: bool = False,
    per_side: dict[str, Any] | None = None,
) -> str:
    """The force curves; ``plate``: one force plate under both feet (no feet, no heel).

    ``per_side``: the summary's per-side medians, to say where the heel peaks lie on the
    curves (each step's figures are heights above the swing baseline before it).
    """
    from insole.session.plain import unit_label

    figs = []
    units = {str(c.get("unit", "N")) for c in curves.values()}
    unit = units.pop() if len(units) == 1 else "N"
    for side, c in curves.items():
        if len(c["t"]) < 2:
            continue
        y0, y1 = _curve_range(c, plate=plate)
        ax = _Axes(540, 220, float(c["t"][0]), float(c["t"][-1]), y0, y1)
        title = (f"force plate under both feet: force, {len(c['hs'])} contacts" if plate
                 else f"{side} foot: force, {len(c['hs'])} heel strikes")
        body = [ax.frame(title, "time [s]", unit_label(str(c.get("unit", "N"))))]
        if y0 < 0 < y1:  # zero inside the chart: a firmer line than the grid
            body.append(
                f'<line x1="{ax.left}" x2="{ax.width - ax.right}" y1="{ax.y(0):.1f}" '
                f'y2="{ax.y(0):.1f}" stroke="#999" stroke-width="1"/>'
            )
        for v in c["hs"]:
            body.append(
                f'<line x1="{ax.x(v):.1f}" x2="{ax.x(v):.1f}" y1="{ax.top}" '
                f'y2="{ax.height - ax.bottom}" stroke="#2e7d32" stroke-width="1.2"/>'
            )
        for v in c["to"]:
            body.append(
                f'<line x1="{ax.x(v):.1f}" x2="{ax.x(v):.1f}" y1="{ax.top}" '
                f'y2="{ax.height - ax.bottom}" stroke="#c62828" stroke-width="1.2" '
                'stroke-dasharray="4 3"/>'
            )
        lines = [("baseline_total", SIDE_COLOR[side])] + ([] if plate else
                                                          [("baseline_heel", "#555")])
        for key, color in lines:
            v = c.get(key)
            if v is not None and math.isfinite(v):
                body.append(
                    f'<line x1="{ax.left}" x2="{ax.width - ax.right}" y1="{ax.y(v):.1f}" '
                    f'y2="{ax.y(v):.1f}" stroke="{color}" stroke-width="1" '
                    'stroke-dasharray="7 4" class="baseline"/>'
                )
        body.append(_polyline(c["t"], c["total"], ax, SIDE_COLOR[side], 1.8))
        if plate:  # the plate's one sensor is the whole force: no heel curve
            figs.append(_svg(ax.width, ax.height, "".join(body), "force plate force curve"))
            continue
        body.append(_polyline(c["t"], c["heel"], ax, "#555", 1.3))
        figs.append(_svg(ax.width, ax.height, "".join(body), f"{side} force curve"))
    if unit == "N":
        values = "curves calibrated, not re-zeroed on swing"
    else:
        values = (f"raw {unit}: relative readings without a true zero, not newtons; the axis "
                  "spans the data")
    where = _baseline_note(curves, per_side or {}, plate=plate)
    baseline = (
        " The figures of this report are measured above the swing baseline before each "
        f"{'contact' if plate else 'step'} (dashed: the median over the "
        f"{'contacts' if plate else 'steps'} shown)" + (f" — {where}." if where else ".")
    )
    if plate:
        legend = (
            f'<p class="legend"><span style="color:{SIDE_COLOR["left"]}">━</span> vertical '
            'force on the plate · <span style="color:#2e7d32">│</span> contact start · '
            '<span style="color:#c62828">┆</span> contact end (detected by the pipeline; '
            "one force plate under both feet, so every contact is a step of either foot; "
            f"{_e(values)}) · ┄ swing baseline.{_e(baseline)}</p>"
        )
        return '<div class="row">' + "".join(figs) + "</div>" + legend
    legend = (
        '<p class="legend"><span style="color:#1f6fb4">━</span>/<span style="color:#e07b00">━'
        '</span> total force · <span style="color:#555">━</span> heel force · '
        '<span style="color:#2e7d32">│</span> heel strike · <span style="color:#c62828">┆</span>'
        f" toe-off (detected by the pipeline; {_e(values)}) · ┄ swing baseline of each curve."
        f"{_e(baseline)}</p>"
    )
    return '<div class="row">' + "".join(figs) + "</div>" + legend


def _color(v: float, lo: float, hi: float) -> str:
    f = 0.0 if hi <= lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)
    pos = f * (len(_VIRIDIS) - 1)
    i = min(int(pos), len(_VIRIDIS) - 2)
    w = pos - i
    a = [int(_VIRIDIS[i][k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(_VIRIDIS[i + 1][k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * w):02x}" for x, y in zip(a, b, strict=True))


def _color_scale_top(hi: float) -> tuple[float, list[float]]:
    """Top of the pressure colour scale, at or above `hi` on a round tick, and its ticks."""
    ticks = _nice_ticks(0.0, hi, 5)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else max(hi, 1.0)
    top = math.ceil(hi / step - 1e-9) * step if hi > 0 else step
    n = round(top / step)
    return top, [i * step for i in range(n + 1)]


def _pressure_section(maps: dict[str, dict[str, Any]]) -> str:
    from insole.core.layouts import insole_outline

    if not maps:
        return "<p>No pressure data.</p>"
    # Uncalibrated readings (counts) are no pressures: the map shows them as they are.
    unit = "kPa" if all(m.get("unit", "kPa") == "kPa" for m in maps.values()) else "counts"
    what = "mean peak pressure [kPa]" if unit == "kPa" else "mean peak reading [counts]"
    hi = max(float(np.nanmax(m["peak"])) for m in maps.values()) or 1.0
    top, ticks = _color_scale_top(hi)
    figs = []
    for side in ("left", "right"):
        if side not in maps:
            continue
        m = maps[side]
        lay = m["layout"]
        L = lay.foot_length_mm
        scale = 300 / L
        sign = -1.0 if side == "left" else 1.0  # dorsal view: left foot mirrored
        ox, oy = 120.0, 345.0
        ux, uy = insole_outline(L)
        pts = " ".join(
            f"{ox + sign * x * scale:.1f},{oy - y * scale:.1f}" for x, y in zip(ux, uy, strict=True)
        )
        body = [
            f'<text x="10" y="16" class="t">{side} foot (seen from above)</text>'
            f'<text x="10" y="31" class="lt">{what}, {m["n"]} steps</text>',
            f'<polygon points="{pts}" fill="#f3f3f3" stroke="#333" stroke-width="1.5"/>',
        ]
        r = max(7.0, min(16.0, math.sqrt(float(np.median(lay.area_mm2))) * scale * 0.45))
        for x, y, v in zip(lay.x_mm, lay.y_mm, m["peak"], strict=True):
            cx, cy = ox + sign * x * scale, oy - y * scale
            fill = _color(float(v), 0.0, top)
            text_color = "#000" if float(v) > 0.6 * top else "#fff"
            body.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}" stroke="#222"/>'
                f'<text x="{cx:.1f}" y="{cy + 3.5:.1f}" class="pv" fill="{text_color}">'
                f"{v:.0f}</text>"
            )
        # medial (x < 0 in the foot frame) and lateral sides, at midfoot height
        x_edge = float(np.max(np.abs(ux))) * scale
        y_mid = oy - 0.45 * L * scale
        med_x, lat_x = ox - sign * (x_edge + 3), ox + sign * (x_edge + 3)
        for label, xx in (("medial", med_x), ("lateral", lat_x)):
            anchor = "end" if xx < ox else "start"
            body.append(
                f'<text x="{xx:.1f}" y="{y_mid:.1f}" class="side" text-anchor="{anchor}">'
                f"{label}</text>"
            )
        body.append('<text x="120" y="362" class="xl">heel</text>')
        body.append('<text x="120" y="52" class="xl">toes</text>')
        figs.append(_svg(240, 370, "".join(body), f"{side} pressure map"))
    # colour bar: 0 .. a round value at or above the highest sensor
    bar = [f'<text x="0" y="14" class="t">{unit}</text>']
    for i in range(50):
        v0 = top * (1 - (i + 0.5) / 50)
        bar.append(
            f'<rect x="4" y="{24 + i * 5}" width="18" height="5.5" fill="{_color(v0, 0, top)}"/>'
        )
    for v in ticks:
        yy = 24 + (1 - v / top) * 250
        bar.append(f'<text x="26" y="{yy + 4:.0f}" class="lt">{v:.0f}</text>')
    figs.append(_svg(70, 290, "".join(bar), "pressure colour scale"))
    if unit == "kPa":
        values = f"Highest sensor: {hi:.0f} kPa; colour scale 0-{top:.0f} kPa."
    else:
        values = (
            f"Highest sensor: {_count(hi)} counts; colour scale 0-{_count(top)} counts. The "
            "sensors are not calibrated: counts are relative readings of each sensor above its "
            "swing baseline, not pressures, so no kPa figure is given; compare sensors and steps "
            "of this recording only."
        )
    return (
        '<div class="row">' + "".join(figs) + "</div>"
        f'<p class="legend">{values} '
        "Medial = inner side of the foot (big toe side), lateral = outer side.</p>"
    )


def _hist_svg(values: dict[str, np.ndarray], title: str, xlabel: str, *, bins: int = 20) -> str:
    allv = np.concatenate([v[np.isfinite(v)] for v in values.values()] or [np.zeros(0)])
    if len(allv) < 2:
        return f"<p>{_e(title)}: not enough steps.</p>"
    lo, hi = float(np.min(allv)), float(np.max(allv))
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    edges = np.linspace(lo, hi, bins + 1)
    counts = {s: np.histogram(v[np.isfinite(v)], edges)[0] for s, v in values.items()}
    ymax = max(int(c.max()) for c in counts.values()) * 1.1 or 1
    ax = _Axes(360, 200, lo, hi, 0, ymax)
    body = [ax.frame(title, xlabel, "steps")]
    n = len(counts)
    wbin = (edges[1] - edges[0]) / n
    for k, (side, c) in enumerate(counts.items()):
        for i, h in enumerate(c):
            if h == 0:
                continue
            x0 = ax.x(edges[i] + k * wbin)
            x1 = ax.x(edges[i] + (k + 1) * wbin)
            body.append(
                f'<rect x="{x0:.1f}" y="{ax.y(h):.1f}" width="{max(x1 - x0, 1):.1f}" '
                f'height="{ax.y(0) - ax.y(h):.1f}" fill="{SIDE_COLOR.get(side, "#888")}"/>'
            )
    return _svg(ax.width, ax.height, "".join(body), title)


def _distributions(
    steps: Sequence[dict[str, Any]], bw: float | None = None, *, plate: bool = False,
    unit: str = "N",
) -> str:
    from insole.session.plain import unit_label

    load_axis = "× body weight (BW)" if bw else unit_label(unit)
    if plate:  # one force plate under both feet: contacts, and the peak force of each
        div = bw or 1.0
        contact = {"left": np.array([1000 * r["contact_s"] for r in steps], float)}
        peak = {"left": np.array([r["peak_force_n"] / div for r in steps], float)}
        return (
            '<div class="row">'
            + _hist_svg(contact, "ground contact time per contact", "ms")
            + _hist_svg(peak, "peak force per contact", load_axis)
            + '</div><p class="legend">Contacts on one force plate under both feet (it does '
            "not tell the feet apart).</p>"
        )
    sides = [s for s in ("left", "right") if any(r["side"] == s for r in steps)]
    contact = {
        s: np.array([1000 * r["contact_s"] for r in steps if r["side"] == s], float) for s in sides
    }
    div = bw or 1.0
    heel = {
        s: np.array([r["heel_peak_n"] / div for r in steps if r["side"] == s], float)
        for s in sides
    }
    legend = " ".join(f'<span style="color:{SIDE_COLOR[s]}">■</span> {s}' for s in sides)
    return (
        '<div class="row">'
        + _hist_svg(contact, "ground contact time per step", "ms")
        + _hist_svg(heel, "heel peak per step", load_axis)
        + f'</div><p class="legend">{legend}</p>'
    )


def _strike_section(summary: dict[str, Any]) -> str:
    shares = summary.get("strike_pattern") or {}
    colors = {"rearfoot": "#8e44ad", "midfoot": "#16a085", "forefoot": "#d35400"}
    if not any(v for v in shares.values() if v is not None):
        return "<p>Strike pattern: not available (no position information).</p>"
    body, x = [], 10.0
    for k in ("rearfoot", "midfoot", "forefoot"):
        v = shares.get(k) or 0.0
        w = 500 * v
        if w > 0:
            body.append(f'<rect x="{x:.1f}" y="8" width="{w:.1f}" height="30" fill="{colors[k]}"/>')
            if w > 60:
                body.append(
                    f'<text x="{x + w / 2:.1f}" y="28" class="bv">{k} {100 * v:.0f} %</text>'
                )
        x += w
    txt = ", ".join(f"{k} {100 * (shares.get(k) or 0):.0f} %" for k in colors)
    idx = summary.get("strike_index_pct")
    idx_txt = "–" if idx is None else f"{idx:.0f}"
    return (
        _svg(520, 46, "".join(body), "strike pattern shares")
        + f"<p>{_e(txt)}; first contact at {idx_txt} % of foot length from the heel (median) "
        "(Cavanagh &amp; Lafortune 1980: &lt; 33.3 % rearfoot, &gt; 66.7 % forefoot).</p>"
    )


#: Typical |symmetry index| of healthy trained runners [%] (Girard et al. 2019); those of the
#: asymmetry rule's metrics are the rule's own (`insole.session.rules.HEALTHY_ASYMMETRY_PCT`:
#: no difference up to them is flagged).
TYPICAL_SI_PCT = {"contact_time_s": 0.6, "peak_force_n": 3.2, "heel_peak_n": 3.2,
                  "loading_rate_index": 5.3, **dict(HEALTHY_ASYMMETRY_PCT)}
#: The symmetry bars run from −`SYM_SCALE_PCT` to +`SYM_SCALE_PCT` [%] (longer bars are cut).
SYM_SCALE_PCT = 10.0


def _side_value(metric: str, v: Any, profile: Profile | None, unit: str) -> str:
    if v is None or not math.isfinite(float(v)):
        return "–"
    if metric == "contact_time_s":
        return f"{1000 * float(v):.0f} ms"
    if metric == "strike_index_pct":
        return f"{float(v):.0f} %"
    return plain.fmt_value(metric, float(v), profile, unit=unit)


def _symmetry_section(
    summary: dict[str, Any], profile: Profile | None = None, assessment: Assessment | None = None
) -> str:
    sym = summary.get("symmetry_pct") or {}
    per = summary.get("per_side") or {}
    unit = str(summary.get("force_unit") or "N")
    width, mid = 320.0, 160.0
    px = mid / SYM_SCALE_PCT
    rows = []
    for m, v in sym.items():
        if v is None:
            continue
        lv = (per.get("left") or {}).get(m)
        rv = (per.get("right") or {}).get(m)
        typical = TYPICAL_SI_PCT.get(m)
        name = plain.SYMMETRY_NAMES.get(m, m.replace("_", " "))
        withheld = plain.too_few_steps_text(summary, m)
        if withheld:  # medians of a few steps a side: no comparison, no bar
            n_left, n_right = plain.symmetry_steps(summary, m) or (0, 0)
            rows.append(
                f"<tr><td>{_e(name)}</td>"
                f"<td>{_e(_side_value(m, lv, profile, unit))} ({_steps(n_left)})</td>"
                f"<td>{_e(_side_value(m, rv, profile, unit))} ({_steps(n_right)})</td>"
                f'<td colspan="3">{_e(withheld)}</td>'
                f"<td>{'–' if typical is None else f'{typical:g} %'}</td></tr>"
            )
            continue
        parts = [f'<svg width="{width:.0f}" height="22" role="img" aria-label="{_e(m)}">']
        if typical:
            parts.append(
                f'<rect x="{mid - typical * px:.1f}" y="1" width="{2 * typical * px:.1f}" '
                'height="20" fill="#e8f3e6"/>'
            )
        usual = _usual_max(assessment, f"asymmetry_{m}") if assessment else None
        if usual:
            edge = min(usual, SYM_SCALE_PCT) * px
            for xx in (mid - edge, mid + edge):
                parts.append(
                    f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="0" y2="22" stroke="{RANGE_COLOR}" '
                    'stroke-dasharray="3 2" stroke-width="1.5"/>'
                )
        w = max(min(abs(v), SYM_SCALE_PCT) * px, 2.0)
        x0 = mid if v >= 0 else mid - w
        parts.append(
            f'<rect x="{x0:.1f}" y="5" width="{w:.1f}" height="12" '
            f'fill="{SIDE_COLOR["right" if v >= 0 else "left"]}"/>'
            f'<line x1="{mid}" x2="{mid}" y1="0" y2="22" stroke="#333"/>'
        )
        if abs(v) > SYM_SCALE_PCT:
            tip = width - 2 if v > 0 else 2
            parts.append(f'<text x="{tip}" y="16" class="lt" text-anchor='
                         f'"{"end" if v > 0 else "start"}" fill="#fff">»</text>')
        parts.append("</svg>")
        left_pct, right_pct = plain.balance(v)
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{_e(_side_value(m, lv, profile, unit))}</td>"
            f"<td>{_e(_side_value(m, rv, profile, unit))}</td>"
            f"<td>{left_pct:.1f} % · {right_pct:.1f} %</td><td>{''.join(parts)}</td>"
            f"<td>{abs(v):.1f} % ({_e(plain.compare_sides(v))})</td>"
            f"<td>{'–' if typical is None else f'{typical:g} %'}</td></tr>"
        )
    if not rows:
        return "<p>Left/right balance needs both feet.</p>"
    return (
        "<table><tr><th>per step (median)</th><th>left</th><th>right</th>"
        "<th>balance left · right</th>"
        f"<th>← left higher · right higher → (±{SYM_SCALE_PCT:.0f} %)</th>"
        "<th>symmetry index (the sides compared)</th>"
        "<th>typical in healthy runners</th></tr>"
        + "".join(rows)
        + "</table><p class='note'>Symmetry index = 100·(right − left)/mean of the two: the "
        "bars, the typical values and your usual range are in it. It is not how much higher "
        "one side is: in brackets the two sides compared directly (a symmetry index of 100 % "
        "is one side 3× the other). Green band: typical differences of healthy trained runners "
        "(Girard et al. 2019); dashed purple lines: your usual range (your 30-day mean + 2 SD, "
        "at least the typical difference of healthy runners for heel peak and contact time), "
        "which is what flags a session: a difference within the typical one is never flagged, "
        "and above it your own range decides, because insoles and runners differ. A "
        "comparison needs a value on at least "
        f"{plain.MIN_SYMMETRY_STEPS} steps of each side (about 20 strides make stride-to-stride "
        "gait measures stable: Kroneberg et al. 2019, Kribus-Shmiel et al. 2018).</p>"
    )


def _usual_max(a: Assessment, metric: str, cfg: RuleConfig | None = None) -> float | None:
    """The top of a session's usual range for `metric` (`Assessment.usual_max`), or None."""
    if metric in a.usual_max:
        return a.usual_max[metric]
    base = a.baselines.get(metric)
    return None if base is None else base[0] + (cfg or RuleConfig()).baseline_sd * base[1]


def _steps(n: int) -> str:
    return f"{n:,} step{'s' * (n != 1)}"


#: The trend charts: metric, value of a session in the chart's unit, rule kind.
_TRENDS = (
    ("duration_s", "spike"),
    ("step_count", "spike"),
    ("heel_impulse_ns", "spike"),
    ("heel_peak_n", "range"),
    ("asymmetry_heel_peak_n", "range"),
    ("asymmetry_contact_time_s", "range"),
)


def _trend_value(a: Assessment, metric: str) -> float | None:
    p = a.session
    if metric == "heel_peak_n":
        return p.heel_peak_median_n
    if metric.startswith("asymmetry_"):
        v = p.symmetry_pct.get(metric.removeprefix("asymmetry_"))
        return None if v is None else abs(float(v))
    return p.value(metric)


def _trend_unit(metric: str, profile: Profile | None, unit: str) -> tuple[float, str]:
    """Divisor and axis label of a trend chart."""
    bw = profile.body_weight_n if profile is not None and unit == "N" else None
    if metric == "duration_s":
        return 60.0, "min"
    if metric == "step_count":
        return 1.0, "steps"
    if metric == "heel_impulse_ns":
        return (bw, "BW·s") if bw else (1.0, f"{unit}·s")
    if metric == "heel_peak_n":
        return (bw, "BW") if bw else (1.0, unit)
    return 1.0, "%"


_TREND_TITLE = {
    "duration_s": "duration per session (a stand-in for distance)",
    "step_count": "steps per session (a stand-in for distance)",
    "heel_impulse_ns": "heel load per session (experimental)",
    "heel_peak_n": "heel peak per session, median (experimental)",
    "asymmetry_heel_peak_n": "left/right heel-peak difference",
    "asymmetry_contact_time_s": "left/right contact-time difference",
}


def trend_days(history: Sequence[Assessment], current: Assessment) -> int:
    """Days shown in the trend charts: whole weeks, 8 to 12 of them."""
    end = current.session.local_date
    first = min(a.session.local_date for a in history)
    days = min(max((end - first).days + 4, MIN_TREND_DAYS), TREND_DAYS)
    return math.ceil(days / 7) * 7


def _trend_svg(
    history: list[Assessment],
    current: Assessment,
    metric: str,
    kind: str,
    cfg: RuleConfig,
    *,
    n_days: int,
    profile: Profile | None,
    unit: str,
) -> str:
    end = current.session.local_date
    start = end - timedelta(days=n_days - 1)
    shown = sorted((a for a in history if start <= a.session.local_date <= end),
                   key=lambda a: a.session.start)
    div, axis = _trend_unit(metric, profile, unit)
    vals = [(_trend_value(a, metric) or 0.0) / div for a in shown]
    if kind == "spike":
        refs = [(a.reference.get(metric) or 0.0) / div for a in shown]
        lims = [r * cfg.high_ratio * 1.1 for r in refs]
    else:
        tops = [_usual_max(a, metric, cfg) for a in shown]
        refs = [t / div if t else 0.0 for t in tops]
        lims = [r * 1.15 for r in refs]
    top = max([*vals, *lims], default=1.0) * 1.05 or 1.0
    ax = _Axes(1080, 200, -0.5, n_days - 0.5, 0, top, bottom=36)
    ticks = []
    for d in range(n_days - 1, -1, -7):
        day = start + timedelta(days=d)
        ticks.append((d, f"{day.day} {day:%b}"))
    body = [ax.frame(_TREND_TITLE[metric], "session date (local)", axis, xticks=ticks)]
    slots = _day_slots(shown, start, ax)
    back: list[str] = []  # bands and usual ranges, drawn first: no bar is ever behind one
    bars: list[str] = []
    for a, v, ref, (x0, w) in zip(shown, vals, refs, slots, strict=True):
        xc = x0 + w / 2
        flags = [f for f in a.flags if f.metric == metric]
        if kind == "spike":
            if ref and a.armed:
                bounds = [
                    ("caution", cfg.caution_ratio, cfg.warning_ratio),
                    ("warning", cfg.warning_ratio, cfg.high_ratio),
                    ("high", cfg.high_ratio, top / ref),
                ]
                for lvl, lo, hi in bounds:
                    y_hi, y_lo = ax.y(min(hi * ref, top)), ax.y(lo * ref)
                    if y_lo > y_hi:
                        back.append(
                            f'<rect x="{x0:.1f}" y="{y_hi:.1f}" width="{w:.1f}" '
                            f'height="{y_lo - y_hi:.1f}" fill="{LEVEL_COLOR[lvl]}" '
                            'opacity="0.45"/>'
                        )
            lvl = max((f.level for f in flags), key=LEVELS.index, default="none")
            color = LEVEL_COLOR[lvl] if a.armed else UNARMED_COLOR
        else:
            if ref:
                back.append(
                    f'<rect x="{x0:.1f}" y="{ax.y(ref):.1f}" width="{w:.1f}" '
                    f'height="{ax.y(0) - ax.y(ref):.1f}" fill="#e8f3e6"/>'
                    f'<line x1="{x0:.1f}" x2="{x0 + w:.1f}" '
                    f'y1="{ax.y(ref):.1f}" y2="{ax.y(ref):.1f}" stroke="{RANGE_COLOR}" '
                    'stroke-width="2" stroke-dasharray="3 2"/>'
                )
            color = RANGE_COLOR if flags else LEVEL_COLOR["none"] if ref else UNARMED_COLOR
        stroke = ' stroke="#000" stroke-width="2"' if a is current else ""
        if metric in a.withheld:  # too few steps a side: drawn, not compared, not in the range
            color = "#fff"
            edge = "#000" if a is current else UNARMED_COLOR
            stroke = f' stroke="{edge}" stroke-width="1.5" stroke-dasharray="{FEW_STEPS_DASH}"'
        bars.append(
            f'<rect class="bar" x="{xc - w * 0.3:.1f}" y="{ax.y(v):.1f}" '
            f'width="{w * 0.6:.1f}" height="{ax.y(0) - ax.y(v):.1f}" fill="{color}"{stroke}/>'
        )
        if any(n.kind == "break" for n in a.notices):
            bars.append(f'<text x="{xc:.1f}" y="{ax.top + 10}" class="bk">break</text>')
    body += back + bars
    return _svg(ax.width, ax.height, "".join(body), f"trend of {_TREND_TITLE[metric]}")


def _day_slots(
    shown: Sequence[Assessment], start: date, ax: _Axes
) -> list[tuple[float, float]]:
    """Left edge and width [px] of each session's slot: its day's, shared by that day's runs.

    Runs on the same local day split the day's width between them, in the order they were
    run, so every session has a bar of its own (and its bands or usual range behind it only).
    """
    day = [(a.session.local_date - start).days for a in shown]
    count = {d: day.count(d) for d in day}
    seen: dict[int, int] = {}
    width = ax.x(1) - ax.x(0)
    out = []
    for d in day:
        j = seen[d] = seen.get(d, -1) + 1
        w = width / count[d]
        out.append((ax.x(d) - width / 2 + j * w, w))
    return out


def _trend_section(
    history: list[Assessment], current: Assessment, n_days: int, profile: Profile | None,
    unit: str,
) -> str:
    cfg = RuleConfig()
    legend = " ".join(
        f'<span class="sw" style="background:{LEVEL_COLOR[k]}"></span> {k}' for k in LEVELS
    )
    charts = "".join(
        _trend_svg(history, current, m, kind, cfg, n_days=n_days, profile=profile, unit=unit)
        for m, kind in _TRENDS
    )
    return (
        charts
        + f'<p class="legend">Duration, steps, heel load: bars coloured by band ({legend}; '
        f'<span class="sw" style="background:{UNARMED_COLOR}"></span> still learning your '
        "normal); shaded behind each bar: the caution (1.1-1.3×), warning (1.3-2×) and high "
        "(over 2×) bands relative to the longest run of the previous 30 days (Frandsen et al. "
        "2025). Heel peak and left/right differences: light green = your usual range up to "
        "the dashed line (the 30-day mean + 2 SD of your usual runs: a run far from the others "
        "is left out of it; for a left/right difference at least the typical difference of "
        "healthy runners, Girard et al. 2019); "
        f'<span class="sw" style="background:{RANGE_COLOR}"></span> above '
        f"your usual range; a dashed empty bar rests on fewer than {cfg.min_side_steps} steps "
        "of a foot: not compared, and not counted in your usual range. Outlined bar: this "
        "session. Every session has a bar of its own: runs on the same day share the day's "
        "width, in the order they were run. "
        "Week-to-week and acute:chronic workload ratios are not used for warnings (Lolli 2019, "
        "Impellizzeri 2020).</p>"
    )


_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:20px 28px;color:#222;
max-width:1120px;font-size:14px}
h1{font-size:22px;margin:0 0 6px} h2{font-size:17px;margin:16px 0 6px;border-bottom:1px solid #ccc}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
svg text{font-family:"DejaVu Sans",Arial,sans-serif}
.t{font-size:13px;font-weight:bold} .yt{font-size:11px;text-anchor:end}
.xt{font-size:11px;text-anchor:middle} .xl{font-size:12px;text-anchor:middle}
.lt{font-size:11px} .pv{font-size:10px;text-anchor:middle;font-weight:bold}
.bv{font-size:12px;text-anchor:middle;fill:#fff;font-weight:bold}
.bk{font-size:10px;text-anchor:middle;fill:#555}
.grid{stroke:#e4e4e4} .ax{stroke:#333}
.legend,.note{font-size:12px;color:#444}
.sw{display:inline-block;width:11px;height:11px;vertical-align:middle}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 8px;border-bottom:1px solid #ddd;
text-align:left}
.flag{padding:6px 10px;margin:4px 0;border-left:6px solid} .notice{padding:6px 10px;margin:4px 0;
border-left:6px solid #90a4ae;background:#f4f6f7}
.disc{font-size:12px;color:#555;background:#fafafa;padding:6px 10px;border:1px solid #ddd}
.kv td{border:none;padding:1px 10px 1px 0}
.side{font-size:11px;fill:#555;font-style:italic}
.verdict{font-size:16px;font-weight:bold;margin:8px 0 4px}
.next{padding:6px 10px;margin:6px 0;border-left:6px solid #2e7d32;background:#eef6ee}
.sub{color:#555;font-size:14px;font-weight:normal}
"""


def _latest_after(history: Sequence[Assessment], current: Assessment) -> Assessment | None:
    """The latest session of the history when it is later than `current` (else None)."""
    later = [a for a in history if a.session.start > current.session.start]
    return max(later, key=lambda a: a.session.start) if later else None


def _not_latest_text(latest: Assessment) -> str:
    """Why a report of an earlier session gives no next run, and where to find it."""
    p = latest.session
    which = f"session {p.id}, " if p.id is not None else ""
    see = f"'insole report {p.id}' or " if p.id is not None else ""
    return (
        "Next run: given after your latest run only, as in 'insole history' — this is an "
        f"earlier run. Your latest run is {which}{plain.fmt_start(p.start)} ({see}'insole "
        "history' gives its next run)."
    )


def _body_text(profile: Profile | None, unit: str) -> str:
    """The "body" line: the profile, and the unit loads are shown in."""
    if unit != "N":
        why = (f"loads in {unit}: this recording's sensors are not calibrated in newtons, so "
               "its loads are relative and cannot be shown as multiples of body weight")
        return f"{profile.describe()}; {why}" if profile else f"no profile; {why}"
    if profile:
        return profile.describe()
    return ("no profile: loads in newtons ('insole profile --mass-kg KG' shows them as "
            "multiples of body weight)")


def build_report(
    summary: dict[str, Any],
    steps: Sequence[dict[str, Any]],
    *,
    recording: str | Path | None,
    assessment: Assessment | None = None,
    history: list[Assessment] | None = None,
    profile: Profile | None = None,
    limits: dict[str, float] | None = None,
) -> str:
    """Build the HTML report of one session.

    Parameters
    ----------
    summary : dict
        Session summary.
    steps : list of dict
        Steps table.
    recording : str or Path or None
        The recording (for force curves and pressure maps); None leaves those sections out
        and says why.
    assessment : Assessment, optional
        The rules' verdict on this session.
    history : list of Assessment, optional
        All sessions' assessments, for the trend charts.
    profile : Profile, optional
        The runner's profile: loads as multiples of body weight.
    limits : dict, optional
        The next-run limits (`insole.session.rules.next_run_limits`).

    Returns
    -------
    str
        One HTML document; every figure is inline SVG; no external URLs.
    """
    unit = str(summary.get("force_unit") or "N")
    hp = summary.get("heel_peak_n") or {}
    bw = profile.body_weight_n if profile is not None and unit == "N" else None
    # A force plate under both feet is stored as the left device and its one sensor is the
    # whole foot: no feet, no heel; contacts and the peak force of each (issue 13, item 5).
    plate = bool(summary.get("plate_under_both_feet"))

    def load(metric: str, v: Any) -> str:
        return plain.fmt_value(metric, v, profile, unit=unit)

    def few(metric: str) -> str:
        """The mark of a median on too few steps a side (`insole.session.plain`)."""
        text = plain.few_steps_text(summary, metric)
        return f" — {text}" if text else ""

    ct, flight = summary.get("contact_time_s"), summary.get("flight_time_s")
    cad = summary.get("cadence_spm")
    air = (
        "–" if flight is None else f"both feet down {-1000 * flight:.0f} ms"
        if flight < 0 else f"in the air {1000 * flight:.0f} ms"
    )
    start = summary.get("start")
    offset = plain.fmt_utc_offset(start)
    per_side = (
        "one force plate under both feet, every contact a step" if plate
        else ", ".join(f"{k} {v:,}" for k, v in summary["steps"].items())
    )
    facts = [
        ("when", plain.fmt_start(start) + (f" ({offset})" if offset else "")),
        ("duration", plain.fmt_duration(summary["duration_s"])),
        (
            "steps",
            f"{summary['step_count']:,} ({per_side})"
            + ("" if cad is None else f"; {cad:.0f} steps per minute"),
        ),
        ("ground contact", ("–" if ct is None else f"{1000 * ct:.0f} ms per "
                            f"{'contact' if plate else 'step'} (median); ") + air),
    ]
    if plate:
        facts += [
            (
                "peak force",
                f"{load('heel_peak_n', hp.get('median'))} per contact (median; most contacts "
                f"{load('heel_peak_n', hp.get('p10'))} to {load('heel_peak_n', hp.get('p90'))}"
                f"; the plate measures the whole foot){few('heel_peak_n')}",
            ),
            ("loading rate",
             load("loading_rate_index", summary.get("loading_rate_index"))
             + few("loading_rate_index")),
        ]
    else:
        facts += [
            (
                "heel peak",
                f"{load('heel_peak_n', hp.get('median'))} per step (median; most steps "
                f"{load('heel_peak_n', hp.get('p10'))} to {load('heel_peak_n', hp.get('p90'))})"
                + few("heel_peak_n"),
            ),
            ("heel load",
             f"{load('heel_impulse_ns', summary.get('heel_impulse_ns'))} this session"),
            (
                "loading rate",
                f"– — {plain.NO_IMPACT_PEAK}"
                if plain.few_steps_text(summary, "loading_rate_index") == plain.NO_IMPACT_PEAK
                else f"{load('loading_rate_index', summary.get('loading_rate_index'))} (insole "
                "index: compare it with your own runs only, not with force-plate figures)"
                + few("loading_rate_index"),
            ),
        ]
    facts += [
        (
            "data quality",
            f"{summary.get('frames_lost', 0)} frames lost, "
            f"{summary.get('steps_with_gaps', 0)} {'contacts' if plate else 'steps'} with gaps",
        ),
        ("recording", Path(str(summary.get("path", ""))).name),
        ("body", _body_text(profile, unit)),
    ]
    kv = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in facts)
    verdict = []
    if assessment is not None:
        later = _latest_after(history or [], assessment)
        lines = plain.warning_lines(assessment, limits or {}, profile=profile, unit=unit,
                                    next_run=later is None)
        verdict.append(f'<p class="verdict">{_e(lines[0])}</p>')
        for f in assessment.flags:
            color = LEVEL_COLOR[f.level] if f.rule == "spike" else RANGE_COLOR
            label = f.level if f.rule == "spike" else "above your usual range"
            sentence = plain.flag_sentence(
                f, assessment=assessment, profile=profile, unit=unit,
                next_limit=(limits or {}).get(f.metric), next_run=later is None,
                kind_said=f.rule != "spike", limits=limits or {},
            )
            verdict.append(
                f'<div class="flag" style="border-color:{color}"><b>{_e(label)}</b> — '
                f"{_e(sentence)}</div>"
            )
        for n in assessment.notices:
            verdict.append(f'<div class="notice">{_e(n.message)}</div>')
        nxt = [ln for ln in lines if ln.startswith("Next run:")]
        if nxt:
            verdict.append(f'<div class="next"><b>{_e(nxt[0])}</b></div>')
        elif later is not None:
            verdict.append(f'<div class="notice">{_e(_not_latest_text(later))}</div>')
        if any(f.rule == "spike" for f in assessment.flags):
            verdict.append(f'<p class="note">{_e(plain.EVIDENCE)}</p>')
    maps_title = "Average pressure maps"
    if recording is not None and Path(recording).exists():
        rec = _load(recording)
        own = _on_own_clocks(steps, summary.get("clock_alignment"))
        curves = _force_section(force_curves(rec, own), plate=plate,
                                per_side=summary.get("per_side") or {})
        pmaps = {} if plate else pressure_maps(rec, own)
        maps = (
            "<p>A force plate measures the force of the whole body, not the pressure under "
            "each part of the foot: no pressure map.</p>" if plate
            else _pressure_section(pmaps)
        )
        if any(m.get("unit") == "counts" for m in pmaps.values()):
            maps_title = "Average sensor readings (relative counts, not pressures)"
    else:
        curves = maps = (
            "<p>The recording is not available (moved or changed), so raw curves and "
            "pressure maps are not shown.</p>"
        )
    hist = history or []
    if assessment is not None and len(hist) >= 2:
        n_days = trend_days(hist, assessment)
        trends_title = f"Trends over the last {n_days // 7} weeks"
        trends = _trend_section(hist, assessment, n_days, profile, unit)
    else:
        trends_title = "Trends"
        trends = (
            "<p>No history yet: save sessions with <code>insole analyze FILE --save</code>.</p>"
        )
    title = f"Run on {plain.fmt_start(start)} — {plain.fmt_duration(summary['duration_s'])}"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>insole: {_e(title)}</title><style>{_CSS}</style>"
        "</head><body>"
        f"<h1>{_e(title)} <span class='sub'>{_e(offset)}</span></h1>"
        f'<p class="disc">{_e(DISCLAIMER)}</p>'
        f'<section id="summary"><h2>Verdict and next run</h2>{"".join(verdict)}'
        f'<h2>This run</h2><table class="kv">{kv}</table></section>'
        f'<section id="force"><h2>Force curves with events</h2>{curves}</section>'
        f'<section id="pressure"><h2>{_e(maps_title)}</h2>{maps}</section>'
        f'<section id="distributions"><h2>Per-step distributions</h2>'
        f"{_distributions(steps, bw, plate=plate, unit=unit)}</section>"
        f'<section id="strike"><h2>Foot strike</h2>{_strike_section(summary)}</section>'
        + (
            '<section id="symmetry"><h2>Balance between the feet</h2><p>One force plate under '
            "both feet does not tell the feet apart: no balance between them.</p></section>"
            if plate else
            f'<section id="symmetry"><h2>Left/right balance</h2>'
            f"{_symmetry_section(summary, profile, assessment)}</section>"
        )
        + f'<section id="trends"><h2>{_e(trends_title)}</h2>{trends}</section>'
        "</body></html>"
    )
