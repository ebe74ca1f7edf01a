"""Publish the pipeline's output on the Lab Streaming Layer (``insole live|replay|record --lsl``).

`LslPublisher` turns `PipelineUpdate` objects into LSL streams, through ``pylsl`` (the
``formats`` extra, imported only when a publisher is made):

- one stream per insole: name ``insole <side>``, type ``Pressure``, one ``float32`` channel per
  sensor in kPa (NaN rows for lost samples, so the stream stays regular), the insole's rate as
  nominal rate, source id ``insole-<device_id>-<side>``; the stream's XML description carries
  the channels (label, unit, type, region, position and area: the XDF meta-data conventions)
  and the whole sensor layout as JSON, so `insole.sources.importers.xdf` rebuilds the insole
  exactly;
- one marker stream: name ``insole events``, type ``Markers``, irregular rate, one string
  channel; markers ``heel_strike/<side>`` (as soon as the pipeline is sure of it, 10-30 ms
  after the contact) and ``toe_off/<side>`` (when the step completes), each stamped with the
  time of the event itself; rarely ``heel_strike_retracted/<side>``, stamped with the time of
  a heel strike announced before whose contact turned out to be no step (a touch, a spike) or
  to start later (`insole.core.pipeline.PipelineUpdate`): a recorder drops that heel strike.

Clock (`SideClock`): an insole time (seconds on that insole's own clock, as the pipeline gives
it) is mapped to ``pylsl.local_clock()`` by ``lsl = a + b · t``. The first samples fix ``a``
(host receive time of the newest sample minus its insole time: the link latency is in it, as in
every LSL device app); at real-time pace the map is then refitted every 10 s from the lower
envelope of receive time against insole time (`insole.core.clock.ClockSync`, the same fit the
pipeline's clock sync uses), so the insole crystal's drift is followed. A new map applies from
the next sample on and moves the time of that sample by at most half a sample period, so the
timestamps always increase and a late first chunk is slewed out over a few refits; markers are
stamped with the map that stamped the samples around them, so a marker always falls on the
same time as its sample. Replays faster or slower than real time keep the first map with
``b = 1``: the samples are exactly one period apart.

Network: liblsl's default configuration resolves streams by multicast across the site. Tests
(and anyone who wants the streams kept on one computer) load `LOOPBACK_CONFIG` through the
``LSLAPICFG`` environment variable before ``pylsl`` is imported (`write_loopback_config`); see
``docs/lsl.md``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from insole.core.clock import ClockSync
from insole.core.pipeline import Pipeline, PipelineUpdate
from insole.errors import InsoleError

__all__ = [
    "LOOPBACK_CONFIG",
    "MARKER_STREAM_NAME",
    "PRESSURE_STREAM_TYPE",
    "LslError",
    "LslPublisher",
    "LslRelay",
    "SideClock",
    "import_pylsl",
    "realtime_source",
    "write_loopback_config",
]

#: liblsl configuration that keeps discovery and data on this computer (127.0.0.1 only): no
#: IPv6, multicast queries only to the machine scope's 127.0.0.1, unicast discovery of the
#: loopback address, sockets bound to loopback. Keys: liblsl ``src/api_config.cpp``.
LOOPBACK_CONFIG = """\
; insole: keep Lab Streaming Layer discovery and data on this computer (loopback only)
[ports]
IPv6 = disable

[multicast]
ResolveScope = machine
MachineAddresses = {127.0.0.1}
AddressesOverride = {127.0.0.1}
Interfaces = {127.0.0.1}
ListenAddress = 127.0.0.1
TTLOverride = 0

[lab]
KnownPeers = {127.0.0.1}

