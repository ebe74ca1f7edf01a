"""The one terminal view of ``insole live --no-gui``, ``insole replay`` and ``insole demo``.

Every terminal run prints the same things in the same words:

- one status line per interval (`status_line`): recording time, steps (both feet, then left
  and right), cadence, contact time, heel peak (in the recording's force unit, as the session
  summary and report give it: newtons, body weights once a profile exists, or ``counts`` for
  relative readings, never body weights then), battery, progress against the longest run of
  the last 30 days ("78 % of your longest recent run", with ``--db``) and the frames lost;
  for one force plate under both feet its contacts, cadence, contact time and peak force
  (a plate has no feet and no heel);
- one line when something starts and one when it ends (`event_line`): a band of "too much,
  too soon" crossed (once per band, naming the metrics), an alert starting or changing level,
  an alert ending — never the same alert every second.

`TerminalView` prints both; `run_terminal` drives it from a running `LiveRuntime` (live
sources and ``--gui``-less replays through the runtime); `insole.commands.replay.replay_to_terminal`
(``insole replay`` / ``insole demo`` without a window) fills the same `StatusState` from its
own pipeline. `metrics_rows` and `status_text` are shared with the window. No Qt here.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from insole.live.loadwatch import RecentMax, WatchEvent
from insole.live.runtime import LiveRuntime, LiveSnapshot, SideView
from insole.session.plain import fmt_value

if TYPE_CHECKING:  # pragma: no cover
    from insole.session.plain import Profile

__all__ = [
    "StatusState",
    "TerminalView",
    "event_line",
    "metrics_rows",
    "run_terminal",
    "state_from_snapshot",
    "status_line",
    "status_text",
]


def _fmt(x: float, spec: str, unit: str = "") -> str:
    return "–" if not math.isfinite(x) else f"{x:{spec}}{unit}"


def metrics_rows(snap: LiveSnapshot) -> list[tuple[str, str, str]]:
    """The metrics table: (name, left, right) rows, shared with the terminal view.

    Parameters
    ----------
    snap : LiveSnapshot
        The snapshot.

    Returns
    -------
    list of tuple of str
        One row per metric; side-independent metrics put their value in the left column
        and ``""`` in the right one. Loads are in each insole's force unit, worded as the
        session summary words them (`insole.session.plain.fmt_value`): ``2,600 N``,
        ``17,240 N·s``, or ``2,600 counts`` and ``counts·s`` for relative readings.
    """
    if snap.plate:
        return _plate_rows(snap)
    left, right = snap.sides.get("left"), snap.sides.get("right")

    def both(f: Any) -> tuple[str, str]:
        return (f(left) if left else "–", f(right) if right else "–")

    def shares(v: SideView) -> str:
        s = v.strike_shares_pct
        return " ".join(f"{k[0].upper()}{s[k]:.0f}%" for k in ("rearfoot", "midfoot", "forefoot")
                        if k in s) or "–"

    armed = snap.extra.get("trend_after_s", float("nan"))
    wait = f"after {armed / 60:g} min" if math.isfinite(armed) else "–"
    rows = [
        ("steps", *both(lambda v: f"{v.steps}")),
        ("contact time", *both(lambda v: _fmt(v.contact_ms, ".0f", " ms"))),
        ("strike (last)", *both(lambda v: v.strike_pattern)),
        ("strike shares", *both(shares)),
        ("heel peak (last)", *both(lambda v: fmt_value("heel_peak_n", v.heel_peak_n,
                                                        unit=v.unit))),
        ("heel load so far", *both(lambda v: fmt_value("heel_impulse_ns", v.heel_impulse_ns,
                                                        unit=v.unit))),
        ("heel trend in run", *both(lambda v: _fmt(v.heel_trend_pct, "+.0f", " %")
                                    if math.isfinite(v.heel_trend_pct) else wait)),
        ("steps total", f"{snap.steps_total}", ""),
        ("cadence", _fmt(snap.cadence_spm, ".0f", " /min"), ""),
        ("balance L / R",
         "–" if not math.isfinite(snap.balance_left_pct)
         else f"{snap.balance_left_pct:.1f} / {100 - snap.balance_left_pct:.1f} %", ""),
    ]
    return rows


def _plate_rows(snap: LiveSnapshot) -> list[tuple[str, str, str]]:
    """The metrics of one force plate under both feet: one column, no heel, no balance."""
    v = snap.sides.get("left")  # the plate's stream is stored as the left device
    if v is None:
        return [("contacts", "0", ""), ("cadence", "–", "")]
    return [
        ("contacts", f"{v.steps}", ""),
        ("cadence", _fmt(snap.cadence_spm, ".0f", " /min"), ""),
        ("contact time", _fmt(v.contact_ms, ".0f", " ms"), ""),
        ("peak force (last)", fmt_value("peak_force_n", v.peak_force_n, unit=v.unit), ""),
    ]


def status_text(snap: LiveSnapshot) -> str:
    """One status-bar line: source, connection, battery, losses, reconnects, recording."""
    conn = ", ".join(f"{k}: {v}" for k, v in snap.connection.items()) or "no streams"
    batt = "  ".join(f"{s} {v.battery_pct}%" for s, v in snap.sides.items()
                     if v.battery_pct is not None) or "–"
    rec = f"REC {os.path.basename(snap.recording)}" if snap.recording else "not recording"
    parts = [f"source {snap.source}", conn, f"battery {batt}",
             f"frames lost {snap.frames_lost} of {snap.frames + snap.frames_lost}",
             f"bad {snap.bad_frames}", f"reconnects {snap.reconnects}", rec]
    if math.isfinite(snap.replay_duration_s):
        speed = "max" if math.isinf(snap.replay_speed) else f"{snap.replay_speed:g}x"
        parts.append(f"replay {snap.replay_position_s:.1f}/{snap.replay_duration_s:.1f} s "
                     f"@ {speed}{' paused' if snap.paused else ''}")
    if snap.error:
        parts.append(f"ERROR {snap.error}")
    return "  |  ".join(parts)


@dataclass
class StatusState:
    """What one status line shows (filled from a `LiveSnapshot` or by the terminal replay).

    Attributes
    ----------
    time_s : float
        Recording time of the newest sample [s].
    steps : dict of str to int
        Steps per insole (left first).
    cadence_spm : float
        Steps per minute of both feet (NaN before).
    contact_ms, heel_peak_n : dict of str to float
        Contact time (median of the last steps) and heel peak (last step, in `force_unit`)
        per insole.
    battery_pct : dict of str to int
        Battery per insole, when reported.
    frames_lost, unreadable : int
        Frames lost (sequence gaps) and pieces that could not be read (CRC / framing).
    progress : str
        "78 % of your longest recent run" (empty without a history).
    force_unit : dict of str to str
        Force unit per insole (`SideView.unit`): ``"N"`` (the default for an insole not
        listed), or ``"counts"`` for relative readings.
    plate : bool
        One force plate under both feet (its one stream stored as ``left``): the line says
        its contacts and peak force (`peak_force_n`), no side and no heel.
    peak_force_n : dict of str to float
        Peak force of the last step per insole (the plate's line shows it).
    """

    time_s: float
    steps: dict[str, int] = field(default_factory=dict)
    cadence_spm: float = float("nan")
    contact_ms: dict[str, float] = field(default_factory=dict)
    heel_peak_n: dict[str, float] = field(default_factory=dict)
    battery_pct: dict[str, int] = field(default_factory=dict)
    frames_lost: int = 0
    unreadable: int = 0
    progress: str = ""
    force_unit: dict[str, str] = field(default_factory=dict)
    plate: bool = False
    peak_force_n: dict[str, float] = field(default_factory=dict)


def state_from_snapshot(snap: LiveSnapshot) -> StatusState:
    """The status line's values of a live snapshot."""
    sides = snap.sides
    return StatusState(
        time_s=snap.now_s,
        steps={k: v.steps for k, v in sides.items()},
        cadence_spm=snap.cadence_spm,
        contact_ms={k: v.contact_ms for k, v in sides.items()},
        heel_peak_n={k: v.heel_peak_n for k, v in sides.items()},
        battery_pct={k: v.battery_pct for k, v in sides.items() if v.battery_pct is not None},
        frames_lost=snap.frames_lost,
        unreadable=snap.bad_frames,
        progress=str(snap.extra.get("progress", "")),
        force_unit={k: v.unit for k, v in sides.items()},
        plate=snap.plate,
        peak_force_n={k: v.peak_force_n for k, v in sides.items()},
    )


def _pair(values: dict[str, float], spec: str, unit: str | dict[str, str],
          scale: float = 1.0) -> str:
    """``L 260 · R 262 ms`` (``–`` for a missing value).

    ``unit`` may be one per side: said once when the sides agree, else after each value.
    """
    order = sorted(values.items(), key=lambda kv: kv[0] != "left")
    units = {side: unit if isinstance(unit, str) else unit.get(side, "N") for side, _ in order}
    each = len(set(units.values())) > 1
    parts = [f"{side[0].upper()} {_fmt(v / scale, spec)}" + (f" {units[side]}" if each else "")
             for side, v in order]
    if not parts:
        return "–"
    return " · ".join(parts) + ("" if each else f" {units[order[0][0]]}")


def status_line(state: StatusState, *, profile: Profile | None = None) -> str:
    """One status line.

    E.g. ``   60.0 s  steps 56 · L 28 · R 28  cadence 170 /min  contact L 260 · R 262 ms  heel
    peak L 951 · R 940 N  battery L 96 · R 91 %  78 % of your longest recent run  frames lost
    0 · unreadable 0``. The heel peak is in the insoles' force unit (`StatusState.
    force_unit`): body weights with a `profile` only when it is newtons, as in the session
    summary (`insole.session.plain.fmt_value`); relative readings stay in ``counts``.
    """
    if state.plate:
        return _plate_line(state, profile)
    order = sorted(state.steps, key=lambda s: s != "left")
    steps = " · ".join([str(sum(state.steps.values()))]
                       + [f"{s[0].upper()} {state.steps[s]}" for s in order])
    units = {side: state.force_unit.get(side, "N") for side in state.heel_peak_n}
    # Body weights only for newtons (insole.session.plain: a weight is no count).
    if profile is not None and set(units.values()) <= {"N"}:
        heel = _pair(state.heel_peak_n, ".2f", "BW", profile.body_weight_n)
    else:
        heel = _pair(state.heel_peak_n, ".0f", units)
    parts = [f"{state.time_s:7.1f} s", f"steps {steps}",
             f"cadence {_fmt(state.cadence_spm, '.0f', ' /min')}",
             f"contact {_pair(state.contact_ms, '.0f', 'ms')}", f"heel peak {heel}"]
    if state.battery_pct:
        parts.append(f"battery {_pair(dict(state.battery_pct), '.0f', '%')}")
    if state.progress:
        parts.append(state.progress)
    parts.append(f"frames lost {state.frames_lost} · unreadable {state.unreadable}")
    return "  ".join(parts)


def _plate_line(state: StatusState, profile: Profile | None) -> str:
    """The status line of one force plate under both feet.

    E.g. ``   30.0 s  steps 78 (force plate, both feet)  cadence 156 /min  contact 282 ms
    peak force 1304 N  frames lost 0 · unreadable 0``: no side letters, no heel.
    """
    steps = sum(state.steps.values())
    contact = next(iter(state.contact_ms.values()), float("nan"))
    peak = next(iter(state.peak_force_n.values()), float("nan"))
    unit = next(iter(state.force_unit.values()), "N")
    if profile is not None and unit == "N":
        force = _fmt(peak / profile.body_weight_n, ".2f", " BW")
    else:
        force = _fmt(peak, ".0f", f" {unit}")
    parts = [f"{state.time_s:7.1f} s", f"steps {steps} (force plate, both feet)",
             f"cadence {_fmt(state.cadence_spm, '.0f', ' /min')}",
             f"contact {_fmt(contact, '.0f', ' ms')}", f"peak force {force}"]
    if state.progress:
        parts.append(state.progress)
    parts.append(f"frames lost {state.frames_lost} · unreadable {state.unreadable}")
    return "  ".join(parts)


def event_line(event: WatchEvent) -> str:
    """One line for an event: ``  ! 66.3 s  past 1.1× your longest run ...``."""
    if event.kind == "alert_end":
        return f"  ✓ {event.time_s:7.1f} s  over: {event.text}"
    if event.kind == "band":
        return f"  ! {event.time_s:7.1f} s  {event.text}"
    return f"  ! {event.time_s:7.1f} s  {event.level}: {event.text}"


class TerminalView:
    """Prints status lines and events (each event once) to a text stream.

    Parameters
    ----------
    out : text stream
        Where to print.
    profile : Profile, optional
        The runner's profile (heel peak in body weights).
    """

    def __init__(self, out: TextIO, *, profile: Profile | None = None) -> None:
        self.out = out
        self.profile = profile
        self.events_printed = 0

    def intro(self, recent: RecentMax | None = None, feedback: str = "") -> None:
        """Say once what the run is compared with and which feedback is on."""
        if recent is not None and recent.note:
            print(f"history: {recent.note}", file=self.out)
        if feedback:
            print(f"feedback: {feedback}", file=self.out)

    def show(self, state: StatusState | None, events: Sequence[WatchEvent] = ()) -> None:
        """Print `events` (in time order), then the status line of `state` (if any)."""
        for ev in sorted(events, key=lambda e: e.time_s):
            print(event_line(ev), file=self.out)
        self.events_printed += len(events)
        if state is not None:
            print(status_line(state, profile=self.profile), file=self.out)
        self.out.flush()


def run_terminal(
    runtime: LiveRuntime,
    *,
    out: TextIO,
    every_s: float = 1.0,
    exit_after_s: float | None = None,
    stop: threading.Event | None = None,
    view: TerminalView | None = None,
) -> LiveSnapshot:
    """Print the status of a started runtime until it ends, ``exit_after_s`` or ``stop``.

    Parameters
    ----------
    runtime : LiveRuntime
        Started runtime (stopped by the caller).
    out : text stream
        Where to print.
    every_s : float
        Wall-clock seconds between status lines.
    exit_after_s : float, optional
        Stop after this many seconds.
    stop : threading.Event, optional
        Set to stop (e.g. on SIGINT).
    view : TerminalView, optional
        The view to print with (default: a new one on `out`).

    Returns
    -------
    LiveSnapshot
        The last snapshot.
    """
    view = view or TerminalView(out)
    t0 = time.monotonic()
    stop = stop or threading.Event()
    while True:
        ended = runtime.wait_ended(every_s) if not stop.is_set() else False
        snap = runtime.snapshot()
        events = runtime.events(view.events_printed)
        view.show(state_from_snapshot(snap), events)
        if ended or snap.ended or snap.error or stop.is_set():
            return snap
        if exit_after_s is not None and time.monotonic() - t0 >= exit_after_s:
            return snap
