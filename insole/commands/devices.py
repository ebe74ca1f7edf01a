"""The device commands of the ``insole`` CLI: ``record``, ``emulate serial`` and ``scan``.

`add_parsers` adds them to the main parser's subcommands (``insole/cli.py`` calls it from its
``build_parser``); each handler ``_cmd_xxx(args) -> int`` returns the exit status. Errors the
user can fix are raised as `insole.errors.InsoleError` subclasses, which the main CLI prints as
one line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from insole.commands.common import (
    BURST_LOSS,
    DRIFT_PPM,
    JSON,
    LOSS,
    LSL,
    RATE,
    SEED,
    SENSORS,
    Arg,
    add_command,
    add_group,
    flag,
    out_option,
    simulated_insoles,
    stop_on_signals,
)
from insole.commands.types import garbage_per_min as _garbage_per_min
from insole.commands.types import positive_float as _positive
from insole.commands.types import speed as _speed

__all__ = ["add_parsers"]


def _pause(text: str) -> tuple[float, float]:
    start, sep, dur = text.partition(":")
    try:
        a, b = float(start), float(dur)
    except ValueError:
        a = b = -1.0
    if not sep or a < 0 or b <= 0:
        raise argparse.ArgumentTypeError(
            f"expected START:DURATION in seconds, e.g. 5:1.5, got {text!r}"
        )
    return a, b


# -- handlers --------------------------------------------------------------------------------


def _emulate(run_cli: Callable[..., int], emulator: object, args: argparse.Namespace) -> int:
    """Run an emulator's ``run_cli`` until it ends or Ctrl-C / SIGTERM, with ``--report``."""
    from pathlib import Path

    from insole.commands.common import UsageError, check_replace, not_writable

    report = None if args.report == "-" else args.report  # '-': the report is on stdout anyway
    if report is not None:
        # Checked before the emulator runs, not when it writes the report at its end.
        check_replace(report, overwrite=False, what="report", can_overwrite=False)
        path = Path(report)
        if path.is_dir():
            raise UsageError(f"--report {report}: is a folder; give a file name")
        where = path if path.exists() else path.parent if str(path.parent) else Path(".")
        if not where.is_dir() and not path.exists():
            raise UsageError(f"--report {report}: folder {where} does not exist; create it "
                             "or give another file name")
        why = not_writable(where)
        if why:
            raise UsageError(f"--report {report}: cannot write it ({why}); give another file "
                             "name")
    with stop_on_signals() as stop:
        return run_cli(emulator, stop=stop, report_path=report)


def _cmd_record(args: argparse.Namespace) -> int:
    import json

    from insole.commands.common import UsageError, check_replace, is_stdout, source_file
    from insole.commands.record import record

    if is_stdout(args.out):
        raise UsageError("record writes the recording as it streams, so it needs a file: give "
                         "--out FILE (then 'insole info FILE' or 'insole analyze FILE')")
    # a file: source is read while the recording is written: never the same file
    check_replace(args.out, overwrite=True, what="recording",
                  not_same_as=[(source_file(args.source), "the recording read (file:)")])
    if args.out.exists() and not args.overwrite:
        raise UsageError(f"{args.out}: file already exists; a recording is not replaced without "
                         "--overwrite: choose a new file name or pass --overwrite")
    with stop_on_signals() as stop:
        summary = record(
            args.source,
            args.out,
            duration_s=args.duration,
            stop=stop,
            status=None if args.quiet else sys.stderr,
            notes=args.notes,
            overwrite=args.overwrite,
            lsl=args.lsl,
        )
    if args.json:
        print(json.dumps(summary.as_dict()))
    return 0


def _cmd_emulate_serial(args: argparse.Namespace) -> int:
    from insole.commands.common import UsageError
    from insole.sources.devices.serial_device import EmulatorConfig, check_link_path, run_cli

    if args.link:
        try:
            check_link_path(args.link)
        except OSError as exc:
            raise UsageError(str(exc)) from None

    config = EmulatorConfig(
        rate_hz=args.rate,
        pauses=tuple(args.pause or ()),
        unplug_every_s=args.unplug_every,
        unplug_for_s=args.unplug_for,
        duration_s=args.duration,
        link_path=str(args.link) if args.link else None,
        wait_for_start=not args.no_wait,
        stamp_send_time=args.stamp_send_time,
        **simulated_insoles(args),
    )
    return _emulate(run_cli, config, args)


def _cmd_emulate_moticon_udp(args: argparse.Namespace) -> int:
    from insole.sources.devices.moticon_udp import MoticonEmulator, run_cli

    emulator = MoticonEmulator(
        port=args.port, source=args.source, loss=args.loss, speed=args.speed,
        duration_s=args.duration, seed=args.seed, columns=args.columns,
    )
    return _emulate(run_cli, emulator, args)


def _cmd_scan(args: argparse.Namespace) -> int:
    try:
        ble = importlib.import_module("insole.sources.readers.ble")
    except ModuleNotFoundError as exc:
        if exc.name not in ("insole.sources.readers.ble", "bleak"):
            raise
        what = "the bleak package (pip install 'insole[ble]')" if exc.name == "bleak" else (
            "BLE support (insole.sources.readers.ble)"
        )
        print(f"insole scan: error: {what} is not available; scanning needs it", file=sys.stderr)
        return 2
    scan: Callable[[argparse.Namespace], int] | None = getattr(ble, "scan_command", None)
    if scan is None:
        print("insole scan: error: insole.sources.readers.ble has no scan_command()",
              file=sys.stderr)
        return 2
    return int(scan(args))