[log]
level = -2
"""

#: Type of the per-insole streams.
PRESSURE_STREAM_TYPE = "Pressure"
#: Name of the marker stream.
MARKER_STREAM_NAME = "insole events"
#: Seconds of insole time between refits of a real-time clock map.
REFIT_S = 10.0
#: Largest plausible drift between an insole clock and the host clock [ppm]: more means the
#: receive times are not real-time receive times (the map is then not refitted).
MAX_DRIFT_PPM = 1000.0
#: Insole time a map segment is kept after a newer one took over [s] (markers come later than
#: their samples by at most a contact time plus the detector's look-ahead).
_KEEP_SEGMENTS_S = 60.0
_INSTALL_HINT = "pip install 'insole[formats]'"


class LslError(InsoleError, RuntimeError):
    """Lab Streaming Layer publishing is not possible (``pylsl`` or liblsl missing, ...)."""


def import_pylsl() -> Any:
    """Import ``pylsl`` (with its liblsl) or raise a one-line `LslError` naming the fix.

    Returns
    -------
    module
        The ``pylsl`` module.

    Raises
    ------
    LslError
        If ``pylsl`` is not installed or cannot load liblsl.
    """
    try:
        import pylsl
    except ImportError as exc:  # ModuleNotFoundError, or pylsl present without liblsl
        raise LslError(
            f"--lsl needs the pylsl package with its liblsl ({exc}); install it with: "
            f"{_INSTALL_HINT}"
        ) from None
    except RuntimeError as exc:  # pylsl raises this when it finds no liblsl
        text = " ".join(str(exc).split())
        raise LslError(f"--lsl: pylsl cannot load liblsl ({text}); {_INSTALL_HINT}") from None
    return pylsl


def write_loopback_config(path: str | os.PathLike[str], *, log_level: int = -2) -> Path:
    """Write `LOOPBACK_CONFIG` to ``path`` (for ``LSLAPICFG``) and return the path.

    Parameters
    ----------
    path : path-like
        File to write.
    log_level : int
        liblsl's log level (-3 fatal only, -2 errors, -1 warnings, 0 info).

    Returns
    -------
    Path
        ``path``.
    """
    p = Path(path)
    p.write_text(LOOPBACK_CONFIG.replace("level = -2", f"level = {int(log_level)}"),
                 encoding="utf-8")
    return p


# -- clock -----------------------------------------------------------------------------------


class SideClock:
    """Map one insole's times onto the LSL clock: ``lsl = a + b · t``, piecewise in time.

    Parameters
    ----------
    realtime : bool
        Whether receive times are real-time (the source is paced at speed 1): then the map is
        refitted every `REFIT_S` from the receive times; otherwise the first map stays.
    lsl_minus_host_s : float
        ``pylsl.local_clock() − host clock`` [s] (the readers stamp with ``time.monotonic``).
    period_s : float
        Sample period [s]: a refit moves the map by at most half of it at once, so the
        timestamps keep increasing (the map slews towards the fit over several refits).

    Attributes
    ----------
    segments : list of (float, float, float)
        ``(from_t, a, b)``: from insole time ``from_t`` on, ``lsl = a + b · t``.
    refits : int
        Maps taken from the clock fit so far.
    """

    def __init__(self, *, realtime: bool, lsl_minus_host_s: float, period_s: float) -> None:
        self.realtime = realtime
        self.period_s = float(period_s)
        self.lsl_minus_host_s = float(lsl_minus_host_s)
        self.segments: list[tuple[float, float, float]] = []
        self.refits = 0
        self._sync = ClockSync(window_s=2.0)
        self._next_fit_t = REFIT_S

    def observe(self, t_newest_s: float, host_time_s: float | None, *, from_t: float) -> None:
        """Take the receive time of the newest sample; set or refit the map.

        Parameters
        ----------
        t_newest_s : float
            Insole time of the newest sample received [s].
        host_time_s : float or None
            Host time it was received at (None: unknown, e.g. the flush at the end).
        from_t : float
            Insole time of the first sample not yet published: a new map applies from there.
        """
        if not self.segments:
            host = time.monotonic() if host_time_s is None else host_time_s
            self.segments.append((-math.inf, host + self.lsl_minus_host_s - t_newest_s, 1.0))
        if not self.realtime or host_time_s is None:
            return
        self._sync.update([t_newest_s * 1e6], [host_time_s])
        if t_newest_s < self._next_fit_t:
            return
        self._next_fit_t = t_newest_s + REFIT_S
        if self._sync.n_windows < 3:
            return
        try:
            fit = self._sync.estimate()
        except ValueError:  # host times that do not advance: keep the current mapping
            return
        if abs(fit.drift_ppm) > MAX_DRIFT_PPM:
            return
        b = fit.slope
        target = fit.offset_s + (from_t - fit.device_origin_s) * b + self.lsl_minus_host_s
        now = float(self.to_lsl(from_t))
        step = min(max(target - now, -0.5 * self.period_s), 0.5 * self.period_s)
        self.segments.append((from_t, now + step - b * from_t, b))
        self.refits += 1
        old = [i for i, s in enumerate(self.segments) if s[0] < from_t - _KEEP_SEGMENTS_S]
        if len(old) > 1:  # keep the newest segment that started before the horizon
            del self.segments[: old[-1]]

    def to_lsl(self, t_s: Any) -> np.ndarray:
        """LSL times [s] of insole times [s] (array-like)."""
        t = np.asarray(t_s, np.float64)
        if not self.segments:
            raise RuntimeError("SideClock.to_lsl before the first observe()")
        starts = np.array([s[0] for s in self.segments])
        k = np.searchsorted(starts, t, side="right") - 1
        k = np.maximum(k, 0)
        a = np.array([s[1] for s in self.segments])[k]
        b = np.array([s[2] for s in self.segments])[k]
        return np.asarray(a + b * t, np.float64)


# -- publisher -------------------------------------------------------------------------------


def _side_state(pipeline: Pipeline, label: str) -> Any:
    """``(dev_id, state)`` of the pipeline's insole ``label`` (layout, rate), or None."""
    for (dev_id, _), side in pipeline.sides.items():
        if side.label == label:
            return dev_id, side
    return None


