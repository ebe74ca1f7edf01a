"""Acquisition and the pipeline off the GUI thread, with a ring buffer the GUI pulls from.

`LiveRuntime` owns a reader (any source: ``sim:``, ``file:``, ``serial:``, ``ble:``), feeds
every chunk to the one `Pipeline` (reconnect events flush the decoder exactly as the recorder
and the offline analysis do), writes the chunks to a recording when asked, and keeps for each
insole:

- a preallocated ring buffer of the last ``ring_s`` seconds of total and heel force, indexed by
  the pipeline's sample index (lost samples stay NaN, so time never slips);
- the latest pressure frame (kPa per sensor) and the centre-of-pressure path of the last step;
  for an insole whose readings are relative counts, not newtons (uncalibrated sensors such as
  stAPPone insoles or gaitndd footswitches, `insole.core.calibration.Calibrator.unit`), no
  pressure but each sensor's latest reading above its swing baseline, in counts;
- the heel-strike / toe-off times of recent steps (event markers) and the running metrics.

`AlertMonitor` (``insole.core.alerts``) turns updates, reader events and decoder counters into
alerts. The GUI (or the terminal view) calls `LiveRuntime.snapshot` at its own rate and gets
copies made under one lock; it never touches the pipeline (docs/domain.md "Invariants", 4).
No Qt here: the runtime is plain threads, so tests and the terminal view use it headless.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from insole.core.alerts import Alert, AlertMonitor
from insole.core.pipeline import Pipeline, PipelineUpdate, StepRecord
from insole.core.steps import swing_baselines
from insole.live.loadwatch import RecentMax, SessionWatch, WatchEvent
from insole.session.tables import is_plate
from insole.sources.readers import Chunk, Reader, ReaderEvent, open_reader, parse_source
from insole.sources.readers.file import FileReader

__all__ = ["LiveRuntime", "LiveSnapshot", "ReplayReader", "RingBuffer", "SideView"]


class RingBuffer:
    """Preallocated ring of the last ``capacity`` samples of some channels, by sample index.

    Parameters
    ----------
    capacity : int
        Samples kept.
    n_channels : int
        Channels (columns).

    Notes
    -----
    `write` places rows at their absolute sample index; rows skipped between writes are NaN.
    Memory is allocated once; nothing grows while streaming.
    """

    def __init__(self, capacity: int, n_channels: int) -> None:
        self.capacity = int(capacity)
        self.data = np.full((self.capacity, n_channels), np.nan, np.float32)
        self.end = 0  # one past the newest sample index
        self.written = 0  # finite-or-NaN rows written (as delivered by the pipeline)

    def write(self, start_index: int, rows: np.ndarray) -> None:
        """Write ``rows`` (n, n_channels) starting at absolute sample index ``start_index``."""
        n = len(rows)
        if n == 0:
            return
        if start_index > self.end:  # a hole: clear it
            self._fill_nan(self.end, start_index)
        if n > self.capacity:
            rows = rows[-self.capacity :]
            start_index += n - self.capacity
            n = self.capacity
        pos = start_index % self.capacity
        first = min(n, self.capacity - pos)
        self.data[pos : pos + first] = rows[:first]
        if first < n:
            self.data[: n - first] = rows[first:]
        self.end = max(self.end, start_index + n)
        self.written += len(rows)

    def _fill_nan(self, a: int, b: int) -> None:
        if b - a >= self.capacity:
            self.data[:] = np.nan
            return
        pa, pb = a % self.capacity, b % self.capacity
        if pa < pb:
            self.data[pa:pb] = np.nan
        else:
            self.data[pa:] = np.nan
            self.data[:pb] = np.nan

    def last(self, n: int) -> tuple[int, np.ndarray]:
        """Return ``(start_index, copy of the last n rows)`` (fewer at the start)."""
        n = min(int(n), self.capacity, self.end)
        start = self.end - n
        pos = start % self.capacity
        if pos + n <= self.capacity:
            return start, self.data[pos : pos + n].copy()
        return start, np.concatenate((self.data[pos:], self.data[: n - (self.capacity - pos)]))


@dataclass
class SideView:
    """What the GUI shows of one insole (a copy).

    Attributes
    ----------
    side : {"left", "right"}
    sampling_rate_hz : float
        Sample rate.
    time_s : ndarray (n,)
        Sample times of the trace window [s on the insoles' clock].
    total_n, heel_n : ndarray (n,)
        Total and heel force over the window, in `unit` (NaN where samples were lost).
    pressure_kpa : ndarray (n_sensors,)
        Latest complete pressure frame [kPa]; NaN when `unit` is not ``N`` (relative readings
        are no pressures).
    sensor_x_mm, sensor_y_mm : ndarray (n_sensors,)
        Sensor positions in the foot frame (x not mirrored).
    foot_length_mm : float
        Insole length.
    cop_x_mm, cop_y_mm : ndarray
        Centre-of-pressure path of the last step (foot frame).
    heel_strikes_s, toe_offs_s : ndarray
        Event times of the steps in the window, as the pipeline detected them.
    steps : int
        Steps so far.
    contact_ms, stride_s : float
        Median contact time and stride time of the last 8 steps (NaN before).
    strike_pattern : str
        Strike class of the last step.
    strike_shares_pct : dict of str to float
        Share of each strike class so far.
    heel_peak_n : float
        Heel peak of the last step, in `unit` (NaN for a force plate: no heel).
    heel_impulse_ns : float
        Heel load so far (sum of heel impulse), in `unit` times seconds (N·s; NaN for a plate).
    heel_trend_pct : float
        Within-run heel-peak trend vs the first minutes [%] (NaN until armed; for a plate).
    battery_pct : int or None
        Last battery report.
    samples : int
        Samples the pipeline produced for this side (lost ones included as NaN).
    samples_buffered : int
        Samples written into the ring buffer.
    unit : str
        The insole's force unit (`insole.core.calibration.Calibrator.unit`): ``"N"``, or
        ``"counts"`` for relative readings without a true zero (uncalibrated sensors, e.g.
        stAPPone insoles or gaitndd footswitches; a footswitch's value is negative in swing).
    map_values : ndarray (n_sensors,)
        What the pressure map shows, in `map_unit`: `pressure_kpa` for newtons; for counts
        each sensor's latest reading above its swing baseline (the steps table's: its median
        over the middle half of the swing before the last step, `insole.core.steps.
        swing_baselines`; before the first step, its lowest reading so far).
    map_unit : str
        ``"kPa"`` for newtons, else `unit` (the session report's pressure-map unit).
    map_max : float
        For relative readings, the highest of `map_values` over every sample so far (not only
        the frames a view happened to draw): the top of a colour scale that means the same on
        every frame. NaN for pressures, whose scale is fixed.
    peak_force_n : float
        Peak of the total force of the last step, in `unit` (NaN before).
    """

    side: str
    sampling_rate_hz: float
    time_s: np.ndarray
    total_n: np.ndarray
    heel_n: np.ndarray
    pressure_kpa: np.ndarray
    sensor_x_mm: np.ndarray
    sensor_y_mm: np.ndarray
    foot_length_mm: float
    cop_x_mm: np.ndarray
    cop_y_mm: np.ndarray
    heel_strikes_s: np.ndarray
    toe_offs_s: np.ndarray
    steps: int
    contact_ms: float
    stride_s: float
    strike_pattern: str
    strike_shares_pct: dict[str, float]
    heel_peak_n: float
    heel_impulse_ns: float
    heel_trend_pct: float
    battery_pct: int | None
    samples: int
    samples_buffered: int
    unit: str = "N"
    map_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    map_unit: str = "kPa"
    map_max: float = float("nan")
    peak_force_n: float = float("nan")


@dataclass
class LiveSnapshot:
    """A consistent copy of the runtime's state for one redraw.

    Taken by `LiveRuntime.snapshot` under the runtime's lock.

    Attributes
    ----------
    now_s : float
        Newest sample time over both insoles [s].
    sides : dict of str to SideView
        Per insole, left first. One force plate under both feet (`plate`) is the one
        ``"left"`` view: its stream is stored as the left device.
    steps_total : int
        Steps of both feet.
    cadence_spm : float
        Steps per minute of both feet (from the median stride; for a plate, from the median
        time between consecutive contacts, as `insole analyze` computes it; NaN before).
    balance_left_pct : float
        Left share of the peak force of the last steps of both feet [%] (50 = even).
    alerts : list of Alert
        Active alerts, most severe first.
    source : str
        The source as given.
    connection : dict of str to str
        State per stream label (``connecting``, ``receiving`` (data without a connect event,
        e.g. a replay), ``connected``, ``disconnected``, ``reconnecting``, ``ended``).
    frames : int
        Frames decoded.
    frames_lost : int
        Frames lost (sequence gaps) so far.
    bad_frames : int
        CRC / framing errors.
    reconnects : int
        Reconnects so far.
    recording : str or None
        Path being recorded to, or None.
    replay_position_s, replay_duration_s : float
        Replay position (recorded time of the last chunk the pipeline processed, so it
        follows the pipeline, not the reader's read-ahead) and length [s]; NaN for live sources.
    replay_speed : float
        Replay speed (``inf`` = max; NaN for live sources).
    paused : bool
        Whether the replay source is paused.
    ended : bool
        Whether the source ended and everything was processed.
    error : str or None
        The worker's error message, if it failed.
    updates : int
        Pipeline updates processed so far.
    extra : dict
        Other values for the views (``trend_after_s``: when the within-run trend is armed;
        ``progress``: "78 % of your longest recent run", empty without a history).
    plate : bool
        The source is one force plate under both feet (`insole.session.tables.is_plate`):
        every contact is a step of either foot, and it has no heel region.
    """

    now_s: float
    sides: dict[str, SideView]
    steps_total: int
    cadence_spm: float
    balance_left_pct: float
    alerts: list[Alert]
    source: str
    connection: dict[str, str]
    frames: int
    frames_lost: int
    bad_frames: int
    reconnects: int
    recording: str | None
    replay_position_s: float
    replay_duration_s: float
    replay_speed: float
    paused: bool
    ended: bool
    error: str | None = None
    updates: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    plate: bool = False


class ReplayReader(FileReader):
    """Replay of a recording that can change speed, pause, and start at a position.

    Parameters
    ----------
    path : path-like
        The recording.
    speed : float
        Pace factor (``math.inf``: as fast as possible).
    start_s : float
        Recording time to start at [s]: everything before it is handed out at once (so the
        pipeline sees the same bytes as a full replay; seeking is a fast-forward).

    Notes
    -----
    Pacing follows a virtual recording clock ``base_t + (now − base_wall) · speed`` that is
    re-based whenever the speed changes or the replay pauses, so it never drifts.
    """

    def __init__(self, path: str | os.PathLike[str], *, speed: float = 1.0,
                 start_s: float = 0.0) -> None:
        super().__init__(path, speed=speed)
        self.start_s = max(0.0, float(start_s))
        self.position_s = 0.0
        self.duration_s = float(self._raw.duration_s)
        self._pace_lock = threading.Lock()
        self._paused = False
        self._base_t = self.start_s
        self._base_wall = time.monotonic()

    def _clock(self, now: float) -> float:
        if self._paused or math.isinf(self.speed):
            return self._base_t if not math.isinf(self.speed) else math.inf
        return self._base_t + (now - self._base_wall) * self.speed

    def set_speed(self, speed: float) -> None:
        """Change the pace factor (``math.inf`` for as fast as possible)."""
        with self._pace_lock:
            now = time.monotonic()
            t = self._clock(now)
            self._base_t = self.position_s if math.isinf(t) else t
            self._base_wall = now
            self.speed = float(speed)

    @property
    def paused(self) -> bool:
        """Whether the replay is paused."""
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the replay."""
        with self._pace_lock:
            now = time.monotonic()
            if paused and not self._paused:
                t = self._clock(now)
                self._base_t = self.position_s if math.isinf(t) else t
            self._base_wall = now
            self._paused = bool(paused)

    def _run(self) -> None:
        start = time.monotonic()
        if self._raw.damage is not None:
            d = self._raw.damage
            self._queue.put(ReaderEvent("damage", 255, start, {"reason": d.reason,
                                                               "offset": d.offset}))
        with self._pace_lock:
            self._base_wall = time.monotonic()
        for t, _, item in self.timeline():
            if t >= self.start_s:
                while not self._stop.is_set():
                    with self._pace_lock:
                        clock_t = self._clock(time.monotonic())
                        speed = self.speed
                    if clock_t >= t:
                        break
                    wait = 0.05 if self._paused else min(0.05, (t - clock_t) / speed)
                    self._stop.wait(max(wait, 0.0005))
            if self._stop.is_set():
                return
            self.position_s = t
            now = time.monotonic()
            if isinstance(item, Chunk):
                self._queue.put(Chunk(item.stream_id, item.data, now, item.host_time_s))
            else:
                self._queue.put(ReaderEvent(item.kind, item.stream_id, now, item.detail))
        self.position_s = self.duration_s


class _SideState:
    """Mutable per-insole state, written by the worker under the runtime's lock.

    For an insole in relative counts (``unit != "N"``) it also keeps the last ``ring_s`` of
    every sensor's reading, to measure each sensor's swing baseline as the steps table does.
    """

    def __init__(self, label: str, fs: float, ring_s: float, layout: Any,
                 unit: str = "N") -> None:
        self.label = label
        self.fs = fs
        self.unit = unit
        capacity = max(16, int(math.ceil(ring_s * fs)))
        self.ring = RingBuffer(capacity, 2)
        self.layout = layout
        self.pressure = np.zeros(layout.n_sensors, np.float32)
        relative = unit != "N"
        #: Counts per kPa of each sensor: the pipeline's pressures back to readings.
        self.kpa_to_unit = (layout.area_mm2 / 1000.0).astype(np.float32)
        self.sensors = RingBuffer(capacity, layout.n_sensors) if relative else None
        self.reading = np.zeros(layout.n_sensors, np.float32)  # latest frame, in `unit`
        self.low = np.full(layout.n_sensors, np.nan, np.float32)  # lowest reading so far
        self.baseline: np.ndarray | None = None  # swing baseline of the last step
        self.reading_max = 0.0  # highest reading above the baseline so far
        self.last_toe_off_index: float | None = None
        if relative:
            self.pressure[:] = np.nan
        self.cop_x = np.zeros(0)
        self.cop_y = np.zeros(0)
        self.events: deque[tuple[float, float]] = deque(maxlen=256)
        self.recent: deque[StepRecord] = deque(maxlen=20)
        self.steps = 0
        self.strike_counts: dict[str, int] = {}
        self.heel_impulse_ns = 0.0
        self.battery: int | None = None
        self.samples = 0

    def map_baseline(self) -> np.ndarray:
        """Each sensor's swing baseline (relative readings).

        The last step's (`LiveRuntime._swing_baseline`), else the lowest reading so far.
        """
        return self.baseline if self.baseline is not None else np.nan_to_num(self.low)


class LiveRuntime:
    """Run a source through the pipeline in a worker thread; keep what the GUI draws.

    Parameters
    ----------
    source : str or Reader
        A source URL for `open_reader` (``file:`` sources become a `ReplayReader` so speed,
        pause and seek work) or a reader (not yet started).
    record : path-like, optional
        Record the raw chunks to this new file from the start.
    ring_s : float
        Seconds of force kept per insole.
    trace_s : float
        Seconds of force handed out by `snapshot` (the scrolling window).
    monitor : AlertMonitor, optional
        Alert rules (default: `AlertMonitor` defaults).
    overwrite : bool
        Allow `record` to replace an existing file.
    publisher : object, optional
        Also publish every update, e.g. an `insole.live.lsl.LslPublisher` (``--lsl``): its
        ``publish(update, pipeline, host_time_s)`` is called by the worker after each update.
    recent : RecentMax, optional
        The largest session of the previous 30 days (``--db``): progress and band crossings
        ("too much, too soon") during the run, in `watch` (`insole.live.loadwatch`).
    feedback : FeedbackEngine, optional
        Heel-strike cues (``--feedback``, `insole.live.feedback`): fed every update first, in
        the worker, before the state is copied under the lock.

    Notes
    -----
    The worker reads the reader in batches (``read(timeout_s=0.05)``), feeds the pipeline and
    updates the state under one lock; `snapshot` copies under the same lock. Worker errors are
    re-raised by `stop`.
    """

    def __init__(
        self,
        source: str | Reader,
        *,
        record: str | os.PathLike[str] | None = None,
        ring_s: float = 10.0,
        trace_s: float = 5.0,
        monitor: AlertMonitor | None = None,
        overwrite: bool = False,
        publisher: Any = None,
        recent: RecentMax | None = None,
        feedback: Any = None,
    ) -> None:
        self.source = source if isinstance(source, str) else type(source).__name__
        self.publisher = publisher
        self.recent = recent
        self.feedback = feedback
        self._source_arg = source
        self.ring_s = ring_s
        self.trace_s = trace_s
        self._monitor_template = monitor
        self._overwrite = overwrite
        self._lock = threading.Lock()
        self._record_path = os.fspath(record) if record is not None else None
        self._writer: Any = None
        #: Start time (ISO) of the recording written while live, if any.
        self.recording_start: str | None = None
        self._t0 = time.monotonic()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.reader = self._open(source)
        self._reset_state()

    # -- set-up --------------------------------------------------------------------------------

    def _open(self, source: str | Reader, *, start_s: float = 0.0,
              speed: float | None = None) -> Reader:
        if not isinstance(source, str):
            return source
        src = parse_source(source)
        if src.scheme == "file":
            probe = open_reader(source)  # validates path and options
            assert isinstance(probe, FileReader)
            return ReplayReader(probe.path, speed=probe.speed if speed is None else speed,
                                start_s=start_s)
        return open_reader(source)

    def _side_unit(self, label: str) -> tuple[Any, str]:
        """Layout and force unit of the pipeline's insole `label`."""
        side = next(v for v in self.pipeline.sides.values() if v.label == label)
        return side.layout, str(side.unit)

    def _reset_state(self) -> None:
        reader = self.reader
        header = getattr(reader, "header", None)
        if not isinstance(header, dict):
            header = {"devices": list(getattr(reader, "devices", []) or [])}
        self.header = header
        #: One force plate under both feet (``insole import table --side both``, a C3D plate).
        self.plate = is_plate(header)
        self.pipeline = Pipeline(header, emit_samples=True)
        self.monitor = self._new_monitor()
        self.watch = SessionWatch(self.monitor, self.recent, plate=self.plate)
        self._sides: dict[str, _SideState] = {}
        self._labels = {s.stream_id: s.label for s in reader.streams}
        self._connection = {s.label: "connecting" for s in reader.streams}
        self._reconnects = 0
        self._records: list[StepRecord] = []
        self._ended = False
        self._updates = 0
        self._fed_source_s = 0.0  # issue 12 item 4: recorded time of the last chunk fed

    def set_recent(self, recent: RecentMax | None) -> None:
        """Compare the run with this history reference (before `start`; see ``recent``)."""
        with self._lock:
            self.recent = recent
            self.watch = SessionWatch(self.monitor, recent, plate=self.plate)

    def _new_monitor(self) -> AlertMonitor:
        t = self._monitor_template
        if t is None:
            return AlertMonitor(plate=self.plate)
        return replace(t, plate=self.plate)  # the template's parameters, fresh state

    # -- control -------------------------------------------------------------------------------

    def start(self) -> LiveRuntime:
        """Start the source and the worker; return self."""
        if self._record_path is not None and self._writer is None:
            self.start_recording(self._record_path)
        self._stop.clear()
        self.reader.start()
        self._thread = threading.Thread(target=self._work, name="LiveRuntime", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the worker and the source, close a recording; re-raise a worker error."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        try:
            self.reader.stop()
        finally:
            self.stop_recording()
        if self._error is None and not (self._thread is not None and self._thread.is_alive()):
            # Stopped by the user: what was received is the session, as `insole analyze`
            # reads its recording (the contacts still open or in the start-up window). No
            # cue for them: the wearer has stopped.
            engine, self.feedback = self.feedback, None
            try:
                self._flush_pipeline()
            finally:
                self.feedback = engine
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def __enter__(self) -> LiveRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the worker is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def ended(self) -> bool:
        """Whether the source ended and all of it was processed."""
        return self._ended

    def wait_ended(self, timeout_s: float) -> bool:
        """Wait until the source ended and was processed; return whether it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._ended or self._error is not None:
                return self._ended
            time.sleep(0.01)
        return self._ended

    @property
    def is_replay(self) -> bool:
        """Whether the source is a seekable replay."""
        return isinstance(self.reader, ReplayReader)

    def set_speed(self, speed: float) -> None:
        """Change the replay speed (replays only)."""
        if isinstance(self.reader, ReplayReader):
            self.reader.set_speed(speed)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the replay source (replays only; a live source cannot pause)."""
        if isinstance(self.reader, ReplayReader):
            self.reader.set_paused(paused)

    def seek(self, position_s: float) -> None:
        """Restart the replay at ``position_s`` (fast-forwarding the pipeline up to it)."""
        if not isinstance(self.reader, ReplayReader):
            return
        old = self.reader
        speed, paused = old.speed, old.paused
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        old.stop()
        with self._lock:
            self.reader = ReplayReader(old.path, speed=speed, start_s=position_s)
            self._reset_state()
        self.reader.set_paused(paused)
        self._stop.clear()
        self.reader.start()
        self._thread = threading.Thread(target=self._work, name="LiveRuntime", daemon=True)
        self._thread.start()

    # -- recording -----------------------------------------------------------------------------

    @property
    def recording(self) -> str | None:
        """Path being recorded to, or None."""
        return self._record_path if self._writer is not None else None

    def start_recording(self, path: str | os.PathLike[str]) -> None:
        """Start writing every chunk and reconnect event from now on to a new recording.

        Raises
        ------
        RecordingError
            If the file exists (and ``overwrite`` was not given) or cannot be written.
        """
        from datetime import UTC, datetime

        from insole.recordings.container import NO_CALIBRATION_NOTE, RecordingWriter

        reader = self.reader
        known = getattr(reader, "devices", None)
        devices = list(known) if isinstance(known, list) else []
        extra: dict[str, Any] = {"recorder": {"live": True}}
        if not devices:
            extra["recorder"]["calibration"] = NO_CALIBRATION_NOTE
        header = {
            "start_time": datetime.now(UTC).astimezone().isoformat(),
            "source": self.source,
            "streams": [{"stream_id": s.stream_id, "transport": s.transport, "label": s.label}
                        for s in reader.streams],
            "devices": devices,
            "extra": extra,
        }
        writer = RecordingWriter(path, header, overwrite=self._overwrite)
        with self._lock:
            self._writer = writer
            self._record_path = os.fspath(path)
            self._rec_t0 = time.monotonic()
            self.recording_start = str(header["start_time"])

    def stop_recording(self) -> None:
        """Close the recording (if any)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _write(self, item: Chunk | ReaderEvent) -> None:
        writer = self._writer
        if writer is None:
            return
        t = max(0.0, item.host_time_s - self._rec_t0)
        if isinstance(item, Chunk):
            writer.write_chunk(item.stream_id, item.data, t)
        elif item.kind == "disconnected" and item.stream_id in self._labels:
            writer.write_event("disconnect", stream_id=item.stream_id, host_time_s=t,
                               reason=str(item.detail.get("reason", "")))
        elif (item.kind == "connected" and item.stream_id in self._labels
              and (item.detail.get("reconnect") or item.detail.get("flush_decoder"))):
            writer.write_event("reconnect", stream_id=item.stream_id, host_time_s=t,
                               attempt=int(item.detail.get("attempt", 0)))
        writer.maybe_flush()

    # -- worker --------------------------------------------------------------------------------

    def _work(self) -> None:
        reader = self.reader
        try:
            while not self._stop.is_set():
                items = reader.read(0.05)
                if not items and not reader.running:
                    items = reader.read(None)
                    if not items:
                        self._finish()
                        return
                for item in items:
                    self._item(item)
                if self._writer is not None:
                    self._writer.maybe_flush()
        except BaseException as exc:  # re-raised by stop()
            self._error = exc
            with self._lock:
                self._connection = {k: "failed" for k in self._connection}

    def process(self, items: list[Chunk | ReaderEvent], *, finish: bool = False) -> None:
        """Process items in the caller's thread, as the worker would (tests and benches).

        Use on a runtime that was not started. ``finish=True`` flushes the pipeline at the end,
        as when a source ends.
        """
        if self.running:
            raise RuntimeError("process() is for a runtime that was not started")
        for item in items:
            self._item(item)
        if finish:
            self._finish()

    def _item(self, item: Chunk | ReaderEvent) -> None:
        if self._writer is not None:
            self._write(item)
        if isinstance(item, Chunk):
            host_s = item.host_time_s if item.source_time_s is None else item.source_time_s
            update = self.pipeline.feed(item.stream_id, item.data, host_s)
            if item.source_time_s is not None:  # issue 12 item 4: replay position = pipeline's
                self._fed_source_s = max(self._fed_source_s, item.source_time_s)
            label = self._labels.get(item.stream_id)
            if label is not None and self._connection.get(label) == "connecting":
                with self._lock:  # sources without connect events (file replay): data = up
                    self._connection[label] = "receiving"
            self._apply(update, item.host_time_s)
            return
        label = self._labels.get(item.stream_id, f"stream {item.stream_id}")
        flush = item.detail.get("flush_decoder") or item.detail.get("flush_partial")
        if flush and item.stream_id in self.pipeline.decoders:
            self._apply(self.pipeline.reconnect(item.stream_id))
        with self._lock:
            if item.kind in ("connected", "disconnected", "reconnecting"):
                if item.kind == "connected" and (item.detail.get("reconnect") or flush):
                    self._reconnects += 1
                if item.stream_id in self._labels:
                    self._connection[label] = item.kind
            self.monitor.feed_event(item.kind, item.stream_id, label,
                                    time_s=self._now_locked(), detail=item.detail)
            self.watch.update((), self._now_locked())

    _flushed = False

    def _flush_pipeline(self) -> None:
        """Finish the pipeline once: emit the steps it still holds."""
        if self._flushed:
            return
        self._flushed = True
        self._apply(self.pipeline.finish())

    def _finish(self) -> None:
        self._flush_pipeline()
        with self._lock:
            self._connection = {k: "ended" for k in self._connection}
            self._ended = True

    def _apply(self, update: PipelineUpdate, host_time_s: float | None = None) -> None:
        if self.feedback is not None:  # first: cues are the latency-critical output
            self.feedback.feed(update, host_time_s)
        if self.publisher is not None:
            self.publisher.publish(update, self.pipeline, host_time_s)
        with self._lock:
            for label, s in update.samples.items():
                st = self._sides.get(label)
                if st is None:
                    layout, unit = self._side_unit(label)
                    st = self._sides[label] = _SideState(label, s.sampling_rate_hz,
                                                         self.ring_s, layout, unit)
                st.ring.write(s.start_index, np.column_stack((s.total_n, s.heel_n)))
                st.samples = s.start_index + len(s.total_n)
                ok = np.flatnonzero(np.isfinite(s.pressure_kpa).all(axis=1))
                if st.sensors is not None:  # relative readings: no pressure, counts
                    frames = s.pressure_kpa * st.kpa_to_unit
                    st.sensors.write(s.start_index, frames)
                    if len(ok):
                        st.reading = frames[ok[-1]].astype(np.float32)
                        st.low = np.fmin(st.low, np.fmin.reduce(frames[ok], axis=0))
                        rise = np.fmax.reduce(frames[ok], axis=0) - st.map_baseline()
                        st.reading_max = max(st.reading_max, float(np.fmax.reduce(rise)))
                elif len(ok):
                    st.pressure = s.pressure_kpa[ok[-1]].astype(np.float32)
            for label, b in update.battery_pct.items():
                if label in self._sides:
                    self._sides[label].battery = b
            for step in update.steps:
                st = self._sides.get(step.side)
                if st is None:
                    continue
                st.steps += 1
                st.events.append((step.heel_strike_s, step.toe_off_s))
                st.recent.append(step)
                st.cop_x, st.cop_y = step.load.cop_x_mm, step.load.cop_y_mm
                pattern = step.load.strike_pattern
                st.strike_counts[pattern] = st.strike_counts.get(pattern, 0) + 1
                if st.sensors is not None:
                    self._swing_baseline(st, step)
                if math.isfinite(step.load.heel_impulse_ns):
                    st.heel_impulse_ns += step.load.heel_impulse_ns
            self._records += update.steps
            self._updates += 1
            self.monitor.feed_update(update, time_s=self._now_locked(), stats=self.pipeline.stats)
            self.watch.update(update.steps, self._now_locked())

    @staticmethod
    def _swing_baseline(st: _SideState, step: StepRecord) -> None:
        """Each sensor's swing baseline before `step` (relative readings), as the steps table's.

        The median over the middle half of the swing from the previous toe-off to this heel
        strike (`insole.core.steps.swing_baselines`); kept from the step before when that
        swing is not in the buffer or too short.
        """
        assert st.sensors is not None
        hs, to = step.heel_strike_s * st.fs, step.toe_off_s * st.fs  # sample indices
        to_index = float(round(to)) if math.isfinite(to) else None
        prev = st.last_toe_off_index  # the swing starts there: only its rows are read
        first, rows = st.sensors.last(0 if prev is None else st.sensors.end - math.floor(prev))
        base = swing_baselines(rows, [round(hs)], [np.nan if to_index is None else to_index],
                               baseline_n=st.map_baseline(),
                               previous_toe_off_index=st.last_toe_off_index, first_index=first)
        st.baseline = base[-1].astype(np.float32)
        st.last_toe_off_index = to_index

    def _now_locked(self) -> float:
        return max((st.ring.end / st.fs for st in self._sides.values()), default=0.0)

    # -- GUI side ------------------------------------------------------------------------------

    def events(self, since: int = 0) -> list[WatchEvent]:
        """Band crossings and alert start / end events from number `since` on (a copy)."""
        with self._lock:
            return list(self.watch.events[since:])

    @property
    def steps(self) -> list[StepRecord]:
        """Every step so far (a copy of the list)."""
        with self._lock:
            return list(self._records)

    def snapshot(self) -> LiveSnapshot:
        """A consistent copy of everything the window shows (called from the GUI thread)."""
        with self._lock:
            now = self._now_locked()
            plate = self.plate
            nan = float("nan")
            views: dict[str, SideView] = {}
            strides: list[float] = []
            peaks: dict[str, float] = {}
            for label in sorted(self._sides, key=lambda s: s != "left"):
                st = self._sides[label]
                start, rows = st.ring.last(int(self.trace_s * st.fs))
                t = (start + np.arange(len(rows))) / st.fs
                t0 = t[0] if len(t) else now
                ev = np.array([e for e in st.events if e[1] >= t0 or e[0] >= t0],
                              float).reshape(-1, 2)
                recent = list(st.recent)[-8:]
                s_strides = [s.stride_s for s in recent if math.isfinite(s.stride_s)]
                strides += s_strides
                pk = [s.load.peak_force_n for s in st.recent if math.isfinite(s.load.peak_force_n)]
                if pk:
                    peaks[label] = float(np.median(pk))
                n_class = sum(st.strike_counts.values())
                views[label] = SideView(
                    side=label,
                    sampling_rate_hz=st.fs,
                    time_s=t,
                    total_n=rows[:, 0],
                    heel_n=np.full(len(rows), np.nan) if plate else rows[:, 1],
                    pressure_kpa=st.pressure.copy(),
                    sensor_x_mm=np.asarray(st.layout.x_mm, float),
                    sensor_y_mm=np.asarray(st.layout.y_mm, float),
                    foot_length_mm=float(st.layout.foot_length_mm),
                    cop_x_mm=np.asarray(st.cop_x, float).copy(),
                    cop_y_mm=np.asarray(st.cop_y, float).copy(),
                    heel_strikes_s=ev[:, 0].copy(),
                    toe_offs_s=ev[:, 1].copy(),
                    steps=st.steps,
                    contact_ms=1000.0 * float(np.median([s.contact_s for s in recent]))
                    if recent else float("nan"),
                    stride_s=float(np.median(s_strides)) if s_strides else float("nan"),
                    strike_pattern=recent[-1].load.strike_pattern if recent else "-",
                    strike_shares_pct={k: 100.0 * v / n_class
                                       for k, v in st.strike_counts.items()},
                    heel_peak_n=recent[-1].load.heel_peak_n if recent and not plate else nan,
                    heel_impulse_ns=nan if plate else st.heel_impulse_ns,
                    heel_trend_pct=nan if plate else self.monitor.heel_trend_pct(label),
                    battery_pct=st.battery,
                    samples=st.samples,
                    samples_buffered=st.ring.written,
                    unit=st.unit,
                    map_values=(st.pressure.copy() if st.sensors is None
                                else st.reading - st.map_baseline()),
                    map_unit="kPa" if st.unit == "N" else st.unit,
                    map_max=float("nan") if st.sensors is None else st.reading_max,
                    peak_force_n=recent[-1].load.peak_force_n if recent else nan,
                )
            stats = list(self.pipeline.stats.values())
            reader = self.reader if isinstance(self.reader, ReplayReader) else None
            balance = (100.0 * peaks["left"] / (peaks["left"] + peaks["right"])
                       if "left" in peaks and "right" in peaks
                       and peaks["left"] + peaks["right"] > 0 else float("nan"))
            return LiveSnapshot(
                now_s=now,
                sides=views,
                steps_total=sum(v.steps for v in views.values()),
                # A plate's consecutive contacts are one step apart, not a stride.
                cadence_spm=(60.0 if plate else 120.0) / float(np.median(strides))
                if strides else nan,
                balance_left_pct=balance,
                alerts=self.monitor.banner(),
                source=self.source,
                connection=dict(self._connection),
                frames=sum(s.frames for s in stats),
                frames_lost=sum(s.lost_frames for s in stats),
                bad_frames=sum(s.crc_errors + s.cobs_errors + s.short_frames
                               + s.malformed_frames for s in stats),
                reconnects=self._reconnects,
                recording=self.recording,
                # issue 12 item 4: the position the pipeline reached, not the reader's
                replay_position_s=min(self._fed_source_s, reader.duration_s) if reader
                else float("nan"),
                replay_duration_s=reader.duration_s if reader else float("nan"),
                replay_speed=reader.speed if reader else float("nan"),
                paused=reader.paused if reader else False,
                ended=self._ended,
                error=None if self._error is None else str(self._error),
                updates=self._updates,
                extra={"trend_after_s": self.monitor.baseline_s,
                       "progress": self.watch.progress_text()},
                plate=plate,
            )
