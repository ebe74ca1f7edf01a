"""The ``insole`` command: a thin layer over the library.

Every subcommand parses its arguments, calls one library function and prints the result. Errors
the user can fix (bad arguments, missing or damaged files) print one line and exit with status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from insole import __version__
from insole.commands import types as _sim  # the simulator's ranges (insole simulate)
from insole.commands.common import (
    BURST_LOSS,
    DRIFT_PPM,
    JSON,
    LOSS,
    LSL,
    OVERWRITE_RULE,
    QUIET,
    RATE,
    SEED,
    SENSORS,
    STRICT,
    Arg,
    add_command,
    check_replace,
    damage_warning,
    flag,
    history_files,
    is_stdout,
    json_or_stdout,
    out_option,
    output_path,
    overwrite_option,
    printable,
    simulated_insoles,
)
from insole.commands.types import input_path, output_file
from insole.commands.types import iso_time as _iso_time
from insole.commands.types import positive_float as _positive_float
from insole.commands.types import speed as _speed
from insole.errors import InsoleError

__all__ = ["check_replace", "is_stdout", "main", "output_path", "printable"]

EXIT_USAGE = 2

#: Exit status after the reader of stdout went away (``insole analyze FILE | head -1``): the
#: status of a process ended by SIGPIPE (128 + 13), as ``cat`` or ``yes`` end there.
EXIT_BROKEN_PIPE = 141


#: Which optional-dependency group of pyproject.toml provides a module.
_EXTRA_FOR = {
    "wfdb": "import",
    "serial": "serial",
    "bleak": "ble",
    "bumble": "emulators",
    "pyqtgraph": "gui",
    "PySide6": "gui",
}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- foreign files: name the import command ---------------------------------------------------


def _recording_path(args: argparse.Namespace) -> Path | None:
    """The recording a command reads, if any: its file, or the ``file:`` source it streams.

    ``analyze``, ``info``, ``report`` and ``replay`` read a file; ``live`` and ``record`` a
    ``file:`` source.
    """
    command = getattr(args, "command", None)
    if command in ("live", "record"):
        from insole.commands.common import source_file

        return source_file(getattr(args, "source", None))
    if command not in ("analyze", "info", "report", "replay"):
        return None
    for name in ("file", "target"):
        value = getattr(args, name, None)
        if value is not None:
            return Path(str(value))
    paths = getattr(args, "paths", None)
    return Path(paths[0]) if paths and len(paths) == 1 else None


def _foreign_hint(args: argparse.Namespace) -> str | None:
    """``insole import KIND FILE ...`` when the command's file is a known foreign format."""
    path = _recording_path(args)
    if path is None or not path.is_file():
        return None
    from insole.commands.imports import suggest_import

    return suggest_import(path)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _warn(command: str, warning: str | None) -> None:
    """Print a warning line on stderr (so that JSON on stdout stays clean)."""
    if warning:
        print(f"insole {command}: warning: {warning}", file=sys.stderr)


# --- subcommands -----------------------------------------------------------------------------


