"""Plain words for runners: one voice for the terminal summary, ``insole history`` and the report.

Everything a runner reads about a session is worded here, so the terminal, the history listing
and the HTML report say the same flags with the same meaning:

- a one-line verdict per session (`verdict`, `short_verdict`): "Higher than your recent normal:
  1.50× your longest run of the last 30 days";
- one sentence per warning with its ratio and a "next run" number (`flag_sentence`), and the
  next run for the whole session (`next_run_sentence`);
- loads as multiples of body weight (BW, BW·s, BW/s) once a body mass is known (`Profile`);
- left/right balance as a percentage (`balance`);
- plain names for metrics and regions (`METRIC_NAMES`, `REGION_NAMES`, `SYMMETRY_NAMES`).

Code names, clocks and CRC counters are not worded here: they appear only with ``--verbose``
or ``--json``. Rules are described as associations found in studies of runners, never as a
diagnosis (shared design notes §2, "Warnings"). This module imports nothing heavy: it is used
by the live and replay terminal output too.

Notes
-----
Sources of every threshold named here (docs/history.md has the details):

- Bands 1.10 / 1.30 / 2.00 of a run over the longest run of the previous 30 days, hazard
  ratios 1.64 / 1.52 / 2.28: Frandsen et al. 2025, Br J Sports Med (5,205 runners, 588,071
  sessions). The study measured distance; steps and duration stand in for it; session heel
  load and heel peak are experimental extensions.
- Own baseline + 2 SD for heel peak and left/right differences: healthy runners differ by
  about 0.6 % in contact time and 3.2 % in peak force (Girard et al. 2019), so the runner's own
  range is used — but a left/right difference up to those typical values is never called
  above the usual range (`insole.session.rules.RuleConfig.asym_healthy_pct`): a steady
  runner's own range can be narrower than the measurement's noise.
- The loading-rate index is an insole index (insoles underestimate force, 7-28 % hysteresis):
  compared only with the runner's own runs, never with force-plate figures such as
  66 BW/s (Davis 2016).
- A left/right comparison needs `MIN_SYMMETRY_STEPS` (20) steps with a value on each side:
  stride-to-stride gait measures settle after about 20 strides (at most 20 strides for
  stride-time and stride-length variability, Kroneberg et al. 2019, Front Aging Neurosci
  10:435; about 23 strides for the left-right phase coordination index, Kribus-Shmiel et al.
  2018, PLoS ONE 13:e0192049), and gait protocols ask for no fewer than 30 steps in all
  (Galna et al. 2013, Gait Posture 37:580). 20 steps a side is 40 in all; a median settles no
  later than a variability measure does.
- The same minimum holds for a session's per-step figures — its median heel peak and its
  loading-rate index (`few_steps_text`) — and the warning rules apply it to every figure they
  compare with the runner's own normal (`insole.session.rules.RuleConfig.min_side_steps`):
  such a median is a stride-to-stride measure like those above, and asking for 20 steps of
  *each* foot also keeps a session whose figure is in fact one foot's (an insole that dropped
  out: 3 left steps, 40 right) from being compared with a normal of both feet. A figure on
  fewer steps is shown with its step counts and the words "too few to compare", is left out
  of the comparison with the runner's normal and is not counted in that normal either.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from insole.session.rules import Assessment, Flag

__all__ = [
    "EVIDENCE",
    "GRAVITY_MPS2",
    "METRIC_NAMES",
    "MIN_SYMMETRY_STEPS",
    "NO_IMPACT_PEAK",
    "REGION_NAMES",
    "SYMMETRY_NAMES",
    "Profile",
    "balance",
    "balance_text",
    "codes",
    "compare_sides",
    "fmt_count",
    "fmt_duration",
    "fmt_start",
    "fmt_utc_offset",
    "fmt_value",
    "few_steps_sentence",
    "few_steps_text",
    "flag_sentence",
    "flag_short",
    "next_run_sentence",
    "short_verdict",
    "side_steps",
    "symmetry_steps",
    "too_few_steps_text",
    "unit_label",
    "verdict",
    "warning_lines",
]

#: Standard gravity [m/s²]: body weight [N] = mass [kg] × this.
GRAVITY_MPS2 = 9.80665
#: Fewest steps with a value on each side for a left/right comparison of a metric, and for a
#: session's per-step figure (median heel peak, loading-rate index) to be compared with the
#: runner's own normal (module Notes: about 20 strides make stride-to-stride measures stable;
#: Kroneberg et al. 2019, Kribus-Shmiel et al. 2018, Galna et al. 2013). The one definition:
#: `insole.session.rules.RuleConfig.min_side_steps` defaults to it.
MIN_SYMMETRY_STEPS = 20

#: Why a run has no loading-rate index: it is measured up to each step's impact peak, and no
#: step had one — forefoot strikes have no impact peak (Cavanagh & Lafortune 1980, J Biomech
#: 13:397; Lieberman et al. 2010, Nature 463:531; the simulator's forefoot runs too).
NO_IMPACT_PEAK = "no impact peak on any step (forefoot strikes have none), so no loading rate"

#: Plain names of the rule metrics (keys: `insole.session.rules.Flag.metric`).
METRIC_NAMES = {
    "step_count": "steps",
    "duration_s": "duration",
    "heel_impulse_ns": "heel load",
    "heel_peak_n": "heel peak",
    "asymmetry_heel_peak_n": "left/right heel-peak difference",
    "asymmetry_contact_time_s": "left/right contact-time difference",
}
#: What each spike metric stands for, said once per warning.
_METRIC_NOTE = {
    "step_count": "a stand-in for distance",
    "duration_s": "a stand-in for distance",
    "heel_impulse_ns": "experimental: no study links heel load to injury yet",
}
#: Plain names of the symmetry metrics (keys of the summary's ``symmetry_pct``).
SYMMETRY_NAMES = {
    "contact_time_s": "contact time",
    "peak_force_n": "peak force",
    "heel_peak_n": "heel peak",
    "loading_rate_index": "loading-rate index",
    "heel_impulse_ns": "heel load",
    "strike_index_pct": "strike position",
}
#: Plain names of the insole regions (medial = inner side, lateral = outer side).
REGION_NAMES = {
    "heel_medial": "heel, inner side (medial)",
    "heel_lateral": "heel, outer side (lateral)",
    "midfoot": "midfoot",
    "forefoot_medial": "forefoot, inner side (medial)",
    "forefoot_central": "forefoot, middle",
    "forefoot_lateral": "forefoot, outer side (lateral)",
    "toes": "toes",
    "whole_foot": "whole foot",
}
_BANDS = {
    "caution": ("caution", "1.1-1.3×", "1.64"),
    "warning": ("warning", "1.3-2×", "1.52"),
    "high": ("high", "over 2×", "2.28"),
}

#: Why the warnings exist, said once under them.
EVIDENCE = (
    "Why: in a study of 5,205 runners, a single run more than 10 % longer than the longest run "
    "of the previous 30 days was associated with more running injuries (Frandsen et al. 2025). "
    "Steps and duration stand in for the distance the study measured; heel load and heel peak "
    "are experimental. An association in a group of runners, not a diagnosis."
)


@dataclass(frozen=True)
class Profile:
    """The runner's profile: body mass (and foot length), stored with the history.

    Parameters
    ----------
    mass_kg : float
        Body mass [kg]; loads are then shown as multiples of body weight.
    foot_length_mm : float, optional
        Foot length [mm] (stored and shown; not used in any computation yet).
    """

    mass_kg: float
    foot_length_mm: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mass_kg) and 20.0 <= self.mass_kg <= 300.0):
            raise ValueError(f"--mass-kg must be between 20 and 300 kg, not {self.mass_kg:g}")
        fl = self.foot_length_mm
        if fl is not None and not (math.isfinite(fl) and 150.0 <= fl <= 400.0):
            raise ValueError(f"--foot-length-mm must be between 150 and 400 mm, not {fl:g}")

    @property
    def body_weight_n(self) -> float:
        """Body weight [N]."""
        return self.mass_kg * GRAVITY_MPS2

    def describe(self) -> str:
        """``70 kg body mass (686 N body weight), foot 270 mm``."""
        foot = f", foot {self.foot_length_mm:.0f} mm" if self.foot_length_mm else ""
        return (
            f"{self.mass_kg:g} kg body mass ({self.body_weight_n:.0f} N body weight){foot}"
        )


# --- numbers -----------------------------------------------------------------------------------


def fmt_count(n: float) -> str:
    """``5,400``: a whole number with thousands separators."""
    return f"{round(n):,}"


def fmt_duration(s: float, *, floor: bool = False) -> str:
    """A duration a runner reads: ``45 s``, ``4 min 36 s``, ``32 min 05 s``, ``1 h 05 min``.

    Parameters
    ----------
    s : float
        Seconds.
    floor : bool
        For an "up to" limit: round down, to the second below 10 minutes and to the minute
        from there (``32 min``), so that the limit shown is never above the limit.

    Notes
    -----
    A run's own duration is given to the second (``11 min 40 s``, ``1 h 05 min 12 s``; whole
    minutes from an hour on as ``1 h 05 min``): rounded to the minute, a run of 11 min 40 s
    would read "12 min" beside a limit "up to 12 min", and one of 12 min 20 s would look equal
    to a limit it went past.
    """
    total = int(math.floor(s) if floor else round(s))
    if total < 60:
        return f"{total} s"
    minutes, sec = divmod(total, 60)
    if floor and total >= 600:
        sec = 0  # a limit from 10 minutes on: whole minutes, rounded down
    if minutes < 60:
        return f"{minutes} min" if floor and total >= 600 else f"{minutes} min {sec:02d} s"
    text = f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{text} {sec:02d} s" if sec else text


def _floor_steps(n: float) -> int:
    """Round a step limit down: to 100 from 1,000 steps, to 10 from 100."""
    unit = 100 if n >= 1000 else 10 if n >= 100 else 1
    return int(math.floor(n / unit) * unit)


def _bw(profile: Profile | None, unit: str) -> float | None:
    """Body weight [N] when loads can be shown as multiples of it (a profile and newtons)."""
    return profile.body_weight_n if profile is not None and unit == "N" else None


def fmt_value(
    metric: str,
    v: float | None,
    profile: Profile | None = None,
    *,
    unit: str = "N",
    limit: bool = False,
) -> str:
    """A metric's value in plain units.

    Parameters
    ----------
    metric : str
        ``duration_s``, ``step_count``, ``heel_impulse_ns``, ``heel_peak_n``,
        ``loading_rate_index``, ``asymmetry_*`` or ``peak_force_n``.
    v : float or None
        The value in the summary's units (N, N·s, N/s, s, %).
    profile : Profile, optional
        With it, forces are shown in body weights (BW, BW·s, BW/s).
    unit : str
        The summary's force unit (body weights only when it is ``N``).
    limit : bool
        Round down (an "up to" limit must stay within it).

    Returns
    -------
    str
        E.g. ``32 min 05 s`` (a limit: ``32 min``), ``5,400 steps``, ``1.52 BW``,
        ``29.7 BW·s``, ``107 BW/s``, ``5.4 %``.
    """
    if v is None or not math.isfinite(float(v)):
        return "–"
    v = float(v)
    down = math.floor if limit else round
    if metric == "duration_s":
        return fmt_duration(v, floor=limit)
    if metric == "step_count":
        return f"{fmt_count(_floor_steps(v) if limit else v)} steps"
    if metric.startswith("asymmetry_"):
        return f"{down(v * 10) / 10:.1f} %"
    bw = _bw(profile, unit)
    if metric == "heel_impulse_ns":
        if bw:
            return f"{down(v / bw * 10) / 10:.1f} BW·s"
        return f"{fmt_count(down(v))} {unit}·s"
    if metric == "loading_rate_index":
        return f"{fmt_count(down(v / bw))} BW/s" if bw else f"{fmt_count(down(v))} {unit}/s"
    if bw:
        return f"{down(v / bw * 100) / 100:.2f} BW"
    return f"{fmt_count(down(v))} {unit}"


def fmt_start(start: Any, *, year: bool = True) -> str:
    """``Tue 1 Dec 2026, 07:30``: a session's start in its own local time."""
    if not start:
        return "unknown start"
    t = start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
    day = f"{t:%a} {t.day} {t:%b}" + (f" {t.year}" if year else "")
    return f"{day}, {t:%H:%M}"


