"""The one signal path for live data, replay and offline analysis.

``Pipeline.feed(stream_id, data)`` takes raw wire bytes exactly as a reader received them and
returns what they completed: decoded samples per side (calibrated), finished steps with their
load distribution, and device status. Offline analysis is the same pipeline fed each stream's
bytes at once; because the decoder, the sample assembler, the contact detector and the step
features are all independent of how the byte stream is split, the steps are identical for any
chunking (tested with random splits).

Per insole (side) the pipeline:

1. places every sample on that insole's own sample clock, from the device timestamps of the
   frames (index 0 = the first frame it sent); samples of lost frames become NaN rows, so time
   never slips and the detector sees the gap;
2. converts counts to force with the recording's calibration (`Calibrator`) — for frames in
   order, in the same compiled pass that reads the counts out of the frames and places them
   (`_Side._place_frames`);
3. feeds the total force to a causal `ContactDetector`;
4. computes the load distribution of the contacts each feed finished (`step_loads`, all at
   once) from the buffered samples, after re-zeroing each sensor on the preceding swing phase
   (`swing_baselines`).

Times are seconds on each insole's own clock since its first frame. When the feeder passes the
host receive time of each chunk (``feed(..., host_time_s=...)``: recordings, readers), each
insole's clock is also fitted against the host clock (`insole.core.clock`), and
`Pipeline.alignment` gives the map that puts right-insole times on the left insole's clock
(start offset and relative drift); `insole.session.analysis.summarise_session` applies it before any
left/right metric (step time, flight time). Without host times both insoles are assumed to have
started together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firmware_protocol import DecoderStats, FrameTable, FrameType, Side, StreamDecoder
from insole.core.calibration import Calibrator
from insole.core.clock import DeviceClocks, exact_sample_rate
from insole.core.events import PLATE_UNDER_BOTH_FEET, ContactDetector, ContactRows
from insole.core.layouts import SensorLayout, default_layout, single_sensor_layout
from insole.core.steps import (
    StepFeatures,
    StepLoad,
    gc_paused,
    kernels,
    lost_rows,
    step_features,
    swing_baselines,
)

__all__ = [
    "Pipeline",
    "PipelineUpdate",
    "SideAlignment",
    "SideSamples",
    "StepBatch",
    "StepRecord",
    "plate_under_both_feet",
]

#: Gaps longer than this restart the detector instead of filling NaN samples [s].
MAX_FILL_GAP_S = 10.0
#: Samples kept per side for step features and baselines [s]; longer than a contact plus the
#: detector's look-ahead and start-up.
KEEP_S = 20.0
#: Steps that lie wholly inside lost data are not seen (docs/events.md step 7); they are
#: estimated from the strides that span a loss (`hidden_steps`). A stride counts when it is at
#: least this many times the median of the last `HIDDEN_STEP_HISTORY` strides: stride times
#: vary by a few per cent (CV 1-3 % in healthy walking and running, up to 5-7 % in
#: Huntington's and Parkinson's gait: Hausdorff et al. 1997, 2000), so 1.5 x is no natural
#: variation; the detector's ``split_factor`` for contacts is the same.
HIDDEN_STEP_RATIO = 1.5
HIDDEN_STEP_HISTORY = 9
#: ... and when the lost data in it could hold the steps: each hidden step's contact lies
#: wholly in the loss, and a contact lasts at least 20 % of the stride (stance is about 60 %
#: of the gait cycle in walking, about 40 % in jogging and 22 % in sprinting: Perry &
#: Burnfield 2010; Novacheck 1998, Gait & Posture 7:77). A turn or a pause without a loss
#: adds no step.
HIDDEN_STEP_LOSS_FRACTION = 0.2


def plate_under_both_feet(header: dict[str, Any]) -> bool:
    """Whether a recording is one force plate under both feet (every contact a step).

    Marked on its device entry or recording-wide in ``extra.import`` (`insole import table
    --side both`, a C3D plate of side ``both``); the pipeline detects such a device with
    `insole.core.events.PLATE_UNDER_BOTH_FEET` and the summary labels it as a plate.
    """
    if any(isinstance(d, dict) and d.get("plate_under_both_feet")
           for d in header.get("devices", [])):
        return True
    extra = header.get("extra")
    imported = extra.get("import") if isinstance(extra, dict) else None
    return isinstance(imported, dict) and bool(imported.get("plate_under_both_feet"))


def usual_strides(stride_s: np.ndarray, recent_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The usual stride before each new one: the median of the `HIDDEN_STEP_HISTORY` before it.

    ``stride_s``: the new strides of one foot in order [s] (NaN: unknown, e.g. after a
    restart; a window holding one gives NaN); ``recent_s``: the strides before them. Returns
    the usual strides (NaN until `HIDDEN_STEP_HISTORY` are known) and the last ones for the
    next call.
    """
    h = HIDDEN_STEP_HISTORY
    series = np.concatenate([recent_s, stride_s]).astype(np.float64)
    usual = np.full(len(series), np.nan)
    if len(series) > h:
        windows = np.lib.stride_tricks.sliding_window_view(series, h)  # strides i .. i+h-1
        usual[h:] = np.median(windows[:-1], axis=1)
    return usual[len(recent_s) :], series[-h:]


