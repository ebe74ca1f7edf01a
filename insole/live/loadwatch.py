""""Too much, too soon" during the run, and alerts as start / end events.

A live session is compared, while it runs, with the largest session of the previous 30 days in
the training history — the rule `insole.session.rules.evaluate_session` applies to a saved
session (Frandsen et al. 2025; steps and duration stand in for the distance the study measured,
session heel load is an experimental extension):

- `RecentMax` reads the reference from a history database: the largest steps, duration and
  heel load of the 30 days before now, whether the rule is armed (≥ 30 days and ≥ 4 sessions,
  no break), the runner's profile, and the per-step heel baseline the feedback uses.
- `LoadWatch` follows the session's steps, duration and heel load and reports each band
  (1.10×, 1.30×, 2.00× — `insole.session.rules.RuleConfig`) once, at the moment of recording
  time the first metric crossed it, naming every metric above it then.
- `AlertLog` turns `insole.core.alerts.AlertMonitor` state into events: one when an alert
  starts (or changes level), one when it ends — never one per redraw.
- `SessionWatch` holds both and the event list the terminal view prints and the window may
  show; the live runtime and the terminal replay feed it.

Plain words come from `insole.session.plain` (one voice with the history and the report).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from insole.session.rules import RuleConfig, ratio_level

if TYPE_CHECKING:  # pragma: no cover
    from insole.core.alerts import Alert, AlertMonitor
    from insole.core.pipeline import StepRecord
    from insole.session.plain import Profile

__all__ = ["AlertLog", "BandCrossing", "LoadWatch", "RecentMax", "SessionWatch", "WatchEvent"]

#: Rule metrics followed during the run, in the order they are named.
METRICS = ("step_count", "duration_s", "heel_impulse_ns")
#: The metrics that announce a band: the study's distance stand-ins (heel load is experimental:
#: it is named in the line when above the band, but does not announce one alone).
_PRIMARY = ("step_count", "duration_s")
#: Band names of the spike rule, by lower limit.
_BAND_LEVELS = ("caution", "warning", "high")


@dataclass(frozen=True)
class RecentMax:
    """The reference of a live session: the largest session of the previous 30 days.

    Attributes
    ----------
    reference : dict of str to float
        Largest ``step_count``, ``duration_s`` and ``heel_impulse_ns`` of the 30-day window
        (metrics without a saved value are absent).
    armed : bool
        Whether the spike rule is armed (≥ 30 days and ≥ 4 earlier sessions, no break): bands
        are announced only then; progress is shown whenever a reference exists.
    note : str
        One plain sentence on the state (learning your normal, back after a break, or what the
        reference is).
    profile : Profile or None
        The runner's profile (loads in body weights).
    step_heel_peaks_n, step_loading_rates : list of float
        Heel peak and loading-rate index of every step of the 30-day window (at most the last
        `insole.live.feedback.MAX_BASELINE_STEPS`), for the feedback target.
    """

    reference: dict[str, float] = field(default_factory=dict)
    armed: bool = False
    note: str = ""
    profile: Profile | None = None
    step_heel_peaks_n: list[float] = field(default_factory=list)
    step_loading_rates: list[float] = field(default_factory=list)

    @classmethod
    def from_db(
        cls,
        path: str | os.PathLike[str] | None,
        *,
        now: datetime | None = None,
        with_steps: bool = False,
        max_steps: int = 20_000,
    ) -> RecentMax:
        """Read the reference of a session starting at `now` from a history database.

        Parameters
        ----------
        path : path-like or None
            The database (None: the default one). A missing file gives an empty reference.
        now : datetime, optional
            Timezone-aware start of the session (default: now, local time).
        with_steps : bool
            Also read the steps of the window (the per-step heel baseline of the feedback),
            of its sessions in N only (not those of uncalibrated recordings in counts).
        max_steps : int
            Most recent steps read for the per-step heel baseline.

        Returns
        -------
        RecentMax
            The reference (empty when the history has no earlier session).

        Raises
        ------
        insole.session.history.HistoryError
            If the database is damaged or not an insole history.
        """
        from insole.session.history import HistoryDB, default_db_path
        from insole.session.rules import SessionPoint, evaluate_session, history_needed

        p = default_db_path() if path is None else os.fspath(path)
        if not os.path.exists(p):
            return cls(note="No training history yet: this run starts your normal.")
        start = now or datetime.now().astimezone()
        with HistoryDB(p, create=False, readonly=True) as db:
            lookback, first = history_needed()
            saved = [s for s in db.sessions_for_rules(start, lookback=lookback, first=first)
                     if s.start < start]
            profile = db.profile()
            window = [s for s in saved if (start.date() - s.start.date()).days
                      < RuleConfig().window_days]
            heel: list[float] = []
            rate: list[float] = []
            for s in reversed(window if with_steps else []):
                if len(heel) >= max_steps:
                    break
                if str(s.summary.get("force_unit") or "N") != "N":
                    continue  # the feedback's targets are in N: counts are on no common scale
                if s.summary.get("plate_under_both_feet"):
                    continue  # a force plate has no heel: its "heel" column is its whole force
                for row in db.steps(s.id):
                    v, r = row.get("heel_peak_n"), row.get("loading_rate_index")
                    if isinstance(v, int | float) and math.isfinite(v):
                        heel.append(float(v))
                    if isinstance(r, int | float) and math.isfinite(r):
                        rate.append(float(r))
        points = [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id)
                  for s in saved]
        probe = SessionPoint(start=start, duration_s=0.0, step_count=0)
        a = evaluate_session(probe, points)
        note = ""
        for n in a.notices:
            if n.kind in ("not_armed", "break"):
                note = n.message
        if a.reference and a.armed:
            from insole.session.plain import fmt_value

            parts = [fmt_value(m, a.reference[m], profile) for m in ("duration_s", "step_count")
                     if m in a.reference]
            note = (f"Compared with your longest run of the last 30 days ({' / '.join(parts)})"
                    ": bands at 1.1×, 1.3× and 2×.")
        return cls(reference=dict(a.reference), armed=a.armed, note=note, profile=profile,
                   step_heel_peaks_n=heel[-max_steps:], step_loading_rates=rate[-max_steps:])


@dataclass(frozen=True)
class WatchEvent:
    """One thing the terminal prints once: a band crossed, an alert started or ended.

    Attributes
    ----------
    time_s : float
        Recording time [s] at which it happened.
    kind : str
        ``"band"``, ``"alert_start"`` or ``"alert_end"``.
    level : str
        ``caution`` / ``warning`` / ``high`` for bands; the alert's level for alerts.
    text : str
        The plain sentence.
    code : str
        Alert code, or ``spike`` for bands.
    """

    time_s: float
    kind: str
    level: str
    text: str
    code: str = ""


@dataclass(frozen=True)
class BandCrossing:
    """A band of the spike rule crossed during the run.

    Attributes
    ----------
    band : float
        The band's lower limit (1.10, 1.30 or 2.00).
    level : str
        ``caution``, ``warning`` or ``high``.
    time_s : float
        Recording time when the first metric crossed it [s].
    ratios : dict of str to float
        Every metric's ratio at that moment (those above `band` crossed it, to 2 decimals;
        the others as the rule rounds them, `RuleConfig.ratio_decimals`).
    """

    band: float
    level: str
    time_s: float
    ratios: dict[str, float]

    def sentence(self) -> str:
        """``past 1.1× your longest run of the last 30 days — steps 1.10×, duration 1.10× ...``.

        Names the metrics that crossed, then the others' ratios at that moment.
        """
        from insole.session.plain import METRIC_NAMES

        crossed = {m: r for m, r in self.ratios.items() if r > self.band}
        runs = [m for m in crossed if m != "heel_impulse_ns"]
        what = ("your longest run of the last 30 days" if runs
                else "your largest heel load of the last 30 days")
        names = ", ".join(f"{METRIC_NAMES[m]} {r:.2f}×" for m, r in crossed.items())
        rest = ", ".join(f"{METRIC_NAMES[m]} {_not_yet(r, self.band)}"
                         for m, r in self.ratios.items() if m not in crossed)
        extra = f" (not yet: {rest})" if rest else ""
        heel = "; heel load is experimental" if "heel_impulse_ns" in crossed else ""
        return (f"past {self.band:.1f}× {what} — {names}{extra}: higher than your recent "
                f"normal ({self.level} band; an association in a study of runners, not a "
                f"diagnosis{heel})")


def _not_yet(ratio: float, band: float) -> str:
    """A ratio not past `band`, as it reads: rounded down, so 1.099 never reads as "1.10×".

    Returns
    -------
    str
        ``1.09×``; ``exactly 1.10×`` for a ratio on the band itself (935 steps against 850:
        not past it, as the rule rounds, `insole.session.rules.ratio_level`).
    """
    shown = math.floor(round(ratio * 100, 6)) / 100  # 0.29 * 100 is 28.999999999999996
    if shown < band:
        return f"{shown:.2f}×"
    return f"exactly {band:.2f}×"


class LoadWatch:
    """Follow a session's steps, duration and heel load against `RecentMax.reference`.

    Parameters
    ----------
    reference : mapping of str to float
        Largest value of each metric in the previous 30 days.
    armed : bool
        Announce bands (else only progress).
    config : RuleConfig, optional
        Band limits (default 1.10 / 1.30 / 2.00, Frandsen et al. 2025).

    Notes
    -----
    Steps and heel load count when a step is complete (its toe-off, as the session summary
    counts them); duration is the recording time of the newest sample. A band is reported at
    the exact recording time steps or duration — the stand-ins for the distance Frandsen et al.
    measured — first crossed it: for duration ``band × reference``, for steps the toe-off of
    the step that crossed. Heel load (experimental) is named in the line when it is above the
    band too (with the other metrics' ratios), and shown in the progress; it announces a band
    alone only when the history has no steps or duration.
    """

    def __init__(self, reference: Mapping[str, float], *, armed: bool = True,
                 config: RuleConfig | None = None) -> None:
        self.reference = {m: float(v) for m, v in reference.items() if v and v > 0}
        self.armed = armed
        self.config = config or RuleConfig()
        self.values = dict.fromkeys(METRICS, 0.0)
        self.crossings: list[BandCrossing] = []
        c = self.config
        self._bands = [(c.caution_ratio, "caution"), (c.warning_ratio, "warning"),
                       (c.high_ratio, "high")]

    def ratio(self, metric: str) -> float:
        """Ratio of the session so far to the reference (NaN without a reference)."""
        ref = self.reference.get(metric)
        return self.values[metric] / ref if ref else float("nan")

    def add_steps(self, steps: Iterable[StepRecord]) -> list[BandCrossing]:
        """Count completed steps (in order); return the bands they crossed."""
        out: list[BandCrossing] = []
        for s in steps:
            self.values["step_count"] += 1
            h = s.load.heel_impulse_ns
            if math.isfinite(h):
                self.values["heel_impulse_ns"] += h
            out += self._check(s.toe_off_s)
        return out

    def set_time(self, time_s: float) -> list[BandCrossing]:
        """Advance the duration to `time_s` [s]; return the bands it crossed."""
        prev = self.values["duration_s"]
        if not time_s > prev:
            return []
        ref = self.reference.get("duration_s")
        self.values["duration_s"] = time_s
        if not ref or not self.armed:
            return []
        for band, _ in self._bands:  # the exact moment, whatever the update size
            limit = ref * band
            if prev <= limit < time_s and not self._done(band):
                # just past the band as the rule rounds ratios (RuleConfig.ratio_decimals)
                self.values["duration_s"] = ref * (band + 10.0 ** -self.config.ratio_decimals)
                out = self._check(limit)
                self.values["duration_s"] = time_s
                return out + self._check(time_s)
        return self._check(time_s)

    def _done(self, band: float) -> bool:
        return any(c.band == band for c in self.crossings)

    def _check(self, time_s: float) -> list[BandCrossing]:
        if not self.armed or not self.reference:
            return []
        out = []
        for band, level in self._bands:
            if self._done(band):
                continue
            levels = _BAND_LEVELS[_BAND_LEVELS.index(level):]
            over = [m for m in METRICS if m in self.reference
                    and ratio_level(self.ratio(m), self.config) in levels]
            primary = [m for m in _PRIMARY if m in self.reference] or list(self.reference)
            if any(m in primary for m in over):
                ratios = {m: round(self.ratio(m), self.config.ratio_decimals) if m not in over
                          else max(round(self.ratio(m), 2), math.nextafter(band, math.inf))
                          for m in METRICS if m in self.reference}
                c = BandCrossing(band, level, time_s, ratios)
                self.crossings.append(c)
                out.append(c)
        return out

    def progress_pct(self) -> float:
        """Run so far as % of the longest recent run (larger of steps and duration); NaN."""
        r = [self.ratio(m) for m in ("step_count", "duration_s") if m in self.reference]
        return 100.0 * max(r) if r else float("nan")

    def progress_text(self) -> str:
        """``78 % of your longest recent run`` (empty without a reference)."""
        pct = self.progress_pct()
        return "" if not math.isfinite(pct) else f"{pct:.0f} % of your longest recent run"


class AlertLog:
    """Alerts as events: one when an alert starts or changes level, one when it ends."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str | None], Alert] = {}

    def sync(self, active: Mapping[tuple[str, str | None], Alert], time_s: float
             ) -> list[WatchEvent]:
        """Compare the monitor's active alerts with the last call; return what changed."""
        out = []
        for key, a in active.items():
            old = self._known.get(key)
            if old is None or old.level != a.level:
                out.append(WatchEvent(a.time_s if old is None else time_s, "alert_start",
                                      a.level, a.message, a.code))
        for key, old in self._known.items():
            if key not in active:
                out.append(WatchEvent(time_s, "alert_end", old.level, old.over or old.message,
                                      old.code))
        self._known = dict(active)
        return out


class SessionWatch:
    """Band crossings and alert start / end events of one session, in order.

    Parameters
    ----------
    monitor : AlertMonitor
        The session's alert monitor (fed by the caller).
    recent : RecentMax, optional
        The history reference (None: no history, alerts only).
    plate : bool
        The session is one force plate under both feet (`insole.session.tables.is_plate`): it
        has no heel, so heel load is left out of the comparison (steps and duration count).
    """

    def __init__(self, monitor: AlertMonitor, recent: RecentMax | None = None, *,
                 plate: bool = False) -> None:
        self.monitor = monitor
        self.recent = recent
        reference = dict(recent.reference) if recent else {}
        if plate:
            reference.pop("heel_impulse_ns", None)
        self.load = LoadWatch(reference, armed=recent.armed) if recent else None
        self.alerts = AlertLog()
        self.events: list[WatchEvent] = []

    def update(self, steps: Iterable[StepRecord], time_s: float) -> list[WatchEvent]:
        """After the monitor took an update: count `steps`, advance time, collect events."""
        new: list[WatchEvent] = []
        if self.load is not None:
            crossings = self.load.add_steps(steps) + self.load.set_time(time_s)
            new += [WatchEvent(c.time_s, "band", c.level, c.sentence(), "spike")
                    for c in crossings]
        new += self.alerts.sync(self.monitor.active, time_s)
        self.events += new
        return new

    def progress_text(self) -> str:
        """The progress phrase for the status line (empty without a reference)."""
        return self.load.progress_text() if self.load is not None else ""

    def figures(self) -> dict[str, Any]:
        """Ratios so far and the bands crossed (for the session result)."""
        if self.load is None:
            return {}
        return {"ratios": {m: self.load.ratio(m) for m in self.load.reference},
                "bands": [{"band": c.band, "level": c.level, "time_s": c.time_s,
                           "ratios": c.ratios} for c in self.load.crossings]}
