"""Clock sync: map each insole's device clock onto the host timeline, robust to delivery jitter.

Frames carry the insole's own clock (``timestamp_us``, wrapping at 2**32 µs); the host stamps
every received chunk with its monotonic clock (SPEC §5). For one insole the two are related by

    host_time = offset + device_time / (1 + drift) + latency,   latency ≥ 0,

where the latency (radio or UART, buffering, scheduling) is random, positive and skewed: most
frames arrive a little late and some very late (BLE retransmissions, link pauses, a backlog
flushed at once). The least-delayed frames lie on the **lower envelope** of the host-vs-device
points, a straight line whose slope gives the drift and whose intercept gives the offset plus
the (unidentifiable, constant) minimum latency. This module estimates that line:

1. the device time axis is cut into windows of ``window_s`` (default 2 s); each window keeps
   only its point of smallest ``host − device`` (its least-delayed frame);
2. a Theil–Sen line (the median of all pairwise slopes, then the median intercept) is fitted
   through the window minima; a window whose minimum is still high (a pause, a burst of
   retransmissions) is an outlier that the medians ignore.

`ClockSync` does this in a streaming way with explicit state (the window minima and the unwrap
state of the device clock); `fit_clock` is the same code fed once; `DeviceClocks` keeps one
`ClockSync` per insole of a decoded stream; `align_clocks` reports the left/right alignment
(offset in ms, relative drift in ppm).

Notes
-----
The lower-envelope idea is that of Paxson (1998, "On calibrating measurements of packet transit
times", ACM SIGMETRICS) and Moon, Skelly & Towsley (1999, "Estimation and removal of clock skew
from network delay measurements", IEEE INFOCOM), who fit a line below all points by linear
programming. Windowed minima with a Theil–Sen fit (Theil 1950; Sen 1968, "Estimates of the
regression coefficient based on Kendall's tau", JASA 63:1379) trade a little of that precision
for robustness: a line constrained below *all* points is pulled down by a single frame stamped
too early (a device clock glitch), while the medians tolerate up to ~29 % bad windows.

Precision: a window's minimum sits within about ``jitter / n_frames_per_window`` of the true
envelope, so over a span ``T`` the slope error is roughly that divided by ``T``; on the
simulator's links (up to 1.5 ms jitter, 33 frames/s) 30 s give about 1 ppm
(``tests/core/test_clock.py``).

Cost: the median of the n(n-1)/2 pairwise slopes (n ≤ 1500 windows) is exactly ``np.median``'s
value, found from a bracket placed by a fixed random sample of slopes and one compiled pass
over all pairs (`_median_slope_bracketed`; a few ms for an hour, where sorting or partitioning
all slopes took tens of ms), or by `_median_slope_float32` where the bracket does not apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from firmware_protocol import FrameTable, FrameType, Side

__all__ = [
    "ClockAlignment",
    "ClockFit",
    "ClockSync",
    "DeviceClocks",
    "align_clocks",
    "exact_sample_rate",
    "fit_clock",
]

_WRAP_US = 1 << 32
_MAX_WINDOWS_FIT = 1500  # Theil–Sen is O(n²): coarsen beyond this many windows


@dataclass(frozen=True)
class ClockFit:
    """A device clock mapped onto the host clock.

    ``host_time_s = offset_s + (device_time_s - device_origin_s) * slope``, with
    ``slope = 1 / (1 + drift_ppm · 1e-6)``.

    Attributes
    ----------
    offset_s : float
        Host time [s] of the device time ``device_origin_s``, including the minimum latency
        of the link (which cannot be told apart from the offset).
    drift_ppm : float
        How much faster the device clock runs than the host clock [ppm]; positive: the device
        clock gains.
    device_origin_s : float
        Device time [s] (unwrapped) used as origin, the first one seen.
    n_windows : int
        Windows whose minima were fitted.
    n_points : int
        Frames fed.
    span_s : float
        Device time covered by the windows [s].
    residual_ms : float
        Median absolute distance of the window minima from the line [ms] (envelope jitter).
    """

    offset_s: float
    drift_ppm: float
    device_origin_s: float
    n_windows: int
    n_points: int
    span_s: float
    residual_ms: float

    @property
    def slope(self) -> float:
        """Host seconds per device second."""
        return 1.0 / (1.0 + self.drift_ppm * 1e-6)

    def to_host(self, device_time_s: ArrayLike) -> np.ndarray:
        """Map unwrapped device times [s] (same unwrapping as fed) to host times [s]."""
        return self.offset_s + (np.asarray(device_time_s, np.float64) - self.device_origin_s) * (
            self.slope
        )

    def to_device(self, host_time_s: ArrayLike) -> np.ndarray:
        """Map host times [s] to unwrapped device times [s]."""
        return self.device_origin_s + (np.asarray(host_time_s, np.float64) - self.offset_s) / (
            self.slope
        )


@dataclass(frozen=True)
class ClockAlignment:
    """Left/right alignment of two insole clocks.

    Attributes
    ----------
    offset_ms : float
        Right device clock minus left device clock at ``reference_host_s`` [ms]: subtract it
        from a right-insole device time to put it on the left insole's clock.
    drift_ppm : float
        Rate of the right clock relative to the left [ppm]; positive: the right clock gains.
    reference_host_s : float
        Host time at which ``offset_ms`` holds [s].
    """

    offset_ms: float
    drift_ppm: float
    reference_host_s: float


def _pair_slopes(x: np.ndarray, y: np.ndarray) -> Iterator[np.ndarray]:
    """The slopes of every pair ``i < j`` with ``x[j] > x[i]``, one row ``i`` at a time."""
    for i in range(len(x) - 1):
        dx = x[i + 1 :] - x[i]
        ok = dx > 0
        yield (y[i + 1 :] - y[i])[ok] / dx[ok]


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Median pairwise slope and median intercept (Theil–Sen) of ``y`` against ``x``.

    The slope is exactly ``np.median`` of the pairwise slopes (`_median_slope_bracketed`, or
    `_median_slope_float32` where that does not apply).
    """
    slope = _median_slope_bracketed(x, y)
    if slope is None:
        slope = _median_slope_float32(x, y)
    return slope, float(np.median(y - slope * x))


