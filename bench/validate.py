"""Validate the contact detector (heel strike, toe-off) against independent references.

Runs ``insole.core.events.detect_contacts`` with its DEFAULT options (plus
``unloaded_level=0.0`` for the signals in newtons, gaitpdb and the plate, as the pipeline runs
insoles calibrated in N) on every public recording in ``../shared/data`` (relative to the
repository root; see that folder's README.md) and
compares the detections with reference events that this module derives on its own. No detector
parameter is imported: every constant below is this harness's own.

Datasets
--------
- **gaitpdb** (PhysioNet "Gait in Parkinson's Disease", 8-sensor force insoles, 100 Hz, 19
  walks): each foot's total force (sum of its 8 sensors) vs the *noise-floor onsets* below.
- **gaitndd** (PhysioNet "Gait Dynamics in Neuro-Degenerative Disease", footswitches, 300 Hz,
  11 records): left heel strikes vs the ``.ts`` elapsed times, except on two-phase strikes
  (below), where the noise-floor onset is the reference.
- **Running force plate** (Fukuchi et al. 2017 RBDS001, 2.5 m/s, Fy, 300 Hz): onsets and
  toe-offs at the plate threshold below; contact times.

Reference definitions
---------------------
*Reference contacts* (walking; offline, non-causal). The signal is median-filtered over
``SEG_SMOOTH_S`` (segmentation only; timing uses the raw signal). Its local swing and loaded
levels are the running minimum and maximum over a centred ``SEG_ENVELOPE_S`` window, which
follows slow drifts of the swing level (gaitndd ``park5``, ``control5``). A contact starts where
the smoothed signal rises above ``lo + SEG_ON_FRACTION * (hi - lo)`` and ends where it falls
below ``lo + SEG_OFF_FRACTION * (hi - lo)`` (hysteresis); where the local range ``hi - lo`` is
under ``SEG_MIN_RANGE_FRACTION`` of the record's 5-95 % range (standing, sitting, sensor off)
the state is held. Generous gates: swings shorter than ``SEG_MIN_SWING_S`` are bridged,
contacts shorter than ``SEG_MIN_CONTACT_S`` are dropped, and contacts longer than
``SEG_MAX_CONTACT_S`` (standing, not a step) or touching either end of the record are not
references (but still bound their neighbours' swings).

*Noise-floor onset* of a reference contact. The swing before it runs from the previous contact's
end to this contact's rise; its middle part (``SWING_MIDDLE`` fractions of its length) gives the
swing median and SD, the SD robustly from the median absolute deviation (``ROBUST_SD`` x MAD):
a short swing's middle may hold the end of the previous push-off or the next rise, whose plain
SD put the "noise floor" as high as 42 % of the range (gaitpdb GaCo14_10 L, 117.8 s). The
threshold is ``median + max(NOISE_SD * SD, NOISE_RANGE_FRACTION * (p95 - p5))``, a 3-SD
noise-floor criterion (the usual onset rule for EMG and force signals) with a floor of 2 % of
the record's 5-95 % range. The onset is the last sample before the rise at or
below the threshold, interpolated linearly to the threshold between that sample and the next.
The *noise-floor toe-off* is symmetric: the first sample after the contact's fall at or below
the threshold of the swing that follows, interpolated between it and the sample before.

*gaitndd references.* The ``.ts`` elapsed time (left contact ending each stride) within the
annotated span, except where the mark sits on the main rise of a two-phase strike: if, between
the noise-floor onset before the mark (at most ``TWO_PHASE_MAX_LEAD_S`` earlier; of any
reference contact, including one longer than ``SEG_MAX_CONTACT_S``: a step into a stand still
has its onset) and the mark,
the left signal has already risen more than ``TWO_PHASE_FRACTION`` of the local range (loaded
envelope minus the preceding swing's median) above that swing's median, that noise-floor onset
is the reference. The level is the highest sample from the onset to the mark, not the sample
at the mark, so a first phase that is a bump (rise, partial release, main rise) counts like a
plateau. The fraction is 10 %, not the 15 % first proposed: the first-phase bumps of the ALS
record ``als5`` peak at 12-20 % of the local range, so a 15 % cut splits one population of
identical-looking strikes, while single-phase strikes stay under about 10 %.
The annotated span is the union of the annotated strides, without strides longer than
``GAITNDD_MAX_STRIDE_S`` (pauses), and of the references (a two-phase onset can precede its mark
by up to ``TWO_PHASE_MAX_LEAD_S``, before the first mark or after a pause), widened by the
tolerance.

*Force-plate references.* The flight level and SD are the median and SD of the middle parts
of the flights (between reference contacts as above); the threshold is
``max(PLATE_MIN_THRESHOLD_N, flight level + PLATE_FLIGHT_SD * SD)`` (50 N). Force-plate
practice uses fixed thresholds of 10-50 N for contact and toe-off (e.g. Blades et al. 2023,
Sensors 23:2736, insoles vs force treadmill in running); the 5-SD term keeps noisy plates from
chattering. Onsets and toe-offs are the interpolated up- and down-crossings of that threshold;
runs shorter than ``PLATE_MIN_CONTACT_S`` and dips shorter than ``PLATE_MIN_FLIGHT_S`` are
noise.

Matching and figures
--------------------
Each reference event is matched to the nearest unused detection within ``WALK_TOLERANCE_S``
(50 ms; walking) or ``RUN_TOLERANCE_S`` (10 ms; running plate). Error = detected - reference.
Tables: n reference, n detected (within the reference span), % matched, signed median error,
p90 of |error| [ms], misses, extras (unmatched detections within the reference span) and, for
walking, the left - right difference of detected contact counts over a common span. If the
detector's ``Contacts`` has a boolean ``toe_off_valid``, flagged toe-offs are left out of the
contact-time and toe-off statistics.

Usage::

    python bench/validate.py                      # all datasets, tables
    python bench/validate.py --dataset gaitndd    # one dataset
    python bench/validate.py --json               # the figures as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from insole.core.events import (  # noqa: E402
    PLATE_UNDER_BOTH_FEET,
    ContactOptions,
    detect_contacts,
)
from insole.errors import InsoleError  # noqa: E402
from insole.sources.importers.physionet import (  # noqa: E402
    read_gaitndd,
    read_gaitndd_annotations,
    read_gaitpdb,
)
from insole.sources.importers.table import read_table  # noqa: E402

FloatArray = NDArray[np.float64]

DATA = ROOT.parent / "shared" / "data"
GAITPDB_DIR = DATA / "gaitpdb"
GAITNDD_DIR = DATA / "gaitndd"
PLATE_FILE = DATA / "running_forceplate" / "RBDS001runT25forces.txt"
PLATE_RATE_HZ = 300.0  # RBDS: ``Time`` is the frame number; 300 Hz (Fukuchi et al. 2017)
GAITNDD_RECORDS = (
    "control1",
    "control4",
    "control5",
    "park1",
    "park4",
    "park5",
    "hunt1",
    "hunt4",
    "hunt5",
    "als4",
    "als5",
)

# --- matching --------------------------------------------------------------------------------
#: Matching tolerance in walking (gaitpdb, gaitndd) [s].
WALK_TOLERANCE_S = 0.050
#: Matching tolerance on the running force plate [s].
RUN_TOLERANCE_S = 0.010
#: Tolerance of the step count in walking [s]: a quarter of a walking stride (1.0-1.3 s,
#: docs/domain.md), under half the shortest annotated gaitndd stride (0.73 s, hunt5), so a
#: detection cannot stand for its neighbour. A reference unmatched at this tolerance is a step
#: lost (or merged), a detection unmatched at it a step invented (or split); the rest of the
#: misses and extras at WALK_TOLERANCE_S are the same step timed more than 50 ms away.
COUNT_TOLERANCE_S = 0.25

# --- reference contacts (segmentation) -------------------------------------------------------
#: Median filter length for segmentation only [s].
SEG_SMOOTH_S = 0.03
#: Centred window of the running min / max envelopes [s]: at least two strides.
SEG_ENVELOPE_S = 3.0
#: Hysteresis: contact on / off levels as fractions of the local envelope range.
SEG_ON_FRACTION = 0.40
SEG_OFF_FRACTION = 0.20
#: Least local range, as a fraction of the record's 5-95 % range, for the state to change.
SEG_MIN_RANGE_FRACTION = 0.25
#: Gates: shortest swing (shorter dips are bridged), shortest / longest contact [s].
SEG_MIN_SWING_S = 0.08
SEG_MIN_CONTACT_S = 0.10
SEG_MAX_CONTACT_S = 3.0

# --- noise-floor onsets ----------------------------------------------------------------------
#: Noise-floor threshold: swing median + max(NOISE_SD * SD, NOISE_RANGE_FRACTION * range).
NOISE_SD = 3.0
NOISE_RANGE_FRACTION = 0.02
#: Middle part of a swing (fractions of its length) used for its median and SD.
SWING_MIDDLE = (0.25, 0.75)
#: SD from the median absolute deviation (x 1.4826: the SD of normal noise), robust to the
#: push-off tail and the next rising edge that a short swing's middle may hold.
ROBUST_SD = 1.4826

# --- gaitndd ---------------------------------------------------------------------------------
#: A .ts mark preceded by a first phase this high (fraction of the local range) above the
#: preceding swing is on the main rise of a two-phase strike.
TWO_PHASE_FRACTION = 0.10
#: The noise-floor onset replacing such a mark lies at most this long before it [s].
TWO_PHASE_MAX_LEAD_S = 0.5
#: Annotated strides longer than this are pauses, not part of the compared span [s].
GAITNDD_MAX_STRIDE_S = 3.0

# --- force plate -----------------------------------------------------------------------------
#: Plate threshold: max(PLATE_MIN_THRESHOLD_N, flight level + PLATE_FLIGHT_SD * flight SD).
PLATE_MIN_THRESHOLD_N = 50.0
PLATE_FLIGHT_SD = 5.0
#: Plate gates: shortest contact and shortest flight [s].
PLATE_MIN_CONTACT_S = 0.05
PLATE_MIN_FLIGHT_S = 0.02


# =============================================================================================
# References
# =============================================================================================


def reference_contacts(
    force: ArrayLike, fs: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Segment a force signal into contacts (offline hysteresis on local envelopes).

    Parameters
    ----------
    force : array_like, shape (n_samples,)
        Force or footswitch signal (higher = loaded); NaN samples hold the state.
    fs : float
        Sampling rate [Hz].

    Returns
    -------
    on_idx : ndarray of int
        First sample of each contact above the on-level.
    off_idx : ndarray of int
        First sample after each contact below the off-level.
    usable : ndarray of bool
        False for contacts that are no step reference: longer than ``SEG_MAX_CONTACT_S``, or
        touching the start or end of the record.
    """
    x = np.asarray(force, dtype=np.float64)
    n = x.size
    finite = np.isfinite(x)
    filled = x.copy()
    if not finite.all():  # fill NaN by the previous value for the filters only
        idx = np.where(finite, np.arange(n), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = x[idx]
        filled[~np.isfinite(filled)] = np.nanmin(x)
    k = max(1, int(round(SEG_SMOOTH_S * fs))) | 1
    smooth = ndimage.median_filter(filled, size=k, mode="nearest")
    w = max(3, int(round(SEG_ENVELOPE_S * fs)))
    lo = ndimage.minimum_filter1d(smooth, size=w, mode="nearest")
    hi = ndimage.maximum_filter1d(smooth, size=w, mode="nearest")
    p5, p95 = np.nanpercentile(x, [5.0, 95.0])
    span = hi - lo
    on_level = lo + SEG_ON_FRACTION * span
    off_level = lo + SEG_OFF_FRACTION * span
    active = span >= SEG_MIN_RANGE_FRACTION * (p95 - p5)
    above = active & finite & (smooth > on_level)
    below = active & finite & (smooth < off_level)

    # Hysteresis state machine on the event samples only (fast): -1 unknown, 0 swing, 1 contact.
    events = np.flatnonzero(above | below)
    ons: list[int] = []
    offs: list[int] = []
    state = -1
    for i in events:
        if state != 1 and above[i]:
            if state == 0:
                ons.append(int(i))
            state = 1
        elif state != 0 and below[i]:
            if state == 1 and ons:
                offs.append(int(i))
            state = 0
    # An initial contact (state -1 -> 1) never starts a reference; a trailing open one is cut.
    on_idx = np.array(ons[: len(offs)], dtype=np.int64)
    off_idx = np.array(offs, dtype=np.int64)
    # Bridge short swings.
    if on_idx.size > 1:
        keep = np.ones(on_idx.size, dtype=bool)
        keep[1:] = (on_idx[1:] - off_idx[:-1]) >= SEG_MIN_SWING_S * fs
        starts = np.flatnonzero(keep)
        ends = np.append(starts[1:] - 1, on_idx.size - 1)
        on_idx, off_idx = on_idx[starts], off_idx[ends]
    # Drop spikes.
    long_enough = (off_idx - on_idx) >= SEG_MIN_CONTACT_S * fs
    on_idx, off_idx = on_idx[long_enough], off_idx[long_enough]
    usable = (off_idx - on_idx) <= SEG_MAX_CONTACT_S * fs
    return on_idx, off_idx, usable


def _swing_threshold(x: FloatArray, start: int, stop: int, range_: float) -> tuple[float, float]:
    """Noise-floor threshold of the swing ``x[start:stop]``; returns (threshold, median)."""
    length = stop - start
    a = start + int(SWING_MIDDLE[0] * length)
    b = start + int(np.ceil(SWING_MIDDLE[1] * length))
    mid = x[a:b]
    mid = mid[np.isfinite(mid)]
    if mid.size < 3:
        mid = x[start:stop]
        mid = mid[np.isfinite(mid)]
    if mid.size == 0:
        return np.nan, np.nan
    med = float(np.median(mid))
    sd = ROBUST_SD * float(np.median(np.abs(mid - med)))
    return med + max(NOISE_SD * sd, NOISE_RANGE_FRACTION * range_), med


def noise_floor_events(
    force: ArrayLike, fs: float, *, long_contacts: bool = False
) -> dict[str, FloatArray]:
    """Noise-floor onsets and toe-offs of the reference contacts of one signal.

    Parameters
    ----------
    force : array_like, shape (n_samples,)
        Force or footswitch signal.
    fs : float
        Sampling rate [Hz].
    long_contacts : bool
        Also the contacts longer than ``SEG_MAX_CONTACT_S`` (steps into a stand): no step
        reference of their own, but the two-phase check of a gaitndd mark needs their onsets.

    Returns
    -------
    dict of str to ndarray
        ``onset_s`` and ``toe_off_s`` (NaN where undefined) of every usable reference contact,
        ``swing_median`` (median of the swing before each onset) and ``on_s`` (the contact's
        on-level crossing sample, in seconds), all of the same length.
    """
    x = np.asarray(force, dtype=np.float64)
    on_idx, off_idx, usable = reference_contacts(x, fs)
    p5, p95 = np.nanpercentile(x, [5.0, 95.0])
    range_ = float(p95 - p5)
    onsets, toe_offs, medians = [], [], []
    for k in range(on_idx.size):
        # Swing before: from the previous contact's end (or the record's start) to the rise.
        prev_end = int(off_idx[k - 1]) if k > 0 else 0
        thr, med = _swing_threshold(x, prev_end, int(on_idx[k]), range_)
        onset = np.nan
        if np.isfinite(thr) and k > 0:
            seg = x[prev_end : on_idx[k]]
            at_floor = np.flatnonzero(seg <= thr)
            if at_floor.size:
                i = prev_end + int(at_floor[-1])
                x0, x1 = x[i], x[i + 1]
                if np.isfinite(x1) and x1 > x0:
                    onset = (i + (thr - x0) / (x1 - x0)) / fs
        # Swing after: from the contact's end to the next rise (or the record's end).
        next_start = int(on_idx[k + 1]) if k + 1 < on_idx.size else x.size
        thr_after, _ = _swing_threshold(x, int(off_idx[k]), next_start, range_)
        toe_off = np.nan
        if np.isfinite(thr_after) and k + 1 < on_idx.size:
            seg = x[off_idx[k] : next_start]
            at_floor = np.flatnonzero(seg <= thr_after)
            if at_floor.size:
                j = int(off_idx[k]) + int(at_floor[0])
                x0, x1 = x[j - 1], x[j]
                if np.isfinite(x0) and x0 > x1:
                    toe_off = (j - 1 + (x0 - thr_after) / (x0 - x1)) / fs
        onsets.append(onset)
        toe_offs.append(toe_off)
        medians.append(med)
    keep = usable | long_contacts
    return {
        "onset_s": np.array(onsets, dtype=np.float64)[keep],
        "toe_off_s": np.array(toe_offs, dtype=np.float64)[keep],
        "swing_median": np.array(medians, dtype=np.float64)[keep],
        "on_s": on_idx[keep] / fs,
    }


def plate_reference(force_n: ArrayLike, fs: float) -> dict[str, float | FloatArray]:
    """Force-plate onsets and toe-offs at max(50 N, flight level + 5 SD).

    Parameters
    ----------
    force_n : array_like, shape (n_samples,)
        Vertical force [N].
    fs : float
        Sampling rate [Hz].

    Returns
    -------
    dict
        ``onset_s``, ``toe_off_s`` (interpolated crossings of complete contacts),
        ``threshold_n``, ``flight_level_n``, ``flight_sd_n``.
    """
    x = np.asarray(force_n, dtype=np.float64)
    on_idx, off_idx, _ = reference_contacts(x, fs)
    flight = []
    for k in range(1, on_idx.size):
        a, b = int(off_idx[k - 1]), int(on_idx[k])
        length = b - a
        flight.append(x[a + int(SWING_MIDDLE[0] * length) : a + int(SWING_MIDDLE[1] * length)])
    pooled = np.concatenate(flight) if flight else x[x < np.nanpercentile(x, 10.0)]
    pooled = pooled[np.isfinite(pooled)]
    level, sd = float(np.median(pooled)), float(np.std(pooled))
    thr = max(PLATE_MIN_THRESHOLD_N, level + PLATE_FLIGHT_SD * sd)
    above = np.where(np.isfinite(x), x > thr, False)
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    ups = edges[~above[edges]] + 1  # first sample above
    downs = edges[above[edges]] + 1  # first sample at or below
    if above[0]:  # in contact at the start: not a complete contact
        downs = downs[1:]
    n = min(ups.size, downs.size)  # a contact open at the end has no down-crossing
    ups, downs = ups[:n], downs[:n]
    if n:
        keep = np.ones(n, dtype=bool)
        keep[1:] = (ups[1:] - downs[:-1]) >= PLATE_MIN_FLIGHT_S * fs
        starts = np.flatnonzero(keep)
        ends = np.append(starts[1:] - 1, n - 1)
        ups, downs = ups[starts], downs[ends]
        ok = (downs - ups) >= PLATE_MIN_CONTACT_S * fs
        ups, downs = ups[ok], downs[ok]

    def cross(i: NDArray[np.int64]) -> FloatArray:
        x0, x1 = x[i - 1], x[i]
        return (i - 1 + (thr - x0) / (x1 - x0)) / fs

    return {
        "onset_s": cross(ups),
        "toe_off_s": cross(downs),
        "threshold_n": thr,
        "flight_level_n": level,
        "flight_sd_n": sd,
    }


# =============================================================================================
# Matching and figures
# =============================================================================================


def match_events(
    detected_s: FloatArray, reference_s: FloatArray, tolerance_s: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Match each reference event to the nearest unused detection within the tolerance.

    Parameters
    ----------
    detected_s, reference_s : ndarray of float
        Event times [s].
    tolerance_s : float
        Largest |detected - reference| of a match [s].

    Returns
    -------
    det_idx, ref_idx : ndarray of int
        Indices of the matched pairs into ``detected_s`` and ``reference_s``.
    """
    det = np.asarray(detected_s, dtype=np.float64)
    used = np.zeros(det.size, dtype=bool)
    det_idx, ref_idx = [], []
    for r, t in enumerate(np.asarray(reference_s, dtype=np.float64)):
        if det.size == 0 or not np.isfinite(t):
            continue
        dist = np.abs(det - t)
        for d in np.argsort(dist):
            if not dist[d] <= tolerance_s:
                break
            if not used[d]:
                used[d] = True
                det_idx.append(int(d))
                ref_idx.append(r)
                break
    return np.array(det_idx, dtype=np.int64), np.array(ref_idx, dtype=np.int64)


def _in_spans(t: FloatArray, spans: list[tuple[float, float]]) -> NDArray[np.bool_]:
    inside = np.zeros(t.size, dtype=bool)
    for a, b in spans:
        inside |= (t >= a) & (t <= b)
    return inside


def compare(
    detected_s: FloatArray,
    reference_s: FloatArray,
    tolerance_s: float,
    spans: list[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Match detections with references and summarise.

    Parameters
    ----------
    detected_s, reference_s : ndarray of float
        Event times [s]; NaN references are ignored.
    tolerance_s : float
        Matching tolerance [s].
    spans : list of (start, end) or None
        Where references exist; detections outside are ignored. Default: the references'
        first to last event, widened by the tolerance.

    Returns
    -------
    dict
        ``n_ref``, ``n_det``, ``pct_matched``, ``median_ms`` (signed), ``median_abs_ms``,
        ``p90_abs_ms``, ``misses``, ``extras``, ``pct_extras`` (of detections in span),
        ``lost`` and ``invented`` (misses and extras at `COUNT_TOLERANCE_S`: count errors, not
        timing), and ``det_idx`` / ``ref_idx`` arrays (indices into the inputs) of the pairs.
    """
    ref_all = np.asarray(reference_s, dtype=np.float64)
    ref_ok = np.flatnonzero(np.isfinite(ref_all))
    ref = ref_all[ref_ok]
    det_all = np.asarray(detected_s, dtype=np.float64)
    if spans is None:
        spans = [(ref.min() - tolerance_s, ref.max() + tolerance_s)] if ref.size else []
    det_in = np.flatnonzero(_in_spans(det_all, spans) & np.isfinite(det_all))
    det = det_all[det_in]
    d, r = match_events(det, ref, tolerance_s)
    err_ms = 1000.0 * (det[d] - ref[r])
    n_ref, n_det = int(ref.size), int(det.size)
    # The count: one-to-one at the wider tolerance, over detections within it of the spans.
    count_tol = max(tolerance_s, COUNT_TOLERANCE_S)
    wide = [(a - (count_tol - tolerance_s), b + (count_tol - tolerance_s)) for a, b in spans]
    det_wide = np.flatnonzero(_in_spans(det_all, wide) & np.isfinite(det_all))
    dc, rc = match_events(det_all[det_wide], ref, count_tol)
    n_invented = int(np.isin(det_in, det_wide[dc], invert=True).sum())
    return {
        "n_ref": n_ref,
        "n_det": n_det,
        "pct_matched": 100.0 * d.size / n_ref if n_ref else float("nan"),
        "median_ms": float(np.median(err_ms)) if err_ms.size else float("nan"),
        "median_abs_ms": float(np.median(np.abs(err_ms))) if err_ms.size else float("nan"),
        "p90_abs_ms": float(np.percentile(np.abs(err_ms), 90)) if err_ms.size else float("nan"),
        "misses": n_ref - int(d.size),
        "extras": n_det - int(d.size),
        "pct_extras": 100.0 * (n_det - d.size) / n_det if n_det else 0.0,
        "lost": n_ref - int(rc.size),
        "invented": n_invented,
        "det_idx": det_in[d],
        "ref_idx": ref_ok[r],
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """Drop the index arrays from a row (for printing and JSON)."""
    return {k: v for k, v in row.items() if not isinstance(v, np.ndarray)}


def _sample_index(t_s: FloatArray, fs: float, n: int) -> NDArray[np.int64]:
    """Nearest sample index of each time, clipped to the record."""
    return np.clip(np.round(t_s * fs).astype(np.int64), 0, n - 1)


def _toe_off_valid(contacts: object, n: int) -> NDArray[np.bool_]:
    valid = getattr(contacts, "toe_off_valid", None)
    if valid is None:
        return np.ones(n, dtype=bool)
    return np.asarray(valid, dtype=bool).reshape(n)


# =============================================================================================
# Datasets
# =============================================================================================


#: Records left out of the last run, with why: ``(record, reason)`` (`_skipping`).
SKIPPED: list[tuple[str, str]] = []


def _skipping(
    record: str, rows: Callable[[Path], list[dict[str, Any]]], path: Path
) -> list[dict[str, Any]]:
    """``rows(path)``; or, if the record cannot be read or holds no contact, no row.

    One unreadable or degenerate record (a truncated file, a walk of a few seconds) among the
    many of a whole dataset is reported (stderr, `SKIPPED`, the JSON's ``skipped``), not a
    crash of the run.
    """
    try:
        return rows(path)
    except (InsoleError, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        SKIPPED.append((record, reason))
        print(f"validate: skipped {record}: {reason}", file=sys.stderr)
        return []


def gaitpdb_rows(folder: Path = GAITPDB_DIR) -> list[dict[str, Any]]:
    """Both feet of every gaitpdb walk in ``folder`` (``*_*.txt``) vs their noise-floor onsets.

    Returns
    -------
    list of dict
        One row per walk and foot: ``record``, ``side`` and the :func:`compare` figures, plus
        ``to_median_ms`` (toe-off vs noise-floor toe-off, matched contacts), ``n_det_lr`` /
        ``n_ref_lr`` (this foot's detected / reference contacts over the span common to both
        feet) and ``lr_diff`` (left - right detected count over that span, on both rows).
    """
    rows = []
    for path in sorted(folder.glob("*_*.txt")):
        rows += _skipping(path.stem, _gaitpdb_walk, path)
    return rows


def _gaitpdb_walk(path: Path) -> list[dict[str, Any]]:
    """The two rows of one gaitpdb walk (`gaitpdb_rows`)."""
    rows = []
    _, left, right, fs = read_gaitpdb(path)
    per_side = {}
    for side, sensors in (("L", left), ("R", right)):
        force = sensors.sum(axis=1)
        ref = noise_floor_events(force, fs)
        if not np.isfinite(ref["onset_s"]).any():
            raise ValueError(f"no reference contact of the {side} foot")
        # Force in N: as the pipeline runs insoles calibrated in N (weight shifts test on).
        contacts = detect_contacts(force, sampling_rate_hz=fs, unloaded_level=0.0)
        per_side[side] = (ref, contacts)
    firsts = [np.nanmin(per_side[s][0]["onset_s"]) for s in "LR"]
    lasts = [np.nanmax(per_side[s][0]["onset_s"]) for s in "LR"]
    common = (max(firsts) - WALK_TOLERANCE_S, min(lasts) + WALK_TOLERANCE_S)
    counts = {}
    for side in "LR":
        ref, contacts = per_side[side]
        hs = contacts.heel_strike_s
        counts[side] = (
            int(np.sum((hs >= common[0]) & (hs <= common[1]))),
            int(np.sum((ref["onset_s"] >= common[0]) & (ref["onset_s"] <= common[1]))),
        )
    for side in "LR":
        ref, contacts = per_side[side]
        row = compare(contacts.heel_strike_s, ref["onset_s"], WALK_TOLERANCE_S)
        d, r = row["det_idx"], row["ref_idx"]
        to_err = contacts.toe_off_s[d] - ref["toe_off_s"][r]
        to_err = to_err[_toe_off_valid(contacts, len(contacts.heel_strike_s))[d]]
        to_err = to_err[np.isfinite(to_err)]
        row.update(
            record=path.stem,
            side=side,
            to_median_ms=1000 * float(np.median(to_err)) if to_err.size else float("nan"),
            n_det_lr=counts[side][0],
            n_ref_lr=counts[side][1],
            lr_diff=counts["L"][0] - counts["R"][0],
            ref_lr_diff=counts["L"][1] - counts["R"][1],
        )
        rows.append(row)
    return rows


def gaitndd_references(
    left: FloatArray, fs: float, marks_s: FloatArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Reference left heel strikes of a gaitndd record: ``.ts`` marks or two-phase onsets.

    Parameters
    ----------
    left : ndarray
        Left footswitch signal.
    fs : float
        Sampling rate [Hz].
    marks_s : ndarray
        ``.ts`` elapsed times [s].

    Returns
    -------
    reference_s : ndarray
        The reference times, one per mark.
    replaced : ndarray of bool
        True where the mark sat on the main rise of a two-phase strike and the noise-floor onset
        replaced it.
    """
    nf = noise_floor_events(left, fs, long_contacts=True)
    filled = np.where(np.isfinite(left), left, np.nanmin(left))
    hi = ndimage.maximum_filter1d(
        ndimage.median_filter(filled, size=max(1, int(round(SEG_SMOOTH_S * fs))) | 1),
        size=int(round(SEG_ENVELOPE_S * fs)),
        mode="nearest",
    )
    samples = np.arange(left.size)
    at_mark = np.interp(marks_s * fs, samples, filled)
    hi_mark = np.interp(marks_s * fs, samples, hi)
    reference = marks_s.astype(np.float64).copy()
    replaced = np.zeros(marks_s.size, dtype=bool)
    onsets = nf["onset_s"]
    for m, t in enumerate(marks_s):
        before = np.flatnonzero(
            np.isfinite(onsets) & (onsets <= t) & (onsets >= t - TWO_PHASE_MAX_LEAD_S)
        )
        if before.size == 0:
            continue
        k = before[-1]
        med = nf["swing_median"][k]
        local_range = hi_mark[m] - med
        first = int(np.floor(onsets[k] * fs))
        last = int(np.floor(t * fs))
        level = max(float(np.max(filled[first : last + 1])), float(at_mark[m]))
        if local_range > 0 and (level - med) > TWO_PHASE_FRACTION * local_range:
            reference[m] = onsets[k]
            replaced[m] = True
    return reference, replaced


def gaitndd_records(folder: Path) -> list[str]:
    """The gaitndd records in ``folder`` (``.hea``, ``.let``, ``.rit`` and ``.ts`` all there).

    Ordered by group (control, park, hunt, als, then any other) and number, as the tables are.
    """
    groups = ("control", "park", "hunt", "als")

    def key(name: str) -> tuple[int, int, str]:
        group = name.rstrip("0123456789")
        number = name[len(group):]
        rank = groups.index(group) if group in groups else len(groups)
        return rank, int(number) if number else 0, name

    names = [
        p.stem for p in folder.glob("*.hea")
        if all(p.with_suffix(ext).is_file() for ext in (".let", ".rit", ".ts"))
    ]
    return sorted(names, key=key)


def gaitndd_rows(folder: Path = GAITNDD_DIR) -> list[dict[str, Any]]:
    """Left heel strikes of every gaitndd record in ``folder`` vs its annotations (two-phase
    corrected).

    Returns
    -------
    list of dict
        One row per record: ``record``, ``side`` ("L"), the :func:`compare` figures,
        ``n_two_phase`` (marks replaced by noise-floor onsets), ``n_left`` / ``n_right``
        (detected contacts per foot in the annotated span, where both signals are valid) and
        ``lr_diff``.
    """
    rows = []
    for record in gaitndd_records(folder):
        rows += _skipping(record, _gaitndd_record, folder / record)
    return rows


def _gaitndd_record(base: Path) -> list[dict[str, Any]]:
    """The row of one gaitndd record (`gaitndd_rows`)."""
    record = base.name
    rows = []
    left, right, fs, _ = read_gaitndd(base)
    ann = read_gaitndd_annotations(base)
    marks = ann["elapsed_s"]
    reference, replaced = gaitndd_references(left, fs, marks)
    spans: list[tuple[float, float]] = [
        (marks[0] - WALK_TOLERANCE_S, marks[0] + WALK_TOLERANCE_S)
    ]
    for i in range(1, marks.size):
        if ann["left_stride_s"][i] <= GAITNDD_MAX_STRIDE_S:
            spans.append((marks[i - 1] - WALK_TOLERANCE_S, marks[i] + WALK_TOLERANCE_S))
        else:
            spans.append((marks[i] - WALK_TOLERANCE_S, marks[i] + WALK_TOLERANCE_S))
    # A two-phase onset can precede its mark by up to TWO_PHASE_MAX_LEAD_S: the span covers
    # every reference, not only the marks.
    spans.extend((r - WALK_TOLERANCE_S, r + WALK_TOLERANCE_S) for r in reference[replaced])
    left_c = detect_contacts(left, sampling_rate_hz=fs)
    right_c = detect_contacts(right, sampling_rate_hz=fs)
    row = compare(left_c.heel_strike_s, reference, WALK_TOLERANCE_S, spans)
    # Count per foot only where both signals are valid (within 1 s): als5's right
    # footswitch is invalid for about 90 s.
    invalid = ~(np.isfinite(left) & np.isfinite(right))
    invalid = ndimage.maximum_filter1d(invalid.astype(np.int8), size=int(2 * fs) + 1) > 0

    n_left, n_right = (
        int(np.sum(_in_spans(hs, spans) & ~invalid[_sample_index(hs, fs, invalid.size)]))
        for hs in (left_c.heel_strike_s, right_c.heel_strike_s)
    )
    row.update(
        record=record,
        side="L",
        n_two_phase=int(replaced.sum()),
        n_left=n_left,
        n_right=n_right,
        lr_diff=n_left - n_right,
    )
    rows.append(row)
    return rows


def forceplate_row(path: Path = PLATE_FILE) -> dict[str, Any]:
    """A running force-plate record (RBDS ``*forces.txt``, ``Fy`` at 300 Hz; by default RBDS001
    at 2.5 m/s) vs the plate threshold reference.

    Returns
    -------
    dict
        ``record``, the :func:`compare` figures of the onsets (10 ms tolerance), the
        reference's ``threshold_n``, ``contact_det_ms`` / ``contact_ref_ms`` (median contact
        times of the matched contacts, valid toe-offs only), ``contact_diff_ms`` (their
        difference), ``to_median_ms`` / ``to_median_abs_ms`` (toe-off errors of the matched
        contacts) and ``to_pct_matched`` (toe-offs within the tolerance).
    """
    (fy,), fs = read_table(path, columns=["Fy"], sampling_rate_hz=PLATE_RATE_HZ)
    assert fs is not None
    ref = plate_reference(fy, fs)
    # Force in N, one plate under both feet: as the analysis runs such a device.
    options: ContactOptions = {**PLATE_UNDER_BOTH_FEET, "unloaded_level": 0.0}
    contacts = detect_contacts(fy, sampling_rate_hz=fs, **options)
    row = compare(contacts.heel_strike_s, ref["onset_s"], RUN_TOLERANCE_S)
    d, r = row["det_idx"], row["ref_idx"]
    valid = _toe_off_valid(contacts, len(contacts.heel_strike_s))[d]
    d, r = d[valid], r[valid]
    ct_det = contacts.toe_off_s[d] - contacts.heel_strike_s[d]
    ct_ref = ref["toe_off_s"][r] - ref["onset_s"][r]
    to_err = 1000.0 * (contacts.toe_off_s[d] - ref["toe_off_s"][r])
    nan = float("nan")
    row.update(
        record=path.stem.removesuffix("forces"),
        side="-",
        threshold_n=float(ref["threshold_n"]),
        n_toe_off_valid=int(d.size),
        contact_det_ms=1000 * float(np.median(ct_det)) if d.size else nan,
        contact_ref_ms=1000 * float(np.median(ct_ref)) if d.size else nan,
        to_median_ms=float(np.median(to_err)) if d.size else nan,
        to_median_abs_ms=float(np.median(np.abs(to_err))) if d.size else nan,
        to_pct_matched=100.0 * float(np.mean(np.abs(to_err) <= 1000 * RUN_TOLERANCE_S))
        if d.size
        else nan,
    )
    row["contact_diff_ms"] = row["contact_det_ms"] - row["contact_ref_ms"]
    return row


# =============================================================================================
# Output
# =============================================================================================

_COMMON = [
    ("record", "{:<13}", "{:<13}"),
    ("side", "{:>4}", "{:>4}"),
    ("n_ref", "{:>5}", "{:>5d}"),
    ("n_det", "{:>5}", "{:>5d}"),
    ("pct_matched", "{:>7}", "{:>6.1f}%"),
    ("median_ms", "{:>7}", "{:>+7.1f}"),
    ("p90_abs_ms", "{:>6}", "{:>6.1f}"),
    ("misses", "{:>6}", "{:>6d}"),
    ("extras", "{:>6}", "{:>6d}"),
]
_COLUMNS = {
    "gaitpdb": _COMMON
    + [
        ("to_median_ms", "{:>7}", "{:>+7.1f}"),
        ("lost", "{:>4}", "{:>4d}"),
        ("invented", "{:>4}", "{:>4d}"),
        ("lr_diff", "{:>4}", "{:>+4d}"),
        ("ref_lr_diff", "{:>6}", "{:>+6d}"),
    ],
    "gaitndd": _COMMON
    + [
        ("pct_extras", "{:>6}", "{:>5.1f}%"),
        ("lost", "{:>4}", "{:>4d}"),
        ("invented", "{:>4}", "{:>4d}"),
        ("n_two_phase", "{:>6}", "{:>6d}"),
        ("lr_diff", "{:>4}", "{:>+4d}"),
    ],
    "forceplate": _COMMON
    + [
        ("median_abs_ms", "{:>6}", "{:>6.1f}"),
        ("contact_det_ms", "{:>7}", "{:>7.1f}"),
        ("contact_ref_ms", "{:>7}", "{:>7.1f}"),
        ("contact_diff_ms", "{:>7}", "{:>+7.1f}"),
        ("to_median_ms", "{:>7}", "{:>+7.1f}"),
    ],
}
_HEADERS = {
    "record": "record",
    "side": "side",
    "n_ref": "n ref",
    "n_det": "n det",
    "pct_matched": "match",
    "median_ms": "med ms",
    "p90_abs_ms": "p90|e|",
    "misses": "misses",
    "extras": "extras",
    "pct_extras": "extra%",
    "to_median_ms": "TO med",
    "lr_diff": "L-R",
    "ref_lr_diff": "refL-R",
    "n_two_phase": "2phase",
    "lost": "lost",
    "invented": "inv",
    "median_abs_ms": "med|e|",
    "contact_det_ms": "CT det",
    "contact_ref_ms": "CT ref",
    "contact_diff_ms": "CT diff",
}
_TITLES = {
    "gaitpdb": "gaitpdb insoles (100 Hz): heel strikes vs noise-floor onsets, 50 ms; TO = "
    "toe-off vs noise-floor toe-off [ms]; lost / inv = misses / extras at 250 ms (count, not "
    "timing); L-R = detected left - right count (refL-R: reference)",
    "gaitndd": "gaitndd footswitches (300 Hz): left heel strikes vs .ts marks (2phase: marks "
    "replaced by noise-floor onsets), 50 ms; lost / inv = misses / extras at 250 ms (count, "
    "not timing); L-R = detected left - right in annotated span",
    "forceplate": "running force plate (RBDS, 300 Hz, Fy): onsets vs max(50 N, flight + 5 SD) "
    "crossings, 10 ms; CT = median contact time [ms]; TO = toe-off median error [ms]",
}


def format_table(dataset: str, rows: list[dict[str, Any]]) -> str:
    """Format one dataset's rows as an aligned plain-text table.

    Parameters
    ----------
    dataset : {"gaitpdb", "gaitndd", "forceplate"}
        Which column set to use.
    rows : list of dict
        Rows from :func:`gaitpdb_rows`, :func:`gaitndd_rows` or :func:`forceplate_row`.

    Returns
    -------
    str
        Title line, header and one line per row.
    """
    cols = _COLUMNS[dataset]
    lines = [_TITLES[dataset]]
    lines.append(" ".join(h.format(_HEADERS[k]) for k, h, _ in cols))
    for row in rows:
        cells = []
        for key, head, fmt in cols:
            value = row.get(key)
            width = len(head.format(""))
            if isinstance(value, float) and not np.isfinite(value):
                cells.append("nan".rjust(width))
            else:
                cells.append(fmt.format(value))
        lines.append(" ".join(cells))
    return "\n".join(lines)


def run(datasets: list[str], data: Path = DATA) -> dict[str, list[dict[str, Any]]]:
    """Compute the figures of the selected datasets that are present.

    Parameters
    ----------
    datasets : list of str
        Any of "gaitpdb", "gaitndd", "forceplate".
    data : Path
        The data folder: ``gaitpdb/*_*.txt``, ``gaitndd/<record>.{hea,let,rit,ts}`` and
        ``running_forceplate/*forces.txt`` (RBDS), as in ``../shared/data`` or the folder of
        ``insole data fetch``; every record found there is run.

    Returns
    -------
    dict of str to list of dict
        Rows per dataset (index arrays removed).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    SKIPPED.clear()
    if "gaitpdb" in datasets and any((data / "gaitpdb").glob("*_*.txt")):
        out["gaitpdb"] = [_public(r) for r in gaitpdb_rows(data / "gaitpdb")]
    if "gaitndd" in datasets and gaitndd_records(data / "gaitndd"):
        out["gaitndd"] = [_public(r) for r in gaitndd_rows(data / "gaitndd")]
    plates = sorted((data / "running_forceplate").glob("*forces.txt"))
    if "forceplate" in datasets and plates:
        rows = [r for p in plates for r in _skipping(p.stem, lambda q: [forceplate_row(q)], p)]
        out["forceplate"] = [_public(r) for r in rows]
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the validation tables (or JSON).

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0, or 2 when the data folder is absent or holds none of the selected datasets.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--dataset",
        choices=("gaitpdb", "gaitndd", "forceplate", "all"),
        default="all",
        help="which dataset to run (default: all)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--data", type=Path, default=DATA, metavar="DIR",
        help="data folder with gaitpdb/, gaitndd/ and running_forceplate/ (default: "
        "../shared/data beside the clone); every record in it is run, e.g. the whole PhysioNet "
        "datasets or the folder of 'insole data fetch' ('insole data path')",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"validation data not found: {args.data}: put the shared data beside the clone "
              "(../shared/data) or pass --data DIR", file=sys.stderr)
        return 2
    selected = ["gaitpdb", "gaitndd", "forceplate"] if args.dataset == "all" else [args.dataset]
    start = time.perf_counter()
    figures = run(selected, args.data)
    if not figures:
        print(f"no {' / '.join(selected)} records in {args.data} (expected gaitpdb/*_*.txt, "
              "gaitndd/<record>.hea .let .rit .ts, running_forceplate/*forces.txt)",
              file=sys.stderr)
        return 2
    if args.json:
        shown: dict[str, Any] = dict(figures)
        if SKIPPED:
            shown["skipped"] = [{"record": r, "reason": why} for r, why in SKIPPED]
        print(json.dumps(shown, indent=2, allow_nan=True))
        return 0
    for name, rows in figures.items():
        if rows:
            print(format_table(name, rows))
            print()
    if SKIPPED:
        print(f"skipped {len(SKIPPED)} record{'s' * (len(SKIPPED) != 1)} (not in the tables): "
              + "; ".join(f"{r}: {why}" for r, why in SKIPPED))
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
