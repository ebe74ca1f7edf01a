"""The session summary as text for a terminal (``insole analyze``, ``insole demo``, replay).

`print_summary` prints it in plain words (`insole.session.plain`): loads in multiples of body weight
once a profile exists, left/right balance in percent, region names with inner/outer sides.
Code names, clock offsets and drift (ppm) and CRC counters are printed only with
``verbose=True`` (``--verbose``); ``--json`` prints the summary dict itself.
"""

from __future__ import annotations

from typing import Any, TextIO

from insole.session.plain import (
    REGION_NAMES,
    SYMMETRY_NAMES,
    Profile,
    balance_text,
    few_steps_text,
    fmt_count,
    fmt_duration,
    fmt_start,
    fmt_value,
    too_few_steps_text,
)

__all__ = ["print_summary"]


def _v(x: Any, fmt: str = "{}", none: str = "–") -> str:
    return none if x is None else fmt.format(x)


def print_summary(
    s: dict[str, Any],
    *,
    out: TextIO,
    verbose: bool = False,
    profile: Profile | None = None,
    profile_hint: bool = False,
) -> None:
    """Print a session summary (the dict of `insole.core.summary.session_summary`).

    Parameters
    ----------
    s : dict
        The session summary.
    out : text stream
        Where to print.
    verbose : bool
        Also print the details in code names: every data-quality counter, clocks, damage.
    profile : Profile, optional
        The runner's profile: loads are then shown as multiples of body weight (BW).
    profile_hint : bool
        Without a profile, say how to set one (``insole analyze``; not in live or replay).
    """
    unit = s.get("force_unit", "N")
    steps = ", ".join(f"{k} {v:,}" for k, v in s["steps"].items())
    if s.get("plate_under_both_feet"):
        # A force plate under both feet is stored as the left device: its contacts are steps
        # of both feet, so the per-side count would mislabel them.
        steps = "one force plate under both feet, every contact a step"
    when = f" — {fmt_start(s['start'])}" if s.get("start") else ""
    print(f"session summary{when}, {fmt_duration(s['duration_s'])}", file=out)
    print(f"  steps            {s['step_count']:,}{f' ({steps})' if steps else ''}", file=out)
    cad = s.get("cadence_spm")
    print(f"  cadence          {_v(cad and round(cad), '{}')} steps per minute", file=out)
    ct, flight = s.get("contact_time_s"), s.get("flight_time_s")
    if flight is not None and flight < 0:
        between = f"both feet down {-1000 * flight:.0f} ms"
    else:
        between = f"in the air {_v(flight and 1000 * flight, '{:.0f}')} ms"
    print(
        f"  ground contact   {_v(ct and 1000 * ct, '{:.0f}')} ms per step (median); {between}",
        file=out,
    )
    shares = s.get("strike_pattern") or {}
    if any(v is not None for v in shares.values()):
        plain = {"rearfoot": "heel first", "midfoot": "midfoot first", "forefoot": "forefoot first"}
        txt = ", ".join(
            f"{plain.get(k, k)} {100 * v:.0f} %" for k, v in shares.items() if v is not None
        )
        print(f"  foot strike      {txt} of steps{_assumed(s)}", file=out)
    hp = s.get("heel_peak_n") or {}
    bw = profile is not None and unit == "N"
    plate = bool(s.get("plate_under_both_feet"))
    # A median of a few steps a side is shown with its step counts, as not comparable.
    few_heel = _few(s, "heel_peak_n")
    if plate and hp.get("median") is not None:
        # The plate's single sensor is the whole foot: its "heel" peak is the contact's peak.
        print(
            f"  peak force       {fmt_value('heel_peak_n', hp['median'], profile, unit=unit)} "
            f"per contact (median; the plate measures the whole foot){few_heel}",
            file=out,
        )
        hp = {}
    if hp.get("median") is not None:
        spread = ""
        if hp.get("p10") is not None and hp.get("p90") is not None:
            lo = fmt_value("heel_peak_n", hp["p10"], profile, unit=unit)
            hi = fmt_value("heel_peak_n", hp["p90"], profile, unit=unit)
            spread = f"; most steps {lo} to {hi}"
        print(
            f"  heel peak        {fmt_value('heel_peak_n', hp['median'], profile, unit=unit)} "
            f"per step (median{spread}){few_heel}",
            file=out,
        )
    if s.get("heel_impulse_ns") is not None and not plate:
        print(
            f"  heel load        "
            f"{fmt_value('heel_impulse_ns', s['heel_impulse_ns'], profile, unit=unit)} this "
            "session (all heel strikes added up)",
            file=out,
        )
    if s.get("loading_rate_index") is not None:
        print(
            f"  loading rate     "
            f"{fmt_value('loading_rate_index', s['loading_rate_index'], profile, unit=unit)} "
            f"(insole index: compare it with your own runs only){_few(s, 'loading_rate_index')}",
            file=out,
        )
    if profile_hint and not bw and unit == "N":
        print(
            "  body weight      not set: 'insole profile --mass-kg KG' shows loads as "
            "multiples of body weight",
            file=out,
        )
    for side, reg in (s.get("regional_share_pct") or {}).items():
        if reg and not plate:
            print(f"  {'load, ' + side:<16} {_regions(reg)}{_assumed(s, side)}", file=out)
    sym = {} if plate else s.get("symmetry_pct") or {}
    label = "left/right"
    for k, v in sym.items():
        if v is None:
            continue
        name = SYMMETRY_NAMES.get(k, k.replace("_", " "))
        # A comparison of a few steps a side says nothing: left out, with the reason.
        text = too_few_steps_text(s, k) or balance_text(v)
        print(f"  {label:<16} {name + ':':<20} {text}", file=out)
        label = ""
    tr = s.get("heel_load_trend")
    if tr and tr.get("change_pct") is not None and not plate:
        w = fmt_duration(tr["window_s"])
        change = tr["change_pct"]
        word = "rose" if change > 0 else "fell"
        print(
            f"  during the run   heel peak {word} {abs(change):.1f} % from the first {w} to "
            f"the last {w}",
            file=out,
        )
    received = f"{fmt_count(s['frames'])} frames received, " if s.get("frames") is not None else ""
    gaps = _missing_text(s)
    lost = s["frames_lost"]
    print(
        f"  data quality     {received}{fmt_count(lost)} frame{'s' * (lost != 1)} lost{gaps}"
        f"{_invalid_text(s)}",
        file=out,
    )
    _print_step_notes(s, out, verbose=False)
    if s.get("damage"):
        n = s.get("damaged_blocks") or 1
        more = f" and {n - 1} more place{'s' * (n != 2)}" if n > 1 else ""
        print(
            f"  damage           the file is damaged ({s['damage']['reason']}){more}; read past "
            "it (--verbose: where)",
            file=out,
        )
    if verbose:
        _print_details(s, out=out)


