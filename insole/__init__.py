"""insole: pressure-sensing shoe insoles as an early warning against heel overuse injuries.

The package reads insole data (BLE, serial, recordings, simulator) in one wire protocol
(`firmware_protocol`), records it crash-safely, and analyses heel loading step by step.
Heavy libraries (bleak, pyserial, Qt, numpy, pandas) are imported only by the parts that need
them, so ``import insole`` stays light: the Python API below (`insole.api`, docs/api.md) is
imported on first use.

- ``insole.analyze(path)`` -> `insole.api.Session` (``.steps``, ``.summary``, ``.samples(side)``,
  ``.to_parquet(path)``)
- ``insole.load(path)`` -> `insole.recordings.loader.Recording` (decoded arrays)
- ``insole.open_reader(url)`` -> a live or simulated source (`insole.sources.readers`)
- ``insole.import_file(kind, path, out, ...)`` -> a recording from another system's file
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Session", "__version__", "analyze", "import_file", "load", "open_reader"]

#: Names served by `insole.api`, imported on first access.
_API = frozenset({"Session", "Samples", "analyze", "import_file", "load", "open_reader"})

if TYPE_CHECKING:  # pragma: no cover
    from insole.api import Samples, Session, analyze, import_file, load, open_reader  # noqa: F401


def __getattr__(name: str) -> Any:
    """Import the API (`insole.api`) on first use, keeping ``import insole`` light."""
    if name in _API:
        return getattr(importlib.import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