class _KnownSide:
    """What a stream description needs of an insole, from a recording-header entry."""

    def __init__(self, layout: Any, fs: float, unit: str) -> None:
        self.layout, self.fs, self.unit = layout, fs, unit


def _header_side(dev: dict[str, Any]) -> tuple[str, int, _KnownSide] | None:
    """``(side, device_id, description)`` of a header device entry, None if incomplete."""
    from insole.core.calibration import Calibrator
    from insole.core.layouts import SensorLayout, default_layout

    try:
        label = str(dev["side"])
        dev_id = int(dev["device_id"])
        fs = float(dev["sample_rate_hz"])
        n = int(dev["n_sensors"])
        layout = (SensorLayout.from_json(dev["layout"]) if dev.get("layout")
                  else default_layout(n))
        unit = Calibrator(dev.get("calibration") or {}, layout).unit
    except (KeyError, TypeError, ValueError):
        return None
    if label not in ("left", "right") or layout.n_sensors != n or not fs > 0:
        return None
    return label, dev_id, _KnownSide(layout, fs, unit)


class LslPublisher:
    """Publish pipeline updates as LSL streams: one per insole plus a marker stream.

    Parameters
    ----------
    source : str
        The source as given (stored in the streams' descriptions).
    realtime : bool
        Whether the source runs at real-time pace (see `SideClock`).
    host_clock : callable
        The clock the readers stamp chunks with (``time.monotonic``).
    devices : list of dict, optional
        Recording-header device entries known before streaming (``sim:``, ``file:``): their
        streams are created at once, so a recorder (or an inlet) can subscribe before the
        first sample; other insoles get theirs at their first samples.

    Attributes
    ----------
    samples_pushed : dict of str to int
        Samples pushed per side (NaN rows of lost samples included).
    markers_pushed : dict of str to int
        Markers pushed per kind (``"heel_strike"``, ``"toe_off"``).
    clocks : dict of str to SideClock
        The clock map per side.

    Raises
    ------
    LslError
        If ``pylsl`` or liblsl is missing.

    Notes
    -----
    Call `publish` from one thread (the one feeding the pipeline); `close` at the end. The
    marker stream is created at once (a recorder sees it from the start), and so are the
    streams of the `devices` given; any other insole's stream when its first samples arrive
    (its rate, sensors and layout are known then). LSL hands an inlet only the samples pushed
    after it connected: start the recorder before the source.
    """

    def __init__(
        self,
        *,
        source: str = "",
        realtime: bool = True,
        host_clock: Callable[[], float] = time.monotonic,
        devices: list[dict[str, Any]] | None = None,
    ) -> None:
        self._lsl = import_pylsl()
        self.source = source
        self.realtime = realtime
        self._host_clock = host_clock
        self.lsl_minus_host_s = float(self._lsl.local_clock()) - host_clock()
        self.samples_pushed: dict[str, int] = {}
        self.markers_pushed: dict[str, int] = {"heel_strike": 0, "toe_off": 0,
                                               "heel_strike_retracted": 0}
        self.clocks: dict[str, SideClock] = {}
        self._outlets: dict[str, Any] = {}
        self._pipeline: Pipeline | None = None
        self._markers = self._lsl.StreamOutlet(self._marker_info())
        self._shapes: dict[str, tuple[int, float]] = {}
        for dev in devices or []:
            known = _header_side(dev)
            if known is not None and known[0] not in self._outlets:
                self._open(*known)

    # -- stream descriptions -------------------------------------------------------------------

    def _marker_info(self) -> Any:
        lsl = self._lsl
        source_id = "insole-events" + (f":{self.source}" if self.source else "")
        info = lsl.StreamInfo(MARKER_STREAM_NAME, "Markers", 1, lsl.IRREGULAR_RATE,
                              lsl.cf_string, source_id[:200])
        desc = info.desc()
        ch = desc.append_child("channels").append_child("channel")
        ch.append_child_value("label", "event")
        ch.append_child_value("type", "Marker")
        node = desc.append_child("insole")
        node.append_child_value("kind", "events")
        node.append_child_value("markers", "heel_strike/left heel_strike/right toe_off/left "
                                "toe_off/right heel_strike_retracted/left "
                                "heel_strike_retracted/right")
        node.append_child_value("time", "time of the event itself (not of its detection), on "
                                "the same map as the samples of that insole")
        node.append_child_value("source", self.source)
        _acquisition(desc)
        return info

    def _open(self, label: str, dev_id: int, side: Any) -> Any:
        """Create (or replace) the outlet of one insole."""
        outlet = self._outlets[label] = self._lsl.StreamOutlet(
            self._insole_info(label, dev_id, side))
        self._shapes[label] = (int(side.layout.n_sensors), float(side.fs))
        return outlet

    def _insole_info(self, label: str, dev_id: int, side: Any) -> Any:
        lsl = self._lsl
        layout = side.layout
        calibrated = getattr(side, "unit", "N") in ("N", "kPa")
        unit = "kPa" if calibrated else "a.u."
        info = lsl.StreamInfo(f"insole {label}", PRESSURE_STREAM_TYPE, int(layout.n_sensors),
                              float(side.fs), lsl.cf_float32, f"insole-{dev_id}-{label}")
        desc = info.desc()
        channels = desc.append_child("channels")
        for i in range(layout.n_sensors):
            ch = channels.append_child("channel")
            ch.append_child_value("label", f"{layout.region[i]}_{i + 1}")
            ch.append_child_value("unit", unit)
            ch.append_child_value("type", "Pressure")
            ch.append_child_value("region", layout.region[i])
            loc = ch.append_child("location")
            loc.append_child_value("X", f"{float(layout.x_mm[i]):.3f}")
            loc.append_child_value("Y", f"{float(layout.y_mm[i]):.3f}")
            loc.append_child_value("Z", "0")
            ch.append_child_value("area_mm2", f"{float(layout.area_mm2[i]):.6g}")
        node = desc.append_child("insole")
        node.append_child_value("kind", "pressure")
        node.append_child_value("side", label)
        node.append_child_value("device_id", str(int(dev_id)))
        node.append_child_value("calibrated", "true" if calibrated else "false")
        node.append_child_value("foot_length_mm", f"{float(layout.foot_length_mm):g}")
        node.append_child_value(
            "frame", "x medial(-)/lateral(+) of the heel centre line, y from the heel end "
            "towards the toes, mm, the same numbers for both feet")
        node.append_child_value("layout_json", json.dumps(layout.to_json(),
                                                          separators=(",", ":")))
        node.append_child_value("lost_samples", "NaN rows")
        node.append_child_value("source", self.source)
        _acquisition(desc)
        return info

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, update: PipelineUpdate, pipeline: Pipeline,
                host_time_s: float | None = None) -> None:
        """Push the samples and events of one update.

        Parameters
        ----------
        update : PipelineUpdate
            What `Pipeline.feed` returned (built with ``emit_samples=True``).
        pipeline : Pipeline
            The pipeline that made it (sensor layouts, device ids). A different pipeline than
            before (a replay restarted at another position) restarts the clock maps.
        host_time_s : float, optional
            Host time the fed bytes arrived at (the reader's chunk time); None for flushes.
        """
        if pipeline is not self._pipeline:
            self._pipeline = pipeline
            self.clocks = {}
        for label, s in update.samples.items():
            n = len(s.total_n)
            if n == 0:
                continue
            clock = self.clocks.get(label)
            if clock is None:
                clock = self.clocks[label] = SideClock(
                    realtime=self.realtime, lsl_minus_host_s=self.lsl_minus_host_s,
                    period_s=1.0 / float(s.sampling_rate_hz))
            t = s.time_s
            clock.observe(float(t[-1]), host_time_s, from_t=float(t[0]))
            outlet = self._outlets.get(label)
            shape = (s.pressure_kpa.shape[1], float(s.sampling_rate_hz))
            if outlet is None or self._shapes.get(label) != shape:
                found = _side_state(pipeline, label)
                if found is None:
                    continue
                outlet = self._open(label, *found)
            rows = np.ascontiguousarray(s.pressure_kpa, np.float32)
            outlet.push_chunk(rows, clock.to_lsl(t).tolist())
            self.samples_pushed[label] = self.samples_pushed.get(label, 0) + n
        events: list[tuple[float, str]] = []
        for kind, strikes in (("heel_strike", update.heel_strikes),
                              ("heel_strike_retracted", update.retracted_heel_strikes)):
            for label, t_hs in strikes:
                clock = self.clocks.get(label)
                if clock is not None and clock.segments:
                    events.append((float(clock.to_lsl(t_hs)), f"{kind}/{label}"))
        for step in update.steps:
            clock = self.clocks.get(step.side)
            if clock is not None and clock.segments and math.isfinite(step.toe_off_s):
                events.append((float(clock.to_lsl(step.toe_off_s)), f"toe_off/{step.side}"))
        for ts, marker in sorted(events):
            self._markers.push_sample([marker], ts)
            kind = marker.split("/")[0]
            self.markers_pushed[kind] = self.markers_pushed.get(kind, 0) + 1

    def close(self) -> None:
        """Close every outlet (the streams disappear from the network)."""
        self._outlets.clear()
        self._markers = None

    def figures(self) -> dict[str, Any]:
        """Counters for reports: samples and markers pushed, clock refits."""
        return {
            "samples": dict(self.samples_pushed),
            "markers": dict(self.markers_pushed),
            "clock_refits": {k: c.refits for k, c in self.clocks.items()},
        }

    def line(self) -> str:
        """One line for the terminal: ``lsl: published left N samples, ...; H heel strikes``."""
        samples = ", ".join(f"{k} {v} samples" for k, v in self.samples_pushed.items())
        return (f"lsl: published {samples or 'no samples'}; "
                f"{self.markers_pushed.get('heel_strike', 0)} heel strikes, "
                f"{self.markers_pushed.get('toe_off', 0)} toe-offs")


