"""What every subcommand shares: usage errors, the overwrite rule, output paths, safe printing.

`insole.cli` and the subcommand modules beside this one use these, so that every command writes,
refuses and prints the same way (README, "Commands" and its "Conventions"). The arguments several
commands take (``--json``, ``--quiet``, ``--strict``, ``--out``, ``--overwrite``, ...) are
declared here once, as `Arg`; `add_command` declares a subcommand with its arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from insole.commands.types import drift_ppm, fraction, output_file, sample_rate, seed, sensors
from insole.errors import InsoleError

__all__ = [
    "BURST_LOSS",
    "DRIFT_PPM",
    "JSON",
    "LOSS",
    "LSL",
    "OVERWRITE_RULE",
    "QUIET",
    "RATE",
    "SEED",
    "SENSORS",
    "STRICT",
    "Arg",
    "UsageError",
    "add_command",
    "add_group",
    "check_replace",
    "damage_warning",
    "flag",
    "history_files",
    "irreplaceable",
    "is_stdout",
    "json_or_stdout",
    "not_writable",
    "out_option",
    "output_path",
    "overwrite_option",
    "printable",
    "simulated_insoles",
    "source_file",
    "stop_on_signals",
]

#: The one overwrite rule, in every ``--help`` that writes a file (and in the README).
OVERWRITE_RULE = (
    "Irreplaceable data (recordings of live sources, imported recordings, the history) is "
    "never replaced without --overwrite; derived outputs (reports, CSV/JSON tables, simulated "
    "recordings) are replaced. '-' as a file writes to stdout."
)


class UsageError(InsoleError, ValueError):
    """A command-line value that is not usable; the message says how to fix it."""


def is_stdout(path: object) -> bool:
    """True for ``-``: the output goes to stdout."""
    return path is not None and str(path) == "-"


@contextlib.contextmanager
def output_path(path: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """The path a writer should write to; for ``-`` a temporary file copied to stdout at the end.

    Library writers take a path; with ``-`` they write a temporary file whose bytes go to
    stdout once the block ends without an error (nothing is printed after an error).

    Parameters
    ----------
    path : path-like
        The output given on the command line.
    suffix : str
        Suffix of the temporary file (``.csv``, ``.html``, ``.insrec``).
    """
    if not is_stdout(path):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="insole-stdout-") as folder:
        tmp = Path(folder) / f"stdout{suffix}"
        yield tmp
        sys.stdout.flush()
        with open(tmp, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def json_or_stdout(args: Any, *flags: str) -> None:
    """Refuse ``--json`` together with a file written to stdout (``-``): one stdout.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line, with ``json``.
    *flags : str
        The options naming output files, e.g. ``"--out"``.

    Raises
    ------
    UsageError
        If one of them is ``-`` and ``--json`` is given, or several of them are ``-``.
    """
    named = [f for f in flags if is_stdout(getattr(args, f.lstrip("-").replace("-", "_"), None))]
    if named and args.json:
        raise UsageError(f"{named[0]} - and --json both write to stdout; give {named[0]} a file "
                         "name or leave out --json")
    if len(named) > 1:
        raise UsageError(f"{' and '.join(named)} cannot both write to stdout ('-'); give one "
                         "of them a file name")


def irreplaceable(path: Path) -> str | None:
    """What irreplaceable data `path` holds (a live or imported recording, a history), or None.

    A simulated recording (header source ``sim``) can be made again from its seed and is not
    irreplaceable; anything that is not a recording or a SQLite database is not either.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(b"SQLite format 3\x00"):
        return "a database (the training history?)"
    from insole.recordings.container import FILE_MAGIC, read_header

    if not head.startswith(FILE_MAGIC):
        return None
    try:
        source = str(read_header(path).get("source") or "")
    except InsoleError:
        return "a recording"
    if source == "sim":
        return None
    return f"a recording of {source}" if source else "a recording"


