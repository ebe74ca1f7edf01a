"""Readers for recordings made by other systems: plain functions returning numpy arrays.

Lives here: one module per format, and `convert`, which writes any of them as a recording.
May import: `firmware_protocol`, `insole.core`, `insole.recordings` and `insole.errors`.

- :mod:`insole.sources.importers.physionet` -- PhysioNet "Gait in Parkinson's Disease"
  (gaitpdb, force insoles) and "Gait Dynamics in Neuro-Degenerative Disease" (gaitndd,
  footswitches with stride annotations).
- :mod:`insole.sources.importers.table` -- whitespace / tab / comma separated text with a header
  (e.g. the Fukuchi et al. 2017 running force-plate files).
- :mod:`insole.sources.importers.pedar` -- novel pedar ASCII exports (99 sensors per insole, kPa).
- :mod:`insole.sources.importers.stappone` -- stAPPone CSV exports (12 raw channels, 62.5 Hz).
- :mod:`insole.sources.importers.moticon` -- Moticon OpenGo text exports (16 sensors, N/cm²,
  100 Hz).
- :mod:`insole.sources.importers.fscan`, :mod:`insole.sources.importers.xsensor` -- Tekscan
  F-Scan ASCII and XSENSOR CSV sensel matrices, merged into region cells.
- :mod:`insole.sources.importers.c3d` -- C3D force plates and insole analog channels (``ezc3d``).
- :mod:`insole.sources.importers.xdf` -- XDF files (LabRecorder) with the streams of ``--lsl``.

Each format also has an ``import_<format>(path, out, ...)`` function that writes the data as an
ordinary recording (:mod:`insole.sources.importers.convert`: protocol-v1 SAMPLES frames, one stream
per foot, a ``linear_v1`` calibration), so lab data goes through the same decoder and pipeline as
live insoles; :mod:`insole.commands.imports` is the ``insole import`` command. The
``import_*`` functions are available from this package too (imported on first use).

Every reader raises :class:`ImportFormatError` (also a :class:`ValueError`) with a one-line
message when a file is missing, of an unknown format or malformed. Text files are decoded by
one rule (`decode_text`, through `read_text`); messages about a line name its line in the file
(`wrong_field_count` for one cut off or damaged); a foot is given in any case (`left_or_right`)
and two devices on one foot are refused where that is meaningless (`one_device_per_foot`).
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import os
import shlex
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from insole.errors import FileError

__all__ = [
    "FORMATS",
    "MAX_SAMPLE_RATE_HZ",
    "MIN_SAMPLE_RATE_HZ",
    "ImportFormatError",
    "decode_text",
    "existing_file",
    "file_error",
    "import_c3d",
    "import_fscan",
    "import_gaitndd",
    "import_gaitpdb",
    "import_moticon",
    "import_pedar",
    "import_stappone",
    "import_table",
    "import_xdf",
    "import_xsensor",
    "is_number",
    "left_or_right",
    "missing_file_error",
    "one_device_per_foot",
    "read_text",
    "strptime_first",
    "unreadable_file_error",
    "wrong_field_count",
]

#: Lowest sampling rate an import accepts [Hz]: a running or walking contact lasts 0.15-0.8 s,
#: so below 1 Hz not even one sample per step is left and the rate is a mistake in the file or
#: the command line (e.g. ``--rate 0.001`` meant as a period).
MIN_SAMPLE_RATE_HZ = 1.0
#: Highest sampling rate an import accepts [Hz]: the wire protocol's frames carry 1 .. 10000 Hz
#: (``firmware_protocol/SPEC.md``, SAMPLES ``sample_rate_hz``).
MAX_SAMPLE_RATE_HZ = 10000.0

#: Formats ``insole import`` reads.
FORMATS: tuple[str, ...] = (
    "gaitpdb", "gaitndd", "table", "pedar", "stappone", "moticon", "fscan", "xsensor", "c3d",
    "xdf",
)

_LAZY = {
    "import_gaitpdb": "physionet",
    "import_gaitndd": "physionet",
    "import_table": "table",
    "import_pedar": "pedar",
    "import_stappone": "stappone",
    "import_moticon": "moticon",
    "import_fscan": "fscan",
    "import_xsensor": "xsensor",
    "import_c3d": "c3d",
    "import_xdf": "xdf",
}


class ImportFormatError(FileError):
    """A file to import is missing, of an unknown format or malformed.

    As `insole.errors.FileError`: one line saying what is wrong with which file and what to
    do; ``path`` is the file concerned.
    """


def missing_file_error(
    path: str | os.PathLike[str], what: str, expected: str, pattern: str | None = None
) -> ImportFormatError:
    """The error for an input path that is not a file: missing, or a directory.

    Parameters
    ----------
    path : str or os.PathLike
        The path given.
    what : str
        What it should be, for the message (``"gaitpdb file"``).
    expected : str
        The kind of file expected, for the message (``"a gaitpdb .txt file"``).
    pattern : str, optional
        Glob of the expected files; for a directory the message names the first match.

    Returns
    -------
    ImportFormatError
        One line naming the path, what is wrong and the fix.
    """
    p = Path(path)
    if p.is_dir():
        example = None
        if pattern is not None:
            with contextlib.suppress(OSError):
                example = next((c for c in sorted(p.glob(pattern)) if c.is_file()), None)
        hint = f", e.g. {str(example)!r}" if example is not None else ""
        return ImportFormatError(
            f"{what} {str(p)!r} is a directory, not a file; give the path of {expected} "
            f"inside it{hint}",
            path=p,
        )
    if p.exists():
        return ImportFormatError(
            f"{what} {str(p)!r} is not a regular file; give the path of {expected}", path=p
        )
    return ImportFormatError(f"{what} {str(p)!r} not found; check the path", path=p)


def existing_file(
    path: str | os.PathLike[str], what: str, expected: str, pattern: str | None = None
) -> Path:
    """`path` as a `Path` if it is a regular file, else `missing_file_error`'s error.

    Parameters
    ----------
    path, what, expected, pattern
        As in `missing_file_error`.

    Returns
    -------
    Path
        The file.

    Raises
    ------
    ImportFormatError
        If `path` is missing, a directory, not a regular file, or not readable (no read
        permission: `unreadable_file_error`).
    """
    p = Path(path)
    if not p.is_file():
        raise missing_file_error(p, what, expected, pattern)
    if not os.access(p, os.R_OK):
        raise unreadable_file_error(p, what)
    return p


def unreadable_file_error(
    path: str | os.PathLike[str], what: str, reason: str = "permission denied"
) -> ImportFormatError:
    """The error for an input file this process may not read (no read permission).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What it is, for the message (``"pedar file"``).
    reason : str
        Why it cannot be read (``"permission denied"``, or the system's words).

    Returns
    -------
    ImportFormatError
        One line naming the file, why and the fix: read permission, or a readable copy.
    """
    p = Path(path)
    return ImportFormatError(
        f"{what} {str(p)!r} cannot be read ({reason}): give your user read permission on it "
        f"(chmod u+r {shlex.quote(str(p))} if the file is yours, else ask its owner)",
        path=p,
    )


def file_error(kind: str, path: Path, what: str, expected: str | None = None) -> ImportFormatError:
    """The one-line error ``<kind> file '<path>': <what> (expected <expected>)``.

    Parameters
    ----------
    kind : str
        The format, as the message names it (``"F-Scan"``).
    path : Path
        The file concerned.
    what : str
        What is wrong with it.
    expected : str, optional
        What such a file looks like; left out of the message when None.

    Returns
    -------
    ImportFormatError
        The error, with `path`.
    """
    hint = f" (expected {expected})" if expected is not None else ""
    return ImportFormatError(f"{kind} file {str(path)!r}: {what}{hint}", path=path)


def is_number(text: str) -> bool:
    """Whether ``float(text)`` parses."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def left_or_right(
    side: str, path: Path | None = None, *, both: bool = False, what: str = "--side"
) -> str:
    """`side` stripped and lower-cased (``Left`` is ``left``), or an error naming the option.

    Parameters
    ----------
    side : str
        The foot as the user wrote it.
    path : Path, optional
        The file being imported, for the error.
    both : bool
        Also accept ``both`` (one force plate under both feet).
    what : str
        The option that gave `side`, for the error.

    Returns
    -------
    str
        ``"left"``, ``"right"`` (or ``"both"``).

    Raises
    ------
    ImportFormatError
        If `side` is none of them.
    """
    name = str(side).strip().lower()
    allowed = ("left", "right", "both") if both else ("left", "right")
    if name not in allowed:
        choices = "left, right or both" if both else "left or right"
        raise ImportFormatError(f"{what} must be {choices}, got {side!r}", path=path)
    return name