def _few(s: dict[str, Any], metric: str) -> str:
    """``" — from 11 left and 11 right steps only: too few to compare ..."``, or nothing."""
    text = few_steps_text(s, metric)
    return f" — {text}" if text else ""


def _assumed(s: dict[str, Any], side: str | None = None) -> str:
    """`` — a guess: ...`` where the sensor positions are a generic grid (of `side`, or any)."""
    assumed = s.get("layout_assumed") or []
    if side is not None and side not in assumed or not assumed:
        return ""
    return (" — a guess: the insole's sensor positions are not known (a generic grid stands "
            "in for them)")


def _missing_text(s: dict[str, Any]) -> str:
    """``", 3.6 s missing of each insole"`` (or per insole): recording time without samples.

    Per insole, not added up: two insoles unplugged together for 3.6 s miss 3.6 s of the run,
    not 7.2 s (``gap_s``, the sum, stays in the JSON for tools).
    """
    per = {k: v for k, v in (s.get("gap_s_per_side") or {}).items() if v}
    if not per:
        return f", {s['gap_s']:.1f} s missing" if s.get("gap_s") else ""
    values = {f"{v:.1f}" for v in per.values()}
    if len(per) > 1 and len(values) == 1:
        return f", {values.pop()} s missing of each insole"
    if len(per) == 1 and len(s.get("gap_s_per_side") or {}) == 1:
        return f", {next(iter(per.values())):.1f} s missing"
    return ", missing " + ", ".join(f"{k} {v:.1f} s" for k, v in per.items())


