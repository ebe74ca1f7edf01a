"""Real-time heel-strike feedback (gait retraining): cues on heel strikes, through sinks.

Two modes (``insole live SOURCE --feedback strike|heel``):

``strike``
    A cue at every heel strike, when the pipeline announces it (`PipelineUpdate.heel_strikes`:
    the detector confirms a contact 10-30 ms of data after its onset, long before the step
    record at toe-off).
``heel``
    A cue at each heel strike whose heel peak or loading-rate index is above the runner's
    target — always relative to their own baseline, never an absolute force-plate figure (the
    loading rate is an insole index; docs/domain.md). Default target: the mean + 2 SD of the
    steps of the previous 30 days in the history (`FeedbackTarget`); ``--feedback-above PCT``
    sets it at PCT % above that mean instead. Without a history the run's own first two
    minutes are the baseline and cues start after them.

The pipeline hands out a step only at toe-off, 200-300 ms after the impact, too late for a cue.
So `FeedbackEngine` computes the impact from the samples the pipeline emits (``emit_samples``):
from the announced heel-strike time it follows the heel force and the total force sample by
sample. A heel cue fires

- as soon as the heel force exceeds the heel-peak target (the peak can only be higher), or
- when the frame completing the impact peak arrives — the first sample at least
  ``peak_drop_frac`` below the running maximum of the total force — if the loading-rate index
  (slope of the total force between 20 % and 80 % of the impact peak above the force at
  contact, interpolated, as `insole.core.steps` computes it offline) is above its target.

Each heel strike gives at most one cue. Sinks (`CueSink`): `BellSink` (terminal bell),
`FlashSignal` (callbacks: the live window subscribes and flashes on its next redraw),
`AudioSink` (a short tone when an audio library and an output device exist), `RecordingSink`
(tests and benches). Sinks are called from the runtime's worker thread, outside its lock;
a sink must return quickly (a window must hand the cue to its own thread).

Notes
-----
Evidence for gait retraining with real-time feedback (docs/live.md): Crowell & Davis 2011
(Clin Biomech 26:78-83) and Chan et al. 2018 (Am J Sports Med 46:388-395). These are
associations from small trials; insole cues are a training aid, not a treatment.
"""

from __future__ import annotations

import math
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import numpy as np

from insole.core.pipeline import PipelineUpdate, StepRecord

__all__ = [
    "MAX_BASELINE_STEPS",
    "AudioSink",
    "BellSink",
    "Cue",
    "CueSink",
    "FeedbackEngine",
    "FeedbackTarget",
    "FlashSignal",
    "RecordingSink",
    "audio_sink",
]

#: Most recent steps of the history used for the baseline.
MAX_BASELINE_STEPS = 20_000


@dataclass
class Cue:
    """One feedback cue.

    Attributes
    ----------
    kind : {"strike", "heel"}
    side : {"left", "right"}
    heel_strike_s : float
        The heel strike it is about [s on the insole's clock].
    frame_time_s : float
        Insole time of the sample that triggered the cue [s].
    trigger_host_s : float
        Host time (``time.monotonic()``) the chunk holding that sample was received [s].
    what : str
        For heel cues: ``"heel peak"`` or ``"loading rate"``; ``""`` for strike cues.
    value, target : float
        The figure and the target it exceeded (NaN for strike cues).
    cue_host_s : float
        Host time the cue was handed to the sinks [s].
    """

    kind: str
    side: str
    heel_strike_s: float
    frame_time_s: float
    trigger_host_s: float
    what: str = ""
    value: float = float("nan")
    target: float = float("nan")
    cue_host_s: float = float("nan")


class CueSink(Protocol):
    """Where cues go: anything with ``cue(cue)`` that returns quickly."""

    def cue(self, cue: Cue) -> None:
        """Deliver one cue."""


class RecordingSink:
    """Keeps every cue with the host time it arrived (tests and benches)."""

    def __init__(self) -> None:
        self.cues: list[Cue] = []
        self.arrived_s: list[float] = []
        self._lock = threading.Lock()

    def cue(self, cue: Cue) -> None:
        """Record `cue` and ``time.monotonic()`` now."""
        t = time.monotonic()
        with self._lock:
            self.cues.append(cue)
            self.arrived_s.append(t)

    def latencies_ms(self) -> np.ndarray:
        """Milliseconds from each cue's triggering chunk to its arrival here."""
        with self._lock:
            return 1000.0 * (np.asarray(self.arrived_s)
                             - np.asarray([c.trigger_host_s for c in self.cues]))