def _cmd_simulate(args: argparse.Namespace) -> int:
    from insole.commands.progress import wanted
    from insole.commands.simulate import SimulationRequest, simulate_to_file

    json_or_stdout(args, "--out", "--truth")
    check_replace(args.out, overwrite=args.overwrite, what="simulated recording")
    check_replace(args.truth, overwrite=args.overwrite, what="truth table",
                  not_same_as=[(args.out, "--out, the simulated recording")])

    request = SimulationRequest(
        duration_s=args.duration,
        cadence_spm=args.cadence,
        strike=args.strike,
        gait=args.gait,
        sample_rate_hz=args.rate,
        link=args.link,
        body_mass_kg=args.mass_kg,
        speed_mps=args.run_speed_mps,
        asymmetry_pct=args.asymmetry,
        fatigue_pct=args.fatigue,
        stand_s=args.stand,
        pronation=args.pronation,
        start=args.start or datetime.now(UTC).astimezone(),
        **simulated_insoles(args),
    )
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(output_path(args.out, suffix=".insrec"))
        truth = None if args.truth is None else stack.enter_context(
            output_path(args.truth, suffix=".csv"))
        result = simulate_to_file(request, out, truth_path=truth, progress=wanted(args))
        result["out"] = str(args.out)
        result["truth"] = None if args.truth is None else str(args.truth)
        if is_stdout(args.out):
            result["bytes"] = out.stat().st_size
        if args.json:
            _print_json(result)
        else:
            to = sys.stderr if is_stdout(args.out) or is_stdout(args.truth) else sys.stdout
            print(
                f"wrote {'stdout' if is_stdout(args.out) else result['out']}: "
                f"{result['duration_s']:.1f} s, {result['steps']} whole steps, "
                f"{result['frames_sent']} frames ({result['frames_dropped']} dropped on purpose)"
                + (f"; truth in {'stdout' if is_stdout(args.truth) else result['truth']}"
                   if result.get("truth") else ""),
                file=to,
            )
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from insole.commands.progress import FileProgress, wanted
    from insole.recordings.loader import recording_info

    with FileProgress("insole info", args.file, enabled=wanted(args)):
        # One pass in bounded memory (the same dict as load_recording(...).info()).
        info = recording_info(args.file, strict=args.strict)
    plate = bool(info.get("plate_under_both_feet"))  # one stream, stored as a left device
    _warn("info", damage_warning(args.file, info["damages"], info["frames_lost"]))
    if args.json:
        _print_json(info)
        return 0
    print(
        f"{printable(info['path'])}  (format {printable(info['format_version'])}, source "
        f"{printable(info['source'])})"
    )
    print(f"  start            {printable(info['start'])}")
    print(f"  duration         {info['duration_s']:.2f} s")
    if plate:
        print("  sides            one force plate under both feet (stored as one stream)")
    else:
        print(f"  sides            {printable(', '.join(info['sides'])) or '-'}")
    if info["sample_rate_hz"] is None:
        print("  sample rate      - (no samples in the recording)")
    elif plate:
        print(f"  sample rate      {_numbers(info['sample_rate_hz'])} Hz, the plate's vertical "
              "force")
    else:
        print(
            f"  sample rate      {_numbers(info['sample_rate_hz'])} Hz, "
            f"{_numbers(info['sensors_per_side'])} sensors/side"
        )
    print(
        f"  frames           {info['frames']} received, {info['frames_lost']} lost, "
        f"{info['crc_errors']} CRC errors, {info['discarded_bytes']} bytes discarded"
    )
    for d in info["devices"]:
        battery = f", battery {d['battery_pct']} %" if d["battery_pct"] is not None else ""
        print(
            f"  {'plate' if plate else printable(d['side']):<6} "
            f"{printable(d['name'] or hex(d['device_id']))}: "
            f"{d['samples']} samples, {d['frames_lost']} frames lost{battery}"
        )
    lr = info["clocks"].get("right_vs_left")
    if lr:
        print(
            f"  clocks           right clock vs left clock {lr['offset_ms']:+.1f} ms, "
            f"{lr['drift_ppm']:+.1f} ppm"
        )
    if info["damage"]:
        more = (f" (+{info['damaged_blocks'] - 1} more; {info['bytes_skipped']} bytes skipped)"
                if info["damaged_blocks"] > 1 else "")
        print(
            f"  damage           at byte {info['damage']['offset']}: "
            f"{printable(info['damage']['reason'])}{more}"
        )
    return 0


def _numbers(value: float | list[float] | None) -> str:
    """``200`` for one value, ``100, 200`` for several, ``-`` for none."""
    values = value if isinstance(value, list) else [] if value is None else [value]
    return ", ".join(f"{v:g}" for v in values) or "-"