def _invalid_text(s: dict[str, Any]) -> str:
    """``", right 88.5 s without a value (...)"``: samples whose sensors sent no value, per side.

    A sensor's invalid count (an import's invalid samples, e.g. a footswitch that read nothing)
    leaves the sample's force unknown, like a lost one; said per side so that a count of steps
    on one foot far below the other's has its reason beside it.
    """
    invalid = {k: v for k, v in (s.get("invalid_s") or {}).items() if v}
    if not invalid:
        return ""
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in invalid.items())
    return f"; without a value (invalid sensor readings): {parts}"


def _print_step_notes(s: dict[str, Any], out: TextIO, *, verbose: bool) -> None:
    """The "steps" line: steps counted without a contact time, and contacts not counted."""
    tail = ("(heel strike counted, contact time left out)" if verbose
            else "(counted; contact time left out)")
    notes = []
    standing = s.get("steps_ending_standing") or 0
    if standing:
        notes.append(f"{standing} ended {'in standing' if verbose else 'standing still'} {tail}")
    in_gap = s.get("steps_contact_time_lost") or 0
    if in_gap:
        what = ("with a loss of 0.1 s or more over the heel strike or toe-off" if verbose
                else "with data missing at the heel strike or toe-off")
        notes.append(f"{in_gap} {what} {tail}")
    notes += _cut_notes(s)
    hidden = s.get("steps_hidden_in_losses") or 0
    if hidden:
        what = ("estimated from strides that span lost data" if verbose
                else "in lost data")
        notes.append(f"about {hidden} more {what} (not seen; not counted)")
    if notes:
        print(f"  steps            {'; '.join(notes)}", file=out)


def _cut_notes(s: dict[str, Any]) -> list[str]:
    """Notes on the contacts not counted as steps, or counted without a contact time.

    Contacts cut by the start or end of the recording (summary ``contacts_cut``), and weight
    shifts while standing (``weight_shifts``). Words of the plain summary and the details
    alike: no foot side, so a force plate's summary reads right too.
    """
    cut = s.get("contacts_cut") or {}
    notes = [
        f"{cut[where]} cut by the {where} of the recording (not counted)"
        for where in ("start", "end")
        if cut.get(where)
    ]
    if cut.get("end_counted"):
        notes.append(
            f"{cut['end_counted']} cut by the end of the recording (counted; no contact time)"
        )
    shifts = s.get("weight_shifts") or 0
    if shifts and s.get("plate_under_both_feet"):
        # One plate under both feet stays loaded between the contacts of a stand, and of a
        # walk: walking has double support, so its contacts never part on such a plate.
        plural = "s" * (shifts != 1)
        notes.append(
            f"{shifts} contact{plural} without a flight before {'them' if plural else 'it'} "
            "(the plate stayed loaded: standing, or walking, whose double support one plate "
            "under both feet cannot split into steps; not counted)"
        )
    elif shifts:
        plural = "s" * (shifts != 1)
        notes.append(
            f"{shifts} weight shift{plural} while standing (the foot stayed loaded; not counted)"
        )
    return notes


def _regions(reg: dict[str, float]) -> str:
    """``heel 23 % (inner 9, outer 14), midfoot 5 %, forefoot 67 % (inner 10, ...), toes 5 %``."""
    words = {"medial": "inner", "lateral": "outer", "central": "middle"}
    groups: dict[str, list[tuple[str, float]]] = {}
    for k, v in reg.items():
        base, _, part = k.partition("_")
        if part not in words:  # e.g. whole_foot: one region, not a part of "whole"
            base, part = k, ""
        groups.setdefault(base, []).append((part, v))
    out = []
    for base, parts in groups.items():
        total = sum(v for _, v in parts)
        if len(parts) == 1 and not parts[0][0]:
            out.append(f"{REGION_NAMES.get(base, base)} {total:.0f} %")
        else:
            inner = ", ".join(f"{words.get(p, p)} {v:.0f}" for p, v in parts)
            out.append(f"{base} {total:.0f} % ({inner})")
    return ", ".join(out)


