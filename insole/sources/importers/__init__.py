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
message when a file is missing, of an unknown format or malformed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from insole.errors import FileError

__all__ = [
    "FORMATS",
    "MAX_SAMPLE_RATE_HZ",
    "MIN_SAMPLE_RATE_HZ",
    "ImportFormatError",
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
    "read_text",
    "strptime_first",
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
        If `path` is missing, a directory or not a regular file.
    """
    p = Path(path)
    if not p.is_file():
        raise missing_file_error(p, what, expected, pattern)
    return p


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


def left_or_right(side: str, path: Path) -> str:
    """`side` stripped and lower-cased; an error naming ``--side`` unless it is left or right."""
    side = str(side).strip().lower()
    if side not in ("left", "right"):
        raise ImportFormatError(f"--side must be left or right, got {side!r}", path=path)
    return side


def read_text(
    path: Path,
    fail: Callable[[str], ImportFormatError],
    *,
    empty_is_error: bool = False,
    latin1_fallback: bool = False,
) -> str:
    """The text of an export file, or the importer's one-line error.

    Parameters
    ----------
    path : Path
        A regular file (the caller checked: `missing_file_error`).
    fail : callable
        The importer's error for ``"the file is empty"`` / ``"not a text file"``.
    empty_is_error : bool
        Refuse a file holding only white space.
    latin1_fallback : bool
        Decode as Latin-1 what is not UTF-8 (Windows exports), instead of replacing the bytes.

    Returns
    -------
    str
        The text, UTF-8 (a byte-order mark dropped).

    Raises
    ------
    ImportFormatError
        From `fail`: an empty file (with `empty_is_error`), or a NUL byte in the first 4 kB.
    """
    raw = path.read_bytes()
    if empty_is_error and not raw.strip():
        raise fail("the file is empty")
    if b"\x00" in raw[:4096]:
        raise fail("not a text file")
    if not latin1_fallback:
        return raw.decode("utf-8-sig", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # Windows exports: code page 1252, close enough to Latin-1
        return raw.decode("latin-1")


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