def _cmd_analyze(args: argparse.Namespace) -> int:
    from insole.commands.batch import cmd_analyze_batch, wants_batch

    if wants_batch(args):  # several paths, a folder, --out-dir, --jobs or --scheduler
        return cmd_analyze_batch(args)
    args.file = args.paths[0]
    from insole.commands.progress import FileProgress, wanted
    from insole.session.analysis import SessionAnalysis, write_steps_csv
    from insole.session.text import print_summary

    json_or_stdout(args, "--steps-csv")
    # the history is read too (the profile of the summary, --save): never an output
    check_replace(args.steps_csv, overwrite=args.overwrite, what="steps table",
                  not_same_as=[(args.file, "the recording analysed"), *history_files(args.db)])
    if args.save:  # before the analysis, as the outputs are checked
        from insole.commands.history import check_can_save

        check_can_save(args.db, args.file)
    with FileProgress("insole analyze", args.file, enabled=wanted(args)):
        analysis = SessionAnalysis(keep_records=False, strict=args.strict).run(args.file)
    summary = analysis.summary_
    _warn("analyze", damage_warning(args.file, summary["damages"], summary["frames_lost"]))
    if args.steps_csv:  # with '-' the table is stdout and the summary goes to stderr
        rows: Sequence[dict[str, Any]] = analysis.steps_
        if summary.get("plate_under_both_feet"):
            from insole.session.tables import PLATE_BLANK_COLUMNS

            nan = float("nan")  # side "both", no heel figures (`.session.tables.plate_columns`)
            rows = [{**r, "side": "both", **dict.fromkeys(PLATE_BLANK_COLUMNS, nan)}
                    for r in rows]
        with output_path(args.steps_csv, suffix=".csv") as steps_out:
            write_steps_csv(rows, steps_out)
    if args.json:
        if summary.get("plate_under_both_feet"):  # the same labels as insole.analyze()
            from insole.api import plate_summary

            _print_json(plate_summary(summary))
        else:
            _print_json(summary)
    else:
        from insole.commands.history import summary_options  # profile (BW units), --verbose

        text_out = sys.stderr if is_stdout(args.steps_csv) else sys.stdout
        print_summary(analysis.summary_, out=text_out, **summary_options(args))
        if args.steps_csv and not is_stdout(args.steps_csv):
            print(f"steps table: {args.steps_csv} ({len(analysis.steps_)} rows)")
    from insole.commands.history import handle_analyze_save

    message = handle_analyze_save(args, analysis)
    if message:
        print(message, file=sys.stderr if args.json or is_stdout(args.steps_csv) else sys.stdout)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from insole.commands.live import check_view_command, run_view, view_arguments, want_window
    from insole.commands.replay import replay_to_terminal

    check_view_command(args, replayed=args.file)
    if not want_window(args) and args.exit_after is None:
        summary = replay_to_terminal(args.file, speed=args.speed, out=sys.stdout,
                                     strict=args.strict, lsl=args.lsl, db=args.db,
                                     save=args.save, verbose=args.verbose,
                                     progress=not getattr(args, "quiet", False))
        _warn("replay", damage_warning(args.file, summary["damages"], summary["frames_lost"]))
        return 0
    if not args.file.is_file():
        raise FileNotFoundError(2, "no such file", str(args.file))
    from insole.recordings.container import BlockReader

    reader = BlockReader(args.file, salvage=True, strict=args.strict).scan()
    _warn("replay", damage_warning(args.file, reader.damages, None))
    speed = "max" if args.speed == float("inf") else f"{args.speed:g}"
    run_view(f"file:{args.file}?speed={speed}", out=sys.stdout, lsl=args.lsl,
             **view_arguments(args))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from insole.commands.demo import run_demo
    from insole.commands.live import check_view_command, view_arguments

    check_view_command(args, record=args.keep, record_flag="--keep")
    check_replace(args.keep, overwrite=args.overwrite, what="demo recording")
    view = view_arguments(args)
    del view["fps"]  # the demo's window redraws at the default rate
    return run_demo(duration_s=args.duration, seed=args.seed, speed=args.speed, keep=args.keep,
                    out=sys.stdout, **view)


# --- parser ----------------------------------------------------------------------------------