def _print_details(s: dict[str, Any], *, out: TextIO) -> None:
    """The summary in code names with every counter (``--verbose``): for developers."""
    unit = s.get("force_unit", "N")
    steps = ", ".join(f"{k} {v:,}" for k, v in s["steps"].items())
    if s.get("plate_under_both_feet"):
        # A force plate under both feet is stored as the left device: its contacts are steps
        # of both feet, so the per-side count would mislabel them.
        steps = "one force plate under both feet, every contact a step"
    print("details (code names, for --verbose)", file=out)
    if s.get("start"):
        print(f"  start            {s['start']}", file=out)
    print(f"  duration         {s['duration_s']:.1f} s", file=out)
    print(f"  steps            {s['step_count']:,}{f' ({steps})' if steps else ''}", file=out)
    print(f"  cadence          {_v(s['cadence_spm'], '{:.1f}')} steps/min", file=out)
    flight = s["flight_time_s"]
    if flight is not None and flight < 0:
        between = f"double support {-flight:.3f} s"
    else:
        between = f"flight {_v(flight, '{:.3f}')} s"
    print(f"  contact time     {_v(s['contact_time_s'], '{:.3f}')} s median; {between}", file=out)
    shares = s["strike_pattern"]
    if any(v is not None for v in shares.values()):
        txt = ", ".join(f"{k} {100 * v:.0f} %" for k, v in shares.items() if v is not None)
        print(f"  strike pattern   {txt} (index {_v(s['strike_index_pct'], '{:.1f}')} %)", file=out)
    hp = s["heel_peak_n"]
    print(
        f"  heel peak        median {_v(hp['median'], '{:.0f}')} {unit} "
        f"(p10 {_v(hp['p10'], '{:.0f}')}, p90 {_v(hp['p90'], '{:.0f}')})",
        file=out,
    )
    print(
        f"  heel load        {_v(s['heel_impulse_ns'], '{:.0f}')} {unit}·s this session", file=out
    )
    if s.get("loading_rate_index") is not None:
        print(f"  loading rate     {s['loading_rate_index']:.0f} {unit}/s (insole index)", file=out)
    for side, reg in s.get("regional_share_pct", {}).items():
        if reg:
            txt = ", ".join(f"{k} {v:.0f} %" for k, v in reg.items())
            print(f"  load {side:<6}      {txt}", file=out)
    if s.get("symmetry_pct"):
        txt = ", ".join(f"{k} {v:+.1f} %" for k, v in s["symmetry_pct"].items())
        print(f"  right vs left    {txt}", file=out)
    tr = s.get("heel_load_trend")
    if tr and tr.get("change_pct") is not None:
        print(
            f"  heel-load trend  {tr['change_pct']:+.1f} % (last {tr['window_s']:.0f} s vs first)",
            file=out,
        )
    received = f"{s['frames']} frames received, " if s.get("frames") is not None else ""
    print(
        f"  data quality     {received}{s['frames_lost']} frames lost, "
        f"{s['crc_errors']} CRC errors, "
        f"{s['framing_errors']} framing errors, {s['gap_s']:.2f} s of gaps, "
        f"{s['steps_with_gaps']} steps with gaps{_invalid_text(s)}",
        file=out,
    )
    _print_step_notes(s, out, verbose=True)
    al = s.get("clock_alignment")
    if al and al.get("applied"):
        print(
            f"  clocks           right insole put on the left clock: "
            f"{al['right_offset_ms']:+.1f} ms, {al['right_drift_ppm']:+.1f} ppm",
            file=out,
        )
    if s.get("damage"):
        n = s.get("damaged_blocks") or 1
        more = f" (+{n - 1} more damaged places)" if n > 1 else ""
        skipped = s.get("bytes_skipped")
        read_past = f"; {skipped} bytes skipped" if skipped is not None else ""
        print(
            f"  damage           {s['damage']['reason']} at byte {s['damage']['offset']}{more}"
            f"{read_past}",
            file=out,
        )