def hidden_steps(stride_s: np.ndarray, usual_s: np.ndarray, lost_s: np.ndarray) -> np.ndarray:
    """Steps estimated to lie wholly in lost data, per stride of one foot.

    ``round(stride / usual) - 1`` where the stride is at least `HIDDEN_STEP_RATIO` x the
    usual one (`usual_strides`) and the lost data in it (``lost_s`` [s]) could hold that many
    contacts (`HIDDEN_STEP_LOSS_FRACTION` of the usual stride each); else 0.

    >>> hidden_steps(np.array([1.0, 2.1, 3.0, 2.0]), np.full(4, 1.0), np.array([0, 1, 0.1, 0]))
    array([0, 1, 0, 0])
    """
    with np.errstate(invalid="ignore"):
        k = np.where(stride_s >= HIDDEN_STEP_RATIO * usual_s, np.rint(stride_s / usual_s) - 1, 0)
        ok = lost_s >= HIDDEN_STEP_LOSS_FRACTION * k * usual_s
    return np.where(ok & (k > 0), k, 0).astype(np.int64)


@dataclass
class StepRecord:
    """One detected step (contact) with its load distribution.

    Attributes
    ----------
    side : {"left", "right"}
    number : int
        Step number on this side, from 1.
    heel_strike_s, toe_off_s : float
        Initial contact and toe-off [s on the insole's clock].
    stride_s : float
        Time since this side's previous heel strike [s]; NaN for the first step or after a gap.
    impact_peak_n, impact_peak_s : float
        Heel impact peak of the total force and its time; NaN when the contact has none.
    load : StepLoad
        Load distribution.
    toe_off_valid : bool
        False when the detector flagged the toe-off (`Contact.toe_off_valid`; e.g. the contact
        ended in standing): the contact time is not a real one.
    flags : tuple
        The contact's flags from the detector (`Contact.flags`, when it has them).
    """

    side: str
    number: int
    heel_strike_s: float
    toe_off_s: float
    stride_s: float
    impact_peak_n: float
    impact_peak_s: float
    load: StepLoad
    toe_off_valid: bool = True
    flags: tuple[str, ...] = ()

    @property
    def contact_s(self) -> float:
        """Contact time [s]."""
        return self.toe_off_s - self.heel_strike_s


@dataclass(eq=False)
class StepBatch:
    """The steps of one side that one feed completed, as arrays (one entry per step).

    What `Pipeline` hands out instead of `StepRecord` objects when built with
    ``step_records=False`` (offline analysis that keeps only the steps table's numbers);
    `records` gives the very `StepRecord` objects the pipeline would have made.

    Attributes
    ----------
    side : {"left", "right"}
    number : ndarray of int64
        Step numbers on this side.
    heel_strike_s, toe_off_s, stride_s : ndarray of float64
        As in `StepRecord`.
    impact_peak_n, impact_peak_s : ndarray of float64
        As in `StepRecord` (NaN where the contact has no impact peak).
    toe_off_valid : ndarray of bool
        As in `StepRecord`.
    flags : list of tuple of str
        As in `StepRecord`.
    features : StepFeatures
        The load distribution of every step (`insole.core.steps.step_features`).
    """

    side: str
    number: np.ndarray
    heel_strike_s: np.ndarray
    toe_off_s: np.ndarray
    stride_s: np.ndarray
    impact_peak_n: np.ndarray
    impact_peak_s: np.ndarray
    toe_off_valid: np.ndarray
    flags: list[tuple[str, ...]]
    features: StepFeatures

    def __len__(self) -> int:
        return len(self.number)

    def records(self) -> list[StepRecord]:
        """One `StepRecord` per step (with its `StepLoad`)."""
        with gc_paused():  # thousands of small objects at once offline
            return [
                StepRecord(
                    side=self.side,
                    number=number,
                    heel_strike_s=hs,
                    toe_off_s=to,
                    stride_s=st,
                    impact_peak_n=ip,
                    impact_peak_s=ips,
                    load=load,
                    toe_off_valid=valid,
                    flags=flags,
                )
                for number, hs, to, st, ip, ips, load, valid, flags in zip(
                    self.number.tolist(),
                    self.heel_strike_s.tolist(),
                    self.toe_off_s.tolist(),
                    self.stride_s.tolist(),
                    self.impact_peak_n.tolist(),
                    self.impact_peak_s.tolist(),
                    self.features.loads(),
                    self.toe_off_valid.tolist(),
                    self.flags,
                    strict=True,
                )
            ]


#: Least clock-sync windows (of 2 s) per insole before left/right alignment is applied.
MIN_ALIGN_WINDOWS = 3
#: Largest plausible relative drift of two insole clocks [ppm]: crystals are within ±20-50 ppm,
#: low-power RC sleep clocks within ±500 ppm (Bluetooth Core Spec, sleep clock accuracy);
#: more means the host times are not receive times (e.g. a replay at another speed).
MAX_ALIGN_DRIFT_PPM = 1000.0


