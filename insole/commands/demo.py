"""The quick-start job: a simulated run through the whole pipeline, then the session summary.

``insole demo`` simulates two insoles on a short run (with a little frame loss and line noise,
so the data-quality accounting has something to show), writes the recording, replays it at a
few times real speed through the same decoder a live device uses, and prints the summary.
With a display (see `insole.commands.live.want_window`) the replay is shown in the live window
(pressure maps, force traces, metrics, alerts); without one, in the terminal view of
``insole live --no-gui`` (`insole.live.terminal`: status lines, alerts once when they start and
once when they end, and with ``--db`` the progress against the longest recent run).
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from insole.commands.replay import replay_to_terminal
from insole.commands.simulate import SimulationRequest, simulate_to_file

__all__ = ["run_demo"]


def run_demo(
    *,
    duration_s: float = 30.0,
    seed: int = 1,
    speed: float = 5.0,
    keep: Path | None = None,
    out: TextIO,
    window: bool = False,
    screenshot: Path | None = None,
    exit_after_s: float | None = None,
    db: Path | None = None,
    save: bool = False,
    verbose: bool = False,
) -> int:
    """Simulate, record, replay and summarise a short run.

    The ``insole demo`` command.

    Parameters
    ----------
    duration_s : float
        Length of the simulated run [s].
    seed : int
        Random seed.
    speed : float
        Replay pace factor (``math.inf`` for as fast as possible).
    keep : Path, optional
        Keep the recording here (otherwise a temporary file is used and removed).
    out : text stream
        Where to print.
    window : bool
        Show the replay in the live window (closes when the window is closed or after
        ``exit_after_s``) instead of terminal status lines.
    screenshot : Path, optional
        Save the window as a PNG at the end (window only).
    exit_after_s : float, optional
        Close the window after this many seconds (window only).
    db : Path, optional
        History database: the replay shows progress against the longest run of the last 30
        days and its bands ("too much, too soon"), as ``insole live --db`` does.
    save : bool
        Store the simulated session in the history at the end; without ``keep`` the recording
        is kept in ``recordings/`` beside the history database, where the history points.
    verbose : bool
        Code names in the saved-session lines.

    Returns
    -------
    int
        Exit status (0).
    """
    request = SimulationRequest(
        duration_s=duration_s,
        seed=seed,
        loss=0.01,
        garbage_per_min=2.0,
        start=datetime.now(UTC).astimezone(),
    )
    if save and keep is None:  # the history points at its recording: keep it beside it
        from insole.commands.live import auto_recording

        keep = auto_recording(db, flag="--keep FILE").with_name(
            f"demo-{datetime.now():%Y%m%d-%H%M%S}.insrec")
    with tempfile.TemporaryDirectory(prefix="insole-demo-") as tmp:
        path = keep if keep is not None else Path(tmp) / "demo.insrec"
        written = simulate_to_file(request, path, progress=True)
        print(
            f"insole demo: simulated a {duration_s:.0f} s run of two 16-sensor insoles at "
            f"{written['sample_rate_hz']} Hz ({written['steps']} whole steps; "
            f"{written['frames_dropped']} frames dropped and {written['frames_corrupted']} "
            "corrupted on purpose)",
            file=out,
        )
        pace = "as fast as possible" if math.isinf(speed) else f"at {speed:g}x real time"
        print(f"replaying {path.name} {pace} through the live pipeline:", file=out, flush=True)
        if window:
            from insole.commands.live import run_view

            pace_opt = "max" if math.isinf(speed) else f"{speed:g}"
            print("  (in the live window; close it to see the summary)", file=out, flush=True)
            summary = run_view(f"file:{path}?speed={pace_opt}", window=True,
                               screenshot=screenshot, exit_after_s=exit_after_s, out=out,
                               db=db, save=save, verbose=verbose)
        else:
            summary = replay_to_terminal(
                path, speed=speed, out=out, every_s=max(1.0, duration_s / 15), db=db,
                save=save, verbose=verbose,
            )
        expected = written["frames_dropped"] + written["frames_corrupted"]
        if not summary.get("ended", True):
            print("  (the window was closed before the end of the replay: the counts above "
                  "cover what was shown)", file=out)
        print(
            f"  injected         {written['frames_dropped']} frames dropped + "
            f"{written['frames_corrupted']} corrupted = {expected}; "
            f"{'all accounted for' if summary['frames_lost'] == expected else 'MISMATCH'}",
            file=out,
        )
        if keep is not None:
            print(f"recording kept at {keep}", file=out)
    return 0