#: Fewest slopes for which `_median_slope_bracketed` is tried (fewer: `_median_slope_float32`).
_BRACKET_MIN_PAIRS = 1 << 15
#: Random pairs whose slopes place the bracket around the median.
_BRACKET_SAMPLE = 1 << 15
#: Half-width of the bracket in standard deviations of the sample median's rank: the middle
#: ranks fall outside it with probability ~1e-9; then the float32 method is used instead.
_BRACKET_SD = 6.0


def _median_slope_bracketed(x: np.ndarray, y: np.ndarray) -> float | None:
    """``np.median`` of the pairwise slopes from a bracket around it; None if not found.

    A fixed random sample of pairs gives values ``a <= b`` whose ranks among all slopes
    bracket the middle one(s) with near certainty; one compiled pass over all pairs
    (`insole.core._steps_kernel.slope_count`) counts the slopes below ``a`` and keeps those in
    ``[a, b]`` (about 3 % of them). If the middle ranks are among the kept ones, sorting those
    gives the same middle values as sorting all slopes, hence exactly ``np.median``'s result,
    in O(n²) time without a sort or partition of the n²/2 slopes. Needs ``x`` non-decreasing
    (the window minima are in time order) so that the number of slopes is known beforehand;
    returns None otherwise, with non-finite slopes, or for fewer than `_BRACKET_MIN_PAIRS`.
    """
    from insole.core.steps import kernels

    x = np.ascontiguousarray(x, np.float64)
    y = np.ascontiguousarray(y, np.float64)
    n = len(x)
    if n < 2 or not bool((np.diff(x) >= 0).all()):
        return None
    ties = np.diff(np.flatnonzero(np.diff(np.concatenate(([-np.inf], x, [np.inf]))) > 0))
    k = n * (n - 1) // 2 - int((ties * (ties - 1) // 2).sum())  # pairs with x[j] > x[i]
    if k < _BRACKET_MIN_PAIRS:
        return None
    lo, hi = (k - 1) // 2, k // 2  # the middle rank(s), as np.median takes them
    rng = np.random.default_rng(0x5E7)  # the same sample every time: same run time
    i, j = rng.integers(0, n, (2, _BRACKET_SAMPLE))
    i, j = np.minimum(i, j), np.maximum(i, j)
    dx = x[j] - x[i]
    ok = dx > 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sample = (y[j][ok] - y[i][ok]) / dx[ok]
    if not np.isfinite(sample).all():
        return None
    m = len(sample)
    if m < _BRACKET_SAMPLE // 4:  # mostly equal x: no bracket from the sample
        return None
    sample.sort()
    margin = int(_BRACKET_SD * 0.5 * math.sqrt(m)) + 2
    ia, ib = lo * m // k - margin, -(-(hi + 1) * m // k) + margin
    a = float(sample[ia]) if ia >= 0 else -math.inf
    b = float(sample[ib]) if ib < m else math.inf
    inside = np.empty(int(k * min(ib - ia + 1, m) / m * 1.5) + 1024)
    below, n_in, finite = kernels().slope_count(x, y, a, b, inside)
    if not finite or below > lo or below + n_in <= hi:
        return None
    middle = np.sort(inside[:n_in])
    return float(np.mean(middle[[lo - below, hi - below]]))