def one_device_per_foot(devices: Iterable[tuple[str, str]], path: Path, fix: str) -> None:
    """Refuse two devices on one foot: the analysis would add them up as one foot.

    Parameters
    ----------
    devices : iterable of (str, str)
        ``(name, side)`` of each device, e.g. ``("column 'Fy'", "left")``; side ``"both"``
        (one plate under both feet) takes both feet.
    path : Path
        The file being imported, for the error.
    fix : str
        What to do instead, for the message (``"give one --side per column: ..."``).

    Raises
    ------
    ImportFormatError
        Naming the two devices and the foot they share.
    """
    taken: dict[str, tuple[str, str]] = {}
    for name, side in devices:
        for foot in ("left", "right") if side == "both" else (side,):
            if foot in taken:
                first, first_side = taken[foot]
                where = (f"both on the {foot} foot" if "both" not in (side, first_side)
                         else "on the same foot (one of them is a plate under both feet)")
                raise ImportFormatError(
                    f"{first} and {name} are {where}: the analysis would add them up as one "
                    f"foot; {fix}",
                    path=path,
                )
            taken[foot] = (name, side)


def wrong_field_count(
    line: int, got: int, want: int, *, last: bool, reference: str = "the header has",
    unit: str = "fields",
) -> str:
    """The message for a data line with the wrong number of fields: truncated, or damaged.

    Parameters
    ----------
    line : int
        Its line number in the file (1-based).
    got, want : int
        Fields it has, and fields it should have.
    last : bool
        Whether it is the file's last data line: a short last line is a cut-off file.
    reference : str
        What says `want` (``"the header has"``, ``"line 1 has"``).
    unit : str
        What a field is called (``"fields"``, ``"values"``).

    Returns
    -------
    str
        E.g. ``line 1751 has 29 fields but the header has 53: the file is truncated (its last
        line is cut off); copy or export it again``.
    """
    if last and got < want:
        what = "the file is truncated (its last line is cut off); copy or export it again"
    else:
        what = (f"the file is damaged at line {line} or is not one table; correct or delete "
                "that line, or export the file again")
    return f"line {line} has {got} {unit if got != 1 else unit[:-1]} but {reference} {want}: {what}"


