"""Live alerts from pipeline updates, reader events and decoder counters.

`AlertMonitor` is plain synchronous code (no threads, no Qt): the live runtime feeds it every
`PipelineUpdate`, every reader event and the decoder counters, and it returns the alerts that
became active. ``monitor.active`` holds the alerts currently in force (for a banner); an alert
clears itself when its condition ends (e.g. the loss rate falls back under the limit).

Codes
-----
``data_loss``
    Frames lost in the last ``loss_window_s`` seconds above ``loss_caution_pct`` /
    ``loss_warning_pct`` of the frames expected.
``disconnected``
    A stream disconnected or is reconnecting (cleared when it is connected again).
``asymmetry``
    Left/right heel peak force differ by more than ``asymmetry_gross_pct``, or their difference
    moved by more than ``asymmetry_limit_pct`` from the run's first minutes.
``heel_drift``, ``loading_rate_drift``
    Heel peak force or the loading-rate index of recent steps is higher than in the run's
    first minutes (experimental).

Wording follows docs/domain.md "Warnings": alerts describe what the insoles measured against the
runner's own normal ("higher than in the first minutes of this run"), never a diagnosis; the
product is not a medical device.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firmware_protocol import DecoderStats
from insole.core.pipeline import PipelineUpdate, StepRecord

__all__ = ["LEVELS", "Alert", "AlertMonitor"]

#: Alert levels, least to most severe.
LEVELS = ("info", "caution", "warning")
#: An active alert clears only when its figure falls below this fraction of its limit
#: (hysteresis: a figure hovering at the limit does not make the banner flicker).
_CLEAR_FRACTION = 0.5


@dataclass(frozen=True)
class Alert:
    """One alert.

    Attributes
    ----------
    level : {"info", "caution", "warning"}
    code : str
        Machine-readable kind (see the module docstring).
    message : str
        One line for the runner or operator.
    time_s : float
        Session time when it became active [s on the insoles' clock, or host seconds since
        the start for reader events].
    side : str or None
        ``"left"`` / ``"right"`` when it concerns one insole.
    over : str or None
        What to say when it ends, if not its `message` with "over" (a disconnect: "… is
        back", not the disconnect's own words).
    """

    level: str
    code: str
    message: str
    time_s: float
    side: str | None = None
    over: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """Identity of the condition (code and side)."""
        return (self.code, self.side)


@dataclass(kw_only=True, eq=False, repr=False)
class AlertMonitor:
    """Turn a live session's updates into alerts.

    Parameters
    ----------
    loss_window_s : float
        Window over which the frame-loss rate is computed [s of session time].
    loss_caution_pct, loss_warning_pct : float
        Loss rate limits [% of frames]. Product defaults, not from a study: the contact
        detector bridges isolated lost frames (see ``docs/events.md``), so a couple of percent
        of scattered loss still gives usable steps; above ~2 % steps with gaps become common
        and above 10 % per-step loads are unreliable.
    asymmetry_limit_pct : float
        Change of the left/right difference of the median heel peak force (last
        ``asymmetry_steps`` steps per side, % of the mean of both sides) from its value in the
        run's first ``baseline_s`` seconds above which ``asymmetry`` fires [percentage points].
        Healthy trained runners differ by about 3.2 % in peak force (Girard et al. 2019) and
        docs/domain.md "Per-step load" says to flag only above the runner's own baseline + 2 SD. An
        absolute insole L/R difference also holds the sensors' part-to-part spread (±6-25 %,
        docs/domain.md "Hardware facts"), so live the run's own first minutes are the baseline;
        the default 10 points (about three times the typical healthy difference) stands in for
        2 SD until the history supplies the runner's own spread.
    asymmetry_gross_pct : float
        Absolute L/R difference that fires even without a baseline [%]: 25 %, above the
        sensor spread, so it cannot come from the insoles alone.
    asymmetry_steps : int
        Steps per side in the asymmetry window.
    baseline_s : float
        The run's "first minutes": steps with a heel strike before this time form the
        within-run baseline [s].
    drift_steps : int
        Recent steps per side compared with the baseline.
    drift_limit_pct : float
        Rise of the median heel peak (or loading-rate index) of the recent steps over the
        baseline median above which ``heel_drift`` / ``loading_rate_drift`` fire [%].
        Experimental (docs/domain.md "Warnings", within a run: heel peak force or loading-rate index
        drifting up against the run's first minutes, a sign of fatigue); the 10 % default is a
        product choice, about twice the step-to-step spread of the heel peak in steady running.
    min_baseline_steps : int
        Steps per side needed before the drift rules are armed.
    plate : bool
        The steps are a force plate's under both feet: no heel and no left or right, so the
        step rules (asymmetry, heel and loading-rate drift) stay off; loss and disconnects are
        watched as for insoles.

    Notes
    -----
    Limits are product defaults with the reasoning given above; none is a clinical threshold.
    An active alert clears only when its figure falls below half its limit (hysteresis).
    Forces are insole forces, which underestimate force-plate values (docs/domain.md), so every
    comparison is against the same runner's own data in the same run.
    """

    loss_window_s: float = 10.0
    loss_caution_pct: float = 2.0
    loss_warning_pct: float = 10.0
    asymmetry_limit_pct: float = 10.0
    asymmetry_gross_pct: float = 25.0
    asymmetry_steps: int = 20
    baseline_s: float = 120.0
    drift_steps: int = 30
    drift_limit_pct: float = 10.0
    min_baseline_steps: int = 20
    plate: bool = False
    #: Alerts in force, by `Alert.key` (see `banner`).
    active: dict[tuple[str, str | None], Alert] = field(init=False, default_factory=dict)
    #: Every alert that became active or changed level, in order.
    history: list[Alert] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._baseline_asym: list[float] = []
        self._recent: dict[str, deque[StepRecord]] = {}
        self._baseline_heel: dict[str, list[float]] = {}
        self._baseline_lr: dict[str, list[float]] = {}
        self._loss_marks: deque[tuple[float, int, int]] = deque()
        self._now_s = 0.0

    # -- inputs --------------------------------------------------------------------------------

    def feed_update(
        self,
        update: PipelineUpdate,
        *,
        time_s: float | None = None,
        stats: Mapping[int, DecoderStats] | None = None,
    ) -> list[Alert]:
        """Take one pipeline update (and optionally the decoder counters after it).

        Parameters
        ----------
        update : PipelineUpdate
            What `Pipeline.feed` returned.
        time_s : float, optional
            Session time now [s]; default: the latest sample or step time seen.
        stats : mapping of int to DecoderStats, optional
            ``Pipeline.stats`` after the feed, for the loss rate.

        Returns
        -------
        list of Alert
            Alerts that became active (or changed level) with this update.
        """
        for s in update.samples.values():
            self._now_s = max(self._now_s, (s.start_index + len(s.total_n)) / s.sampling_rate_hz)
        for step in update.steps:
            self._now_s = max(self._now_s, step.toe_off_s)
        now = self._now_s if time_s is None else time_s
        new: list[Alert] = []
        if update.steps:
            new += self._steps(update.steps, now)
        if stats is not None:
            new += self.feed_stats(stats, time_s=now)
        return new

    def feed_stats(self, stats: Mapping[int, DecoderStats], *, time_s: float) -> list[Alert]:
        """Update the frame-loss rate from the decoder counters.

        Parameters
        ----------
        stats : mapping of int to DecoderStats
            Counters per stream (cumulative).
        time_s : float
            Session time now [s].

        Returns
        -------
        list of Alert
            Alerts that became active or changed level.
        """
        frames = sum(s.frames for s in stats.values())
        lost = sum(s.lost_frames for s in stats.values())
        marks = self._loss_marks
        marks.append((time_s, frames, lost))
        while len(marks) > 2 and marks[1][0] <= time_s - self.loss_window_s:
            marks.popleft()
        t0, f0, l0 = marks[0]
        d_frames, d_lost = frames - f0, lost - l0
        expected = d_frames + d_lost
        if expected < 20:
            return []
        pct = 100.0 * d_lost / expected
        if pct > self.loss_warning_pct:
            level = "warning"
        elif pct > self.loss_caution_pct:
            level = "caution"
        else:
            if pct < _CLEAR_FRACTION * self.loss_caution_pct:
                self._clear("data_loss", None)
            return []
        return self._raise(
            Alert(
                level,
                "data_loss",
                f"Data loss: {pct:.1f} % of frames lost ({d_lost} of the last {expected}, "
                f"{max(time_s - t0, 0.0):.1f} s) — "
                "steps with gaps are less reliable; move the phone / receiver closer",
                time_s,
            )
        )

    def feed_event(self, kind: str, stream_id: int, label: str = "", *,
                   time_s: float = 0.0, detail: Mapping[str, Any] | None = None) -> list[Alert]:
        """Take one reader event (``ReaderEvent.kind``, its stream and a label to show).

        Parameters
        ----------
        kind : str
            ``"disconnected"``, ``"reconnecting"``, ``"connected"``, ``"error"``, ...
        stream_id : int
            The stream.
        label : str
            Name to show (e.g. ``"left insole"``).
        time_s : float
            When [s].
        detail : mapping, optional
            The event's detail.

        Returns
        -------
        list of Alert
            Alerts that became active.
        """
        name = label or f"stream {stream_id}"
        side = f"stream{stream_id}"
        if kind in ("disconnected", "reconnecting"):
            verb = "disconnected" if kind == "disconnected" else "reconnecting"
            return self._raise(
                Alert("warning", "disconnected",
                      f"{name} {verb} — no data from it until it reconnects", time_s, side,
                      over=f"{name} reconnected, its data flow again")
            )
        if kind == "connected":
            was = self.active.get(("disconnected", side))
            self._clear("disconnected", side)
            if was is not None:
                return self._raise(Alert("info", "reconnected", f"{name} reconnected", time_s,
                                         side), keep=False)
        if kind == "error":
            reason = str((detail or {}).get("reason", ""))
            return self._raise(Alert("warning", "source_error",
                                     f"Source error: {reason}".strip(), time_s, None))
        if kind == "damage":
            return self._raise(Alert("caution", "damaged_file",
                                     "Recording is damaged; replaying what could be read (frames "
                                     "lost in the damage are counted)", time_s, None))
        return []

    # -- step rules ----------------------------------------------------------------------------

    def _steps(self, steps: Iterable[StepRecord], now: float) -> list[Alert]:
        new: list[Alert] = []
        if self.plate:  # the plate's force under both feet is no heel's, nor one side's
            return new
        for step in steps:
            recent = self._recent.setdefault(step.side, deque(maxlen=max(self.drift_steps,
                                                                        self.asymmetry_steps)))
            recent.append(step)
            if step.heel_strike_s < self.baseline_s:
                if math.isfinite(step.load.heel_peak_n):
                    self._baseline_heel.setdefault(step.side, []).append(step.load.heel_peak_n)
                if math.isfinite(step.load.loading_rate_index):
                    self._baseline_lr.setdefault(step.side, []).append(
                        step.load.loading_rate_index)
        new += self._asymmetry(now)
        for side in list(self._recent):
            new += self._drift(side, now)
        return new

    def heel_asymmetry_pct(self) -> float:
        """Right-vs-left difference of the recent median heel peak [% of their mean]; NaN."""
        left, right = self._recent.get("left"), self._recent.get("right")
        if not left or not right:
            return float("nan")
        n = self.asymmetry_steps
        lv = [s.load.heel_peak_n for s in list(left)[-n:] if math.isfinite(s.load.heel_peak_n)]
        rv = [s.load.heel_peak_n for s in list(right)[-n:] if math.isfinite(s.load.heel_peak_n)]
        if len(lv) < n // 2 or len(rv) < n // 2:
            return float("nan")
        ml, mr = float(np.median(lv)), float(np.median(rv))
        mean = 0.5 * (ml + mr)
        return 100.0 * (mr - ml) / mean if mean > 0 else float("nan")

    def heel_trend_pct(self, side: str, *, what: str = "heel") -> float:
        """Change of the recent median heel peak (or loading-rate index) vs the baseline [%].

        Parameters
        ----------
        side : {"left", "right"}
        what : str
            ``"heel"`` (heel peak force) or ``"loading_rate"`` (loading-rate index).

        Returns
        -------
        float
            100 · (recent / baseline − 1); NaN until the baseline has ``min_baseline_steps``
            steps and the recent window lies after the baseline period.
        """
        base = (self._baseline_heel if what == "heel" else self._baseline_lr).get(side, [])
        recent = self._recent.get(side)
        if len(base) < self.min_baseline_steps or not recent:
            return float("nan")
        window = [s for s in list(recent)[-self.drift_steps:] if s.heel_strike_s >= self.baseline_s]
        vals = [s.load.heel_peak_n if what == "heel" else s.load.loading_rate_index
                for s in window]
        vals = [v for v in vals if math.isfinite(v)]
        if len(vals) < self.drift_steps // 2:
            return float("nan")
        b = float(np.median(base))
        return 100.0 * (float(np.median(vals)) / b - 1.0) if b > 0 else float("nan")

    def _asymmetry(self, now: float) -> list[Alert]:
        pct = self.heel_asymmetry_pct()
        if not math.isfinite(pct):
            return []
        if now < self.baseline_s:
            self._baseline_asym.append(pct)
        base = float(np.median(self._baseline_asym)) if len(self._baseline_asym) >= 5 else None
        change = pct - base if base is not None and now >= self.baseline_s else 0.0
        gross = abs(pct) > self.asymmetry_gross_pct
        if not gross and abs(change) <= self.asymmetry_limit_pct:
            if (abs(pct) < _CLEAR_FRACTION * self.asymmetry_gross_pct
                    and abs(change) < _CLEAR_FRACTION * self.asymmetry_limit_pct):
                self._clear("asymmetry", None)
            return []
        higher = "right" if pct > 0 else "left"
        why = (f"limit {self.asymmetry_gross_pct:g} %" if gross else
               f"{abs(change):.0f} points more than in the first minutes of this run")
        return self._raise(
            Alert("caution", "asymmetry",
                  f"Heel load differs between feet: {higher} heel peak {abs(pct):.0f} % higher "
                  f"than the other side over the last {self.asymmetry_steps} steps ({why})",
                  now)
        )

    def _drift(self, side: str, now: float) -> list[Alert]:
        new: list[Alert] = []
        for what, code, name in (("heel", "heel_drift", "heel peak force"),
                                 ("loading_rate", "loading_rate_drift", "loading-rate index")):
            pct = self.heel_trend_pct(side, what=what)
            if not math.isfinite(pct):
                continue
            if pct <= self.drift_limit_pct:
                if pct < _CLEAR_FRACTION * self.drift_limit_pct:
                    self._clear(code, side)
                continue
            new += self._raise(
                Alert("caution", code,
                      f"{side.capitalize()} {name} is {pct:.0f} % higher than in the first "
                      f"minutes of this run (experimental: higher than your normal for this run, "
                      "not a diagnosis)", now, side)
            )
        return new

    # -- bookkeeping ---------------------------------------------------------------------------

    def _raise(self, alert: Alert, *, keep: bool = True) -> list[Alert]:
        old = self.active.get(alert.key)
        if keep:
            self.active[alert.key] = alert
        if old is not None and old.level == alert.level:
            return []
        self.history.append(alert)
        return [alert]

    def _clear(self, code: str, side: str | None) -> None:
        self.active.pop((code, side), None)

    def banner(self) -> list[Alert]:
        """Active alerts, most severe first."""
        return sorted(self.active.values(), key=lambda a: (-LEVELS.index(a.level), a.time_s))
