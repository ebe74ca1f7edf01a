"""Warning rules over the training history: "too much, too soon", compared with your own normal.

Pure functions: a session and the sessions before it in, flags and notices out. No database,
no clock. Every parameter is a field of `RuleConfig`; docs/history.md documents each rule with
its source.

Rules
-----
1. **Session spike** (primary; Frandsen et al. 2025, Br J Sports Med, 5,205 runners, 588,071
   sessions): ratio ``r`` of this session to the *largest* session of the previous 30 days;
   ``r ≤ 1.10`` none, ``1.10 < r ≤ 1.30`` caution (HR 1.64), ``1.30 < r ≤ 2.00`` warning
   (HR 1.52), ``r > 2.00`` high (HR 2.28). The study measured running distance; step count and
   duration are proxies for it, session heel load (sum of heel impulse) is an experimental
   extension. Armed only after ≥ 30 days of history with ≥ 4 earlier sessions.
2. **Return after a break**: ≥ 30 days since the previous session → a notice to start below the
   previous longest session, instead of a ratio.
3. **Weekly progression** (Nielsen et al. 2014, JOSPT; > 30 % over two weeks, HR 1.59,
   95 % CI 0.96-2.66): information only, never a warning. No acute:chronic workload ratio
   triggers anything (Lolli 2019, Impellizzeri 2020).
4. **Heel intensity** (experimental): the session's median heel peak above the mean + 2 SD of the
   previous 30 days' sessions.
5. **Left/right asymmetry**: |symmetry index| of heel peak and contact time above the runner's own
   30-day mean + 2 SD, and above the typical difference of healthy runners (~3.2 % in peak
   force, ~0.6 % in contact time; Girard 2019): a difference healthy runners show on average is
   never flagged, however steady the runner's own range (`RuleConfig.asym_healthy_pct`).

The mean and SD of rules 4 and 5 are those of the *usual* runs of the window (`usual_values`):
a run more than ``baseline_outlier_mad`` (2.5) robust SDs (1.4826 × the median absolute
deviation) above the window's median is left out of them (Leys et al. 2013, J Exp Soc Psychol
49:764), so one flagged run — a 15 % left/right difference among runs of 1-2 % — does not widen
the usual range for the next 30 days. The screen reads the window alone, so every assessment
still reads a bounded window (`history_needed`).

Rules 4 and 5 compare medians of per-step values, so they use a session's figure only when it
rests on at least ``min_side_steps`` (`insole.session.plain.MIN_SYMMETRY_STEPS`, 20) steps with
a value on each side — the minimum under which the summary already withholds a left/right
comparison (about 20 strides make stride-to-stride gait measures stable; the sources are in
`insole.session.plain`). A figure on fewer steps is neither compared nor counted in the
baseline of later sessions; the assessment says so (`Assessment.withheld`, a ``few_steps``
notice).

Days are calendar days in each session's own local time (the UTC offset of its start time), so a
run at 23:30 belongs to the day it was run on, wherever it was run; days without sessions are
simply absent (they count as days, not as zero-length sessions).
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from insole.session.plain import MIN_SYMMETRY_STEPS, few_steps_sentence, side_steps

__all__ = [
    "DISCLAIMER",
    "LEVELS",
    "Assessment",
    "Flag",
    "Notice",
    "RuleConfig",
    "SessionPoint",
    "evaluate_history",
    "evaluate_session",
    "NextRunLimits",
    "history_needed",
    "next_run_limits",
    "ratio_level",
    "same_force_unit",
    "usual_values",
]

#: Warning levels, lowest first.
LEVELS = ("none", "caution", "warning", "high")

#: Shown with every warning.
DISCLAIMER = (
    "insole is not a medical device. Warnings say a session was higher than your recent normal; "
    "studies of runners found an association between such jumps and running injuries — an "
    "association, not a cause, and never a diagnosis. If something hurts, see a professional."
)

#: Metric labels: name, unit, and what the metric stands for.
METRIC_LABELS = {
    "step_count": ("step count", "steps", "proxy for distance"),
    "duration_s": ("duration", "min", "proxy for distance"),
    "heel_impulse_ns": ("session heel load", "N·s", "experimental"),
    "heel_peak_n": ("median heel peak", "N", "experimental"),
    "asymmetry_heel_peak_n": ("left/right heel-peak asymmetry", "%", "own baseline"),
    "asymmetry_contact_time_s": ("left/right contact-time asymmetry", "%", "own baseline"),
}

#: Symmetry metrics of the asymmetry rule (keys of the summary's ``symmetry_pct``).
ASYMMETRY_METRICS = ("heel_peak_n", "contact_time_s")

#: Typical |symmetry index| of healthy trained runners [%] by symmetry metric (Girard et al.
#: 2019): about 3.2 % in peak force — the figure the heel peak is held to, as the report's
#: "typical in healthy runners" column already does — and 0.6 % in contact time. The
#: asymmetry rule never flags a difference up to these (`RuleConfig.asym_healthy_pct`).
HEALTHY_ASYMMETRY_PCT = (("heel_peak_n", 3.2), ("contact_time_s", 0.6))

#: Metrics in the recording's force unit (`SessionPoint.force_unit`): compared only with
#: sessions in the same unit. Step counts, durations and symmetry indices (ratios) have none.
FORCE_METRICS = ("heel_impulse_ns", "heel_peak_n")

_BAND_TEXT = {
    "caution": "10-30 % above",
    "warning": "30-100 % above",
    "high": "more than twice",
}
_HAZARD = {"caution": "1.64", "warning": "1.52", "high": "2.28"}


@dataclass(frozen=True)
class RuleConfig:
    """Parameters of all rules (defaults: the published values, docs/history.md).

    Attributes
    ----------
    window_days : int
        Look-back of the spike rule and of the baselines [days]: sessions 0..window_days-1
        local days before this one (Frandsen 2025: 30).
    caution_ratio, warning_ratio, high_ratio : float
        Upper bounds of the bands ``none`` (≤ caution_ratio), ``caution``, ``warning``; above
        ``high_ratio`` is ``high`` (Frandsen 2025: 1.10, 1.30, 2.00).
    spike_metrics : tuple of str
        Session metrics the spike rule compares.
    arm_min_days : int
        Days between the first session and this one before the spike rule is armed (30).
    arm_min_sessions : int
        Earlier sessions needed before the spike rule is armed (4).
    break_days : int
        Days since the previous session that count as a break (30).
    progression_pct : float
        Week-on-week rise of total duration shown as information (Nielsen 2014: 30 %).
    baseline_min_sessions : int
        Earlier sessions in the window needed for the intensity and asymmetry baselines (4).
    baseline_sd : float
        Multiples of the standard deviation above the baseline mean that flag (2).
    heel_sd_floor_frac : float
        Smallest SD used for the heel-peak baseline, as a fraction of its mean (0.02): a very
        steady history must not turn measurement noise into flags.
    asym_sd_floor_pct : float
        Smallest SD used for the asymmetry baselines [percentage points] (0.5).
    asym_healthy_pct : tuple of (str, float)
        Per symmetry metric, the |symmetry index| [%] up to which a left/right difference is
        never flagged, whatever the runner's own range: the typical difference of healthy
        trained runners (`HEALTHY_ASYMMETRY_PCT`, Girard et al. 2019: 3.2 % peak force,
        0.6 % contact time). A steady runner's own range can be narrower than the
        measurement's noise (runs of 0-1.3 % gave a range up to 1.9 %, and a symmetric run at
        2.0 % was flagged); the usual range is therefore at least this.
    baseline_outlier_mad : float
        Runs of the window more than this many robust SDs (1.4826 × the median absolute
        deviation, floored like the SD) above the window's median are left out of the mean
        and SD of rules 4 and 5 (`usual_values`; Leys et al. 2013: 2.5, "moderately
        conservative"); ``inf`` keeps every run.
    min_side_steps : int
        Fewest steps with a value on each side for a session's heel peak or symmetry index to
        be compared with the baselines, or counted in them (`insole.session.plain.
        MIN_SYMMETRY_STEPS`, 20: about 20 strides make stride-to-stride measures stable).
    ratio_decimals : int
        Ratios are rounded to this many decimals before banding, so 110 / 100 is exactly at
        the 1.10 boundary (6).
    """

    window_days: int = 30
    caution_ratio: float = 1.10
    warning_ratio: float = 1.30
    high_ratio: float = 2.00
    spike_metrics: tuple[str, ...] = ("step_count", "duration_s", "heel_impulse_ns")
    arm_min_days: int = 30
    arm_min_sessions: int = 4
    break_days: int = 30
    progression_pct: float = 30.0
    baseline_min_sessions: int = 4
    baseline_sd: float = 2.0
    heel_sd_floor_frac: float = 0.02
    asym_sd_floor_pct: float = 0.5
    asym_healthy_pct: tuple[tuple[str, float], ...] = HEALTHY_ASYMMETRY_PCT
    baseline_outlier_mad: float = 2.5
    min_side_steps: int = MIN_SYMMETRY_STEPS
    ratio_decimals: int = 6


@dataclass(frozen=True)
class SessionPoint:
    """The numbers of one session the rules use.

    Attributes
    ----------
    start : datetime
        Start, timezone-aware (its UTC offset defines the session's local day).
    duration_s : float
        Length [s].
    step_count : int
        Steps, both feet.
    heel_impulse_ns : float or None
        Session heel load [N·s].
    heel_peak_median_n : float or None
        Median heel peak [N].
    symmetry_pct : dict
        Symmetry indices [%] by metric (``heel_peak_n``, ``contact_time_s``, ...).
    id : int or None
        Session id in the history, if saved.
    steps_with_value : dict
        ``{metric: {side: steps}}``: how many steps of each side the session's median of
        ``heel_peak_n`` and of each symmetry metric rests on (`insole.session.plain.
        side_steps`; a force plate under both feet has the one side ``both``). A metric
        without counts (a point built by hand) is taken as resting on enough steps.
    force_unit : str
        Unit of its force figures (`heel_impulse_ns`, `heel_peak_median_n`): ``"N"`` for
        calibrated insoles and force plates, or that of an uncalibrated recording (``"counts"``:
        footswitches, stAPPone). Force figures are compared only between sessions in the same
        unit (`same_force_unit`); counts of different devices are not even on one scale.
    """

    start: datetime
    duration_s: float
    step_count: int
    heel_impulse_ns: float | None = None
    heel_peak_median_n: float | None = None
    symmetry_pct: dict[str, float] = field(default_factory=dict)
    id: int | None = None
    steps_with_value: dict[str, dict[str, int]] = field(default_factory=dict)
    force_unit: str = "N"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(f"session start {self.start} must be timezone-aware")

    @property
    def local_date(self) -> date:
        """Calendar date in the session's own local time."""
        return self.start.date()

    def value(self, metric: str) -> float | None:
        """The value of a spike metric (None when missing)."""
        v = getattr(self, metric)
        return None if v is None or not math.isfinite(float(v)) else float(v)

    def enough_steps(self, metric: str, minimum: int) -> bool:
        """Whether the session's median of `metric` rests on `minimum` steps of each side.

        Parameters
        ----------
        metric : str
            ``heel_peak_n`` or a key of `symmetry_pct`.
        minimum : int
            Steps needed on each side (`RuleConfig.min_side_steps`).

        Returns
        -------
        bool
            True when every side has at least `minimum` steps with a value, or when the
            counts are not known.
        """
        counts = self.steps_with_value.get(metric)
        return not counts or min(counts.values()) >= minimum

    @classmethod
    def from_summary(cls, summary: dict[str, Any], *, id: int | None = None) -> SessionPoint:
        """Build from a session summary (`insole.session.analysis.SessionAnalysis.summary_`)."""
        start = summary["start"]
        if not isinstance(start, datetime):
            start = datetime.fromisoformat(str(start))
        symmetry = dict(summary.get("symmetry_pct") or {})
        plate = bool(summary.get("plate_under_both_feet"))
        counts = {}
        for m in (*(() if plate else ("heel_peak_n",)), *symmetry):
            n = side_steps(summary, m)
            if n:  # a plate's one device is stored as "left": its contacts are both feet's
                counts[m] = {"both": sum(n.values())} if plate else n
        # A plate has no heel region: its "heel" figures are its whole force
        # (`insole.session.tables.plate_summary`), kept out of the heel-load comparisons.
        return cls(
            start=start,
            duration_s=float(summary["duration_s"]),
            step_count=int(summary["step_count"]),
            heel_impulse_ns=None if plate else summary.get("heel_impulse_ns"),
            heel_peak_median_n=None if plate else (summary.get("heel_peak_n") or {}).get("median"),
            symmetry_pct=symmetry,
            id=id,
            steps_with_value=counts,
            force_unit=str(summary.get("force_unit") or "N"),
        )


@dataclass(frozen=True)
class Flag:
    """One warning about one metric of a session.

    Attributes
    ----------
    metric : str
        ``step_count``, ``duration_s``, ``heel_impulse_ns``, ``heel_peak_n``,
        ``asymmetry_heel_peak_n`` or ``asymmetry_contact_time_s``.
    ratio : float or None
        Session value / reference (the 30-day largest session, or the baseline mean).
    level : str
        One of `LEVELS` (never ``"none"`` in `Assessment.flags`).
    rule : str
        ``spike``, ``heel_intensity`` or ``asymmetry``.
    value, reference : float
        The session's value and what it was compared with.
    experimental : bool
        The rule or metric is an extension without direct outcome evidence.
    message : str
        One sentence for the runner.
    """

    metric: str
    ratio: float | None
    level: str
    rule: str
    value: float
    reference: float
    experimental: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (``metric``, ``ratio``, ``level`` and the rest)."""
        return {
            "metric": self.metric,
            "ratio": self.ratio,
            "level": self.level,
            "rule": self.rule,
            "value": self.value,
            "reference": self.reference,
            "experimental": self.experimental,
            "message": self.message,
        }


@dataclass(frozen=True)
class Notice:
    """Information that is not a warning.

    Attributes
    ----------
    kind : str
        ``not_armed``, ``break``, ``weekly_progression``, ``few_steps`` or ``other_unit``
        (sessions of the 30-day window in another force unit, left out of the heel
        figures' comparison: `same_force_unit`).
    message : str
        One plain sentence.
    steps : dict or None
        For ``few_steps``: ``{metric: {side: steps}}`` of the figures left out
        (`Assessment.withheld`).
    """

    kind: str
    message: str
    steps: dict[str, dict[str, int]] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict: ``kind``, ``message`` (and ``steps`` for ``few_steps``)."""
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.steps is not None:
            out["steps"] = {m: dict(n) for m, n in self.steps.items()}
        return out


@dataclass
class Assessment:
    """What the rules say about one session.

    Attributes
    ----------
    session : SessionPoint
        The session.
    armed : bool
        The spike rule was armed (enough history, no break).
    flags : list of Flag
        Warnings, highest level first.
    notices : list of Notice
        Information (not armed yet, returning after a break, weekly progression).
    reference : dict
        Largest value of each spike metric over the previous window (absent when the window
        is empty); the bands of the trend charts are multiples of it.
    baselines : dict
        ``{metric: (mean, sd)}`` of the own-baseline rules (``heel_peak_n``,
        ``asymmetry_heel_peak_n``, ``asymmetry_contact_time_s``) when the window held enough
        usual sessions (`usual_values`); a value above ``mean + baseline_sd · sd`` is flagged.
        The SD is the one the rule used (floored).
    previous_longest : SessionPoint or None
        After a break: the longest session of the 30 days up to the last one before the break
        (start below it).
    withheld : dict
        ``{metric: {side: steps}}`` of this session's figures the baseline rules left out
        because they rest on fewer than ``min_side_steps`` steps of a side (metrics as in
        `Flag.metric`: ``heel_peak_n``, ``asymmetry_heel_peak_n``,
        ``asymmetry_contact_time_s``).
    usual_max : dict
        ``{metric: top of the usual range}`` for the metrics of `baselines`: a value above it
        is flagged. ``mean + baseline_sd · sd``; for a left/right difference at least the
        typical difference of healthy runners (`RuleConfig.asym_healthy_pct`). The warnings,
        the next-run guidance and the report all read the usual range from here.
    """

    session: SessionPoint
    armed: bool
    flags: list[Flag] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    reference: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, tuple[float, float]] = field(default_factory=dict)
    previous_longest: SessionPoint | None = None
    withheld: dict[str, dict[str, int]] = field(default_factory=dict)
    usual_max: dict[str, float] = field(default_factory=dict)

    @property
    def level(self) -> str:
        """Highest level of the flags (``"none"`` without flags)."""
        return max((f.level for f in self.flags), key=LEVELS.index, default="none")


def ratio_level(ratio: float, config: RuleConfig | None = None) -> str:
    """Band of a session ratio (Frandsen et al. 2025).

    Parameters
    ----------
    ratio : float
        This session / largest session of the previous 30 days.
    config : RuleConfig, optional
        Band limits (default 1.10 / 1.30 / 2.00).

    Returns
    -------
    str
        ``"none"`` (r ≤ 1.10), ``"caution"`` (≤ 1.30), ``"warning"`` (≤ 2.00) or ``"high"``.
    """
    c = config or RuleConfig()
    r = round(ratio, c.ratio_decimals)
    if r <= c.caution_ratio:
        return "none"
    if r <= c.warning_ratio:
        return "caution"
    if r <= c.high_ratio:
        return "warning"
    return "high"


def same_force_unit(a: SessionPoint, b: SessionPoint) -> bool:
    """Whether the force figures of two sessions are on one scale (both in N, or both counts).

    A history can hold sessions of uncalibrated recordings (imported footswitch or stAPPone
    counts) beside the runner's insoles in newtons: a heel peak of 2,500 counts is not 2.8x a
    mean of 880 N. Counts of two such sessions are compared, as for the same device.
    """
    return a.force_unit == b.force_unit


def _unit_words(unit: str) -> str:
    return "newtons" if unit == "N" else f"relative {unit}" if unit == "counts" else unit


def _days(a: SessionPoint, b: SessionPoint) -> int:
    """Calendar days from b to a, each in its own local time."""
    return (a.local_date - b.local_date).days


def _fmt(metric: str, v: float) -> str:
    if metric == "duration_s":
        return f"{v / 60:.1f} min"
    if metric == "step_count":
        return f"{v:.0f} steps"
    unit = METRIC_LABELS.get(metric, (metric, "", ""))[1]
    return f"{v:.0f} {unit}" if unit != "%" else f"{v:.1f} %"


def _spike_message(metric: str, ratio: float, level: str, value: float, ref: float) -> str:
    name, _, what = METRIC_LABELS[metric]
    return (
        f"{name.capitalize()} ({what}) {ratio:.2f}× your largest session of the previous 30 days "
        f"({_fmt(metric, value)} vs {_fmt(metric, ref)}): higher than your recent normal. "
        f"In 5,205 runners, sessions {_BAND_TEXT[level]} the longest recent one were associated "
        f"with more running injuries (hazard ratio {_HAZARD[level]}, Frandsen et al. 2025) — "
        "an association, not a diagnosis."
    )


def _count(n: int, word: str) -> str:
    """``1 day``, ``2 days``, ``1 earlier session``."""
    return f"{n} {word}{'s' * (n != 1)}"


def _minutes(s: float) -> str:
    return f"{s / 60:.1f}" if s < 600 else f"{s / 60:.0f}"


def _baseline(values: list[float], floor: float) -> tuple[float, float]:
    mean = statistics.fmean(values)
    sd = _stdev(values) if len(values) > 1 else 0.0
    return mean, max(sd, floor)


def _stdev(values: list[float]) -> float:
    """``statistics.stdev(values)``, the same float, 4-6× faster.

    Like `statistics.stdev`, the sum of squares is exact and the square root correctly rounded,
    so the result is the same float; the exact sums are integers here (a finite float is an
    integer over a power of two), not `fractions.Fraction`.
    """
    if not all(math.isfinite(v) for v in values):
        return statistics.stdev(values)
    ratios = [float(v).as_integer_ratio() for v in values]
    shift = max(d for _, d in ratios).bit_length() - 1
    ints = [n << (shift - d.bit_length() + 1) for n, d in ratios]
    count = len(ints)
    sx = sum(ints)
    # variance = (count · Σx² − (Σx)²) / (count · (count − 1)), x = int / 2**shift
    num = count * sum(i * i for i in ints) - sx * sx
    return _sqrt_of_frac(num, count * (count - 1) << 2 * shift)


def _sqrt_of_frac(n: int, m: int) -> float:
    """Square root of n / m (n ≥ 0, m > 0) as a float, correctly rounded.

    Round-to-odd on 2·53 + 3 bits, then one rounding to float: the algorithm of CPython's
    `statistics` (``_float_sqrt_of_frac``; https://bugs.python.org/msg407078).
    """
    q = (n.bit_length() - m.bit_length() - 109) // 2
    if q >= 0:
        m <<= 2 * q
        a = math.isqrt(n // m)
        return float((a | (a * a * m != n)) << q)
    n <<= -2 * q
    a = math.isqrt(n // m)
    return (a | (a * a * m != n)) / (1 << -q)


def evaluate_session(
    session: SessionPoint, previous: Sequence[SessionPoint], config: RuleConfig | None = None
) -> Assessment:
    """Apply every rule to one session, given the sessions before it.

    Parameters
    ----------
    session : SessionPoint
        The session to assess.
    previous : sequence of SessionPoint
        The history; sessions that did not start before `session` are ignored.
    config : RuleConfig, optional
        Rule parameters.

    Returns
    -------
    Assessment
        Flags, notices, and the 30-day reference values.
    """
    c = config or RuleConfig()
    earlier = sorted((p for p in previous if p.start < session.start), key=lambda p: p.start)
    out = Assessment(session=session, armed=False)
    # Figures of rules 4 and 5 on too few steps a side: neither compared nor part of the normal.
    least = c.min_side_steps
    out.withheld = _withheld(session, least)
    if not earlier:
        out.notices.append(
            Notice("not_armed", "First session in the history: this becomes part of your normal.")
        )
        _few_steps_notice(out, least)
        return out
    today = session.local_date
    ago = [(today - p.local_date).days for p in earlier]  # _days(session, p), once each
    window = [p for p, d in zip(earlier, ago, strict=True) if d < c.window_days]
    other = sorted({p.force_unit for p in window if not same_force_unit(p, session)})
    if other:
        n_other = sum(not same_force_unit(p, session) for p in window)
        out.notices.append(
            Notice(
                "other_unit",
                f"Heel load and heel peak are in {_unit_words(session.force_unit)} here, "
                f"{n_other} of your runs of the last {c.window_days} days in "
                f"{' and '.join(_unit_words(u) for u in other)}: those runs are left out of "
                "their comparison (different scales).",
            )
        )
    out.reference.update(_references(session, window, c))
    gap = ago[-1]
    history_days = ago[0]

    # 2. break
    if gap >= c.break_days:
        last = earlier[-1]
        before = [p for p in earlier if _days(last, p) < c.window_days]
        longest = max(before, key=lambda p: p.duration_s)
        out.previous_longest = longest
        out.notices.append(
            Notice(
                "break",
                f"Returning after a break of {gap} days: start below your previous longest "
                f"session ({longest.step_count} steps, {_minutes(longest.duration_s)} min on "
                f"{longest.local_date}) and build up again. No ratio is computed after a break.",
            )
        )
    # 1. spike
    elif history_days >= c.arm_min_days and len(earlier) >= c.arm_min_sessions:
        out.armed = True
        for m in c.spike_metrics:
            value, ref = session.value(m), out.reference.get(m)
            if value is None or ref is None:
                continue
            ratio = round(value / ref, 3)
            level = ratio_level(value / ref, c)
            if level != "none":
                out.flags.append(
                    Flag(
                        metric=m,
                        ratio=ratio,
                        level=level,
                        rule="spike",
                        value=value,
                        reference=ref,
                        experimental=m == "heel_impulse_ns",
                        message=_spike_message(m, value / ref, level, value, ref),
                    )
                )
    else:
        out.notices.append(
            Notice(
                "not_armed",
                f"Learning your normal: session warnings start after {c.arm_min_days} days and "
                f"{c.arm_min_sessions} sessions (now {_count(history_days, 'day')}, "
                f"{_count(len(earlier), 'earlier session')}).",
            )
        )

    # 3. weekly progression (information only)
    this_week = [p for p, d in zip(earlier, ago, strict=True) if 0 <= d < 7] + [session]
    last_week = [p for p, d in zip(earlier, ago, strict=True) if 7 <= d < 14]
    if last_week:
        a = sum(p.duration_s for p in this_week)
        b = sum(p.duration_s for p in last_week)
        rise = 100.0 * (a / b - 1.0) if b > 0 else 0.0
        if rise > c.progression_pct:
            out.notices.append(
                Notice(
                    "weekly_progression",
                    f"Information: your last 7 days ran {rise:.0f} % longer than the 7 days "
                    f"before ({a / 60:.1f} vs {b / 60:.1f} min). Weekly rises above 30 % were "
                    "weakly associated with injury in one study (Nielsen et al. 2014; "
                    "confidence interval includes no effect) — not a warning.",
                )
            )

    # 4. heel intensity and 5. asymmetry: own 30-day baseline + 2 SD of the window's figures
    # that rest on enough steps a side; this session's figure is flagged only if it does too
    # (the baseline is still given, for the report's usual range)
    base = [
        p for p in window
        if p.heel_peak_median_n is not None and p.enough_steps("heel_peak_n", least)
        and same_force_unit(p, session)
    ]
    v = session.heel_peak_median_n
    if len(base) >= c.baseline_min_sessions and v is not None:
        vals = usual_values(
            [float(p.heel_peak_median_n) for p in base if p.heel_peak_median_n is not None],
            c, floor_frac=c.heel_sd_floor_frac,
        )
        mean, sd = _baseline(vals, c.heel_sd_floor_frac * statistics.fmean(vals))
        out.baselines["heel_peak_n"] = (mean, sd)
        out.usual_max["heel_peak_n"] = mean + c.baseline_sd * sd
        if "heel_peak_n" not in out.withheld and v > out.usual_max["heel_peak_n"]:
            out.flags.append(
                Flag(
                    metric="heel_peak_n",
                    ratio=round(v / mean, 3),
                    level="caution",
                    rule="heel_intensity",
                    value=float(v),
                    reference=mean,
                    experimental=True,
                    message=(
                        f"Median heel peak {v:.0f} N vs your 30-day mean {mean:.0f} N "
                        f"(+{(v - mean) / sd:.1f} SD): higher than your recent normal "
                        "(experimental rule, no outcome study yet)."
                    ),
                )
            )
    healthy = dict(c.asym_healthy_pct)
    for m in ASYMMETRY_METRICS:
        sv = session.symmetry_pct.get(m)
        vals = [
            abs(float(p.symmetry_pct[m])) for p in window
            if p.symmetry_pct.get(m) is not None and p.enough_steps(m, least)
        ]
        if sv is None or len(vals) < c.baseline_min_sessions:
            continue
        mean, sd = _baseline(usual_values(vals, c, floor=c.asym_sd_floor_pct), c.asym_sd_floor_pct)
        out.baselines[f"asymmetry_{m}"] = (mean, sd)
        # never below what healthy runners show (Girard et al. 2019): noise of a steady runner
        top = out.usual_max[f"asymmetry_{m}"] = max(mean + c.baseline_sd * sd,
                                                     healthy.get(m, 0.0))
        if f"asymmetry_{m}" not in out.withheld and abs(sv) > top:
            name = METRIC_LABELS[f"asymmetry_{m}"][0]
            out.flags.append(
                Flag(
                    metric=f"asymmetry_{m}",
                    ratio=round(abs(sv) / mean, 3) if mean > 0 else None,
                    level="caution",
                    rule="asymmetry",
                    value=abs(float(sv)),
                    reference=mean,
                    experimental=False,
                    message=(
                        f"{name.capitalize()} {abs(sv):.1f} % "
                        f"({'right' if sv > 0 else 'left'} higher) vs your usual {mean:.1f} %: "
                        "higher than your recent normal."
                    ),
                )
            )
    _few_steps_notice(out, least)
    out.flags.sort(key=lambda f: -LEVELS.index(f.level))
    return out


def usual_values(
    values: Sequence[float],
    config: RuleConfig | None = None,
    *,
    floor: float = 0.0,
    floor_frac: float = 0.0,
) -> list[float]:
    """The figures of a window that set the mean and SD of rules 4 and 5: the usual runs'.

    A figure more than ``baseline_outlier_mad`` robust SDs *above* the median of the window's
    figures is left out. The robust SD is 1.4826 × the median absolute deviation (the SD of a
    normal distribution), at least `floor` (or `floor_frac` × the median) — the floor of the
    rule's own SD, so a steady history does not turn noise into outliers.

    Parameters
    ----------
    values : sequence of float
        The window's figures (those resting on enough steps, in the session's force unit).
    config : RuleConfig, optional
        ``baseline_outlier_mad`` and ``baseline_min_sessions``.
    floor : float
        Smallest robust SD, in the figures' unit.
    floor_frac : float
        Smallest robust SD as a fraction of the median.

    Returns
    -------
    list of float
        The figures kept, in their order. At least ``baseline_min_sessions`` of them stay
        (the usual range rests on 4 runs at least): when leaving out every figure far above
        would leave fewer, only the highest of them are left out, as many as leaves 4.

    Notes
    -----
    Mean and SD are pulled by the very run they would judge: among runs of 1-2 % a 15 %
    left/right difference raises the 30-day mean + 2 SD to about 15 %, and for 30 days a run
    at 9 % passes as usual. The median and the median absolute deviation hardly move with one
    or two such runs (Leys et al. 2013, J Exp Soc Psychol 49:764-766, recommend 2.5 of them as
    a "moderately conservative" cut-off). Only runs far above are left out: they are the runs
    the rule would flag, as the next-run guidance leaves out jumps; an easy run far below stays
    in the runner's normal. The screen reads the window alone — leaving out the runs the rule
    flagged instead would make each flag depend on every earlier flag, back to the first run
    — and a lasting change (new insoles) is the usual range again once it is most of the
    window's runs.
    """
    c = config or RuleConfig()
    vals = [float(v) for v in values]
    spare = len(vals) - c.baseline_min_sessions
    if spare <= 0 or not math.isfinite(c.baseline_outlier_mad):
        return vals
    med = statistics.median(vals)
    mad = statistics.median([abs(v - med) for v in vals])
    cut = med + c.baseline_outlier_mad * max(1.4826 * mad, floor, floor_frac * abs(med))
    far = sorted((i for i, v in enumerate(vals) if v > cut), key=lambda i: -vals[i])[:spare]
    return [v for i, v in enumerate(vals) if i not in far]


def _references(
    session: SessionPoint, window: Sequence[SessionPoint], c: RuleConfig
) -> dict[str, float]:
    """Largest value of each spike metric in `window` (force metrics: in `session`'s unit)."""
    out = {}
    for m in c.spike_metrics:
        vals = [
            v for p in window
            if (v := p.value(m)) is not None and v > 0
            and (m not in FORCE_METRICS or same_force_unit(p, session))
        ]
        if vals:
            out[m] = max(vals)
    return out


def _jumps(session: SessionPoint, previous: Sequence[SessionPoint], c: RuleConfig) -> set[str]:
    """The spike metrics `evaluate_session` flags `session` for, and nothing else of it.

    The same window, arming and break as `evaluate_session` (a test holds the two equal on
    random histories); `next_run_limits` asks this of every session of a window.
    """
    earlier = sorted((p for p in previous if p.start < session.start), key=lambda p: p.start)
    if not earlier:
        return set()
    today = session.local_date
    ago = [(today - p.local_date).days for p in earlier]
    if ago[-1] >= c.break_days or not (
        ago[0] >= c.arm_min_days and len(earlier) >= c.arm_min_sessions
    ):
        return set()
    window = [p for p, d in zip(earlier, ago, strict=True) if d < c.window_days]
    return {
        m for m, ref in _references(session, window, c).items()
        if (v := session.value(m)) is not None and ratio_level(v / ref, c) != "none"
    }


def _withheld(session: SessionPoint, least: int) -> dict[str, dict[str, int]]:
    """The session's figures of rules 4 and 5 on fewer than `least` steps of a side.

    Returns
    -------
    dict
        ``{flag metric: {side: steps}}`` (`Assessment.withheld`).
    """
    figures = {"heel_peak_n": ("heel_peak_n", session.heel_peak_median_n)}
    for m in ASYMMETRY_METRICS:
        figures[f"asymmetry_{m}"] = (m, session.symmetry_pct.get(m))
    return {
        name: dict(session.steps_with_value[m])
        for name, (m, v) in figures.items()
        if v is not None and not session.enough_steps(m, least)
    }


def _few_steps_notice(out: Assessment, least: int) -> None:
    """Add the ``few_steps`` notice when figures of the session were left out."""
    if out.withheld:
        out.notices.append(
            Notice("few_steps", few_steps_sentence(out.withheld, least), steps=out.withheld)
        )


class NextRunLimits(dict[str, float]):
    """``{metric: largest next run}`` (`next_run_limits`), with the run each limit rests on.

    A plain dict of the limits (equal to one with the same items), plus:

    Attributes
    ----------
    based_on : dict
        ``{metric: SessionPoint}``: the run whose value × ``caution_ratio`` is the limit (the
        longest run of the next day's window that was not a jump).
    jumps_left_out : set of str
        The metrics for which a larger run of that window was left out as a jump, so that the
        limit rests on a smaller run than the longest one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.based_on: dict[str, SessionPoint] = {}
        self.jumps_left_out: set[str] = set()


def next_run_limits(
    session: SessionPoint,
    previous: Sequence[SessionPoint],
    config: RuleConfig | None = None,
    *,
    flagged: Collection[str] = (),
) -> NextRunLimits:
    """The largest next run (the day after `session`) that stays within ``caution_ratio``.

    For each spike metric: ``caution_ratio`` × the largest session of the 30-day window as it
    will stand the next day (`session` included, sessions older than the window left out) —
    of the sessions that were *not* flagged for that metric, so the guidance never builds on
    a jump:

    - a session of the window that the spike rule flagged for the metric when it was assessed
      against its own earlier sessions (`evaluate_session`) stays out for as long as it is in
      the window;
    - `session` itself stays out for the metrics in `flagged` (its own spike flags, which the
      caller has from its assessment).

    The warning rule itself is unchanged: it compares a session with the largest session of
    its previous 30 days, jumps included (Frandsen et al. 2025). A metric for which every
    session of the window was flagged has no limit (no run to build on); the dict is empty
    when the spike rule would not be armed the next day (too little history).

    Parameters
    ----------
    session : SessionPoint
        The session just run.
    previous : sequence of SessionPoint
        The sessions before it (later ones are ignored): at least those `history_needed`
        names, so that each session of the window is assessed as with every earlier session.
    config : RuleConfig, optional
        Rule parameters.
    flagged : collection of str
        Spike metrics `session` was flagged for.

    Returns
    -------
    NextRunLimits
        ``{metric: largest value}`` for the spike metrics with a reference; its `based_on`
        names the run each limit is 1.1× of (the words name it when it is not the run the
        warnings compared this session with: `insole.session.plain.next_run_sentence`).
    """
    c = config or RuleConfig()
    earlier = sorted((p for p in previous if p.start < session.start), key=lambda p: p.start)
    if not earlier:
        return NextRunLimits()
    tomorrow = session.local_date + timedelta(days=1)
    first = earlier[0].local_date
    if (tomorrow - first).days < c.arm_min_days or len(earlier) + 1 < c.arm_min_sessions:
        return NextRunLimits()
    starts = [p.start for p in earlier]
    pairs = [
        (p, _jumps(p, _read_by_rules(earlier, starts, p, c), c))
        for p in earlier if (tomorrow - p.local_date).days < c.window_days
    ]
    pairs.append((session, set(flagged)))
    out = NextRunLimits()
    for m in c.spike_metrics:
        runs = [
            (p, v, m in jumped) for p, jumped in pairs
            if (v := p.value(m)) is not None and v > 0
            # the next run in this session's unit
            and (m not in FORCE_METRICS or same_force_unit(p, session))
        ]
        base: SessionPoint | None = None
        top = 0.0
        for p, v, jumped in runs:
            if not jumped and v >= top:  # the latest of equal runs
                base, top = p, v
        if base is not None:
            out[m] = c.caution_ratio * top
            out.based_on[m] = base
            if any(jumped and v > top for _, v, jumped in runs):
                out.jumps_left_out.add(m)
    return out


def history_needed(config: RuleConfig | None = None) -> tuple[timedelta, int]:
    """Which earlier sessions the rules and the next-run guidance read: recent ones, the oldest.

    `evaluate_session` and `next_run_limits` give the same result for a session ``S`` whether
    they get every earlier session or only these:

    - every session that started less than `lookback` before ``L``, the last session that
      started before ``S`` (``L`` itself included);
    - the `first` oldest sessions of the history.

    Why: each rule reads sessions at most ``window_days`` (30-day window, baselines, the 30 days
    before ``L`` after a break), 14 (weekly progression) or ``arm_min_days`` (while the history
    is shorter than that, every earlier session is that recent) local days before ``S`` or ``L``;
    a local date is less than one day from the UTC date, so ``d`` local days are less than
    ``d + 2`` days of time — `lookback` adds 3. Beyond that, arming reads only the first session
    (its date) and whether there are at least ``arm_min_sessions`` earlier sessions, which the
    `first` oldest settle; the "learning your normal" notice that prints the count appears
    only when the count is below `first` or the history is shorter than ``arm_min_days`` — and
    then every earlier session is in the window. `next_run_limits` assesses each session of
    the next day's window (up to ``window_days`` − 2 local days before ``S``) with the rules, so
    it reads ``window_days`` days further back: the lookback is that much longer than what
    `evaluate_session` alone needs (`evaluate_history` passes each session only that). A
    superset of these sessions is fine too.

    Parameters
    ----------
    config : RuleConfig, optional
        Rule parameters.

    Returns
    -------
    lookback : timedelta
        How far before ``L`` the rules look.
    first : int
        How many of the oldest sessions they need.
    """
    c = config or RuleConfig()
    return _rules_lookback(c) + timedelta(days=c.window_days), max(1, c.arm_min_sessions)


def _rules_lookback(c: RuleConfig) -> timedelta:
    """How far before ``L`` `evaluate_session` reads (`history_needed`, without the guidance)."""
    return timedelta(days=max(c.window_days, c.arm_min_days, 14) + 3)


def evaluate_history(
    sessions: Sequence[SessionPoint],
    config: RuleConfig | None = None,
    *,
    ids: Collection[int | None] | None = None,
) -> list[Assessment]:
    """Assess every session against the ones before it, oldest first.

    Each session is given only the earlier sessions the rules read (`history_needed`, less
    the extra days of the next-run guidance), so the work per session is bounded by the
    sessions of its window, not by the length of the history; the results are the same as
    ``evaluate_session(s, all earlier sessions)``.

    Parameters
    ----------
    sessions : sequence of SessionPoint
        The history, any order. To assess only some sessions (`ids`) it may be a part of the
        history, if it holds what `history_needed` names for each of them.
    config : RuleConfig, optional
        Rule parameters.
    ids : collection of int, optional
        Assess only the sessions with these ids (default: all).

    Returns
    -------
    list of Assessment
        One per (selected) session, sorted by start time.
    """
    c = config or RuleConfig()
    ordered = sorted(sessions, key=lambda p: p.start)
    starts = [p.start for p in ordered]
    return [
        evaluate_session(s, _read_by_rules(ordered, starts, s, c), c)
        for s in ordered if ids is None or s.id in ids
    ]


def _read_by_rules(
    ordered: Sequence[SessionPoint], starts: Sequence[datetime], s: SessionPoint, c: RuleConfig
) -> list[SessionPoint]:
    """The sessions of `ordered` (by start; `starts` their starts) the rules read about `s`."""
    end = bisect_left(starts, s.start)  # sessions that started strictly before s
    if end == 0:
        return []
    lo = bisect_left(starts, starts[end - 1] - _rules_lookback(c))
    return [*ordered[: min(max(1, c.arm_min_sessions), lo)], *ordered[lo:end]]