# -- parsers ---------------------------------------------------------------------------------


#: ``--report`` of the emulators.
_REPORT = Arg("--report", metavar="FILE", help="also write the JSON report to FILE (it is always "
              "the last line of stdout; '-' writes nothing more)")


def add_parsers(sub: Any) -> None:
    """Add ``record``, ``emulate`` (``emulate serial``) and ``scan`` to the main CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The object returned by the main parser's ``add_subparsers``.
    """
    add_command(
        sub, "record", _cmd_record,
        Arg("source", help="source URL, e.g. sim: or serial:/dev/ttyUSB0"),
        out_option("recording file to create", what="recording file to create",
                   example="run.insrec"),
        Arg("--duration", type=_positive, help="seconds to record (default: until Ctrl-C)"),
        Arg("--notes", help="free text stored in the header"),
        flag("--overwrite", "replace an existing file (a recording is never replaced without it)"),
        flag("--quiet", "no status line or summary on stderr"),
        flag("--json", "print the summary as JSON on stdout"),
        LSL,
        help="record a source (sim:, serial:PORT, ble:, file:) to a file while it streams",
        description="Record the raw wire bytes of a source as they stream, with a live status "
        "line. Ctrl-C (or SIGTERM) stops cleanly and leaves the file intact. Sources: "
        "sim:[?rate=200&seed=3...], serial:PORT[?baud=1000000], ble:[NAME,...], "
        "file:PATH[?speed=max], moticon-udp:[HOST:]PORT (see docs/readers.md).",
    )

    emu = add_group(
        sub, "emulate", dest="device", metavar="DEVICE",
        help="emulated insole devices for development and tests",
        description="Emulated insole devices: the wire protocol (serial) or a Moticon OpenGo UDP "
        "stream (moticon-udp).",
    )
    add_command(
        emu, "serial", _cmd_emulate_serial,
        RATE, SENSORS, SEED, LOSS, BURST_LOSS.but(help="burst loss fraction"),
        Arg("--garbage", type=_garbage_per_min, default=0.0, metavar="PER_MIN",
            help="garbage insertions per minute, 0..60 (as for insole simulate)"),
        DRIFT_PPM,
        Arg("--pause", type=_pause, action="append", metavar="START:DUR",
            help="link stall at START s for DUR s (repeatable)"),
        Arg("--unplug-every", type=_positive, metavar="S",
            help="unplug the device every S seconds"),
        Arg("--unplug-for", type=_positive, default=1.0, metavar="S",
            help="seconds it stays unplugged (default 1)"),
        Arg("--link", type=Path, metavar="PATH",
            help="stable symlink to the pty, re-pointed after each replug (default with "
            "--unplug-every: $TMPDIR/insole-serial-PID)"),
        Arg("--duration", type=_positive, help="seconds to stream (default: until Ctrl-C)"),
        flag("--no-wait", "stream as soon as a host opens the port, without waiting for START"),
        flag("--stamp-send-time", "set each frame's device time to the host monotonic clock at "
             "writing (latency measurements)"),
        _REPORT,
        help="a pty serial device streaming two simulated insoles",
        description="Create a pty, print its path (first line of stdout) and stream two "
        "simulated insoles in the wire protocol in real time, with optional faults. The "
        "device waits for a host's START command (sent by 'insole record serial:PATH'). At "
        "the end a JSON report of the faults injected is the last line of stdout.",
    )
    add_command(
        emu, "moticon-udp", _cmd_emulate_moticon_udp,
        Arg("--port", type=int, required=True, help="UDP port on 127.0.0.1"),
        Arg("--from", dest="source", type=Path, metavar="FILE",
            help="OpenGo text export or recording to send (default: the simulator)"),
        LOSS.but(help="drop each datagram with this probability (not the first or last)"),
        Arg("--speed", type=_speed, default=1.0,
            help="pace relative to real time, or 'max' (default 1)"),
        Arg("--duration", type=_positive, metavar="S",
            help="seconds of data: the simulator's length (default 60), or repeat a file up to "
            "it (default: once)"),
        SEED.but(help="random seed (loss, simulator)"),
        Arg("--columns", metavar="NAMES", help="comma-separated column order (see "
            "docs/readers.md)"),
        _REPORT,
        help="Moticon OpenGo UDP output on 127.0.0.1 (an export, a recording or simulated)",
        description="Send one datagram per sample to 127.0.0.1:PORT as the OpenGo desktop "
        "software does (whitespace-separated numbers, default column order: time, then per "
        "side acceleration, angular rate, centre of pressure, 16 pressures, total force). "
        "Receive with 'insole record moticon-udp:PORT'. A JSON report (datagrams sent and "
        "dropped) is the last line of stdout.",
    )

    add_command(
        sub, "scan", _cmd_scan,
        Arg("--timeout", type=_positive, default=5.0, help="seconds (default 5)"),
        JSON,
        help="list nearby BLE insoles (name, address, side, RSSI, battery)",
        description="Scan for insoles advertising the insole service (needs bleak).",
    )