class BellSink:
    """The terminal bell (BEL) on a text stream."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def cue(self, cue: Cue) -> None:
        """Ring."""
        out = self.out if self.out is not None else sys.stdout
        out.write("\a")
        out.flush()


class FlashSignal:
    """Callbacks for a visual flash: the live window subscribes, each cue calls them.

    Callbacks run in the runtime's worker thread: a window should only record the cue (e.g.
    set a flag or emit a queued Qt signal) and flash on its next redraw.
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Cue], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[Cue], None]) -> None:
        """Call `callback(cue)` on every cue."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[Cue], None]) -> None:
        """Stop calling `callback`."""
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def cue(self, cue: Cue) -> None:
        """Call every subscriber."""
        with self._lock:
            subs = list(self._subscribers)
        for fn in subs:
            fn(cue)


class AudioSink:
    """A short tone through ``sounddevice`` (made only by `audio_sink`, when it can play)."""

    def __init__(self, sd: object, *, tone_hz: float = 880.0, length_s: float = 0.06,
                 rate_hz: int = 44100) -> None:
        self._sd = sd
        t = np.arange(int(length_s * rate_hz)) / rate_hz
        self._tone = (0.3 * np.sin(2 * np.pi * tone_hz * t) * np.hanning(len(t))).astype(
            np.float32)
        self._rate = rate_hz

    def cue(self, cue: Cue) -> None:
        """Start the tone (non-blocking)."""
        self._sd.play(self._tone, self._rate, blocking=False)  # type: ignore[attr-defined]


def audio_sink() -> tuple[AudioSink | None, str]:
    """An `AudioSink` when ``sounddevice`` is importable and an output device exists.

    Returns
    -------
    sink : AudioSink or None
        None when sound cannot be played.
    reason : str
        Why not (empty when a sink was made).
    """
    try:
        import sounddevice as sd  # type: ignore[import-not-found]
    except Exception:  # ImportError, or OSError when PortAudio is missing
        return None, "no audio library (pip install sounddevice)"
    try:
        sd.query_devices(kind="output")
    except Exception:
        return None, "no audio output device"
    return AudioSink(sd), ""


@dataclass(frozen=True)
class FeedbackTarget:
    """A target relative to the runner's own baseline (never an absolute threshold).

    Attributes
    ----------
    mean, sd : float
        Baseline of the figure over the runner's own steps.
    limit : float
        The target: ``mean + sd_mult · sd``, or ``mean · (1 + above_pct / 100)``.
    source : str
        ``"history"`` (steps of the previous 30 days) or ``"run"`` (this run's first minutes).
    n_steps : int
        Steps in the baseline.
    """

    mean: float
    sd: float
    limit: float
    source: str
    n_steps: int

    @classmethod
    def from_values(cls, values: Iterable[float] | np.ndarray, *, source: str, sd_mult: float = 2.0,
                    above_pct: float | None = None, min_steps: int = 20
                    ) -> FeedbackTarget | None:
        """Target from baseline values (None with fewer than `min_steps` finite ones)."""
        v = [float(x) for x in np.asarray(values, float).ravel() if math.isfinite(x) and x > 0]
        if len(v) < min_steps:
            return None
        mean, sd = statistics.fmean(v), statistics.stdev(v)
        limit = mean * (1 + above_pct / 100.0) if above_pct is not None else mean + sd_mult * sd
        return cls(mean, sd, limit, source, len(v))

    def describe(self, what: str, unit: str) -> str:
        """``heel peak above 1,020 N (your mean 890 N + 2 SD, 4,210 steps of the last 30 days)``."""
        how = ("your mean + 2 SD" if abs(self.limit - (self.mean + 2 * self.sd)) < 1e-9 * max(
            1.0, self.limit) else f"{100 * (self.limit / self.mean - 1):.0f} % above your mean")
        src = ("steps of the last 30 days" if self.source == "history"
               else "steps of this run's first minutes")
        return (f"{what} above {self.limit:,.0f} {unit} ({how} {self.mean:,.0f} {unit}; "
                f"{self.n_steps:,} {src})")


@dataclass
class _Impact:
    """One heel strike being followed until its impact peak is complete."""

    hs_s: float
    hs_index: int
    trigger_host_s: float
    base_total: float = float("nan")
    max_total: float = -math.inf
    max_heel: float = -math.inf
    totals: list[float] = field(default_factory=list)
    cued: bool = False
    rate_done: bool = False
    done: bool = False


class FeedbackEngine:
    """Turn pipeline updates into cues (see the module docstring).

    Parameters
    ----------
    mode : {"strike", "heel"}
        Which heel strikes are cued.
    sinks : sequence of CueSink
        Where cues go.
    heel_target, rate_target : FeedbackTarget, optional
        Targets for the heel peak [N] and the loading-rate index [N/s] (``heel`` mode). A
        missing target is learnt from this run's first ``run_baseline_s`` seconds.
    above_pct : float, optional
        For targets learnt from the run: PCT % above the mean instead of mean + 2 SD.
    run_baseline_s : float
        Length of the run's own baseline when the history has none [s].
    peak_drop_frac : float
        The impact peak is complete at the first sample this fraction below the running
        maximum of the total force.
    impact_window_s : float
        How long after the heel strike the impact peak of the total force is looked for [s].
    heel_window_s : float
        How long after the heel strike the heel force is followed for the heel-peak target
        [s] (the heel peak of a rearfoot strike comes in the first 50-100 ms).
    max_delay_s : float
        A heel strike announced more than this after it happened (newest sample time minus
        heel-strike time) is not cued: the cue would land in another step. This happens in
        the contact detector's start-up, the first seconds of a run, and for heel strikes
        certain only when their contact ends (an edge hidden in lost frames; a first phase
        that turned out to be swing, in pathological gait); counted in ``late_strikes``.
    """

    def __init__(
        self,
        mode: str,
        sinks: Sequence[CueSink] = (),
        *,
        heel_target: FeedbackTarget | None = None,
        rate_target: FeedbackTarget | None = None,
        above_pct: float | None = None,
        run_baseline_s: float = 120.0,
        peak_drop_frac: float = 0.03,
        impact_window_s: float = 0.12,
        heel_window_s: float = 0.2,
        max_delay_s: float = 0.15,
    ) -> None:
        if mode not in ("strike", "heel"):
            raise ValueError(f"feedback mode must be 'strike' or 'heel', not {mode!r}")
        self.mode = mode
        self.sinks = list(sinks)
        self.heel_target = heel_target
        self.rate_target = rate_target
        self.above_pct = above_pct
        self.run_baseline_s = run_baseline_s
        self.peak_drop_frac = peak_drop_frac
        self.impact_window_s = impact_window_s
        self.heel_window_s = heel_window_s
        self.max_delay_s = max_delay_s
        self.flash = FlashSignal()
        self.sinks.append(self.flash)
        self.cues = 0
        self.strikes = 0
        #: Heel strikes announced too late to be cued (the detector's start-up, or certain
        #: only at the contact's end): not cued.
        self.late_strikes = 0
        #: Announced heel strikes that the detector retracted (no step: a touch, a spike, or a
        #: first phase that was swing). A cue already given stays given; none is given later.
        self.retracted_strikes = 0
        self._newest_s: dict[str, float] = {}
        self._buf: dict[str, deque[tuple[int, float, float]]] = {}
        self._fs: dict[str, float] = {}
        self._open: dict[str, list[_Impact]] = {}
        self._run_heel: list[float] = []
        self._run_rate: list[float] = []
        self._lock = threading.Lock()

    # -- input ---------------------------------------------------------------------------------

    def feed(self, update: PipelineUpdate, trigger_host_s: float | None = None) -> list[Cue]:
        """Take one pipeline update (samples first, then its heel strikes); deliver cues.

        Parameters
        ----------
        update : PipelineUpdate
            From a pipeline built with ``emit_samples=True`` (heel mode needs the samples).
        trigger_host_s : float, optional
            Host time the chunk behind this update was received (default: now).

        Returns
        -------
        list of Cue
            The cues delivered.
        """
        host = time.monotonic() if trigger_host_s is None else trigger_host_s
        cues: list[Cue] = []
        with self._lock:
            for label, s in update.samples.items():
                self._newest_s[label] = (s.start_index + len(s.total_n)) / s.sampling_rate_hz
                if self.mode == "heel":
                    cues += self._samples(label, s.start_index, s.sampling_rate_hz,
                                          s.total_n, s.heel_n, host)
            for side, t in update.heel_strikes:
                self.strikes += 1
                if self._newest_s.get(side, t) - t > self.max_delay_s:
                    self.late_strikes += 1  # a cue now would land in another step
                elif self.mode == "strike":
                    cues.append(Cue("strike", side, t, self._newest_s.get(side, t), host))
                else:
                    cues += self._strike(side, t, host)
            for side, t in update.retracted_heel_strikes:
                self.retracted_strikes += 1
                if side in self._open:  # still followed: no heel cue for it any more
                    self._open[side] = [imp for imp in self._open[side] if imp.hs_s != t]
            if self.mode == "heel" and update.steps:
                self._learn(update.steps)
        for c in cues:
            self._deliver(c)
        return cues

    def _deliver(self, cue: Cue) -> None:
        cue.cue_host_s = time.monotonic()
        self.cues += 1
        for sink in self.sinks:
            sink.cue(cue)

    # -- heel mode -----------------------------------------------------------------------------

    def _samples(self, side: str, start: int, fs: float, total: np.ndarray, heel: np.ndarray,
                 host: float) -> list[Cue]:
        self._fs[side] = fs
        buf = self._buf.setdefault(side, deque(maxlen=max(16, int(0.5 * fs))))
        out: list[Cue] = []
        for i, (tv, hv) in enumerate(zip(total.tolist(), heel.tolist(), strict=True)):
            idx = start + i
            buf.append((idx, tv, hv))
            for imp in self._open.get(side, []):
                if idx >= imp.hs_index and not imp.done:
                    c = self._step_impact(side, imp, idx, tv, hv, fs, host)
                    if c is not None:
                        out.append(c)
        if side in self._open:
            self._open[side] = [m for m in self._open[side] if not m.done]
        return out

    def _strike(self, side: str, t: float, host: float) -> list[Cue]:
        fs = self._fs.get(side)
        if fs is None:
            return []
        imp = _Impact(t, int(math.floor(t * fs)), host)
        buf = self._buf.get(side)
        if not buf or buf[0][0] > imp.hs_index:  # its samples already left the look-back
            self.late_strikes += 1
            return []
        out: list[Cue] = []
        for idx, tv, hv in self._buf.get(side, ()):  # the samples since the onset, already here
            if idx >= imp.hs_index and not imp.done:
                c = self._step_impact(side, imp, idx, tv, hv, fs, host)
                if c is not None:
                    out.append(c)
        if not imp.done:
            self._open.setdefault(side, []).append(imp)
        return out

    def _step_impact(self, side: str, imp: _Impact, idx: int, total: float, heel: float,
                     fs: float, host: float) -> Cue | None:
        t = idx / fs
        if not math.isfinite(total):
            return None
        if math.isnan(imp.base_total):
            imp.base_total = total
        imp.totals.append(total)
        cue = None
        if math.isfinite(heel) and heel > imp.max_heel:
            imp.max_heel = heel
            ht = self.heel_target
            if ht is not None and not imp.cued and heel > ht.limit:
                imp.cued = True
                cue = Cue("heel", side, imp.hs_s, t, host, "heel peak", heel, ht.limit)
        if imp.rate_done:
            pass
        elif total > imp.max_total:
            imp.max_total = total
        elif total <= imp.max_total * (1.0 - self.peak_drop_frac) or (
                t - imp.hs_s > self.impact_window_s):
            imp.rate_done = True  # this sample completes the impact peak
            rate = _loading_rate(imp.totals[:-1], imp.base_total, fs)
            if math.isfinite(rate):
                self._run_rate_seen(imp.hs_s, rate)
            rt = self.rate_target
            if rt is not None and not imp.cued and math.isfinite(rate) and rate > rt.limit:
                imp.cued = True
                cue = Cue("heel", side, imp.hs_s, t, host, "loading rate", rate, rt.limit)
        if t - imp.hs_s > self.heel_window_s or (imp.rate_done and imp.cued):
            imp.done = True
        return cue

    def _run_rate_seen(self, hs_s: float, rate: float) -> None:
        if self.rate_target is None:
            self._run_rate.append(rate)

    def _learn(self, steps: Sequence[StepRecord]) -> None:
        """Learn missing targets from this run's first minutes (no history).

        The baseline is every step before ``run_baseline_s`` — longer when that gave fewer
        than 20 usable steps; cues start once the target exists.
        """
        if self.heel_target is None:
            self._run_heel += [s.load.heel_peak_n for s in steps]
        late = any(s.heel_strike_s >= self.run_baseline_s for s in steps)
        if not late:
            return
        if self.heel_target is None:
            self.heel_target = FeedbackTarget.from_values(
                self._run_heel, source="run", above_pct=self.above_pct)
        if self.rate_target is None:
            self.rate_target = FeedbackTarget.from_values(
                self._run_rate, source="run", above_pct=self.above_pct)


def _loading_rate(totals: Sequence[float], base: float, fs: float) -> float:
    """Slope between 20 % and 80 % of the impact peak above `base` [unit/s]; NaN.

    `totals` runs from the heel strike to the impact peak (its maximum). The crossings are
    interpolated linearly, as `insole.core.steps` does offline.
    """
    if len(totals) < 2:
        return float("nan")
    x = np.asarray(totals, float) - base
    peak = float(x.max())
    if not peak > 0:
        return float("nan")
    lo, hi = 0.2 * peak, 0.8 * peak
    j_hi = int(np.argmax(x >= hi))
    below = np.flatnonzero(x[: j_hi + 1] < lo)
    if j_hi == 0 or len(below) == 0:
        return float("nan")
    j_lo = int(below[-1])

    def cross(j: int, level: float) -> float:  # time [samples] where x passes level after j
        a, b = x[j], x[j + 1]
        return j + (level - a) / (b - a) if b != a else float(j)

    t_lo = cross(j_lo, lo)
    t_hi = cross(j_hi - 1, hi)
    return (hi - lo) / ((t_hi - t_lo) / fs) if t_hi > t_lo else float("nan")