def _median_slope_float32(x: np.ndarray, y: np.ndarray) -> float:
    """``np.median`` of the pairwise slopes of ``y`` against ``x``, in numpy.

    Exactly ``np.median`` of the pairwise slopes, in a quarter of their memory (about 4.5 MB at
    the `_MAX_WINDOWS_FIT` cap; all pairs' index and difference arrays at once took 46 MB): the
    slopes are kept as float32 to find the float32 values of the middle rank(s), then a second
    pass picks the exact float64 slopes that round to them. Rounding to float32 never reverses
    an order, so the slopes rounding below that range are exactly the lower ranks.
    """
    n = len(x)
    coarse = np.empty(n * (n - 1) // 2, np.float32)
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: inf, checked below
        for row in _pair_slopes(x, y):
            coarse[k : k + len(row)] = row
            k += len(row)
    if k == 0:
        slope = 0.0
    elif not np.isfinite(coarse[:k]).all():  # beyond float32 (or not finite): all in float64
        slope = float(np.median(np.concatenate(list(_pair_slopes(x, y)))))
    else:
        lo, hi = (k - 1) // 2, k // 2  # the middle rank(s), as np.median takes them
        part = coarse[:k]
        part.partition((lo, hi))
        a, b = part[lo], part[hi]
        below = 0
        inside = []
        for row in _pair_slopes(x, y):
            r32 = row.astype(np.float32)
            below += int(np.count_nonzero(r32 < a))
            inside.append(row[(r32 >= a) & (r32 <= b)])
        middle = np.sort(np.concatenate(inside))
        slope = float(np.mean(middle[[lo - below, hi - below]]))
    return slope


def _first_minima(win: np.ndarray, resid: np.ndarray) -> np.ndarray:
    """Index of the smallest ``resid`` of each distinct ``win`` (the first of equal ones).

    In window order. Frames come in time order, so ``win`` rarely decreases: then the windows
    are runs, reduced in one pass; otherwise (or with NaN residuals) a sort by window and
    residual.
    """
    if len(win) == 0:
        return np.zeros(0, np.int64)
    if not np.isnan(resid).any() and bool((np.diff(win) >= 0).all()):
        starts = np.flatnonzero(np.diff(win)) + 1
        starts = np.concatenate(([0], starts))
        mins = np.minimum.reduceat(resid, starts)
        hit = np.flatnonzero(resid == np.repeat(mins, np.diff(starts, append=len(win))))
        return hit[np.searchsorted(hit, starts)]
    order = np.lexsort((resid, win))
    first = np.concatenate(([True], win[order][1:] != win[order][:-1]))
    return order[first]


class ClockSync:
    """Streaming estimate of one device clock against the host clock (lower-envelope fit).

    Parameters
    ----------
    window_s : float
        Length of a device-time window [s]; each window keeps its least-delayed frame. Use a
        window holding at least ~10 frames and shorter than a tenth of the recording.

    Attributes
    ----------
    n_points_ : int
        Frames fed so far.

    Notes
    -----
    State: the unwrap state of the device clock (last raw value and the unwrapped origin) and,
    per window index, the point of smallest ``host − device``. Windows are numbered from the
    first device time seen, so feeding the same frames in any split gives the same state and
    the same estimate. See the module docstring for the method and its references.

    Examples
    --------
    >>> sync = ClockSync()
    >>> sync.update(timestamp_us, host_time_s)  # doctest: +SKIP
    >>> sync.estimate().drift_ppm  # doctest: +SKIP
    """

    def __init__(self, *, window_s: float = 2.0) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be positive, got {window_s!r}")
        self.window_s = float(window_s)
        self.n_points_ = 0
        self._origin_us: int | None = None  # unwrapped device time of the first point
        self._last_raw: int = 0  # last device time fed (as given, mod 2**32 is what matters)
        self._last_unwrapped: int = 0
        # window index -> (min host-device residual [s], x [s], host [s])
        self._windows: dict[int, tuple[float, float, float]] = {}

    def update(self, device_time_us: ArrayLike, host_time_s: ArrayLike) -> ClockSync:
        """Feed device times and the host times at which they were received.

        Parameters
        ----------
        device_time_us : array_like of int or float
            Device clock of each frame [µs]: the ``timestamp_us`` field as sent (wrapping at
            2**32) or already unwrapped; steps between consecutive values must be below
            2**31 µs (35 min). Use the time of the frame's last sample (see `DeviceClocks`).
        host_time_s : array_like of float
            Host receive time of each frame [s].

        Returns
        -------
        ClockSync
            self.
        """
        dev = np.round(np.asarray(device_time_us, np.float64)).astype(np.int64).ravel()
        host = np.asarray(host_time_s, np.float64).ravel()
        if dev.shape != host.shape:
            raise ValueError(
                f"device_time_us and host_time_s must have the same length, "
                f"got {dev.shape[0]} and {host.shape[0]}"
            )
        if len(dev) == 0:
            return self
        if self._origin_us is None:
            self._origin_us = self._last_unwrapped = int(dev[0])
            self._last_raw = int(dev[0])
        prev = np.concatenate(([self._last_raw], dev[:-1]))
        step = (dev - prev) % _WRAP_US
        step = np.where(step >= _WRAP_US // 2, step - _WRAP_US, step)
        unwrapped = self._last_unwrapped + np.cumsum(step)
        self._last_raw = int(dev[-1])
        self._last_unwrapped = int(unwrapped[-1])
        x = (unwrapped - self._origin_us) / 1e6
        resid = host - x
        win = np.floor(x / self.window_s).astype(np.int64)
        # Minimum residual per window in this batch (the first of equal ones), then merge with
        # the state.
        first = _first_minima(win, resid)
        windows = self._windows
        for w, r, xk, hk in zip(
            win[first].tolist(), resid[first].tolist(), x[first].tolist(),
            host[first].tolist(), strict=True,
        ):  # fmt: skip
            cur = windows.get(w)
            if cur is None or r < cur[0]:
                windows[w] = (r, xk, hk)
        self.n_points_ += len(dev)
        return self

    @property
    def n_windows(self) -> int:
        """Windows holding at least one frame."""
        return len(self._windows)

    def estimate(self) -> ClockFit:
        """Fit the lower envelope through the window minima.

        Returns
        -------
        ClockFit
            Offset and drift of the device clock.

        Raises
        ------
        ValueError
            If fewer than two windows hold frames (feed at least ``2 · window_s`` of data), or
            if the host times do not advance with the device clock (a fitted slope at or below
            zero: chunk times damaged in the file, not a clock).
        """
        if len(self._windows) < 2 or self._origin_us is None:
            raise ValueError(
                f"clock sync needs frames in at least 2 windows of {self.window_s:g} s, "
                f"got {len(self._windows)}; feed more data or use a shorter window_s"
            )
        keys = sorted(self._windows)
        pts = np.array([self._windows[k] for k in keys])
        resid, x = pts[:, 0], pts[:, 1]
        if len(x) > _MAX_WINDOWS_FIT:  # merge neighbouring windows, keeping each group's min
            group = np.arange(len(x)) * _MAX_WINDOWS_FIT // len(x)
            order = np.lexsort((resid, group))
            first = np.concatenate(([True], group[order][1:] != group[order][:-1]))
            resid, x = resid[order][first], x[order][first]
        b, a = _theil_sen(x, resid)  # resid = a + b·x: host = a + (1 + b)·x
        slope = 1.0 + b
        if not (math.isfinite(slope) and slope > 0.0):
            raise ValueError(
                f"clock sync: the host times do not advance with the device clock (slope "
                f"{slope:g}); the chunk times are damaged, no clock can be fitted"
            )
        fitted = a + b * x
        return ClockFit(
            offset_s=a,
            drift_ppm=(1.0 / slope - 1.0) * 1e6,
            device_origin_s=self._origin_us / 1e6,
            n_windows=len(keys),
            n_points=self.n_points_,
            span_s=float(x[-1] - x[0]),
            residual_ms=float(np.median(np.abs(resid - fitted)) * 1e3),
        )


def fit_clock(
    device_time_us: ArrayLike, host_time_s: ArrayLike, *, window_s: float = 2.0
) -> ClockFit:
    """Map a device clock onto the host clock from a whole recording (offline).

    The same computation as `ClockSync` fed once.

    Parameters
    ----------
    device_time_us : array_like
        Device time of each frame (or sample) [µs], wrapped or unwrapped.
    host_time_s : array_like
        Host receive time of each frame (or of the frame carrying each sample) [s].
    window_s : float
        Window length for the minima [s].

    Returns
    -------
    ClockFit
        Offset and drift.

    Raises
    ------
    ValueError
        If the data cover fewer than two windows.

    Notes
    -----
    Per-sample input (``DeviceData.device_time_s * 1e6`` and ``DeviceData.host_time_s`` of the
    loader) works too: all samples of a frame share its host time, so each window's minimum is
    the frame's last sample, as with frame-level input.
    """
    return ClockSync(window_s=window_s).update(device_time_us, host_time_s).estimate()


def align_clocks(
    left: ClockFit, right: ClockFit, *, at_host_s: float | None = None
) -> ClockAlignment:
    """Left/right alignment of two insole clocks fitted against the same host clock.

    Parameters
    ----------
    left, right : ClockFit
        The two insoles' fits.
    at_host_s : float, optional
        Host time at which to report the offset; default the later of the two fits' origins
        (the start of the data both insoles cover).

    Returns
    -------
    ClockAlignment
        Right-minus-left device clock offset [ms] and relative drift [ppm].
    """
    h = max(left.offset_s, right.offset_s) if at_host_s is None else float(at_host_s)
    offset_s = float(right.to_device(h) - left.to_device(h))
    drift = (1.0 + right.drift_ppm * 1e-6) / (1.0 + left.drift_ppm * 1e-6) - 1.0
    return ClockAlignment(offset_ms=offset_s * 1e3, drift_ppm=drift * 1e6, reference_host_s=h)


class DeviceClocks:
    """One `ClockSync` per insole of a decoded stream, fed with SAMPLES frames.

    Parameters
    ----------
    window_s : float
        Window length of each `ClockSync` [s].

    Notes
    -----
    A frame's device time is that of its **last** sample
    (``timestamp_us + (n_samples − 1) · 1e6 / sample_rate_hz``): the frame cannot be sent
    before it, so that time has the smallest and steadiest latency. Other frame types are
    ignored (their stamps mean "at sending", a slightly different delay).
    """

    def __init__(self, *, window_s: float = 2.0) -> None:
        self.window_s = float(window_s)
        self.clocks: dict[tuple[int, str], ClockSync] = {}

    def update(self, table: FrameTable, host_time_s: ArrayLike) -> DeviceClocks:
        """Feed the frames of one decoder call and their host receive times.

        Parameters
        ----------
        table : FrameTable
            Frames from `StreamDecoder.feed_table`.
        host_time_s : array_like of float, shape (len(table),) or scalar
            Host time of the chunk that completed each frame [s].

        Returns
        -------
        DeviceClocks
            self.
        """
        host = np.broadcast_to(np.asarray(host_time_s, np.float64), (len(table),))
        samples = table.frame_type == FrameType.SAMPLES
        if not samples.any():
            return self
        rate = np.maximum(table.sample_rate_hz, 1)
        last_us = table.timestamp_us + (table.n_samples - 1) * 1e6 / rate
        for dev_id, side in table.devices():
            mine = samples & (table.device_id == dev_id) & (table.side == int(side))
            if mine.any():
                key = (dev_id, Side(side).label)
                sync = self.clocks.get(key)
                if sync is None:
                    sync = self.clocks[key] = ClockSync(window_s=self.window_s)
                sync.update(last_us[mine], host[mine])
        return self

    def fits(self) -> dict[tuple[int, str], ClockFit]:
        """Fit of every insole with enough data, keyed by ``(device_id, side)``."""
        out = {}
        for key, sync in self.clocks.items():
            if sync.n_windows >= 2:
                try:
                    out[key] = sync.estimate()
                except ValueError:  # damaged host times: no fit (as with too few windows)
                    continue
        return out

    def alignment(self) -> ClockAlignment | None:
        """Left/right alignment, or None unless exactly one left and one right insole fit."""
        fits = self.fits()
        left = [f for (_, side), f in fits.items() if side == "left"]
        right = [f for (_, side), f in fits.items() if side == "right"]
        if len(left) != 1 or len(right) != 1:
            return None
        return align_clocks(left[0], right[0])


def exact_sample_rate(frame_rate_hz: float, device: Mapping[str, Any]) -> float:
    """The sampling rate to place samples by: the header's, when the frames carry it rounded.

    The protocol's ``sample_rate_hz`` field is a whole number of Hz (SPEC §1); an importer of a
    31.25 Hz F-Scan movie or a 75.13 Hz XSENSOR export writes the rate rounded in every frame
    and the exact rate in the header's device entry (``recordings/FORMAT.md``). Placing samples
    at the rounded rate would put them a fraction of a sample off their true time, one more
    per few seconds: samples that land on the same index overwrite each other and the gaps
    come out negative.

    Parameters
    ----------
    frame_rate_hz : float
        The rate the frames carry (a whole number of Hz).
    device : mapping
        The device's entry in the recording header (may be empty).

    Returns
    -------
    float
        The header's ``sample_rate_hz`` where it rounds to ``frame_rate_hz``, else
        ``frame_rate_hz``.
    """
    exact = device.get("sample_rate_hz")
    if (
        isinstance(exact, (int, float))
        and math.isfinite(exact)
        and exact > 0
        and math.floor(exact + 0.5) == frame_rate_hz
    ):
        return float(exact)
    return frame_rate_hz