def check_replace(
    path: object,
    *,
    overwrite: bool,
    what: str,
    not_same_as: Iterable[tuple[object, str]] = (),
    can_overwrite: bool = True,
) -> None:
    """Apply the overwrite rule before a derived output (`what`) is written to `path`.

    ``not_same_as`` holds ``(other path, what it is)`` pairs: the command's inputs and its
    other outputs. An output on one of them is refused even with `overwrite`: it would
    destroy what the command reads, or another of its outputs. Inputs include what a command
    reads without being given its path: the history database (`history_files`) and the
    recording a saved session refers to.

    With `can_overwrite` false the output never replaces irreplaceable data and the message
    does not offer ``--overwrite`` (a screenshot; a command without the flag).

    Raises
    ------
    UsageError
        If `path` is one of ``not_same_as``, or holds irreplaceable data (see `irreplaceable`)
        and `overwrite` is false.
    """
    if path is None or is_stdout(path):
        return
    from insole.sources.importers.convert import same_file

    p = Path(str(path))
    for other, role in not_same_as:
        if other is not None and not is_stdout(other) and same_file(p, Path(str(other))):
            raise UsageError(f"{p}: is also {role}; the {what} would replace it: choose "
                             "another file name")
    if overwrite and can_overwrite:
        return
    if not p.is_file():
        return
    kind = irreplaceable(p)
    if kind:
        raise UsageError(
            f"{p}: is {kind}, which a {what} does not replace; choose another file name"
            + (" or pass --overwrite" if can_overwrite else "")
        )


def history_files(db: object) -> list[tuple[object, str]]:
    """The history database `db` (None: the default one) and its journal, as inputs.

    ``not_same_as`` pairs for `check_replace`: a command that reads or writes the history
    (``--db``, ``--save``, the profile an ``analyze`` summary uses) never writes an output
    over it, nor over SQLite's ``-wal`` and ``-shm`` files beside it.
    """
    from insole.session.history import default_db_path

    p = Path(str(db)) if db is not None else default_db_path()
    return [
        (p, "the history database"),
        *((p.with_name(p.name + end), f"the history database's {end} file")
          for end in ("-wal", "-shm")),
    ]


def not_writable(path: str | os.PathLike[str]) -> str | None:
    """Why `path` (a folder to create files in, or a file) cannot be written, or None.

    ``"read-only file system"`` or ``"permission denied"``, for a message that says what
    could not be created and how to fix it.
    """
    if os.access(path, os.W_OK):
        return None
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows), or the path is gone
        read_only = False
    return "read-only file system" if read_only else "permission denied"


def source_file(source: object) -> Path | None:
    """The recording a ``file:PATH`` source reads (an input of the command), else None."""
    from insole.sources.readers import parse_source

    try:
        src = parse_source(str(source))
    except (InsoleError, ValueError):
        return None
    return Path(src.target) if src.scheme == "file" and src.target else None


def printable(value: object) -> str:
    r"""Text safe to print on a terminal: control and formatting characters escaped.

    Strings from a file (a recording header's ``source``, a device name) may hold terminal
    escape sequences (ESC, CSI), bell, backspace, carriage return or bidirectional overrides
    that would change what the terminal shows. Each such character (Unicode categories Cc,
    Cf, Zl, Zp, Cs) is printed as a Python escape: ``\x1b``, ``\u202e``.

    Parameters
    ----------
    value : object
        Anything; converted with `str`.

    Returns
    -------
    str
        The text with every control and formatting character escaped.
    """
    text = str(value)
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _UNSAFE else ch for ch in text)


_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else (
        f"\\U{code:08x}")


def damage_warning(path: object, damages: Sequence[Any], frames_lost: int | None) -> str | None:
    """The one-line warning about damage read past in a recording, or None if there is none.

    Parameters
    ----------
    path : path-like
        The recording.
    damages : sequence of Damage or of dict
        The damage met (`insole.recordings.container.Damage`, or its ``as_dict()`` form from a
        summary).
    frames_lost : int or None
        Frames lost in the recording, all causes (damage and link), if known.

    Returns
    -------
    str or None
        ``"<path> is damaged: <first damage>[ (and N more damaged places)]; <n> bytes
        skipped[, <n> frames lost in all]; read past the damage (--strict refuses damaged
        files)"``.
    """
    if not damages:
        return None
    items = [d if isinstance(d, dict) else d.as_dict() for d in damages]
    more = f" (and {len(items) - 1} more damaged places)" if len(items) > 1 else ""
    lost = "" if frames_lost is None else f", {frames_lost} frames lost in all"
    return printable(
        f"{path} is damaged: {items[0]['reason']}{more}; "
        f"{sum(d['bytes_skipped'] for d in items)} bytes skipped{lost}; read past the damage "
        "(--strict refuses damaged files)"
    )


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT / SIGTERM for the duration of the block (main thread only)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


# --- declaring commands: one definition of each argument every parser shares -----------------

#: What adds arguments to a parser: an `Arg`, or a function such as ``add_view_options``.
Adder = Callable[[argparse.ArgumentParser], object]


