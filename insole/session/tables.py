"""The steps table as columns, a DataFrame or a structured array; a plate's summary relabelled.

What `insole.api` (``Session.steps``) and ``insole batch`` (its combined table) both build from
an analysis, and `require`, which names the ``pip install`` for an optional library.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from insole.errors import InsoleError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "LAB_EXTRA",
    "PLATE_BLANK_COLUMNS",
    "MissingExtraError",
    "is_plate",
    "plate_columns",
    "plate_summary",
    "require",
    "steps_array",
    "steps_columns",
    "steps_frame",
]

#: How to install the optional libraries of the lab workflows (pandas, pyarrow, dask, tqdm).
LAB_EXTRA = "pip install 'insole[lab]'"

class MissingExtraError(InsoleError, ImportError):
    """An optional library is not installed; the message names the ``pip install`` to run."""


def require(module: str, what: str) -> Any:
    """Import an optional library, or raise `MissingExtraError` naming the lab extra.

    Parameters
    ----------
    module : str
        Module to import (``"pyarrow.parquet"``).
    what : str
        What needs it, for the message (``"writing parquet"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingExtraError
        If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{what} needs the Python package {module.split('.')[0]!r}; install it with: "
            f"{LAB_EXTRA}"
        ) from exc


# --- the steps table as columns, DataFrame or structured array --------------------------------


def steps_columns(table: Any) -> dict[str, np.ndarray]:
    """The steps table as one array per column, in the order of ``--steps-csv``.

    Parameters
    ----------
    table : StepsTable
        ``SessionAnalysis(...).run(path).steps_``.

    Returns
    -------
    dict of str to ndarray
        `insole.core.summary.STEP_COLUMNS` in order: ``side`` and ``strike_pattern`` as str
        arrays, ``number`` int64, ``has_gap`` and ``toe_off_valid`` bool, the rest float64
        (NaN = not available, an empty cell in the CSV).
    """
    import numpy as np

    from insole.core.summary import STEP_COLUMNS

    out: dict[str, np.ndarray] = {}
    for name in STEP_COLUMNS:
        col = np.asarray(table.column(name))
        if col.dtype == object:
            col = col.astype(str) if len(col) else np.zeros(0, "U1")
        out[name] = col
    return out


#: Steps-table columns that say "heel" but hold the whole force of a plate under both feet,
#: and its "pressure" (the whole force over an assumed insole area: a plate has no sensor
#: area): blank (NaN) for such a plate, as in ``insole analyze --steps-csv``.
PLATE_BLANK_COLUMNS = ("heel_peak_n", "heel_impulse_ns", "whole_foot_peak_kpa")

#: Summary keys whose ``left`` entry is, for a plate under both feet, the plate.
_PLATE_SIDE_KEYS = ("steps", "regional_share_pct", "per_side", "gap_samples", "gap_s_per_side",
                    "invalid_s")


def is_plate(header: Mapping[str, Any] | None) -> bool:
    """Whether a recording header is one force plate under both feet.

    As `insole.session.analysis.summarise_session` decides it (``plate_under_both_feet`` in a
    device entry or in ``extra.import``): ``insole import table --side both``, a C3D plate.
    Its one stream is stored as the left device and its one sensor covers the whole foot, so
    its consecutive contacts are steps of alternating feet and it has no heel region.

    Parameters
    ----------
    header : mapping, optional
        The recording header (``devices``, ``extra``), or a reader's.

    Returns
    -------
    bool
    """
    if not isinstance(header, Mapping):
        return False
    devices = header.get("devices") or []
    if any(isinstance(d, Mapping) and d.get("plate_under_both_feet") for d in devices):
        return True
    extra = header.get("extra") or {}
    imported = extra.get("import") if isinstance(extra, Mapping) else None
    return isinstance(imported, Mapping) and bool(imported.get("plate_under_both_feet"))


def plate_columns(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Steps columns of one force plate under both feet: side ``both``, no heel figures.

    The plate's single stream is stored as a left device (the protocol knows two feet) and
    its one sensor covers the whole foot, so ``side`` would say ``left`` and the heel columns
    would repeat the whole-foot force. As in ``insole analyze --steps-csv``, ``side`` becomes
    ``both`` and `PLATE_BLANK_COLUMNS` NaN; ``peak_force_n``, ``impulse_ns`` and the timing
    columns are what the plate measures.

    Parameters
    ----------
    columns : mapping of str to ndarray
        `steps_columns` of the plate's steps table.

    Returns
    -------
    dict of str to ndarray
        The same columns, relabelled (the input is not changed).
    """
    import numpy as np

    out = dict(columns)
    if "side" in out:
        out["side"] = np.full(len(out["side"]), "both")
    for name in PLATE_BLANK_COLUMNS:
        if name in out:
            out[name] = np.full(len(out[name]), np.nan)
    return out


def plate_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A session summary labelled as one force plate under both feet, if it is one.

    For a summary with ``plate_under_both_feet`` (``insole import table --side both``, a C3D
    force plate): the per-side entries (``steps``, ``regional_share_pct``, ``per_side``,
    ``gap_samples``) are keyed ``both`` instead of ``left``; the contacts' peak force moves
    from ``heel_peak_n`` to ``peak_force_n`` (median, p10, p90 per contact); ``heel_peak_n``'s
    values, ``heel_impulse_ns``, ``heel_load_trend`` and the per-side heel figures become
    None, as the heel columns of the steps table are blank. Any other summary is returned as
    it is.

    Parameters
    ----------
    summary : dict
        ``SessionAnalysis(...).run(path).summary_`` (what ``insole analyze --json`` prints).

    Returns
    -------
    dict
        A new dict for a plate (the input is not changed), else `summary` itself.
    """
    if not summary.get("plate_under_both_feet"):
        return summary
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in _PLATE_SIDE_KEYS and isinstance(value, dict):
            value = {("both" if k == "left" else k): v for k, v in value.items()}
            if key == "per_side" and isinstance(value.get("both"), dict):
                value["both"] = {**value["both"], **dict.fromkeys(PLATE_BLANK_COLUMNS)}
                counts = value["both"].get("steps_with_value")
                if isinstance(counts, dict):  # the blank heel columns have no value
                    value["both"]["steps_with_value"] = {
                        k: 0 if k in PLATE_BLANK_COLUMNS else n for k, n in counts.items()
                    }
        elif key == "heel_peak_n" and isinstance(value, dict):
            out["peak_force_n"] = value  # the plate's one sensor is the whole foot
            value = dict.fromkeys(value)
        elif key in ("heel_impulse_ns", "heel_load_trend"):
            value = None
        out[key] = value
    return out


def steps_frame(columns: Mapping[str, np.ndarray]) -> Any:
    """The steps columns as a pandas DataFrame, or a numpy structured array without pandas."""
    try:
        import pandas as pd
    except ImportError:
        return steps_array(columns)
    return pd.DataFrame({k: v if v.dtype.kind != "U" else v.astype(object)
                         for k, v in columns.items()})


def steps_array(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """The steps columns as a numpy structured array (one field per column)."""
    import numpy as np

    n = len(next(iter(columns.values()))) if columns else 0
    dtype = [(k, v.dtype if v.dtype.kind != "U" else f"U{max(v.dtype.itemsize // 4, 1)}")
             for k, v in columns.items()]
    out = np.empty(n, dtype=dtype)
    for k, v in columns.items():
        out[k] = v
    return out