@dataclass(frozen=True)
class SideAlignment:
    """How right-insole times are put on the left insole's clock: ``a + b · t``.

    Attributes
    ----------
    applied : bool
        True if the map below is used; False leaves right-insole times as they are.
    offset_ms : float
        Left-clock time of the right insole's time 0 [ms] (``a``); positive: the right insole's
        first frame came later.
    drift_ppm : float
        ``(b - 1) · 1e6``: how much slower the right clock runs than the left [ppm].
    reason : str
        Why the map is not applied (empty when it is).
    """

    applied: bool
    offset_ms: float = 0.0
    drift_ppm: float = 0.0
    reason: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SideAlignment:
        """Inverse of `as_dict` (None or an empty dict: not applied)."""
        if not d:
            return cls(False)
        return cls(
            bool(d.get("applied")),
            float(d.get("right_offset_ms", 0.0)),
            float(d.get("right_drift_ppm", 0.0)),
            str(d.get("reason", "")),
        )

    def to_left(self, t_s: float) -> float:
        """Map a right-insole time [s] onto the left insole's clock."""
        if not self.applied:
            return t_s
        return self.offset_ms / 1e3 + t_s * (1.0 + self.drift_ppm * 1e-6)

    def to_right(self, t_s: float) -> float:
        """Inverse of `to_left`: a left-clock time [s] on the right insole's own clock."""
        if not self.applied:
            return t_s
        return (t_s - self.offset_ms / 1e3) / (1.0 + self.drift_ppm * 1e-6)

    def apply(self, record: StepRecord) -> StepRecord:
        """Return ``record`` with its times on the left clock if it is a right-insole step."""
        if not self.applied or record.side != "right":
            return record
        b = 1.0 + self.drift_ppm * 1e-6
        return replace(
            record,
            heel_strike_s=self.to_left(record.heel_strike_s),
            toe_off_s=self.to_left(record.toe_off_s),
            stride_s=record.stride_s * b,
            impact_peak_s=self.to_left(record.impact_peak_s),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (in the session summary)."""
        return {
            "applied": self.applied,
            "right_offset_ms": round(self.offset_ms, 3),
            "right_drift_ppm": round(self.drift_ppm, 2),
            "reason": self.reason,
        }


@dataclass
class SideSamples:
    """New samples of one side, for live views.

    Attributes
    ----------
    start_index : int
        Sample index of the first row.
    sampling_rate_hz : float
        Sampling rate.
    total_n, heel_n : ndarray (n,)
        Total and heel force (NaN for lost samples).
    pressure_kpa : ndarray (n, n_sensors)
        Pressure per sensor.
    """

    start_index: int
    sampling_rate_hz: float
    total_n: np.ndarray
    heel_n: np.ndarray
    pressure_kpa: np.ndarray

    @property
    def time_s(self) -> np.ndarray:
        """Sample times [s on the insole's clock]."""
        return (self.start_index + np.arange(len(self.total_n))) / self.sampling_rate_hz


@dataclass
class PipelineUpdate:
    """What one `Pipeline.feed` call completed.

    ``heel_strikes`` are ``(side, time [s on that insole's clock])`` of the heel strikes that
    became certain in this call (`ContactDetector.pop_heel_strikes`): usually 10-30 ms of data
    after the onset, long before the step itself (``steps``) is complete at toe-off. Each time
    equals the ``heel_strike_s`` of the step that follows (before left/right alignment), unless
    it comes back in ``retracted_heel_strikes`` of a later update: its contact turned out to be
    no step, or to start later (`ContactDetector.pop_retracted_heel_strikes`; rare: touches,
    spikes, a first phase that was swing). Heel strikes announced less those retracted are
    exactly the heel strikes of the steps.
    A pipeline built with ``step_records=False`` leaves ``steps`` empty and hands the steps
    out as ``step_batches`` (`StepBatch`, arrays per side and feed) instead.
    """

    steps: list[StepRecord] = field(default_factory=list)
    heel_strikes: list[tuple[str, float]] = field(default_factory=list)
    retracted_heel_strikes: list[tuple[str, float]] = field(default_factory=list)
    step_batches: list[StepBatch] = field(default_factory=list)
    samples: dict[str, SideSamples] = field(default_factory=dict)
    battery_pct: dict[str, int] = field(default_factory=dict)


def _layout_for(device: dict[str, Any], n_sensors: int) -> SensorLayout:
    if device.get("layout"):
        return SensorLayout.from_json(device["layout"])
    if n_sensors == 1:
        return single_sensor_layout()
    return default_layout(n_sensors)


class _Clock:
    """One insole's device clock: unwrapped timestamps and the reference (its first frame)."""

    def __init__(self) -> None:
        self.ref: int | None = None
        self._last: int | None = None
        self._acc = 0

    def unwrap(self, ts: np.ndarray) -> np.ndarray:
        """Unwrap u32 device timestamps [µs] across calls."""
        if len(ts) == 0:
            return np.zeros(0, np.int64)
        t = ts.astype(np.int64)
        prev = np.concatenate(([t[0] if self._last is None else self._last], t[:-1]))
        step = (t - prev) & 0xFFFFFFFF
        step = np.where(step > 0x80000000, step - 0x100000000, step)
        base = int(t[0]) if self._last is None else self._acc
        out = base + np.cumsum(step)
        self._last, self._acc = int(t[-1]), int(out[-1])
        if self.ref is None:
            self.ref = int(out[0])
        return out


#: Fewest samples placed by the compiled kernels (`_place_rows`, `_Side._place_frames`); fewer
#: (a live feed's few samples) take numpy, whose call overhead is smaller.
_SLICE_MIN_ROWS = 256


def _place_rows(block: np.ndarray, rel: np.ndarray, force: np.ndarray) -> np.ndarray:
    """Put the rows of ``force`` at rows ``rel`` of ``block``, NaN in the rows between.

    As ``block[:] = nan; block[rel] = force`` (a later row wins where ``rel`` repeats), for
    ``0 <= rel <= rel[-1]`` = the last row of ``block``. Returns ``block.sum(axis=1)``, the
    total force the detector is fed. Many rows (a recording's) go through one compiled pass
    (`insole.core._steps_kernel.place_rows`: the same values, the same float32 sums).
    """
    if (
        len(rel) < _SLICE_MIN_ROWS
        or block.dtype != np.float32
        or block.ndim != 2
        or not block.flags.c_contiguous
        or int(rel.min()) < 0
        or int(rel.max()) >= len(block)  # numpy raises (the kernel does not check)
    ):
        block[:] = np.nan
        block[rel] = force
        return block.sum(axis=1)
    total = np.empty(len(block), np.float32)
    kernels().place_rows(
        block,
        np.ascontiguousarray(rel, np.int64),
        np.ascontiguousarray(force, np.float32),
        total,
    )
    return total


def _rows_of(contacts: Sequence[Any], fs: float) -> ContactRows:
    """`ContactRows` of contact objects (`Contact` or alike: None for no impact peak)."""

    def column(name: str) -> NDArray[np.float64]:
        values = [getattr(c, name) for c in contacts]
        return np.array([np.nan if v is None else v for v in values], np.float64)

    return ContactRows(
        column("heel_strike_index"),
        column("toe_off_index"),
        np.array([getattr(c, "peak_force_n", np.nan) for c in contacts], np.float64),
        column("impact_peak_n"),
        column("impact_peak_s"),
        np.array([bool(getattr(c, "toe_off_valid", True)) for c in contacts], bool),
        fs,
    )


class _Side:
    """Assembler, calibration, detector and step features of one insole."""

    def __init__(
        self,
        label: str,
        device: dict[str, Any],
        sampling_rate_hz: float,
        n_sensors: int,
        detector_options: dict[str, Any],
        emit_samples: bool,
        step_records: bool = True,
    ) -> None:
        self.label = label
        self.step_records = step_records
        #: Step batches completed since the owner last took them (``step_records=False``).
        self.batches: list[StepBatch] = []
        self.fs = float(sampling_rate_hz)
        self.layout = _layout_for(device, n_sensors)
        self.calibrator = Calibrator(device.get("calibration") or {}, self.layout)
        self.unit = self.calibrator.unit
        options = dict(detector_options)
        if self.unit == "N":  # force in newtons: 0 N with the foot in the air
            options.setdefault("unloaded_level", 0.0)
        if device.get("plate_under_both_feet"):  # the gap between contacts is the flight
            for name, value in PLATE_UNDER_BOTH_FEET.items():
                options.setdefault(name, value)  # type: ignore[misc]
        self.detector = ContactDetector(sampling_rate_hz=self.fs, **options)
        self.emit_samples = emit_samples
        self.n_sensors = n_sensors
        self.n = 0  # samples placed so far (next sample index)
        self._buf = np.zeros((0, n_sensors), np.float32)
        self._buf0 = 0  # sample index of _buf[0]
        self._keep = int(KEEP_S * self.fs)
        self.steps = 0
        self._last_hs_s = float("nan")
        self._last_to_index: float | None = None
        self._baseline = np.zeros(n_sensors, np.float32)  # the buffer's precision
        self.gap_samples = 0
        #: Samples received without a value: a sensor sent its invalid count (``invalid_count``
        #: of the calibration), so the sample's total force is unknown, as for a lost one.
        self.invalid_samples = 0
        self.overlap_samples = 0
        self.restarts = 0
        self.truncated_steps = 0
        #: Steps estimated to lie wholly in lost data (not seen, not counted): `hidden_steps`.
        self.hidden_steps = 0
        self._recent_strides = np.zeros(0)
        self.heel_strikes = []
        self.retracted_heel_strikes = []
        self.heel_idx = self.layout.indices("heel_medial", "heel_lateral")
        if len(self.heel_idx) == 0 and self.layout.n_sensors == 1:
            self.heel_idx = np.array([0])

    def add(
        self, table: FrameTable, dev_id: int, side: Side, rows: np.ndarray, ts: np.ndarray, ref: int
    ) -> list[StepRecord]:
        is_s = table.frame_type[rows] == FrameType.SAMPLES
        if not is_s.any():
            return []
        frame_rows = rows[is_s]
        n_per = table.n_samples[frame_rows]
        k0 = np.rint((ts[is_s] - ref) * self.fs / 1e6).astype(np.int64)
        steps = self._place_frames(table, frame_rows, k0, n_per)
        if steps is not None:
            return steps
        counts, _, _ = table.samples(dev_id, side)
        pos = np.repeat(k0, n_per) + (
            np.arange(len(counts)) - np.repeat(np.cumsum(n_per) - n_per, n_per)
        )
        return self.add_samples(pos, counts)

    def _place_frames(
        self, table: FrameTable, frames: np.ndarray, k0: np.ndarray, n_per: np.ndarray
    ) -> list[StepRecord] | None:
        """Place whole frames in order straight from their counts; None if not that case.

        The common case of a recording or a long feed: at least `_SLICE_MIN_ROWS` samples,
        every frame's samples after the previous frame's (``k0``: first sample index of each
        frame), none before the samples placed already, no gap to restart at. Then one
        compiled pass (`insole.core._steps_kernel.place_frames`) reads the counts out of the
        decoded frames, calibrates them into the grown buffer and sums the rows for the
        detector: the values `FrameTable.samples`, `Calibrator.force` and `_place_rows` give,
        without the arrays in between. Anything else takes `add_samples`.
        """
        n_s = self.n_sensors
        flat, row, clip = self.calibrator.lookup
        if len(row) != n_s or int(n_per.sum()) < _SLICE_MIN_ROWS or int(n_per.min()) < 1:
            return None
        ends = k0 + n_per  # one past each frame's last sample
        max_fill = int(MAX_FILL_GAP_S * self.fs)
        gaps = k0[1:] - ends[:-1]  # lost samples between frames (negative: overlap)
        first = table.counts_offset(frames)
        if (
            not 0 <= int(k0[0]) - self.n <= max_fill  # earlier samples, or a restart
            or (len(gaps) and (int(gaps.min()) < 0 or int(gaps.max()) >= max_fill))
            or not (table.n_sensors[frames] == n_s).all()
            or int((first + 2 * n_s * n_per).max()) > len(table.decoded)
        ):
            return None
        dec = np.frombuffer(table.decoded, np.uint8)
        dec.flags.writeable = False  # the kernel takes read-only bytes (as `bytes` give)
        n_old = len(self._buf)
        buf = np.empty((n_old + int(ends[-1]) - self.n, n_s), np.float32)
        buf[:n_old] = self._buf
        block = buf[n_old:]
        total = np.empty(len(block), np.float32)
        kernels().place_frames(
            dec,
            np.ascontiguousarray(first, np.int64),
            np.ascontiguousarray(n_per, np.int64),
            np.ascontiguousarray(k0 - self.n, np.int64),
            flat,
            row,
            clip,
            block,
            total,
        )
        return self._advance(buf, block, total, int(n_per.sum()))

    def add_samples(self, pos: np.ndarray, counts: np.ndarray) -> list[StepRecord]:
        """Place samples at their indices (from frame timestamps, or given by a datagram source).

        Split where the clock jumps too far to fill (device restart, very long outage).
        """
        force = self.calibrator.force(counts)
        steps: list[StepRecord] = []
        max_fill = int(MAX_FILL_GAP_S * self.fs)
        start = 0
        while start < len(pos):
            jumps = np.flatnonzero(np.diff(pos[start:]) > max_fill)
            stop = start + int(jumps[0]) + 1 if len(jumps) else len(pos)
            if pos[start] - self.n > max_fill:
                steps += self._restart(int(pos[start]))
            steps += self._place(pos[start:stop], force[start:stop])
            start = stop
        return steps

    def _restart(self, new_index: int) -> list[StepRecord]:
        steps = self._emit(self.detector.finish_rows())
        self._collect_heel_strikes()
        self.detector.reset()
        self.restarts += 1
        self.n = new_index
        self._buf = np.zeros((0, self.n_sensors), np.float32)
        self._buf0 = new_index
        self._detector_base = new_index
        self._last_to_index = None
        self._last_hs_s = float("nan")
        self._recent_strides = np.zeros(0)
        return steps

    _detector_base = 0

    def _place(self, pos: np.ndarray, force: np.ndarray) -> list[StepRecord]:
        keep = pos >= self.n
        n_keep = int(np.count_nonzero(keep))
        self.overlap_samples += len(pos) - n_keep
        if n_keep < len(pos):
            pos, force = pos[keep], force[keep]
        if len(pos) == 0:
            return []
        # The new samples go straight into the (grown) buffer: one copy.
        n_old = len(self._buf)
        buf = np.empty((n_old + int(pos[-1]) + 1 - self.n, self.n_sensors), np.float32)
        buf[:n_old] = self._buf
        block = buf[n_old:]
        total = _place_rows(block, pos - self.n, force)
        return self._advance(buf, block, total, len(pos))

    def _advance(
        self, buf: np.ndarray, block: np.ndarray, total: np.ndarray, n_placed: int
    ) -> list[StepRecord]:
        """Take the grown buffer and feed the new rows' total force to the detector.

        ``buf``: the side's buffer with the new rows ``block`` at its end, ``n_placed`` of them
        samples and the rest lost ones (NaN); ``total``: their row sums.
        """
        n_gap = len(block) - n_placed
        self.gap_samples += n_gap
        self.invalid_samples += int(np.count_nonzero(np.isnan(total))) - n_gap
        start_index = self.n
        self._buf = buf
        self.n += len(block)
        if self.emit_samples:
            heel = block[:, self.heel_idx].sum(axis=1)
            self.last_samples = SideSamples(
                start_index, self.fs, total, heel, self.calibrator.pressure_kpa(block)
            )
        steps = self._emit(self.detector.feed_rows(total))
        self._collect_heel_strikes()
        # Keep what later steps may need.
        cut = self.n - self._keep
        if cut > self._buf0:
            self._buf = self._buf[cut - self._buf0 :]
            self._buf0 = cut
        return steps

    last_samples: SideSamples | None = None

    def _count_hidden(self, hs_i: np.ndarray, stride: np.ndarray) -> None:
        """Add the steps estimated to lie in lost data within these strides (`hidden_steps`)."""
        usual, self._recent_strides = usual_strides(stride, self._recent_strides)
        with np.errstate(invalid="ignore"):
            is_long = (stride >= HIDDEN_STEP_RATIO * usual) & (stride <= MAX_FILL_GAP_S)
        long = np.flatnonzero(is_long)
        if not long.size:
            return
        # The lost rows of each long stride, from the buffer (it keeps KEEP_S: more than any
        # stride up to MAX_FILL_GAP_S and the detector's delay).
        lost_s = np.zeros(len(long))
        for n, i in enumerate(long):
            a = max(int(math.ceil(hs_i[i] - stride[i] * self.fs)) - self._buf0, 0)
            b = max(int(math.ceil(hs_i[i])) - self._buf0, 0)
            lost_s[n] = np.count_nonzero(lost_rows(self._buf, np.arange(a, b))) / self.fs
        self.hidden_steps += int(hidden_steps(stride[long], usual[long], lost_s).sum())

    def finish(self) -> list[StepRecord]:
        steps = self._emit(self.detector.finish_rows())
        self._collect_heel_strikes()
        return steps

    #: Heel strikes made certain, and announced ones retracted, since the owner last took them
    #: [s on this insole's clock].
    heel_strikes: list[float]
    retracted_heel_strikes: list[float]

    def _collect_heel_strikes(self) -> None:
        offset = self._detector_base / self.fs
        self.heel_strikes += [t + offset for t in self.detector.pop_heel_strikes()]
        self.retracted_heel_strikes += [
            t + offset for t in self.detector.pop_retracted_heel_strikes()
        ]

    def take_heel_strikes(self, update: PipelineUpdate) -> None:
        """Move the heel strikes announced and retracted so far into ``update``."""
        if self.heel_strikes:
            update.heel_strikes += [(self.label, t) for t in self.heel_strikes]
            self.heel_strikes = []
        if self.retracted_heel_strikes:
            update.retracted_heel_strikes += [(self.label, t) for t in self.retracted_heel_strikes]
            self.retracted_heel_strikes = []

    def take_output(self, update: PipelineUpdate, samples: bool) -> None:
        """Move the step batches, heel strikes and (if ``samples``) the samples into ``update``."""
        if self.batches:
            update.step_batches += self.batches
            self.batches = []
        self.take_heel_strikes(update)
        if samples and self.last_samples is not None:
            update.samples[self.label] = self.last_samples
            self.last_samples = None

    def _emit(self, contacts: ContactRows) -> list[StepRecord]:
        """The steps of the contacts the detector finished: records, or a batch kept aside."""
        if self.step_records:
            return self._steps_from(contacts)
        batch = self._batch_from(contacts)
        if batch is not None:
            self.batches.append(batch)
        return []

    def _steps_from(self, contacts: ContactRows | Sequence[Any]) -> list[StepRecord]:
        """Step records of the contacts the detector finished, their features as one batch."""
        batch = self._batch_from(contacts)
        return [] if batch is None else batch.records()

    def _batch_from(self, contacts: ContactRows | Sequence[Any]) -> StepBatch | None:
        """The steps of the contacts the detector finished as one `StepBatch` (None: none).

        ``contacts``: the detector's `ContactRows`, or contact objects (`Contact` or alike,
        with optional ``flags``) as other detectors may give them.
        """
        flags: list[tuple[str, ...]] | None = None
        if not isinstance(contacts, ContactRows):
            flags = [tuple(getattr(c, "flags", ())) for c in contacts]
            contacts = _rows_of(contacts, self.fs)
        if not len(contacts):
            return None
        base = self._detector_base
        hs_all = contacts.heel_strike_index + base
        kept = hs_all >= self._buf0  # the rest started before the samples kept
        self.truncated_steps += int(len(kept) - np.count_nonzero(kept))
        if not kept.any():
            return None
        hs_i = hs_all[kept]
        to_i = contacts.toe_off_index[kept] + base
        # Re-zero each sensor on the middle half of the swing before each contact.
        baselines = swing_baselines(
            self._buf,
            hs_i,
            to_i,
            baseline_n=self._baseline,
            previous_toe_off_index=self._last_to_index,
            first_index=self._buf0,
        )
        impact = contacts.impact_peak_n[kept]
        features = step_features(
            self._buf,
            layout=self.layout,
            sampling_rate_hz=self.fs,
            heel_strike_index=hs_i - self._buf0,
            toe_off_index=to_i - self._buf0,
            baseline_n=baselines,
            impact_peak_n=impact,
        )
        if self.unit != "N":  # relative readings (counts): force / area is no pressure
            features.region_peak_kpa[:] = np.nan
        self._baseline = baselines[-1].copy()
        hs_s = hs_i / self.fs
        stride = np.diff(hs_s, prepend=self._last_hs_s)
        self._count_hidden(hs_i, stride)
        offset_s = base / self.fs
        n = len(hs_i)
        batch = StepBatch(
            side=self.label,
            number=np.arange(self.steps + 1, self.steps + n + 1, dtype=np.int64),
            heel_strike_s=hs_s,
            toe_off_s=to_i / self.fs,
            stride_s=stride,
            impact_peak_n=impact,
            impact_peak_s=contacts.impact_peak_s[kept] + offset_s,
            # flagged by the detector: standing, cut by the end, or a loss that could hide the
            # contact time (`ContactDetector.contact_time_lost_`)
            toe_off_valid=contacts.toe_off_valid[kept],
            flags=[()] * n if flags is None else [f for f, k in zip(flags, kept, strict=True) if k],
            features=features,
        )
        self.steps += n
        self._last_hs_s = float(hs_s[-1])
        self._last_to_index = float(to_i[-1])
        return batch


class Pipeline:
    """Decode, assemble, calibrate, detect and measure — for any source.

    Parameters
    ----------
    header : dict
        Recording header (or the equivalent a live reader builds): ``devices`` with layout and
        calibration per ``(device_id, side)``; devices missing there get a default layout and
        raw counts as a relative force.
    detector_options : dict, optional
        Keyword arguments for `ContactDetector` (thresholds, gates).
    emit_samples : bool
        Return the calibrated samples of every feed (for live views); off for batch analysis.
    step_records : bool, default True
        Hand out the steps as `StepRecord` objects (``PipelineUpdate.steps``); False hands them
        out as arrays instead (``PipelineUpdate.step_batches``, `StepBatch`), without building
        an object per step (offline analysis that keeps only the steps table).
    """

    def __init__(
        self,
        header: dict[str, Any],
        *,
        detector_options: dict[str, Any] | None = None,
        emit_samples: bool = False,
        step_records: bool = True,
    ) -> None:
        self.header = header
        self.detector_options = dict(detector_options or {})
        self.emit_samples = emit_samples
        self.step_records = step_records
        self.decoders: dict[int, Any] = {}  # StreamDecoder, or MoticonDecoder (datagrams)
        #: Streams of UDP datagrams as received (transport "moticon-udp", `insole.core.moticon`):
        #: parsed by their own decoder, not the wire-protocol decoder.
        self._datagram_streams = {
            int(s["stream_id"]) for s in header.get("streams", [])
            if isinstance(s, dict) and s.get("transport") == "moticon-udp"
        }
        self.sides: dict[tuple[int, int], _Side] = {}
        self.clocks: dict[tuple[int, int], _Clock] = {}
        self.device_clocks = DeviceClocks()
        self._devices = {
            (int(d.get("device_id", -1)), str(d.get("side"))): d for d in header.get("devices", [])
        }
        # A recording marked as one plate under both feet only recording-wide (``extra.import``):
        # every device is the plate.
        if plate_under_both_feet(header) and not any(
            d.get("plate_under_both_feet") for d in self._devices.values()
        ):
            self._devices = {k: {**d, "plate_under_both_feet": True}
                             for k, d in self._devices.items()}

    @property
    def stats(self) -> dict[int, DecoderStats]:
        """Decoder counters per stream."""
        return {sid: d.stats for sid, d in self.decoders.items()}

    def feed(
        self,
        stream_id: int,
        data: bytes,
        host_time_s: float | ArrayLike | None = None,
        *,
        chunk_ends: ArrayLike | None = None,
    ) -> PipelineUpdate:
        """Process the next bytes of one stream.

        ``host_time_s`` is the host time at which these bytes arrived (a reader's receive
        time); given, it feeds the clock sync used to align left and right (`alignment`). Host
        times of one pipeline must share one time base. Several received chunks can be fed at
        once (a recording): ``chunk_ends`` are their end offsets in ``data`` (ascending) and
        ``host_time_s`` their host times; each frame gets the time of the chunk holding its
        final 0x00, as if fed chunk by chunk.
        """
        if stream_id in self._datagram_streams:
            return self._feed_datagrams(stream_id, data, chunk_ends)
        dec = self.decoders.get(stream_id)
        if dec is None:
            dec = self.decoders[stream_id] = StreamDecoder()
        offset = dec.stats.bytes_in
        table = dec.feed_table(data)
        if host_time_s is not None and len(table):
            if chunk_ends is None:
                self.device_clocks.update(table, host_time_s)
            else:
                ends = np.asarray(chunk_ends, np.int64)
                times = np.asarray(host_time_s, np.float64)
                k = np.searchsorted(ends, table.wire_end - offset, side="left")
                self.device_clocks.update(table, times[np.minimum(k, len(times) - 1)])
        return self._process(table)

    def _feed_datagrams(
        self, stream_id: int, data: bytes, chunk_ends: ArrayLike | None
    ) -> PipelineUpdate:
        """Parse recorded or live datagrams (`.moticon.MoticonDecoder`) into the sides."""
        from insole.core.moticon import decoder_for_header

        dec = self.decoders.get(stream_id)
        if dec is None:
            dec = self.decoders[stream_id] = decoder_for_header(self.header, stream_id)
        update = PipelineUpdate()
        for part in dec.feed(data, chunk_ends):
            key = (part.device_id, int(Side.parse(part.side)))
            state = self.sides.get(key)
            if state is None:
                state = self.sides[key] = _Side(
                    part.side,
                    self._devices.get((part.device_id, part.side), {}),
                    dec.sampling_rate_hz,
                    part.counts.shape[1],
                    self.detector_options,
                    self.emit_samples,
                    self.step_records,
                )
            update.steps += state.add_samples(part.index, part.counts)
            state.take_output(update, self.emit_samples)
        return update

    def alignment(self) -> SideAlignment:
        """The map from right-insole times onto the left insole's clock, from the clock sync.

        Applied only with one left and one right insole, each with host-timed frames in at
        least `MIN_ALIGN_WINDOWS` windows, and a relative drift under `MAX_ALIGN_DRIFT_PPM`.
        The offset is rounded to 1 µs and the drift to 0.01 ppm, so that feeders whose host
        times differ only by a constant (live vs its recording) give the same map.
        """
        keys = {
            side: [k for k in self.sides if Side(k[1]).label == side] for side in ("left", "right")
        }
        if len(keys["left"]) != 1 or len(keys["right"]) != 1:
            return SideAlignment(False, reason="needs exactly one left and one right insole")
        fits = self.device_clocks.fits()
        fit = {}
        for side, (key,) in keys.items():
            f = fits.get((key[0], side))
            if f is None or f.n_windows < MIN_ALIGN_WINDOWS:
                return SideAlignment(
                    False,
                    reason=f"{side} insole: host-timed frames in fewer than "
                    f"{MIN_ALIGN_WINDOWS} clock-sync windows",
                )
            fit[side] = f
        left, right = fit["left"], fit["right"]
        b = right.slope / left.slope  # left-clock seconds per right-clock second
        drift_ppm = round((b - 1.0) * 1e6, 2)
        if abs(drift_ppm) > MAX_ALIGN_DRIFT_PPM:
            return SideAlignment(
                False,
                reason=f"implausible relative clock drift {drift_ppm:+.0f} ppm "
                "(host times are not receive times)",
            )
        l_ref = float(self.clocks[keys["left"][0]].ref or 0) / 1e6
        r_ref = float(self.clocks[keys["right"][0]].ref or 0) / 1e6
        a = float(left.to_device(right.to_host(r_ref))) - l_ref
        return SideAlignment(True, offset_ms=round(a * 1e3, 3), drift_ppm=drift_ppm)

    def reconnect(self, stream_id: int) -> PipelineUpdate:
        """Mark a reconnect on a stream: a cut frame is counted, never merged (SPEC §4.2)."""
        return self.feed(stream_id, b"\x00")

    def finish(self) -> PipelineUpdate:
        """Flush partial frames and emit the contacts still open at the end."""
        update = PipelineUpdate()
        for sid in list(self.decoders):
            u = self.feed(sid, b"\x00")
            update.steps += u.steps
            update.heel_strikes += u.heel_strikes
            update.retracted_heel_strikes += u.retracted_heel_strikes
            update.step_batches += u.step_batches
        for side in self.sides.values():
            update.steps += side.finish()
            side.take_heel_strikes(update)
            update.step_batches += side.batches
            side.batches = []
        return update

    def _process(self, table: FrameTable) -> PipelineUpdate:
        update = PipelineUpdate()
        if len(table) == 0:
            return update
        for dev_id, side in table.devices():
            key = (dev_id, int(side))
            rows = np.flatnonzero((table.device_id == dev_id) & (table.side == int(side)))
            clock = self.clocks.setdefault(key, _Clock())
            ts = clock.unwrap(table.timestamp_us[rows])
            state = self.sides.get(key)
            if state is None:
                sel = np.flatnonzero(
                    (table.device_id == dev_id)
                    & (table.side == int(side))
                    & (table.frame_type == FrameType.SAMPLES)
                )
                if len(sel) == 0:
                    continue  # wait for samples to learn the rate and sensor count
                device = self._devices.get((dev_id, side.label), {})
                state = self.sides[key] = _Side(
                    side.label,
                    device,
                    exact_sample_rate(float(table.sample_rate_hz[sel[0]]), device),
                    int(table.n_sensors[sel[0]]),
                    self.detector_options,
                    self.emit_samples,
                    self.step_records,
                )
            update.steps += state.add(table, dev_id, side, rows, ts, int(clock.ref or 0))
            state.take_output(update, self.emit_samples)
            status = np.flatnonzero(
                (table.device_id == dev_id)
                & (table.side == int(side))
                & (table.frame_type == FrameType.STATUS)
            )
            # The last status frame that knows the battery level wins: decoded from the last
            # one back (usually one object, not one per status frame of the feed).
            for r in status[::-1].tolist():
                (f,) = table.select(np.array([r])).to_frames()
                battery = getattr(f, "battery_pct", 255)
                if battery <= 100:
                    update.battery_pct[side.label] = int(battery)
                    break
        return update