class Arg:
    """One command-line argument, declared once and added to every parser that takes it.

    Parameters
    ----------
    *flags : str
        Its name (``"file"``) or flags (``"--out"``).
    **settings
        The keyword arguments of `argparse.ArgumentParser.add_argument` (``type``, ``help``...).
    """

    def __init__(self, *flags: str, **settings: Any) -> None:
        self.flags = flags
        self.settings = settings

    def __call__(self, parser: argparse.ArgumentParser) -> None:
        """Add the argument to `parser`."""
        parser.add_argument(*self.flags, **self.settings)

    def but(self, **changes: Any) -> Arg:
        """The same argument with some settings changed, e.g. ``JSON.but(help=...)``."""
        return Arg(*self.flags, **{**self.settings, **changes})


def flag(name: str, help: str) -> Arg:
    """An on/off option (``action="store_true"``)."""
    return Arg(name, action="store_true", help=help)


def out_option(help: str, *, what: str, example: str) -> Arg:
    """The required ``--out FILE``, `help` saying what is written there.

    The value is refused in one line when it is a folder or its folder does not exist
    (`insole.commands.types.output_file`: the message names `what`, e.g. ``"recording file
    to create"``, and suggests `example` inside a folder given instead), before the command
    starts.
    """
    return Arg("--out", type=output_file(what, example), required=True, metavar="FILE",
               help=help)


def overwrite_option(what: str, *, others: bool = True) -> Arg:
    """``--overwrite`` of a command whose output `what` is derived (`check_replace`).

    With `others`, the help adds that other existing files are replaced anyway.
    """
    return flag(
        "--overwrite",
        f"let the {what} replace irreplaceable data too (a recording of a live source or an "
        "import, a history database)" + ("; other existing files are replaced anyway"
                                         if others else ""),
    )


JSON = flag("--json", "print JSON")
QUIET = flag("--quiet", "no progress bar (it is drawn on stderr only when that is a terminal)")
STRICT = flag(
    "--strict",
    "refuse a damaged recording (one-line error, exit 2); by default the damage is read past, "
    "reported in one warning line on stderr",
)
LSL = flag("--lsl", "also publish the insoles and step events on the Lab Streaming Layer "
           "(docs/lsl.md; needs insole[formats])")

# the simulated insoles and their link (``simulate``, ``emulate serial``); the ranges are
# `insole.sources.sim.limits`, which ``sim:`` URLs share
SEED = Arg("--seed", type=seed, default=0, help="random seed, 0..2^32-1 (default 0)")
RATE = Arg("--rate", type=sample_rate, default=200,
           help="sample rate in Hz, 10..2000 (default 200)")
SENSORS = Arg("--sensors", type=sensors, default=16, help="sensors per insole, 4..64 (default 16)")
LOSS = Arg("--loss", type=fraction, default=0.0, help="random frame loss fraction")
BURST_LOSS = Arg("--burst-loss", type=fraction, default=0.0, help="burst frame loss fraction")
DRIFT_PPM = Arg("--drift-ppm", type=drift_ppm, default=0.0,
                help="right-vs-left clock drift in ppm, -1000..1000 (Bluetooth allows each "
                "clock ±500 ppm)")


def simulated_insoles(args: Any) -> dict[str, Any]:
    """What `SEED`, `SENSORS`, `LOSS`, `BURST_LOSS`, ``--garbage`` and `DRIFT_PPM` ask for.

    Keyword arguments of both `insole.commands.simulate.SimulationRequest` and the serial
    emulator's ``EmulatorConfig`` (`RATE` goes by a different name in each).
    """
    return {"seed": args.seed, "n_sensors": args.sensors, "loss": args.loss,
            "burst_loss": args.burst_loss, "garbage_per_min": args.garbage,
            "drift_ppm": args.drift_ppm}


def add_command(
    sub: Any, name: str, func: Callable[[argparse.Namespace], int], *args: Adder, help: str,
    description: str,
) -> argparse.ArgumentParser:
    """Add the subcommand `name`, run by `func`, with the arguments `args` in this order.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        What the parent parser's ``add_subparsers`` returned.
    name : str
        The subcommand.
    func : callable
        Its handler: ``func(args) -> exit status``.
    *args : Arg or callable
        What adds its arguments (`Adder`).
    help, description : str
        Its line in the parent's ``--help``, and the text of its own.

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description)
    for add in args:
        add(parser)
    parser.set_defaults(func=func)
    return parser


def add_group(sub: Any, name: str, *, dest: str, metavar: str, help: str, description: str) -> Any:
    """Add the subcommand `name` whose own subcommands (required) are added to what it returns.

    `dest` is the attribute naming the chosen one, `metavar` its name in ``--help``.
    """
    parser = sub.add_parser(name, help=help, description=description)
    group = parser.add_subparsers(dest=dest, metavar=metavar, parser_class=type(parser))
    group.required = True
    return group