#: Byte-order marks and their codecs; UTF-32 first (its little-endian mark starts like UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(raw: bytes) -> str | None:
    """The text of an export's bytes, by the rule every importer shares; None if not text.

    Parameters
    ----------
    raw : bytes
        The file's content, or its first bytes.

    Returns
    -------
    str or None
        With a byte-order mark: decoded as it says (UTF-8, UTF-16 or UTF-32; what Windows
        "Unicode" saving writes). Without: UTF-8 if it is valid UTF-8, else Windows code page
        1252 (vendor software on Windows writes it; ``²`` is byte B2 as in Latin-1), else
        Latin-1. Leading byte-order marks are dropped (a UTF-8 file converted to UTF-16 keeps
        its own). None for NUL characters in the first 4 kB (a binary file, or UTF-16 without
        a byte-order mark).
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            text = raw[len(bom):].decode(codec, errors="replace").lstrip("\ufeff")
            return None if "\x00" in text[:4096] else text
    if b"\x00" in raw[:4096]:
        return None
    for codec in ("utf-8", "cp1252"):  # cp1252 leaves 5 bytes undefined: then Latin-1
        try:
            return raw.decode(codec).lstrip("\ufeff")
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_text(
    path: Path,
    fail: Callable[[str], ImportFormatError],
    *,
    empty_is_error: bool = False,
) -> str:
    """The text of an export file (`decode_text`), or the importer's one-line error.

    Parameters
    ----------
    path : Path
        A regular file (the caller checked: `missing_file_error`).
    fail : callable
        The importer's error for what is wrong (``"the file is empty"``, ``"not a text
        file ..."``, ``"already an insole recording ..."``).
    empty_is_error : bool
        Refuse a file holding only white space.

    Returns
    -------
    str
        The text (`decode_text`: UTF-8, UTF-16/32 with a byte-order mark, else code page 1252).

    Raises
    ------
    ImportFormatError
        From `fail`: an insole recording, a binary file (NUL bytes in the first 4 kB and no
        byte-order mark), or an empty file (with `empty_is_error`).
    """
    from insole.recordings.container import FILE_MAGIC  # not at import: keep this package light

    try:
        raw = path.read_bytes()
    except PermissionError:  # taken away after `existing_file` looked, or root squashed on NFS
        raise unreadable_file_error(path, "file") from None
    if raw.startswith(FILE_MAGIC):
        raise fail(f"already an insole recording, which needs no import: use it as it is "
                   f"(e.g. insole analyze {path})")
    text = decode_text(raw)
    if text is None:
        raise fail("not a text file (it holds NUL bytes; if it is UTF-16 text without a "
                   "byte-order mark, save it as UTF-8)")
    if empty_is_error and not text.strip():
        raise fail("the file is empty")
    return text


def strptime_first(text: str, formats: Sequence[str]) -> datetime | None:
    """``datetime.strptime`` with the first of `formats` that parses `text`; None if none does."""
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def __getattr__(name: str) -> Any:
    """Import the ``import_*`` functions on first use (keeps this package's import light)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