def _acquisition(desc: Any) -> None:
    from insole.recordings.container import software_version

    acq = desc.append_child("acquisition")
    acq.append_child_value("manufacturer", "insole")
    acq.append_child_value("software", f"insole {software_version()}")


# -- relay: reader items -> pipeline -> publisher ----------------------------------------------


class LslRelay:
    """A pipeline of its own fed with a reader's items, published on LSL (``record --lsl``).

    Parameters
    ----------
    header : dict
        Recording header (devices with layout and calibration).
    source : str
        The source as given.
    realtime : bool
        Whether the source runs at real-time pace.

    Raises
    ------
    LslError
        If ``pylsl`` or liblsl is missing.
    """

    def __init__(self, header: dict[str, Any], *, source: str = "", realtime: bool = True
                 ) -> None:
        self.publisher = LslPublisher(source=source, realtime=realtime,
                                      devices=header.get("devices"))
        self.pipeline = Pipeline(header, emit_samples=True)

    def feed(self, item: Any) -> None:
        """Feed a `Chunk` or a `ReaderEvent` (reconnects flush the decoder) and publish."""
        from insole.sources.readers import Chunk

        if isinstance(item, Chunk):
            host = item.host_time_s if item.source_time_s is None else item.source_time_s
            update = self.pipeline.feed(item.stream_id, item.data, host)
            self.publisher.publish(update, self.pipeline, item.host_time_s)
            return
        detail = getattr(item, "detail", {}) or {}
        flush = detail.get("flush_decoder") or detail.get("flush_partial")
        if flush and item.stream_id in self.pipeline.decoders:
            self.publisher.publish(self.pipeline.reconnect(item.stream_id), self.pipeline)

    def close(self) -> None:
        """Flush the pipeline (last steps), publish them and close the streams."""
        try:
            self.publisher.publish(self.pipeline.finish(), self.pipeline)
        finally:
            self.publisher.close()


def realtime_source(reader: Any) -> bool:
    """Whether a reader delivers at real-time pace (no ``speed`` other than 1)."""
    speed = getattr(reader, "speed", 1.0)
    try:
        return float(speed) == 1.0
    except (TypeError, ValueError):
        return True