def fmt_utc_offset(start: Any) -> str:
    """``UTC+01:00``: the UTC offset of a start time (empty without one)."""
    if not start:
        return ""
    t = start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
    off = t.utcoffset()
    if off is None:
        return ""
    minutes = round(off.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def balance(si_pct: float) -> tuple[float, float]:
    """Left and right shares [%] of a left/right pair from its symmetry index.

    ``SI = 100 · (R − L) / ((R + L) / 2)`` gives ``R / (R + L) = 1/2 + SI / 400``.

    Returns
    -------
    left_pct, right_pct : float
        They add up to 100.
    """
    right = 50.0 + si_pct / 4.0
    return 100.0 - right, right


def compare_sides(si_pct: float) -> str:
    """The two sides compared directly, from their symmetry index.

    The symmetry index ``SI = 100 · (R − L) / ((R + L) / 2)`` is a difference relative to the
    *mean* of the two sides, so it is not "how much higher" one side is: an SI of 147 % means
    the right side is 6.6 times the left. The higher side over the lower is
    ``(200 + |SI|) / (200 − |SI|)``.

    Returns
    -------
    str
        ``right 5.6 % higher`` (the higher side over the lower, less one), ``right 6.6× left``
        once one side is at least twice the other, ``even`` below 0.05 %, or ``only right
        above zero`` when the other side's value is zero or below (``|SI| >= 200``).
    """
    side, other = ("right", "left") if si_pct > 0 else ("left", "right")
    a = abs(float(si_pct))
    if a >= 200.0:
        return f"only {side} above zero"
    ratio = (200.0 + a) / (200.0 - a)
    if ratio >= 2.0:
        return f"{side} {ratio:.1f}× {other}"
    pct = 100.0 * (ratio - 1.0)
    return "even" if pct < 0.05 else f"{side} {pct:.1f} % higher"


def balance_text(si_pct: float) -> str:
    """``left 48.6 % · right 51.4 % (right 5.6 % higher)``; ``… (right 6.6× left)``.

    The shares come from the symmetry index (`balance`); the words in brackets compare the
    sides directly (`compare_sides`), not the symmetry index itself.
    """
    left, right = balance(si_pct)
    return f"left {left:.1f} % · right {right:.1f} % ({compare_sides(si_pct)})"


def side_steps(summary: Mapping[str, Any], metric: str) -> dict[str, int]:
    """Steps with a value of a per-step metric, per side the session has.

    Parameters
    ----------
    summary : mapping
        The session summary (``per_side[side]["steps_with_value"]``; a summary saved before
        that key existed gives each side's step count, an upper bound).
    metric : str
        A per-side median of the summary: ``heel_peak_n``, ``loading_rate_index``,
        ``contact_time_s``, ``peak_force_n`` or ``strike_index_pct``.

    Returns
    -------
    dict
        ``{side: count}``, left first; empty when the summary has no per-side figures (or a
        side has no count at all).
    """
    per = summary.get("per_side") or {}
    counts = {}
    for side in sorted(per, key=lambda s: s != "left"):
        p = per.get(side) or {}
        n = (p.get("steps_with_value") or {}).get(metric, p.get("steps"))
        if n is None:
            return {}
        counts[side] = int(n)
    return counts


def symmetry_steps(summary: Mapping[str, Any], metric: str) -> tuple[int, int] | None:
    """Steps behind the left and right medians of a symmetry metric.

    Parameters
    ----------
    summary : mapping
        The session summary (see `side_steps`).
    metric : str
        A key of the summary's ``symmetry_pct``.

    Returns
    -------
    (int, int) or None
        Left and right counts; None without both sides.
    """
    n = side_steps(summary, metric)
    if "left" not in n or "right" not in n:
        return None
    return n["left"], n["right"]


def _steps_on(counts: Mapping[str, int], *, plate: bool = False) -> str:
    """``11 left and 11 right steps``, ``11 left steps``, ``11 contacts`` (a force plate).

    A force plate under both feet is `plate`, or its one side is called ``both``.
    """
    if plate or list(counts) == ["both"]:
        n = sum(counts.values())
        return f"{n:,} contact{'s' * (n != 1)}"
    parts = [f"{n:,} {side}" for side, n in counts.items()]
    last = list(counts.values())[-1] if counts else 0
    return f"{' and '.join(parts)} step{'s' * (last != 1)}"


def few_steps_text(summary: Mapping[str, Any], metric: str) -> str | None:
    """Why a session's per-step figure is not compared with other runs, or None.

    A session's median heel peak or loading-rate index on fewer than `MIN_SYMMETRY_STEPS`
    steps with a value on a side is shown with this mark: the rules leave it out of the
    comparison with the runner's normal (`insole.session.rules.RuleConfig.min_side_steps`).

    Parameters
    ----------
    summary : mapping
        The session summary.
    metric : str
        ``heel_peak_n`` or ``loading_rate_index`` (see `side_steps`).

    Returns
    -------
    str or None
        E.g. "from 11 left and 11 right steps only: too few to compare with your other runs
        (at least 20 on each side needed)"; None when every side has enough steps, or the
        summary has no counts. A loading-rate index on no step at all is no small sample but
        a run without impact peaks: `NO_IMPACT_PEAK` (a forefoot run).
    """
    counts = side_steps(summary, metric)
    if not counts or min(counts.values()) >= MIN_SYMMETRY_STEPS:
        return None
    if metric == "loading_rate_index" and not any(counts.values()):
        return NO_IMPACT_PEAK
    plate = bool(summary.get("plate_under_both_feet"))
    need = "on each side " if len(counts) > 1 and not plate else ""
    return (
        f"from {_steps_on(counts, plate=plate)} only: too few to compare with your other runs "
        f"(at least {MIN_SYMMETRY_STEPS} {need}needed)"
    )


def too_few_steps_text(summary: Mapping[str, Any], metric: str) -> str | None:
    """Why a left/right comparison is left out, or None when it rests on enough steps.

    Returns
    -------
    str or None
        E.g. "not compared: a value on 1 left and 7 right steps only (at least 20 on each
        side needed)", when either side has fewer than `MIN_SYMMETRY_STEPS`.
    """
    n = symmetry_steps(summary, metric)
    if n is None or min(n) >= MIN_SYMMETRY_STEPS:
        return None
    return (
        f"not compared: a value on {n[0]:,} left and {n[1]:,} right steps only (at least "
        f"{MIN_SYMMETRY_STEPS} on each side needed)"
    )


def few_steps_sentence(
    withheld: Mapping[str, Mapping[str, int]], minimum: int = MIN_SYMMETRY_STEPS
) -> str:
    """The figures the rules left out for too few steps, as one notice.

    Parameters
    ----------
    withheld : mapping
        ``{metric: {side: steps}}`` (`insole.session.rules.Assessment.withheld`; metrics as in
        `METRIC_NAMES`: ``heel_peak_n``, ``asymmetry_heel_peak_n``, ...).
    minimum : int
        Steps needed on each side (`insole.session.rules.RuleConfig.min_side_steps`).

    Returns
    -------
    str
        E.g. "Too few steps to compare with your usual range: heel peak and left/right
        heel-peak difference from 11 left and 11 right steps (at least 20 on each side
        needed). They are left out of the comparison, and this run does not count towards
        your usual range for them."
    """
    groups: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for metric, counts in withheld.items():
        name = METRIC_NAMES.get(metric, metric.replace("_", " "))
        groups.setdefault(tuple(counts.items()), []).append(name)
    parts = [f"{_and(names)} from {_steps_on(dict(key))}" for key, names in groups.items()]
    each = "on each side " if any(len(k) > 1 for k in groups) else ""
    return (
        f"Too few steps to compare with your usual range: {', '.join(parts)} (at least "
        f"{minimum} {each}needed). They are left out of the comparison, and this run does not "
        "count towards your usual range for them."
    )


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _few_steps_short(withheld: Iterable[str]) -> str:
    """``too few steps: heel peak, left/right not compared`` for a listing row."""
    names = []
    for metric in withheld:
        name = "left/right" if metric.startswith("asymmetry_") else METRIC_NAMES.get(
            metric, metric.replace("_", " "))
        if name not in names:
            names.append(name)
    return f"too few steps: {', '.join(names)} not compared"


def unit_label(unit: str) -> str:
    """An axis label for a force unit: ``N``, or ``counts (relative)`` for uncalibrated data."""
    return unit if unit == "N" else f"{unit} (relative)"


# --- warnings ----------------------------------------------------------------------------------


def _limit_text(metric: str, limit: float | None, profile: Profile | None, unit: str) -> str:
    if limit is None:
        return ""
    return fmt_value(metric, limit, profile, unit=unit, limit=True)


def _baseline_limit(a: Assessment | None, metric: str, sd_mult: float = 2.0) -> float | None:
    """The top of the usual range the rule flagged above (`Assessment.usual_max`)."""
    if a is None or metric not in a.baselines:
        return None
    if metric in a.usual_max:
        return a.usual_max[metric]
    mean, sd = a.baselines[metric]
    return mean + sd_mult * sd


def _healthy_floor(a: Assessment | None, metric: str, sd_mult: float = 2.0) -> float | None:
    """The typical difference of healthy runners, when it sets the top of the usual range.

    A left/right difference is flagged only above the larger of the runner's 30-day mean +
    2 SD and the typical difference of healthy runners (Girard et al. 2019;
    `insole.session.rules.RuleConfig.asym_healthy_pct`); None when the runner's own range is
    the larger.
    """
    if a is None or metric not in a.baselines or metric not in a.usual_max:
        return None
    mean, sd = a.baselines[metric]
    top = a.usual_max[metric]
    return top if top > mean + sd_mult * sd + 1e-9 else None


def _run_day(p: Any) -> str:
    """``Sun 29 Nov``: the local day of a session (a `insole.session.rules.SessionPoint`)."""
    t = p.start
    return f"{t:%a} {t.day} {t:%b}"


def _limit_basis(
    limits: Mapping[str, float],
    metrics: Iterable[str],
    reference: Mapping[str, float],
    session: Any = None,
    *,
    profile: Profile | None = None,
    unit: str = "N",
) -> tuple[str, str]:
    """The run a next-run limit is 1.1× of, when it is not the run the warnings named.

    The warnings and the verdict compare the session with the longest run of its previous 30
    days (`reference`), jumps included (Frandsen et al. 2025); the next-run limit is 1.1× the
    longest run of the next day's 30 days that was *not* a jump
    (`insole.session.rules.next_run_limits`, whose `based_on` names it). When the two differ
    the limit names its run, so that "your longest run of the last 30 days" does not mean two
    runs in one block.

    Returns
    -------
    words, runs : str
        Both ``""`` when every limit rests on the run the warnings named; else the words
        after "your longest run of the last 30 days" (`` that was not a jump``, `` that is
        still within 30 days tomorrow`` or ``""`` for this run) and the runs, for brackets:
        ``7 min 00 s / 1,190 steps on Sun 29 Nov``, ``this run: 7 min 00 s``.
    """
    based = getattr(limits, "based_on", None) or {}
    jumped = getattr(limits, "jumps_left_out", None) or set()
    shown = [m for m in metrics if m in limits and m in based]
    differs = [
        m for m in shown
        if (v := based[m].value(m)) is not None and reference.get(m) is not None
        and not math.isclose(v, reference[m], rel_tol=1e-9)
    ]
    if not differs:
        return "", ""
    runs: dict[int, list[str]] = {}
    for m in shown:
        runs.setdefault(id(based[m]), []).append(m)
    parts = []
    for ms in runs.values():
        p = based[ms[0]]
        values = " / ".join(fmt_value(m, p.value(m), profile, unit=unit) for m in ms)
        parts.append(f"this run: {values}" if p is session else f"{values} on {_run_day(p)}")
    if any(m in jumped for m in differs):
        words = " that was not a jump"
    elif all(based[m] is session for m in differs):
        words = ""
    else:
        words = " that is still within 30 days tomorrow"
    return words, "; ".join(parts)


def flag_sentence(
    flag: Flag,
    *,
    assessment: Assessment | None = None,
    profile: Profile | None = None,
    unit: str = "N",
    next_limit: float | None = None,
    next_run: bool = True,
    kind_said: bool = False,
    limits: Mapping[str, float] | None = None,
) -> str:
    """One warning as sentences a runner reads: what, its ratio, why, and the next run.

    Parameters
    ----------
    flag : Flag
        The warning.
    assessment : Assessment, optional
        The session's assessment (its baselines give the usual range of the baseline rules).
    profile : Profile, optional
        Body mass, for loads in body weights.
    unit : str
        The summary's force unit.
    next_limit : float, optional
        For a spike warning: the largest next run within 1.1× (`insole.session.rules.
        next_run_limits`). Without it the sentence says when a limit will exist.
    next_run : bool
        Say the next run (false for a session that is not the latest: the next run is given
        after the latest session only).
    kind_said : bool
        The face labels a baseline flag "above your usual range" already (the report):
        the sentence does not say it again.
    limits : mapping, optional
        Every next-run limit (`insole.session.rules.next_run_limits`): `next_limit` when that
        is not given, and the run the limit rests on, named when it is not the run this
        warning compared the session with (a jump of the window left out).

    Returns
    -------
    str
        E.g. "Duration: 43 min 30 s, 1.50× your longest run of the last 30 days (29 min 00 s)
        — higher than your recent normal (warning band, 1.3-2×; ...). Next run: up to 31 min
        stays within 1.1×." A baseline flag names the usual range it was compared with (30-day
        mean + 2 SD), rounded down, as its next-run number.
    """
    name = METRIC_NAMES.get(flag.metric, flag.metric.replace("_", " "))
    if next_limit is None and limits is not None:
        next_limit = limits.get(flag.metric)
    value = fmt_value(flag.metric, flag.value, profile, unit=unit)
    ref = fmt_value(flag.metric, flag.reference, profile, unit=unit)
    if flag.rule == "spike":
        band, span, hazard = _BANDS[flag.level]
        what = "longest run" if flag.metric != "heel_impulse_ns" else "largest heel load"
        evidence = (
            f"in the study, runs {span} the longest recent run came with an injury rate "
            f"{hazard}× as high"
            if flag.metric != "heel_impulse_ns"
            else _METRIC_NOTE[flag.metric]
        )
        if flag.metric == "step_count":
            evidence = f"{_METRIC_NOTE['step_count']}; {evidence}"
        elif flag.metric == "duration_s":
            evidence = f"{_METRIC_NOTE['duration_s']}; {evidence}"
        limit = _limit_text(flag.metric, next_limit, profile, unit)
        words, runs = _limit_basis(
            limits or {}, [flag.metric], {flag.metric: flag.reference},
            assessment.session if assessment is not None else None,
            profile=profile, unit=unit,
        ) if limit and limits else ("", "")
        nxt = (
            "" if not next_run
            else f" Next run: up to {limit} stays within 1.1× your {what} of the last 30 days"
            f"{words} ({runs})." if limit and runs
            else f" Next run: up to {limit} stays within 1.1×." if limit
            else " Next run: keep it at or below your longest recent run."
        )
        ratio = flag.ratio if flag.ratio is not None else flag.value / flag.reference
        return (
            f"{name.capitalize()}: {value}, {ratio:.2f}× your {what} of the last 30 days "
            f"({ref}) — higher than your recent normal ({band} band, {span}; {evidence})."
            f"{nxt}"
        )
    usual = _baseline_limit(assessment, flag.metric)
    usual_text = fmt_value(flag.metric, usual, profile, unit=unit, limit=True) if usual else None
    sds = ""
    if assessment is not None and flag.metric in assessment.baselines:
        mean, sd = assessment.baselines[flag.metric]
        if sd > 0:
            sds = f", +{(flag.value - mean) / sd:.1f} SD"
    if flag.rule == "heel_intensity":
        ratio_text = f"{flag.ratio:.2f}× your 30-day mean {ref}" if flag.ratio else f"mean {ref}"
    else:  # a left/right difference: points above the mean (a ratio to ~0 % reads as alarm)
        ratio_text = f"{flag.value - flag.reference:+.1f} points over your 30-day mean {ref}"
    healthy = _healthy_floor(assessment, flag.metric)
    if healthy is not None and assessment is not None:
        mean, sd = assessment.baselines[flag.metric]
        own = fmt_value(flag.metric, mean + 2.0 * sd, profile, unit=unit, limit=True)
        why = f"the typical difference of healthy runners; your 30-day mean + 2 SD is {own}"
    else:
        why = "your 30-day mean + 2 SD"
    nxt = (
        f" Next run: {name} up to {usual_text} stays within your usual range."
        if usual_text and next_run
        else ""
    )
    above = ", " if kind_said else ", above your usual range — "
    if flag.rule == "heel_intensity":
        return (
            f"Heel peak: {value} (median){above}{ratio_text}{sds}; "
            f"usual range up to {usual_text or '–'} (your 30-day mean + 2 SD). Experimental: "
            f"no study links this to injury yet.{nxt}"
        )
    typical = _healthy_text(flag.metric)
    return (
        f"{name.capitalize()}: {value}{above}{ratio_text}{sds}; usual "
        f"range up to {usual_text or '–'} ({why}). Healthy runners differ a little left to "
        f"right{typical}: a difference up to that is never flagged, above it your own range "
        f"decides.{nxt}"
    )


def _healthy_text(metric: str) -> str:
    """`` (about 3.2 %, Girard et al. 2019)``: the typical difference of healthy runners."""
    from insole.session.rules import RuleConfig  # plain is imported by rules: not at the top

    healthy = dict(RuleConfig().asym_healthy_pct).get(metric.removeprefix("asymmetry_"))
    return "" if healthy is None else f" (about {healthy:g} %, Girard et al. 2019)"


def flag_short(flag: Flag) -> str:
    """A few words for a listing.

    E.g. ``duration 1.42× longest run (warning)``; ``heel peak 1.13× your mean`` (above the
    usual range).
    """
    name = METRIC_NAMES.get(flag.metric, flag.metric.replace("_", " "))
    ratio = flag.ratio if flag.ratio is not None else float("nan")
    if flag.rule == "spike":
        what = "largest" if flag.metric == "heel_impulse_ns" else "longest run"
        return f"{name} {ratio:.2f}× {what} ({flag.level})"
    if flag.rule == "heel_intensity":
        return f"{name} {ratio:.2f}× your mean"
    # A left/right difference: a ratio to a mean near zero (18× a mean of 0.8 %) alarms more
    # than the points it is above that mean.
    return f"{name} {flag.value - flag.reference:+.1f} points over your mean"


def _run_ratio(a: Assessment) -> tuple[float, str] | None:
    """The session's ratio to its longest recent run (duration, else steps) and the metric."""
    for m in ("duration_s", "step_count"):
        ref = a.reference.get(m)
        v = a.session.value(m)
        if ref and v is not None:
            return v / ref, m
    return None


def verdict(a: Assessment, *, profile: Profile | None = None, unit: str = "N") -> str:
    """The one-line verdict on a session.

    Returns
    -------
    str
        E.g. "Higher than your recent normal: 1.50× your longest run of the last 30 days
        (warning band)." or "Within your recent normal: 0.92× your longest run of the last
        30 days." or "Learning your normal: ...".
    """
    spikes = [f for f in a.flags if f.rule == "spike"]
    runs = [f for f in spikes if f.metric != "heel_impulse_ns"]
    others = [f for f in a.flags if f.rule != "spike"]
    if runs:
        top = max(runs, key=lambda f: f.ratio or 0.0)
        band, span, _ = _BANDS[top.level]
        return (
            f"Higher than your recent normal: {top.ratio:.2f}× your longest run of the last "
            f"30 days ({band} band, {span})."
        )
    if spikes:
        top = spikes[0]
        return (
            f"Higher than your recent normal: {top.ratio:.2f}× your largest heel load of the "
            "last 30 days (experimental)."
        )
    if others:
        names = " and ".join(METRIC_NAMES[f.metric] for f in others)
        return f"Above your usual range: {names} (your 30-day mean + 2 SD)."
    for n in a.notices:
        if n.kind == "break":
            return _break_text(a, n.message)
    if not a.armed:
        return _learning_text(a)
    rr = _run_ratio(a)
    if rr is None:
        return "Within your recent normal."
    return f"Within your recent normal: {rr[0]:.2f}× your longest run of the last 30 days."


def _break_text(a: Assessment, message: str) -> str:
    longest = a.previous_longest
    gap = message.split(" days")[0].split()[-1]
    if longest is None:  # pragma: no cover - the rule always sets it with the notice
        return message
    size = (f"{fmt_value('duration_s', longest.duration_s)} / "
            f"{fmt_value('step_count', longest.step_count)}")
    return (
        f"Back after a break of {gap} days: start below your previous longest run "
        f"({size}, {fmt_start(longest.start)}) "
        "and build up again; no ratio is computed after a break."
    )


def _learning_text(a: Assessment) -> str:
    for n in a.notices:
        if n.kind == "not_armed":
            return n.message.replace("session warnings", "warnings").replace(
                "earlier session", "earlier run"
            )
    return "Learning your normal."


def short_verdict(a: Assessment) -> str:
    """The verdict in a few words, for one row of ``insole history``."""
    parts = []
    if a.flags:
        spikes = [f for f in a.flags if f.rule == "spike"]
        if spikes:
            parts.append("higher than recent normal: " + ", ".join(map(flag_short, spikes)))
        others = [flag_short(f) for f in a.flags if f.rule != "spike"]
        if others:
            parts.append("above usual range: " + ", ".join(others))
    elif any(n.kind == "break" for n in a.notices):
        gap = next(n.message for n in a.notices if n.kind == "break").split(" days")[0]
        parts.append(f"back after {gap.split()[-1]} days: start below your previous longest run")
    elif not a.armed:
        first = any(n.kind == "not_armed" and "First session" in n.message for n in a.notices)
        parts.append("first run: starts your normal" if first else "learning your normal")
    else:
        rr = _run_ratio(a)
        parts.append(
            "within recent normal" + (f" ({rr[0]:.2f}× longest run)" if rr is not None else "")
        )
    if a.withheld:
        parts.append(_few_steps_short(a.withheld))
    for n in a.notices:
        if n.kind == "weekly_progression":
            pct = n.message.split("ran ")[1].split(" %")[0] if "ran " in n.message else "?"
            parts.append(f"week +{pct} % (information)")
    return "; ".join(parts)


def next_run_sentence(
    limits: Mapping[str, float],
    *,
    profile: Profile | None = None,
    unit: str = "N",
    armed: bool = False,
    assessment: Assessment | None = None,
) -> str:
    """The "next run" guidance: ``Next run: up to 32 min / 5,400 steps stays within 1.1× ...``.

    The last line of `warning_lines` (with ``next_run=True``).

    Parameters
    ----------
    limits : mapping
        `insole.session.rules.next_run_limits` (empty while the rule is not armed).
    profile : Profile, optional
        For the heel load in body weights.
    unit : str
        The summary's force unit.
    armed : bool
        The session's spike rule was armed (`insole.session.rules.Assessment.armed`): then
        no limit means that every run of the 30 days was a jump, none a normal to build on.
    assessment : Assessment, optional
        The session's assessment: when the limits rest on another run than the longest run
        its verdict and warnings name (a jump of the window left out), that run is named —
        ``... stays within 1.1× your longest run of the last 30 days that was not a jump
        (7 min 00 s / 1,190 steps on Sun 29 Nov)``.
    """
    parts = [
        fmt_value(m, limits[m], profile, unit=unit, limit=True)
        for m in ("duration_s", "step_count")
        if m in limits
    ]
    if not parts and armed:
        return (
            "Next run: no limit to build on — every run of the last 30 days, this one "
            "included, was higher than your normal before it; keep it at or below your longest "
            "recent run."
        )
    if not parts:
        return (
            "Next run: no limit yet — warnings and limits start once insole knows 30 days "
            "and 4 runs of your normal."
        )
    words, runs = ("", "") if assessment is None else _limit_basis(
        limits, ("duration_s", "step_count"), assessment.reference, assessment.session,
        profile=profile, unit=unit,
    )
    brackets = [runs] if runs else []
    if "heel_impulse_ns" in limits:
        heel_limit = fmt_value(
            "heel_impulse_ns", limits["heel_impulse_ns"], profile, unit=unit, limit=True
        )
        brackets.append(f"heel load up to {heel_limit}, experimental")
    more = f" ({'; '.join(brackets)})" if brackets else ""
    return (
        f"Next run: up to {' / '.join(parts)} stays within 1.1× your longest run of the "
        f"last 30 days{words}{more}."
    )


def warning_lines(
    a: Assessment,
    limits: Mapping[str, float],
    *,
    profile: Profile | None = None,
    unit: str = "N",
    next_run: bool = True,
) -> list[str]:
    """Verdict, one sentence per warning, the information notices and the next run.

    The block `insole analyze --save`, `insole history` (latest session) and the report
    show for a session. The notices it words: the weekly progression (information), the
    figures left out for too few steps (`few_steps_sentence`) and the runs left out of the
    heel figures' comparison for another force unit (`insole.session.rules.same_force_unit`).
    With ``next_run=False`` (a session that is not the latest) neither the warnings nor a
    last line say a next run.
    """
    lines = [verdict(a, profile=profile, unit=unit)]
    for f in a.flags:
        lines.append(
            flag_sentence(
                f, assessment=a, profile=profile, unit=unit, next_limit=limits.get(f.metric),
                next_run=next_run, limits=limits,
            )
        )
    for n in a.notices:
        if n.kind in ("few_steps", "other_unit", "weekly_progression"):
            lines.append(n.message)
    if next_run:
        lines.append(next_run_sentence(limits, profile=profile, unit=unit, armed=a.armed,
                                       assessment=a))
    return lines


def codes(flags: Iterable[Flag]) -> str:
    """The flags in code names, for ``--verbose``: ``duration_s warning 1.42×``."""
    return ", ".join(
        f"{f.metric} {f.level}" + (f" {f.ratio:.2f}×" if f.ratio is not None else "")
        for f in flags
    )
