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

from insole.commands.common import LSL, Arg, add_command, flag
from insole.commands.types import output_file
from insole.commands.types import positive_float as _positive

__all__ = [
    "add_history_options",
    "add_parsers",
    "add_view_options",
    "auto_recording",
    "check_view_command",
    "display_available",
    "gui_installed",
    "make_feedback",
    "run_view",
    "save_session",
    "view_arguments",
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
    """Add the view options and the history options to a parser.

    View: ``--gui/--no-gui``, ``--screenshot``, ``--exit-after``, ``--fps``; history:
    ``--db``, ``--save``, ``--verbose`` (`add_history_options`).
    """
    g = p.add_mutually_exclusive_group()
    g.add_argument("--gui", action="store_true",
                   help="open the live window (default when run in a terminal with a display)")
    g.add_argument("--no-gui", action="store_true",
                   help="compact terminal status instead of the window")
    p.add_argument("--screenshot", type=output_file("screenshot", "window.png", stdout=False),
                   metavar="PNG",
                   help="save the window as a PNG when it closes (implies --gui; offscreen "
                   "without a display)")
    p.add_argument("--exit-after", type=_positive, metavar="SECONDS",
                   help="close the window / stop after this many seconds")
    p.add_argument("--fps", type=_fps, default=40.0, help="window redraws per second (<= 60, "
                   "default 40)")
    add_history_options(p)


def _ensure_qt_platform() -> None:
    """Render offscreen when a window is wanted but there is no display."""
    env = os.environ
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM")):
        env["QT_QPA_PLATFORM"] = "offscreen"


def session_summary_of(runtime: Any, started: str | None = None) -> dict[str, Any]:
    """The session summary of what a runtime processed (`.session.analysis.summarise_session`).

    Its ``start`` is the source's (a replayed recording's), else the recording made while live,
    else `started` (when the live session started: a ``sim:`` source has no start of its own).
    """
    from insole.session.analysis import summarise_session

    _, summary = summarise_session(runtime.pipeline, runtime.steps, runtime.header)
    if not summary.get("start"):
        summary["start"] = runtime.recording_start or started
    return summary


def _low_latency_source(source: str) -> tuple[str, str]:
    """The source with small batches for feedback, and a note on what was done.

    ``sim:``, ``serial:`` and ``ble:`` sources take ``batch=2`` unless a batch is given: the
    simulated insoles frame 2 samples, the serial and BLE readers write SET_BATCH 2 (SPEC
    §4.3) before START after every (re)connect. Other sources (files, Moticon UDP) keep the
    batch they have.
    """
    from insole.sources.readers import parse_source

    src = parse_source(source)
    if src.scheme not in ("sim", "serial", "ble"):
        return source, ""
    if "batch" in src.options:
        return source, f"batch {src.options['batch']} as given"
    text = source.strip()
    if ":" not in text.partition("?")[0]:  # "sim" / "ble" without the colon
        text = f"{src.scheme}:{text[len(src.scheme):]}"
    sep = "&" if "?" in text else "?"
    what = "simulated insoles" if src.scheme == "sim" else f"requested by the {src.scheme} reader"
    return f"{text}{sep}batch=2", f"small batches: SET_BATCH 2 ({what})"


def make_feedback(
    mode: str,
    *,
    recent: Any = None,
    above_pct: float | None = None,
    out: TextIO | None = None,
    bell: bool | None = None,
) -> tuple[Any, str]:
    """The feedback engine of ``--feedback MODE`` with its sinks, and a line describing it.

    Parameters
    ----------
    mode : {"strike", "heel"}
        Which heel strikes are cued.
    recent : RecentMax, optional
        The history (its steps give the heel targets).
    above_pct : float, optional
        ``--feedback-above``: target PCT % above the baseline mean (default mean + 2 SD).
    out : text stream, optional
        The terminal (bell).
    bell : bool, optional
        Ring the terminal bell (default: when `out` is a terminal).

    Returns
    -------
    engine : FeedbackEngine
        Not yet attached to a runtime.
    text : str
        What is cued and how (for the terminal).
    """
    from insole.live.feedback import BellSink, FeedbackEngine, FeedbackTarget, audio_sink

    sinks: list[Any] = []
    how = []
    if bell is None:
        bell = bool(out is not None and getattr(out, "isatty", lambda: False)())
    if bell:
        sinks.append(BellSink(out))
        how.append("terminal bell")
    else:
        how.append("no bell (not a terminal)")
    audio, why = audio_sink()
    if audio is not None:
        sinks.append(audio)
        how.append("sound")
    else:
        how.append(f"no sound: {why}")
    how.append("window flash when the window is open")
    heel = rate = None
    if mode == "heel" and recent is not None:
        heel = FeedbackTarget.from_values(recent.step_heel_peaks_n, source="history",
                                          above_pct=above_pct)
        rate = FeedbackTarget.from_values(recent.step_loading_rates, source="history",
                                          above_pct=above_pct)
    engine = FeedbackEngine(mode, sinks, heel_target=heel, rate_target=rate,
                            above_pct=above_pct)
    if mode == "strike":
        what = "every heel strike"
    else:
        targets = [t.describe(name, unit) for t, name, unit in
                   ((heel, "heel peak", "N"), (rate, "loading-rate index", "N/s"))
                   if t is not None]
        level = "mean + 2 SD" if above_pct is None else f"{above_pct:g} % above the mean"
        what = ("heel strikes with " + " or ".join(targets) if targets else
                f"heel strikes above your own baseline ({level}), learnt from this run's first "
                "2 minutes (no steps in the history)")
    return engine, f"cue on {what}; {', '.join(how)}"


def save_session(
    runtime: Any,
    *,
    db: Path | None,
    recording: Path,
    verbose: bool = False,
    command: str = "live",
) -> str:
    """Store what a runtime processed in the history, as ``insole analyze FILE --save`` does.

    Parameters
    ----------
    runtime : LiveRuntime
        Stopped runtime.
    db, recording, verbose, command
        As `insole.commands.history.save_summary` takes them; the recording is the replayed
        file, or the one written while live.

    Returns
    -------
    str
        What `insole.commands.history.save_summary` returns.
    """
    from insole.commands.history import save_summary
    from insole.session.analysis import summarise_session

    rows, summary = summarise_session(runtime.pipeline, runtime.steps, runtime.header)
    if not summary.get("start"):
        summary["start"] = runtime.recording_start
    return save_summary(recording, summary, rows, db=db, verbose=verbose, command=command)


def auto_recording(db: Path | None, *, flag: str = "--record FILE") -> Path:
    """Where ``--save`` records a live source without ``--record``: beside the history.

    The folder ``recordings/`` beside the history database is created if needed, owner only
    (0700, as the history's own folder and file: a runner's recordings are as private).

    Parameters
    ----------
    db : Path or None
        ``--db`` (None: the default database).
    flag : str
        The option that names the recording instead, for the message (``--keep FILE`` in
        ``insole demo``).

    Raises
    ------
    UsageError
        If the folder cannot be created or written (read-only file system, permissions): the
        message names it and says to give `flag` elsewhere or a ``--db`` in a writable folder.
    """
    from datetime import datetime

    from insole.commands.common import UsageError, not_writable
    from insole.session.history import default_db_path

    folder = (Path(db) if db is not None else default_db_path()).resolve().parent / "recordings"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        why = not_writable(folder)
    except OSError as exc:
        why = (exc.strerror or str(exc)).lower()
    if why:
        raise UsageError(
            f"{folder}: cannot create the recording of this run there ({why}): --save keeps "
            f"it in recordings/ beside the history database; give {flag} in a writable "
            "folder, or --db PATH in one"
        )
    return folder / f"live-{datetime.now():%Y%m%d-%H%M%S}.insrec"


def check_view_command(
    args: argparse.Namespace,
    *,
    replayed: Path | None = None,
    record: Path | None = None,
    record_flag: str = "--record",
) -> None:
    """Refuse, before ``live``, ``replay`` or ``demo`` starts, what would fail or destroy data.

    No output replaces an input or another output, even with ``--overwrite``: the recording
    written (``--record`` / ``--keep``) and the ``--screenshot`` are never the recording
    replayed (the file or a ``file:`` source), the history database (``--db``, ``--save``) or
    each other; a screenshot never replaces irreplaceable data (`check_replace`). With
    ``--save``, the history must be usable (`insole.commands.history.check_can_save`).

    Parameters
    ----------
    args : argparse.Namespace
        The command line, with the options of `add_view_options`.
    replayed : Path, optional
        The recording read.
    record : Path, optional
        The recording written.
    record_flag : str
        Its option, for the messages.
    """
    from insole.commands.common import check_replace, history_files

    inputs: list[tuple[object, str]] = []
    if replayed is not None:
        inputs.append((replayed, "the recording replayed"))
    if args.db is not None or args.save:
        inputs += history_files(args.db)
    check_replace(record, overwrite=True, what=f"recording ({record_flag})", not_same_as=inputs)
    check_replace(args.screenshot, overwrite=False, can_overwrite=False, what="screenshot",
                  not_same_as=[*inputs, (record, f"{record_flag}, the recording")])
    if args.save:
        from insole.commands.history import check_can_save

        check_can_save(args.db, replayed)


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
    lsl: bool = False,
    db: Path | None = None,
    use_history: bool = False,
    save: bool = False,
    feedback: str | None = None,
    feedback_above: float | None = None,
    feedback_engine: Any = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run ``source`` through a `LiveRuntime` and show it until closed / ended / timed out.

    Parameters
    ----------
    source : str
        Source URL (``sim:``, ``file:PATH?speed=…``, ``serial:…``, ``ble:…``).
    window : bool
        Open the window (else the terminal view, `insole.live.terminal`).
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
    lsl : bool
        Also publish the insoles and the step events on the Lab Streaming Layer
        (`insole.live.lsl.LslPublisher`; needs ``pylsl``, else `insole.live.lsl.LslError`).
    db : Path, optional
        History database (``--db``; None: the default one when `use_history` or `save`).
    use_history : bool
        Compare the run with the largest session of the previous 30 days ("too much, too
        soon" during the run; `insole.live.loadwatch`). True whenever `db` is given.
    save : bool
        Store the session in the history when the run ends (Ctrl-C included). A live source
        is recorded for it (``--record``, else a file in ``recordings/`` beside the history).
        A replay stopped before the end of its file is not saved (the history keeps whole
        recordings, by their SHA-256); the line says how to save the file.
    feedback : {"strike", "heel"}, optional
        Heel-strike cues (`insole.live.feedback`).
    feedback_above : float, optional
        Heel target PCT % above the baseline mean (default: mean + 2 SD).
    feedback_engine : FeedbackEngine, optional
        Use this engine (tests: with a `RecordingSink`) instead of making one.
    verbose : bool
        Code names in the saved-session lines.

    Returns
    -------
    dict
        The session summary of what was shown, with ``ended``: whether the source ended
        (False when the window was closed or the time ran out first), ``too_much_too_soon``
        (ratios and bands crossed, with a history), ``feedback`` (cues and heel strikes) and
        ``saved`` (the lines of the save, with ``--save``).
    """
    from insole.commands.common import stop_on_signals
    from insole.live.loadwatch import RecentMax
    from insole.live.runtime import LiveRuntime
    from insole.live.terminal import TerminalView, run_terminal
    from insole.session.text import print_summary
    from insole.sources.readers import parse_source

    batch_note = ""
    if feedback is not None or feedback_engine is not None:
        source, batch_note = _low_latency_source(source)
    is_file = parse_source(source).scheme == "file"
    if save and not is_file and record is None:
        record = auto_recording(db)
        overwrite = False  # --overwrite is for a --record file, never for another recording
    runtime = LiveRuntime(source, record=record, overwrite=overwrite)
    if runtime.plate and "heel" in (feedback, getattr(feedback_engine, "mode", None)):
        raise ValueError("a force plate under both feet has no heel to cue: use --feedback "
                         "strike (a cue on every contact), or a recording of insoles")
    recent = None
    if use_history or save or db is not None:
        from datetime import datetime

        start = runtime.header.get("start_time") if is_file else None  # a replay: its own day
        recent = RecentMax.from_db(db, now=datetime.fromisoformat(start) if start else None,
                                   with_steps=feedback == "heel")
        runtime.set_recent(recent)
    engine, feedback_text = feedback_engine, ""
    if engine is None and feedback is not None:
        engine, feedback_text = make_feedback(feedback, recent=recent, above_pct=feedback_above,
                                              out=out)
    elif engine is not None:
        feedback_text = f"cue on {'every heel strike' if engine.mode == 'strike' else 'heel'}"
    if batch_note:
        feedback_text += f"; {batch_note}"
    runtime.feedback = engine
    publisher = None
    if lsl:
        from insole.live.lsl import LslPublisher, realtime_source

        publisher = runtime.publisher = LslPublisher(
            source=runtime.source, realtime=realtime_source(runtime.reader),
            devices=runtime.header.get("devices"))
    if record is not None:  # an existing --record file is refused before anything is printed
        try:
            runtime.start_recording(record)
        except BaseException:
            if publisher is not None:
                publisher.close()
            raise
    view = TerminalView(out, profile=recent.profile if recent is not None else None)
    view.intro(recent, feedback_text)
    from datetime import datetime

    started = datetime.now().astimezone().isoformat(timespec="seconds")
    runtime.start()
    try:
        if window:
            _ensure_qt_platform()
            from insole.live.window import run_window

            run_window(runtime, screenshot=screenshot, exit_after_s=exit_after_s, fps=fps)
            if screenshot is not None:
                print(f"screenshot: {screenshot}", file=out)
        else:
            with stop_on_signals() as stop:
                run_terminal(runtime, out=out, exit_after_s=exit_after_s, stop=stop, view=view)
    finally:
        try:
            runtime.stop()
        finally:
            if publisher is not None:
                publisher.close()
    if not window:
        view.show(None, runtime.events(view.events_printed))  # what came after the last line
    result = session_summary_of(runtime, started)
    if publisher is not None:
        result["lsl"] = publisher.figures()
        print(publisher.line(), file=out)
    result["ended"] = runtime.ended
    result["too_much_too_soon"] = runtime.watch.figures()
    result["events"] = [vars(e) for e in runtime.events()]
    if engine is not None:
        result["feedback"] = {"cues": engine.cues, "heel_strikes": engine.strikes,
                              "late": engine.late_strikes,
                              "retracted": engine.retracted_strikes}
        notes = []
        if engine.late_strikes:
            notes.append(f"{engine.late_strikes} announced too late to cue: the step "
                         "detector's start-up, or edges certain only at the contact's end")
        if engine.retracted_strikes:
            notes.append(f"{engine.retracted_strikes} retracted: no step")
        late = f" ({'; '.join(notes)})" if notes else ""
        print(f"feedback: {engine.cues} cues on {engine.strikes} heel strikes{late}", file=out)
    if record is not None:
        print(f"recorded to {record}", file=out)
    if summary:
        print(file=out)
        print_summary(result, out=out, profile=recent.profile if recent is not None else None)
    if save:
        if is_file and not runtime.ended:
            path = getattr(runtime.reader, "path", "")
            lines = (f"not saved: the replay stopped before the end of {path}, and the history "
                     f"keeps whole recordings (insole analyze {path} --save)")
        else:
            recording = Path(getattr(runtime.reader, "path", "")) if is_file else record
            assert recording is not None
            lines = save_session(runtime, db=db, recording=recording, verbose=verbose,
                                 command="replay" if is_file else "live")
        result["saved"] = lines
        print(file=out)
        print(lines, file=out)
    return result


def view_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of `run_view` that the options of `add_view_options` give.

    ``window`` (`want_window`), ``screenshot``, ``exit_after_s``, ``fps``, ``db``, ``save`` and
    ``verbose``.
    """
    return {"window": want_window(args), "screenshot": args.screenshot,
            "exit_after_s": args.exit_after, "fps": args.fps, "db": args.db, "save": args.save,
            "verbose": args.verbose}


def _cmd_live(args: argparse.Namespace) -> int:
    from insole.commands.common import source_file

    if args.feedback_above is not None and args.feedback != "heel":
        from insole.commands.common import UsageError

        raise UsageError("--feedback-above sets the heel cue's target: give it with "
                         "--feedback heel")
    check_view_command(args, replayed=source_file(args.source), record=args.record)
    run_view(
        args.source,
        record=args.record,
        overwrite=args.overwrite,
        out=sys.stdout,
        lsl=args.lsl,
        use_history=args.db is not None,
        feedback=args.feedback,
        feedback_above=args.feedback_above,
        **view_arguments(args),
    )
    return 0


def add_history_options(p: argparse.ArgumentParser) -> None:
    """Add ``--db PATH``, ``--save`` and ``--verbose`` to ``live``, ``replay`` and ``demo``."""
    p.add_argument("--db", type=Path, metavar="PATH",
                   help="compare the run with your longest run of the last 30 days in this "
                   "history database while it runs (progress, 1.1x / 1.3x / 2x alerts)")
    p.add_argument("--save", action="store_true",
                   help="store the session in the history when the run ends (Ctrl-C "
                   "included); default database unless --db")
    p.add_argument("--verbose", action="store_true",
                   help="code names in the saved-session lines")


def add_parsers(sub: Any) -> None:
    """Add the ``live`` subcommand to the main parser's subparsers."""
    add_command(
        sub, "live", _cmd_live,
        Arg("source", help="source URL, e.g. sim:, sim:?seed=3&loss=0.02, "
            "file:run.insrec?speed=2, serial:/dev/ttyUSB0, ble:"),
        Arg("--record", type=output_file("recording file to create", "run.insrec",
                                         stdout=False),
            metavar="FILE", help="record the raw bytes to FILE"),
        flag("--overwrite", "replace an existing --record file"),
        LSL,
        Arg("--feedback", choices=("strike", "heel"),
            help="cue heel strikes: 'strike' every one, 'heel' those whose heel peak or "
            "loading-rate index is above your own baseline (docs/live.md)"),
        Arg("--feedback-above", type=_positive, metavar="PCT",
            help="with --feedback heel: target PCT %% above your baseline mean (default: mean "
            "+ 2 SD)"),
        add_view_options,
        help="show a source live: pressure maps, force traces, steps, alerts",
        description="Stream a source (sim:, file:PATH?speed=X, serial:PORT, ble:...) through "
        "the pipeline and show both insoles live in a window (or, with --no-gui, a compact "
        "terminal status). Ctrl-C or closing the window stops; the session summary follows.",
    )
