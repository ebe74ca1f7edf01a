"""The live-view commands of the ``insole`` CLI: ``live``, and the window of ``replay``/``demo``.

`add_parsers` adds ``insole live`` to the main parser's subcommands (``insole/cli.py`` calls it
from ``build_parser``); `add_view_options` adds the shared view options (``--gui``,
``--no-gui``, ``--screenshot``, ``--exit-after``, ``--fps``) to ``replay`` and ``demo``.
`run_view` runs a source through a `LiveRuntime` and shows it in the window or the terminal.

When is there a window? `want_window`: never with ``--no-gui``; always with ``--gui`` or
``--screenshot`` (rendered offscreen when there is no display); otherwise when a display exists
(``DISPLAY`` or ``WAYLAND_DISPLAY`` set, or ``QT_QPA_PLATFORM`` offscreen) and Qt and
pyqtgraph are importable, and the command runs interactively (stdout is a terminal), so
scripts and pipes keep the plain terminal output. Qt is imported only when a window opens.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ..cli_types import positive_float as _positive

__all__ = [
    "add_parsers",
    "add_view_options",
    "display_available",
    "gui_installed",
    "run_view",
    "want_window",
]



def _fps(text: str) -> float:
    value = _positive(text)
    if value > 60:
        raise argparse.ArgumentTypeError(f"must be at most 60 redraws/s, got {text}")
    return value


def gui_installed() -> bool:
    """Whether PySide6 and pyqtgraph are importable (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("PySide6", "pyqtgraph"))


def display_available() -> bool:
    """Whether a window can be shown: a display (or offscreen Qt) and the GUI packages."""
    env = os.environ
    platform = env.get("QT_QPA_PLATFORM", "")
    has_display = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")) or platform in (
        "offscreen", "minimal")
    return has_display and gui_installed()


def want_window(args: argparse.Namespace, *, out: TextIO | None = None) -> bool:
    """Decide between the window and the terminal view (see the module docstring)."""
    if getattr(args, "no_gui", False):
        return False
    if getattr(args, "gui", False) or getattr(args, "screenshot", None) is not None:
        return True
    stream = sys.stdout if out is None else out
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    return interactive and display_available()


def add_view_options(p: argparse.ArgumentParser) -> None:
    """Add ``--gui/--no-gui``, ``--screenshot``, ``--exit-after`` and ``--fps`` to a parser."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--gui", action="store_true",
                   help="open the live window (default when run in a terminal with a display)")
    g.add_argument("--no-gui", action="store_true",
                   help="compact terminal status instead of the window")
    p.add_argument("--screenshot", type=Path, metavar="PNG",
                   help="save the window as a PNG when it closes (implies --gui; offscreen "
                   "without a display)")
    p.add_argument("--exit-after", type=_positive, metavar="SECONDS",
                   help="close the window / stop after this many seconds")
    p.add_argument("--fps", type=_fps, default=40.0, help="window redraws per second (<= 60, "
                   "default 40)")


def _ensure_qt_platform() -> None:
    """Render offscreen when a window is wanted but there is no display."""
    env = os.environ
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM")):
        env["QT_QPA_PLATFORM"] = "offscreen"


def session_summary_of(runtime: Any) -> dict[str, Any]:
    """The session summary of what a runtime processed (`insole.analysis.summarise_session`)."""
    from ..analysis import summarise_session

    _, summary = summarise_session(runtime.pipeline, runtime.steps, runtime.header)
    return summary


def run_view(
    source: str,
    *,
    window: bool,
    record: Path | None = None,
    overwrite: bool = False,
    screenshot: Path | None = None,
    exit_after_s: float | None = None,
    fps: float = 40.0,
    out: TextIO,
    summary: bool = True,
) -> dict[str, Any]:
    """Run ``source`` through a `LiveRuntime` and show it until closed / ended / timed out.

    Parameters
    ----------
    source : str
        Source URL (``sim:``, ``file:PATH?speed=…``, ``serial:…``, ``ble:…``).
    window : bool
        Open the window (else the terminal view).
    record : Path, optional
        Record the raw bytes to this new file while showing.
    overwrite : bool
        Allow replacing ``record``.
    screenshot : Path, optional
        Save the window as a PNG at the end.
    exit_after_s : float, optional
        Stop after this many seconds.
    fps : float
        Window redraw rate.
    out : text stream
        Where the terminal view and the summary go.
    summary : bool
        Print the session summary at the end.

    Returns
    -------
    dict
        The session summary of what was shown, with ``ended``: whether the source ended
        (False when the window was closed or the time ran out first).
    """
    from ..readers.commands import _stop_on_signals
    from ..report_text import print_summary
    from .runtime import LiveRuntime
    from .terminal import run_terminal

    runtime = LiveRuntime(source, record=record, overwrite=overwrite)
    runtime.start()
    try:
        if window:
            _ensure_qt_platform()
            from .window import run_window

            run_window(runtime, screenshot=screenshot, exit_after_s=exit_after_s, fps=fps)
            if screenshot is not None:
                print(f"screenshot: {screenshot}", file=out)
        else:
            with _stop_on_signals() as stop:
                run_terminal(runtime, out=out, exit_after_s=exit_after_s, stop=stop)
    finally:
        runtime.stop()
    result = session_summary_of(runtime)
    result["ended"] = runtime.ended
    if record is not None:
        print(f"recorded to {record}", file=out)
    if summary:
        print(file=out)
        print_summary(result, out=out)
    return result


def _cmd_live(args: argparse.Namespace) -> int:
    run_view(
        args.source,
        window=want_window(args),
        record=args.record,
        overwrite=args.overwrite,
        screenshot=args.screenshot,
        exit_after_s=args.exit_after,
        fps=args.fps,
        out=sys.stdout,
    )
    return 0


def add_parsers(sub: Any) -> None:
    """Add the ``live`` subcommand to the main parser's subparsers."""
    p = sub.add_parser(
        "live",
        help="show a source live: pressure maps, force traces, steps, alerts",
        description="Stream a source (sim:, file:PATH?speed=X, serial:PORT, ble:...) through "
        "the pipeline and show both insoles live in a window (or, with --no-gui, a compact "
        "terminal status). Ctrl-C or closing the window stops; the session summary follows.",
    )
    p.add_argument("source", help="source URL, e.g. sim:, sim:?seed=3&loss=0.02, "
                   "file:run.insrec?speed=2, serial:/dev/ttyUSB0, ble:")
    p.add_argument("--record", type=Path, metavar="FILE", help="record the raw bytes to FILE")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --record file")
    add_view_options(p)
    p.set_defaults(func=_cmd_live)
