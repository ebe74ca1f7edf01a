"""What every subcommand shares: usage errors, the overwrite rule, output paths, safe printing.

`insole.cli` and the subcommand modules beside this one use these, so that every command writes,
refuses and prints the same way (docs: README "Command line conventions").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from insole.errors import InsoleError

__all__ = [
    "OVERWRITE_RULE",
    "UsageError",
    "check_replace",
    "damage_warning",
    "irreplaceable",
    "is_stdout",
    "output_path",
    "printable",
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


def check_replace(path: object, *, overwrite: bool, what: str) -> None:
    """Apply the overwrite rule before a derived output (`what`) is written to `path`.

    Raises
    ------
    UsageError
        If `path` holds irreplaceable data (see `irreplaceable`) and `overwrite` is false.
    """
    if path is None or overwrite or is_stdout(path):
        return
    p = Path(str(path))
    if not p.is_file():
        return
    kind = irreplaceable(p)
    if kind:
        raise UsageError(
            f"{p}: is {kind}, which a {what} does not replace; choose another file name or "
            "pass --overwrite"
        )


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