#: The recording a command reads.
_RECORDING = Arg("file", type=input_path("a recording"), help="recording file")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``insole`` command."""
    from insole.commands import devices, history, imports, live
    from insole.commands.batch import add_batch_options
    from insole.sources import public_data

    parser = _Parser(
        prog="insole",
        description="Pressure-sensing insoles: simulate, record, replay and analyse heel loading.",
    )
    parser.add_argument("--version", action="version", version=f"insole {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add_command(
        sub, "demo", _cmd_demo,
        Arg("--duration", type=_positive_float, default=30.0, help="seconds (default 30)"),
        SEED.but(default=1, help="random seed (default 1)"),
        Arg("--speed", type=_speed, default=5.0, help="replay pace, e.g. 1 or 'max' (default 5)"),
        Arg("--keep", type=output_file("recording to keep", "demo.insrec", stdout=False),
            metavar="FILE", help="keep the recording at this path"),
        Arg("--overwrite", action="store_true",
            help="let --keep replace a recorded or imported recording or a history"),
        live.add_view_options,
        help="simulate a run and stream it through the pipeline (the quick start)",
        description="Simulate a two-insole run, write it to a recording, replay it through the "
        "decoder and print the session summary.",
    )
    add_command(
        sub, "simulate", _cmd_simulate,
        Arg("--duration", type=_sim.sim_duration, required=True,
            help="seconds to simulate, at most 604800 (a week)"),
        out_option("recording file to write ('-': stdout); a simulated recording there is "
                   "replaced", what="recording file to write", example="run.insrec"),
        Arg("--truth", type=_sim.output_file("truth table", "truth.csv"), metavar="FILE",
            help="write per-step ground truth to this CSV ('-': stdout)"),
        SEED,
        Arg("--gait", choices=["run", "walk"], default="run", help="default run"),
        Arg("--cadence", type=_sim.gait_value("cadence_spm"),
            help="steps/min, 40..260 (default 170 running, 110 walking)"),
        Arg("--strike", choices=["rearfoot", "midfoot", "forefoot", "mixed"], default="rearfoot",
            help="foot-strike pattern (default rearfoot)"),
        RATE, SENSORS, LOSS, BURST_LOSS,
        Arg("--garbage", type=_sim.garbage_per_min, default=0.0,
            help="garbage insertions per minute per stream, 0..60"),
        DRIFT_PPM,
        Arg("--link", choices=["ble", "serial"], default="ble", help="default ble"),
        Arg("--mass-kg", type=_sim.gait_value("body_mass_kg"), default=70.0, metavar="KG",
            help="body mass in kg, up to 400 (default 70)"),
        Arg("--mass", dest="mass_kg", type=_sim.gait_value("body_mass_kg"),
            default=argparse.SUPPRESS, help=argparse.SUPPRESS),  # the old name, kept working
        Arg("--run-speed-mps", type=_sim.gait_value("speed_mps"), metavar="MPS",
            help="running/walking speed in m/s, up to 12 (default: from the cadence)"),
        Arg("--speed", dest="run_speed_mps", type=_sim.gait_value("speed_mps"),
            default=argparse.SUPPRESS, help=argparse.SUPPRESS),  # old name: m/s here
        Arg("--asymmetry", type=_sim.gait_value("asymmetry_pct"), default=0.0,
            help="right-vs-left force, %%, -90..900"),
        Arg("--fatigue", type=_sim.gait_value("fatigue_pct"), default=0.0,
            help="heel load rise over the run, %%, -90..900"),
        Arg("--stand", type=_sim.stand_duration, default=0.0, metavar="S",
            help="stand still for S seconds before the gait starts (default 0)"),
        Arg("--pronation", type=_sim.gait_value("pronation"), default=0.0,
            help="-1 lateral .. +1 medial load"),
        Arg("--start", type=_iso_time, help="wall-clock start, ISO 8601 (default now)"),
        flag("--json", "print what was written as JSON"),
        overwrite_option("recording and truth table"),
        QUIET,
        help="write a simulated two-insole recording (with ground truth)",
        description="Simulate two insoles (gait model, FSR sensors, firmware and link with "
        "optional faults) and write the bytes a host would receive to a recording. "
        + OVERWRITE_RULE,
    )
    add_command(
        sub, "info", _cmd_info, _RECORDING, JSON, STRICT, QUIET,
        help="describe a recording: duration, sides, frames, losses, damage",
        description="Decode a recording and print what it holds and every data-quality counter.",
    )
    add_command(
        sub, "analyze", _cmd_analyze,
        Arg("paths", nargs="+", type=input_path("a recording or a folder of recordings"),
            metavar="PATH",
            help="recording file (or several, or folders of recordings: a batch)"),
        flag("--json", "print the summary as JSON"),
        Arg("--steps-csv", type=Path, metavar="FILE",
            help="write one row per step to this CSV ('-': stdout, the summary then goes to "
            "stderr)"),
        STRICT,
        overwrite_option("steps table"),
        add_batch_options,
        history.add_analyze_save_options,
        help="detect every step and summarise heel loading of a recording",
        description="Run the signal pipeline over a recording: heel strikes and toe-offs, "
        "per-step load distribution, and the session summary. Several recordings, folders "
        "(searched for *.insrec) or --out-dir make a batch (docs/api.md): combined tables, "
        "local processes (--jobs) or a Dask cluster (--scheduler); exit 1 if some files "
        "could not be analysed. " + OVERWRITE_RULE,
    )
    add_command(
        sub, "replay", _cmd_replay,
        _RECORDING,
        Arg("--speed", type=_speed, default=1.0,
            help="pace factor, e.g. 2, or 'max' (default 1)"),
        LSL, live.add_view_options, STRICT, QUIET,
        help="stream a recording through the decoder at recorded pace",
        description="Replay a recording's bytes through the live decoder at the recorded pace "
        "(or faster): in the live window when run in a terminal with a display (or with "
        "--gui / --screenshot), otherwise print what arrives, once a second of recording time "
        "(with --speed max: at most 100 status lines and a progress bar on a terminal).",
    )
    for module in (devices, imports, live, history, public_data):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``insole`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 for a usage or data error, 130 when interrupted, 141
        (as for SIGPIPE) when the reader of stdout went away, e.g. ``insole analyze FILE |
        head -1``: the command then ends quietly.
    """
    # At exit, the interpreter's last garbage collections walk every object left (numba's
    # typing and target registries alone are some 80,000): about 0.1 s of every command that
    # ran a compiled kernel. Frozen objects are skipped; the process ends right after, and
    # atexit handlers, module teardown and the flush of the standard streams still run (every
    # file the commands write is closed before they return).
    atexit.unregister(gc.freeze)  # once, however often main runs in one process (tests)
    atexit.register(gc.freeze)
    parser = build_parser()
    from insole.commands.imports import import_order_error

    order = import_order_error(sys.argv[1:] if argv is None else list(argv))
    if order:  # ``insole import FILE``: argparse would only say "invalid choice"
        print(f"insole import: error: {order}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    if args.command in _RESULT_COMMANDS:
        _buffer_stdout()
    try:
        status = func(args)
        sys.stdout.flush()  # a broken pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("insole: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        extra = _EXTRA_FOR.get((exc.name or "").split(".")[0], "all")
        print(
            f"insole {args.command}: error: this needs the Python package {exc.name!r}; "
            f"install it with: pip install 'insole[{extra}]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except (InsoleError, ValueError, OSError) as exc:
        # the library's wording for its callers; on the command line the fix is the flag
        message = _one_line(exc).replace("pass overwrite=True", "pass --overwrite")
        if isinstance(exc, InsoleError):
            hint = _foreign_hint(args)
            if hint:
                message = hint
            elif getattr(args, "strict", False) and message.endswith(_STRICT_REFUSAL):
                message += (" — leave out --strict to read past the damage (the frames in it "
                            "are recovered, those lost counted, with one warning line)")
        print(f"insole {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


#: How the recording reader ends its refusal of a damaged recording with ``--strict``.
_STRICT_REFUSAL = "strict reading refuses it"


#: Commands whose stdout is one result, written at the end (not lines as they come).
_RESULT_COMMANDS = frozenset({"analyze", "info", "history", "profile"})

#: Bytes of stdout kept before a write: a Linux pipe's capacity (pipe(7)).
_STDOUT_BUFFER = 65536


def _buffer_stdout() -> None:
    """Write a result command's stdout in one piece when it fits a pipe.

    With ``PYTHONUNBUFFERED`` set (common in containers) every ``print`` is a write of its
    own: ``insole analyze FILE | head -1`` then ended 141 or 0 depending on when ``head``
    exited. A pipe or file gets the output at the end instead (a terminal keeps it as it comes).
    """
    out = sys.stdout
    if out is not sys.__stdout__ or not isinstance(out, io.TextIOWrapper) or not out.write_through:
        return
    try:
        if out.isatty():
            return
        fd = out.fileno()
        out.flush()
    except (AttributeError, OSError, ValueError):
        return
    sys.stdout = io.TextIOWrapper(
        open(fd, "wb", buffering=_STDOUT_BUFFER, closefd=False),
        encoding=out.encoding, errors=out.errors, newline=None,
    )


def _stdout_to_devnull() -> None:
    """Point stdout at devnull, so that the final flush at exit cannot fail again.

    The recipe of the Python documentation (signal module, "Note on SIGPIPE").
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (tests)
        pass


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename:
        folder = Path(str(exc.filename)).parent
        if str(folder) not in ("", ".") and not folder.is_dir():
            return (f"{exc.filename}: the folder {folder} does not exist; check the path, or "
                    "create the folder first")
        return f"{exc.filename}: no such file; check the path"
    if isinstance(exc, IsADirectoryError) and exc.filename:
        return f"{exc.filename}: is a directory; give a file path"
    if isinstance(exc, PermissionError) and exc.filename:
        return (f"{exc.filename}: permission denied; check its permissions (for an output, "
                "choose a folder you may write in)")
    text = str(exc).strip() or type(exc).__name__
    return printable(" ".join(text.split()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
