"""The steps table and the session summary, built from the pipeline's steps.

Cross-side timing (step time, flight time) needs both feet, so it is derived here from the full
set of steps sorted by time, not inside the per-side streaming path; the result is the same
whatever order the sides' steps arrived in.

Notes
-----
- Cadence: 120 / median stride time [steps/min] (two steps per stride).
- Symmetry index per metric: ``SI = 100 · (right − left) / mean(left, right)`` of the per-side
  medians. Healthy trained runners differ by about 0.6 % in contact time, 3.2 % in peak force and
  5.3 % in loading rate (Girard et al. 2019); insole flags compare against the runner's own
  baseline (training history), not against these numbers. ``per_side[side]["steps_with_value"]``
  says how many steps each side's median rests on (a loading-rate index needs an impact peak,
  so a walk may have it on a handful of steps only); the plain-words faces leave out a
  left/right comparison with fewer than `insole.session.plain.MIN_SYMMETRY_STEPS` steps on a
  side, which explains the number.
- Within-session heel-load trend: median heel peak force of the last `TREND_WINDOW_S` against
  the first (or the first/last fifth of shorter sessions): a drift up is the fatigue pattern
  docs/domain.md "Warnings" describes (experimental).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from insole.core.layouts import REGIONS
from insole.core.pipeline import StepBatch, StepRecord

__all__ = [
    "STEP_COLUMNS",
    "TREND_WINDOW_S",
    "StepAccumulator",
    "StepsTable",
    "session_summary",
    "steps_table",
]

#: Length of the first and last windows compared for the heel-load trend [s].
TREND_WINDOW_S = 180.0
#: Fewest steps in each trend window for a trend to be reported: a median of fewer steps moves
#: with stride-to-stride variation, about 20 strides make such measures stable (Kroneberg et
#: al. 2019; Kribus-Shmiel et al. 2018; Galna et al. 2013), the same count as the left/right
#: comparisons' (`insole.session.plain.MIN_SYMMETRY_STEPS`).
MIN_TREND_STEPS = 20
#: A previous step of the other foot further back than this is not the step before [s].
MAX_STEP_GAP_S = 2.0
#: Per-side medians whose steps are counted in ``per_side[side]["steps_with_value"]``, and
#: the steps-table column each is the median of.
_PER_SIDE_MEDIANS = {
    "contact_time_s": "contact_s",
    "peak_force_n": "peak_force_n",
    "heel_peak_n": "heel_peak_n",
    "loading_rate_index": "loading_rate_index",
    "strike_index_pct": "strike_index_pct",
}

#: Per-step columns before the per-region ones.
_LEADING_COLUMNS = (
    "side",
    "number",
    "heel_strike_s",
    "toe_off_s",
    "contact_s",
    "stride_s",
    "step_s",
    "flight_s",
    "cadence_spm",
    "peak_force_n",
    "heel_peak_n",
    "heel_impulse_ns",
    "impulse_ns",
    "impact_peak_n",
    "loading_rate_index",
    "strike_index_pct",
    "strike_pattern",
    "ml_index_pct",
)
_REGION_COLUMNS = tuple(
    f"{r}_{m}" for r in REGIONS for m in ("peak_kpa", "peak_n", "impulse_ns", "share_pct")
)
_FLAG_COLUMNS = ("has_gap", "toe_off_valid")
#: Columns of the steps table (the data dictionary is in docs/steps_table.md).
STEP_COLUMNS = (*_LEADING_COLUMNS, *_REGION_COLUMNS, *_FLAG_COLUMNS)
#: Key order of a row dict, as the steps table has always given it (flags before regions).
_ROW_KEYS = (*_LEADING_COLUMNS, *_FLAG_COLUMNS, *_REGION_COLUMNS)


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


#: Numeric columns kept per step as the pipeline emits it (before cross-side timing).
_STEP_FLOATS = (
    "heel_strike_s",
    "toe_off_s",
    "stride_s",
    "peak_force_n",
    "heel_peak_n",
    "heel_impulse_ns",
    "impulse_ns",
    "impact_peak_n",
    "impact_peak_s",
    "loading_rate_index",
    "strike_index_pct",
    "ml_index_pct",
    *_REGION_COLUMNS,
)


class StepsTable(Sequence[dict[str, Any]]):
    """The steps table, stored as columns; each row is a dict built when it is read.

    A sequence of rows (``len``, indexing, iteration give dicts with the keys
    `STEP_COLUMNS`), so it is used like the list of dicts it replaces, but it keeps about
    0.6 kB per step instead of about 4 kB: an hour of running (10,000 steps) holds 6 MB.

    Parameters
    ----------
    columns : dict of str to ndarray
        Columns already in row order.
    matrix : ndarray, shape (n_any, n_columns), optional
        Further float columns as one matrix, its rows in any order; ``order`` gives the matrix
        row of each table row and ``matrix_columns`` names the matrix's columns. (Offline
        analysis hands over its accumulated numbers this way, without another copy.)
    order : ndarray of int, optional
        See ``matrix``.
    matrix_columns : sequence of str
        See ``matrix``.
    """

    #: Rows converted at a time while iterating (bounds the temporary Python objects).
    _BLOCK = 1024

    def __init__(
        self,
        columns: dict[str, np.ndarray],
        matrix: np.ndarray | None = None,
        order: np.ndarray | None = None,
        matrix_columns: Sequence[str] = (),
    ) -> None:
        self._columns = columns
        self._matrix = matrix
        self._order = order
        self._in_matrix = {k: i for i, k in enumerate(matrix_columns)}
        if columns:
            self._n = len(next(iter(columns.values())))
        else:
            self._n = 0 if order is None else len(order)

    def column(self, name: str) -> np.ndarray:
        """One column as an array, in row order (do not modify it)."""
        if name in self._columns:
            return self._columns[name]
        if self._matrix is None or self._order is None or name not in self._in_matrix:
            raise KeyError(name)
        return self._matrix[self._order, self._in_matrix[name]]

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError("steps table index out of range")
        return next(self._rows(index, index + 1))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, self._n, self._BLOCK):
            yield from self._rows(start, min(start + self._BLOCK, self._n))

    def _rows(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        cols = []
        for k in _ROW_KEYS:
            if k in self._columns:
                cols.append((k, self._columns[k][start:stop].tolist()))
            elif self._matrix is not None and self._order is not None:
                rows = self._order[start:stop]
                cols.append((k, self._matrix[rows, self._in_matrix[k]].tolist()))
            else:
                raise KeyError(k)
        for i in range(stop - start):
            yield {k: c[i] for k, c in cols}

    def __repr__(self) -> str:
        return f"StepsTable({self._n} steps)"


class StepAccumulator:
    """Collects the pipeline's steps compactly; `table` makes the steps table at the end.

    Offline analysis adds each feed's steps as they come and drops the step objects, so memory
    grows by about 0.6 kB per step instead of keeping every `StepRecord` (with its region
    dicts and centre-of-pressure path).
    """

    def __init__(self) -> None:
        self._side: list[str] = []  # the same few string objects over and over
        self._pattern: list[str] = []
        self._number = array("q")
        self._bools = array("b")  # has_gap, toe_off_valid, interleaved
        self._floats: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._side)

    def add(self, steps: Iterable[StepRecord]) -> StepAccumulator:
        """Keep the steps' numbers; return self."""
        rows = []
        for s in steps:
            load = s.load
            self._side.append(sys.intern(s.side))
            self._pattern.append(sys.intern(load.strike_pattern))
            self._number.append(s.number)
            self._bools.append(bool(load.has_gap))
            self._bools.append(bool(getattr(s, "toe_off_valid", True)))
            values = [
                s.heel_strike_s,
                s.toe_off_s,
                s.stride_s,
                load.peak_force_n,
                load.heel_peak_n,
                load.heel_impulse_ns,
                load.impulse_ns,
                _nan(s.impact_peak_n),
                _nan(s.impact_peak_s),
                load.loading_rate_index,
                load.strike_index_pct,
                load.ml_index_pct,
            ]
            for r in REGIONS:
                reg = load.regions.get(r)
                for m in ("peak_kpa", "peak_n", "impulse_ns", "share_pct"):
                    values.append(float("nan") if reg is None else reg[m])
            rows.append(values)
        if rows:
            self._floats.append(np.array(rows, dtype=np.float64))
        return self

    def add_batches(self, batches: Iterable[StepBatch]) -> StepAccumulator:
        """Keep the numbers of steps handed out as arrays (`StepBatch`); return self.

        The same numbers as `add` of the batches' `StepBatch.records`, without the objects.
        """
        for b in batches:
            n = len(b)
            if n == 0:
                continue
            f = b.features
            m = np.full((n, len(_STEP_FLOATS)), np.nan)
            for i, v in enumerate(
                (b.heel_strike_s, b.toe_off_s, b.stride_s, f.peak_force_n, f.heel_peak_n,
                 f.heel_impulse_ns, f.impulse_ns, b.impact_peak_n, b.impact_peak_s,
                 f.loading_rate_index, f.strike_index_pct, f.ml_index_pct)
            ):  # fmt: skip
                m[:, i] = v
            first = len(_STEP_FLOATS) - len(_REGION_COLUMNS)
            for k, r in enumerate(f.region_names):
                j = first + 4 * REGIONS.index(r)
                m[:, j] = f.region_peak_kpa[:, k]
                m[:, j + 1] = f.region_peak_n[:, k]
                m[:, j + 2] = f.region_impulse_ns[:, k]
                m[:, j + 3] = f.region_share_pct[:, k]
            side = sys.intern(b.side)
            self._side.extend([side] * n)
            self._pattern.extend(f.strike_pattern)  # names from one tuple: shared already
            self._number.extend(b.number.tolist())
            bools = np.empty((n, 2), np.int8)
            bools[:, 0] = f.has_gap
            bools[:, 1] = b.toe_off_valid
            self._bools.frombytes(bools.tobytes())
            self._floats.append(m)
        return self

    def table(self, alignment: Any = None, *, single_plate: bool = False) -> StepsTable:
        """The steps table: right-insole times put on the left clock, sorted, cross-side timing.

        Parameters
        ----------
        alignment : SideAlignment, optional
            Applied to right-insole steps (`insole.core.pipeline.SideAlignment.apply`).
        single_plate : bool
            One force plate under both feet (see `steps_table`).
        """
        n = len(self._side)
        # One matrix, filled batch by batch while each batch is let go: at most one batch more
        # than the table itself (a concatenate would hold every step twice at its peak).
        f = np.empty((sum(len(b) for b in self._floats), len(_STEP_FLOATS)), np.float64)
        pos = 0
        self._floats.reverse()
        while self._floats:
            b = self._floats.pop()
            f[pos : pos + len(b)] = b
            pos += len(b)
        self._floats = [f]
        col = {k: f[:, i] for i, k in enumerate(_STEP_FLOATS)}  # views
        side = np.array(self._side, dtype=object)
        hs, to, stride = col["heel_strike_s"].copy(), col["toe_off_s"].copy(), col["stride_s"]
        if alignment is not None and alignment.applied and n:
            right = side == "right"
            off = alignment.offset_ms / 1e3
            b = 1.0 + alignment.drift_ppm * 1e-6
            hs[right] = off + hs[right] * b
            to[right] = off + to[right] * b
            stride = stride.copy()
            stride[right] = stride[right] * b
        if set(self._side) <= {"left", "right"} and not np.isnan(hs).any():
            idx, step_s, flight_s = _cross_side(hs, to, side == "right", single_plate)
        else:
            idx, step_s, flight_s = self._cross_side_loop(hs, to, single_plate)
        with np.errstate(divide="ignore", invalid="ignore"):
            if single_plate:
                cadence = np.where(step_s > 0, 60.0 / step_s, np.nan)
            else:
                cadence = np.where(stride > 0, 120.0 / stride, np.nan)
        bools = np.frombuffer(self._bools, dtype=np.int8).reshape(n, 2).astype(bool)
        out: dict[str, np.ndarray] = {
            "side": side[idx],
            "number": np.frombuffer(self._number, dtype=np.int64)[idx],
            "heel_strike_s": hs[idx],
            "toe_off_s": to[idx],
            "contact_s": (to - hs)[idx],
            "stride_s": stride[idx],
            "step_s": step_s[idx],
            "flight_s": flight_s[idx],
            "cadence_spm": cadence[idx],
            "strike_pattern": np.array(self._pattern, dtype=object)[idx],
            "has_gap": bools[:, 0][idx],
            "toe_off_valid": bools[:, 1][idx],
        }
        # The other numbers stay in the accumulated matrix, read through the row order.
        return StepsTable(out, f, idx, _STEP_FLOATS)


    def _cross_side_loop(
        self, hs: np.ndarray, to: np.ndarray, single_plate: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`_cross_side` for any side labels, step by step in heel-strike order."""
        n = len(hs)
        hs_l, to_l = hs.tolist(), to.tolist()
        order = sorted(range(n), key=lambda i: (hs_l[i], self._side[i]))
        step_s = np.full(n, np.nan)
        flight_s = np.full(n, np.nan)
        last_by_side: dict[str, int] = {}
        prev: int | None = None
        for i in order:
            here = self._side[i]
            if single_plate:
                other = prev
            else:
                others = [v for k, v in last_by_side.items() if k != here]
                other = max(others, key=lambda v: hs_l[v]) if others else None
            if other is not None and hs_l[i] - hs_l[other] <= MAX_STEP_GAP_S:
                step_s[i] = hs_l[i] - hs_l[other]
                flight_s[i] = hs_l[i] - to_l[other]
            last_by_side[here] = i
            prev = i
        return np.array(order, dtype=np.int64), step_s, flight_s


def _cross_side(
    hs: np.ndarray, to: np.ndarray, right: np.ndarray, single_plate: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heel-strike order, step and flight times of steps of two sides (left, right).

    Steps are ordered by heel strike, then side (left first), stably. A step's previous step of
    the other foot is the last step of the other side before it in that order (for one plate
    under both feet: the step before it); step time = the heel-strike difference, flight time =
    heel strike less that step's toe-off, when the difference is at most `MAX_STEP_GAP_S`.
    The same as `StepAccumulator._cross_side_loop` for these labels, with array operations.

    Returns
    -------
    order : ndarray of int64
        Step indices in heel-strike order.
    step_s, flight_s : ndarray
        Per step (in the input order); NaN where there is no previous step of the other foot.
    """
    n = len(hs)
    order = np.lexsort((right, hs))  # stable: as sorted() by (heel strike, side label)
    step_s = np.full(n, np.nan)
    flight_s = np.full(n, np.nan)
    if n < 2:
        return order, step_s, flight_s
    pos = np.arange(n)
    if single_plate:
        other = pos - 1
    else:
        # The last step of the other side before each: the one before the current run of
        # steps of one side.
        r = right[order]
        run_start = np.concatenate(([True], r[1:] != r[:-1]))
        other = np.maximum.accumulate(np.where(run_start, pos, 0)) - 1
    has = other >= 0
    cur, prv = order[has], order[other[has]]
    dt = hs[cur] - hs[prv]
    near = dt <= MAX_STEP_GAP_S
    step_s[cur[near]] = dt[near]
    flight_s[cur[near]] = hs[cur[near]] - to[prv[near]]
    return order, step_s, flight_s


def steps_table(steps: Iterable[StepRecord], *, single_plate: bool = False) -> StepsTable:
    """One row per step, sorted by heel strike, with cross-side timing filled in.

    Parameters
    ----------
    steps : iterable of StepRecord
        Steps from the pipeline, any order.
    single_plate : bool
        The data is one force plate under both feet (each contact is a step of alternating
        feet): step and flight times come from consecutive contacts of the one "side".

    Returns
    -------
    StepsTable
        Rows with the keys `STEP_COLUMNS` (a sequence of dicts, stored as columns).
    """
    return StepAccumulator().add(steps).table(single_plate=single_plate)


def _as_table(rows: Sequence[dict[str, Any]]) -> StepsTable:
    """A steps table given as a list of dicts (e.g. from the history database), as columns."""
    if not rows:
        return StepsTable({k: np.zeros(0) for k in _ROW_KEYS})
    return StepsTable(
        {
            k: np.array([r.get(k, True if k == "toe_off_valid" else None) for r in rows])
            for k in _ROW_KEYS
        }
    )


def _median(values: list[float] | np.ndarray) -> float:
    a = np.asarray(values, float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if len(a) else float("nan")


def _r(x: float, nd: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def session_summary(
    rows: Sequence[dict[str, Any]],
    *,
    duration_s: float,
    sides: list[str],
    quality: dict[str, Any],
    unit: str = "N",
    single_plate: bool = False,
) -> dict[str, Any]:
    """Summarise a session from its steps table.

    Parameters
    ----------
    rows : StepsTable or sequence of dict
        Output of `steps_table` (or the same rows as dicts).
    duration_s : float
        Session length [s].
    sides : list of str
        Sides present in the data.
    quality : dict
        Data-quality counters (frames lost, CRC errors, gaps, damage) to include.
    unit : str
        Force unit of the data (``"N"``, or ``"counts"`` for uncalibrated footswitches).
    single_plate : bool
        One force plate under both feet: cadence from consecutive contacts (60 / step time).

    Returns
    -------
    dict
        JSON-able summary; see docs/summary.md for every key.
    """
    table = rows if isinstance(rows, StepsTable) else _as_table(rows)

    def column(k: str) -> np.ndarray:
        return np.asarray(table.column(k), dtype=float)

    row_side = table.column("side")
    on_side = {s: row_side == s for s in sides}
    col = {
        k: column(k)
        for k in (
            "contact_s",
            "stride_s",
            "heel_peak_n",
            "heel_impulse_ns",
            "heel_strike_s",
            "loading_rate_index",
            "strike_index_pct",
            "flight_s",
            "step_s",
            "peak_force_n",
        )
    }
    # A contact that ended in standing has no real toe-off: left out of contact times.
    valid_to = np.asarray(table.column("toe_off_valid"), dtype=bool)
    col["contact_s"] = np.where(valid_to, col["contact_s"], np.nan)
    patterns = [p for p in table.column("strike_pattern").tolist() if p != "unknown"]
    shares = {
        p: _r(patterns.count(p) / len(patterns)) if patterns else None
        for p in ("rearfoot", "midfoot", "forefoot")
    }
    regional = {}
    for s in sides:
        per = {}
        for reg in REGIONS:
            v = _median(column(f"{reg}_share_pct")[on_side[s]])
            if math.isfinite(v):
                per[reg] = _r(v, 2)
        regional[s] = per
    heel = col["heel_peak_n"][np.isfinite(col["heel_peak_n"])]
    per_side: dict[str, dict[str, Any]] = {}
    for s in sides:
        m = on_side[s]
        per_side[s] = {
            "steps": int(np.count_nonzero(m)),
            "contact_time_s": _r(_median(col["contact_s"][m])),
            "peak_force_n": _r(_median(col["peak_force_n"][m]), 1),
            "heel_peak_n": _r(_median(col["heel_peak_n"][m]), 1),
            "heel_impulse_ns": _r(float(np.nansum(col["heel_impulse_ns"][m])), 1),
            "loading_rate_index": _r(_median(col["loading_rate_index"][m]), 0),
            "strike_index_pct": _r(_median(col["strike_index_pct"][m]), 2),
            # How many steps each median rests on: a loading-rate index exists only for steps
            # with an impact peak, a contact time only for steps with a real toe-off.
            "steps_with_value": {
                k: int(np.count_nonzero(np.isfinite(col[c][m])))
                for k, c in _PER_SIDE_MEDIANS.items()
            },
        }
    symmetry = {}
    if "left" in per_side and "right" in per_side:
        for m in ("contact_time_s", "peak_force_n", "heel_peak_n", "loading_rate_index"):
            lv, rv = per_side["left"][m], per_side["right"][m]
            if lv is not None and rv is not None and (lv + rv) != 0:
                symmetry[m] = _r(100.0 * (rv - lv) / ((lv + rv) / 2.0), 2)
    trend = None
    t = col["heel_strike_s"]
    win = min(TREND_WINDOW_S, duration_s / 5.0)
    first = col["heel_peak_n"][t <= t.min() + win] if len(table) else np.zeros(0)
    last = col["heel_peak_n"][t >= t.max() - win] if len(table) else np.zeros(0)
    if min(len(first), len(last)) >= MIN_TREND_STEPS:
        f, la = _median(first), _median(last)
        trend = {
            "window_s": _r(win, 1),
            "first_heel_peak_n": _r(f, 1),
            "last_heel_peak_n": _r(la, 1),
            "change_pct": _r(100.0 * (la - f) / f, 2) if f and math.isfinite(f) else None,
        }
    strides = col["step_s"] * 2.0 if single_plate else col["stride_s"]
    return {
        "duration_s": _r(duration_s, 3),
        "force_unit": unit,
        "step_count": len(table),
        "steps": {s: int(np.count_nonzero(on_side[s])) for s in sides},
        "cadence_spm": _r(120.0 / _median(strides), 2) if np.isfinite(strides).any() else None,
        "contact_time_s": _r(_median(col["contact_s"])),
        "flight_time_s": _r(_median(col["flight_s"])),
        "strike_pattern": shares,
        "strike_index_pct": _r(_median(col["strike_index_pct"]), 2),
        "regional_share_pct": regional,
        "heel_peak_n": {
            "median": _r(_median(heel), 1),
            "p10": _r(float(np.percentile(heel, 10)), 1) if len(heel) else None,
            "p90": _r(float(np.percentile(heel, 90)), 1) if len(heel) else None,
        },
        "heel_impulse_ns": _r(float(np.nansum(col["heel_impulse_ns"])), 1),
        "loading_rate_index": _r(_median(col["loading_rate_index"]), 0),
        "per_side": per_side,
        "symmetry_pct": symmetry,
        "heel_load_trend": trend,
        **quality,
    }
