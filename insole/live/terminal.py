"""The ``--no-gui`` view: the live window's metrics as compact terminal lines.

`run_terminal` pulls `LiveSnapshot` objects from a running `LiveRuntime` (the same ones the
window draws) and prints one block per interval: per-insole steps, contact time, strike,
heel peak, heel load so far and the within-run trend, the session metrics, active alerts and
the status line. `metrics_rows` and `status_text` are shared with the window, so both views
show the same numbers. No Qt here.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any, TextIO

from .runtime import LiveRuntime, LiveSnapshot, SideView

__all__ = ["metrics_rows", "run_terminal", "status_text", "terminal_block"]


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
        and ``""`` in the right one.
    """
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
        ("heel peak (last)", *both(lambda v: _fmt(v.heel_peak_n, ".0f", " N"))),
        ("heel load so far", *both(lambda v: _fmt(v.heel_impulse_ns, ".0f", " N·s"))),
        ("heel trend in run", *both(lambda v: _fmt(v.heel_trend_pct, "+.0f", " %")
                                    if math.isfinite(v.heel_trend_pct) else wait)),
        ("steps total", f"{snap.steps_total}", ""),
        ("cadence", _fmt(snap.cadence_spm, ".0f", " /min"), ""),
        ("balance L / R",
         "–" if not math.isfinite(snap.balance_left_pct)
         else f"{snap.balance_left_pct:.1f} / {100 - snap.balance_left_pct:.1f} %", ""),
    ]
    return rows


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


#: Short names of the metrics rows for the terminal.
_SHORT = {
    "contact time": "contact", "strike (last)": "strike", "strike shares": "",
    "heel peak (last)": "heel peak", "heel load so far": "heel load",
    "heel trend in run": "trend", "steps total": "steps", "balance L / R": "balance L/R",
}


def terminal_block(snap: LiveSnapshot) -> str:
    """The compact text view of one snapshot (a few lines, no trailing newline)."""
    rows = metrics_rows(snap)
    per_side = [r for r in rows if r[2] != ""]
    session = [r for r in rows if r[2] == ""]
    lines = [f"{snap.now_s:7.1f} s  " + "  ".join(f"{_SHORT.get(n, n)} {v}"
                                                  for n, v, _ in session)]
    for i, side in enumerate(("L", "R")):
        parts = []
        for name, *values in per_side:
            short = _SHORT.get(name, name)
            value = values[i]
            parts.append(f"({value})" if not short else f"{short} {value}")
        lines.append(f"    {side}  " + "  ".join(parts))
    for alert in snap.alerts:
        lines.append(f"    ! {alert.level}: {alert.message}")
    lines.append("    " + status_text(snap))
    return "\n".join(lines)


def run_terminal(
    runtime: LiveRuntime,
    *,
    out: TextIO,
    every_s: float = 1.0,
    exit_after_s: float | None = None,
    stop: threading.Event | None = None,
) -> LiveSnapshot:
    """Print the status of a started runtime until it ends, ``exit_after_s`` or ``stop``.

    Parameters
    ----------
    runtime : LiveRuntime
        Started runtime (stopped by the caller).
    out : text stream
        Where to print.
    every_s : float
        Wall-clock seconds between blocks.
    exit_after_s : float, optional
        Stop after this many seconds.
    stop : threading.Event, optional
        Set to stop (e.g. on SIGINT).

    Returns
    -------
    LiveSnapshot
        The last snapshot.
    """
    t0 = time.monotonic()
    stop = stop or threading.Event()
    while True:
        ended = runtime.wait_ended(every_s) if not stop.is_set() else False
        snap = runtime.snapshot()
        print(terminal_block(snap), file=out, flush=True)
        if ended or snap.ended or snap.error or stop.is_set():
            return snap
        if exit_after_s is not None and time.monotonic() - t0 >= exit_after_s:
            return snap

