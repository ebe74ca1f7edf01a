"""Readers for recordings made by other systems: plain functions returning numpy arrays.

- :mod:`insole.importers.physionet` -- PhysioNet "Gait in Parkinson's Disease" (gaitpdb, force
  insoles) and "Gait Dynamics in Neuro-Degenerative Disease" (gaitndd, footswitches with
  stride annotations).
- :mod:`insole.importers.table` -- whitespace / tab / comma separated text with a header
  (e.g. the Fukuchi et al. 2017 running force-plate files).
- :mod:`insole.importers.pedar` -- novel pedar ASCII exports (99 sensors per insole, kPa).
- :mod:`insole.importers.stappone` -- stAPPone CSV exports (12 raw channels, 62.5 Hz).

Each format also has an ``import_<format>(path, out, ...)`` function that writes the data as an
ordinary recording (:mod:`insole.importers.convert`: protocol-v1 SAMPLES frames, one stream per
foot, a ``linear_v1`` calibration), so lab data goes through the same decoder and pipeline as
live insoles; :mod:`insole.importers.commands` is the ``insole import`` command. The
``import_*`` functions are available from this package too (imported on first use).

Every reader raises :class:`ImportFormatError` (also a :class:`ValueError`) with a one-line
message when a file is missing, of an unknown format or malformed.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

try:  # errors.py belongs to the package core; keep importers usable on their own
    from insole.errors import InsoleError as _ErrorBase
except ImportError:  # pragma: no cover
    _ErrorBase = Exception  # type: ignore[assignment,misc]

__all__ = [
    "FORMATS",
    "ImportFormatError",
    "import_gaitndd",
    "import_gaitpdb",
    "import_pedar",
    "import_stappone",
    "import_table",
]

#: Formats ``insole import`` reads.
FORMATS: tuple[str, ...] = ("gaitpdb", "gaitndd", "table", "pedar", "stappone")

_LAZY = {
    "import_gaitpdb": "physionet",
    "import_gaitndd": "physionet",
    "import_table": "table",
    "import_pedar": "pedar",
    "import_stappone": "stappone",
}


class ImportFormatError(_ErrorBase, ValueError):  # type: ignore[valid-type,misc]
    """A file to import is missing, of an unknown format or malformed.

    Parameters
    ----------
    message : str
        One line: what is wrong with which file, and what to do.
    path : str or os.PathLike or None
        The file concerned.

    Attributes
    ----------
    path : str or os.PathLike or None
        The file concerned.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = path


def __getattr__(name: str) -> Any:
    """Import the ``import_*`` functions on first use (keeps ``import insole.importers`` light)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
