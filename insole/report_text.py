"""The session summary as text for a terminal (``insole analyze``, ``insole demo``)."""

from __future__ import annotations

from typing import Any, TextIO

__all__ = ["print_summary"]


def _v(x: Any, fmt: str = "{}", none: str = "–") -> str:
    return none if x is None else fmt.format(x)


def print_summary(s: dict[str, Any], *, out: TextIO) -> None:
    """Print a session summary (the dict of `insole.core.summary.session_summary`)."""
    unit = s.get("force_unit", "N")
    steps = ", ".join(f"{k} {v}" for k, v in s["steps"].items())
    print("session summary", file=out)
    if s.get("start"):
        print(f"  start            {s['start']}", file=out)
    print(f"  duration         {s['duration_s']:.1f} s", file=out)
    print(f"  steps            {s['step_count']} ({steps})", file=out)
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
        f"{s['steps_with_gaps']} steps with gaps",
        file=out,
    )
    cut = s.get("contacts_cut") or {}
    notes = []
    standing = s.get("steps_ending_standing") or 0
    if standing:
        notes.append(
            f"{standing} ended in standing (heel strike counted, contact time left out)"
        )
    for where in ("start", "end"):
        if cut.get(where):
            notes.append(f"{cut[where]} cut by the {where} of the recording (not counted)")
    if notes:
        print(f"  steps            {'; '.join(notes)}", file=out)
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
