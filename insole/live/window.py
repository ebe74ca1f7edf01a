"""The live window (pyqtgraph on PySide6): pressure maps, force traces, metrics and alerts.

The window only draws (docs/domain.md "Invariants", 4): a `QTimer` at ≤ 60 Hz pulls a
`LiveSnapshot` from `insole.live.runtime.LiveRuntime` and updates plot items that were created
once (``setData`` / ``setImage``; no items are added while streaming). Everything it shows was
produced by the pipeline: the force traces are the pipeline's calibrated total and heel force,
the markers sit at the pipeline's heel-strike and toe-off times, the metrics come from its steps,
and a replay's position is the recorded time of the last chunk the pipeline processed.

Pressure maps: each sensor's pressure is spread over a pixel grid of the insole with fixed
normalised Gaussian weights (Nadaraya–Watson smoothing, σ = 6 % of the foot length), computed
once per insole, so each redraw is one matrix product ``weights @ pressure``. Pixels outside the
insole outline are transparent; sensor positions are drawn as small circles. The colour scale
is fixed (0 to ``vmax_kpa``) and labelled, so colours mean the same on every frame; it starts
at a neutral slate grey (`UNLOADED_COLOUR`, no load) so a foot in swing shows as an unloaded
insole, not as a black hole. The left insole is drawn mirrored, as seen from above (medial side
towards the middle of the window); each map is labelled medial / lateral.

Units: every label is in the recording's own force unit, as in the session report
(`insole.session.report`): newtons, with pressures in kPa, or ``counts`` for uncalibrated
sensors (stAPPone insoles, gaitndd footswitches: `SideView.unit`). Counts are relative
readings without a true zero, so then the force axes say ``counts (relative)`` and span the
data (a footswitch's value is negative in swing), the maps show each sensor's reading above its
swing baseline on a colour scale in counts that grows to the highest reading so far, and no kPa
appears anywhere.

Redraw cost (``bench/live_redraw.py``, docs/live.md "Figures"): plot items are light
`pg.PlotCurveItem` objects with 1-pixel pens (thicker pens make Qt draw each segment alone);
traces with more than 3 samples per pixel column are reduced to a min/max envelope per column,
aligned to absolute sample indices so the envelope does not shimmer while it scrolls; the maps
are computed inside the outline only and drawn by a plain image item straight from the RGBA
buffer, re-drawn only when a colour index changed; items that change rarely (outline, sensors,
CoP path, legends) are cached as pixmaps by Qt; the view repaints one bounding rectangle per
frame and the scene keeps no item index (everything moves); the status bar and the replay
position are updated `LABELS_HZ` times a second, not on every frame.

Alerts banner: the alerts active now and, for `BAND_BANNER_S` of recording time after it
happened, the latest "too much, too soon" band crossing (1.10×, 1.30×, 2.00× of the largest
session of the last 30 days, ``--db``) — the same sentence the terminal view prints once, taken
from `LiveRuntime.events` (each event is read once; a band is never announced twice). After
that the run is still above the band (steps, duration and heel load only grow), so the banner
keeps a steady line in the band's colour ("Above the warning band since 13.0 s: past 1.3× your
longest run of the last 30 days — higher than your recent normal …", `band_state_text`) and
never says "No alerts" again in that session.

Loads in the metrics table are worded as the terminal's status lines word them: in body
weights once the history has a profile (`RecentMax.profile`, `window_metrics_rows`).

`LiveWindow.flash` is the visual cue of the heel-strike feedback (`insole.live.feedback`); it is
safe to call from any thread. Its word sits in the strip under the force plots, so it hides no
title or axis.

Importing this module imports Qt and pyqtgraph; the rest of the package never does.
"""

from __future__ import annotations

import math
import os
import time
from datetime import datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from insole.core.layouts import inside_polygon, insole_outline
from insole.live.loadwatch import WatchEvent
from insole.live.runtime import LiveRuntime, LiveSnapshot, SideView
from insole.live.terminal import metrics_rows
from insole.session.plain import Profile, fmt_value, unit_label
from insole.sources.readers import parse_source
from insole.sources.readers.file import FileReader

__all__ = [
    "LiveWindow",
    "band_state_text",
    "map_colormap",
    "map_weights",
    "peak_envelope",
    "run_window",
    "source_kind",
    "window_metrics_rows",
    "window_status_text",
]

#: Top of the fixed colour scale [kPa]; heel peak pressure in running is about 250-430 kPa
#: (docs/domain.md "Per-step load"), so 400 kPa keeps typical heel peaks in range.
VMAX_KPA = 400.0
#: Pixel size of the pressure maps [mm].
PIXEL_MM = 2.5
#: Colour of an unloaded insole (bottom of the colour scale).
UNLOADED_COLOUR = "#3d4754"
#: Below this pressure on every sensor [kPa] the map says "no load" (a display threshold only;
#: the pipeline's own contact detection decides the steps). Readings in counts use the same
#: share of their colour scale.
UNLOADED_KPA = 10.0
#: How long a feedback flash stays on [ms].
FLASH_MS = 180
#: Updates per second of the status bar and the replay position during streaming.
LABELS_HZ = 10.0
#: How long a band crossing stays in the banner [s of recording time].
BAND_BANNER_S = 20.0
#: Height of the strip under the plots that holds the centre-of-pressure legend and the
#: feedback flash's word [px].
BOTTOM_STRIP_PX = 44
_LEVEL_COLOURS = {"warning": "#b3261e", "caution": "#b26a00", "info": "#1f5fa8"}
#: Banner colours of the bands of "too much, too soon" (caution, warning, high).
_BAND_COLOURS = {"caution": "#8a6500", "warning": "#c2410c", "high": "#b3261e"}
_SIDE_COLOURS = {"left": "#4fa3ff", "right": "#ff8a3d"}
_COP_COLOUR = "#00e5ff"
_CACHED = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache

#: Rows of the metrics table that hold a load, with the metric `fmt_value` words and the
#: `SideView` field it comes from: shown in body weights once a profile exists.
_LOAD_ROWS = {"heel peak (last)": "heel_peak_n", "heel load so far": "heel_impulse_ns",
              "peak force (last)": "peak_force_n"}

#: How each source kind is named in the status bar.
_KIND_NAMES = {"file": "file", "sim": "simulator", "serial": "serial", "ble": "BLE",
               "moticon-udp": "Moticon UDP"}


def map_weights(
    sensor_x_mm: np.ndarray,
    sensor_y_mm: np.ndarray,
    foot_length_mm: float,
    *,
    mirror: bool = False,
    pixel_mm: float = PIXEL_MM,
    sigma_frac: float = 0.06,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Precompute the interpolation of sensor pressures onto an insole-shaped pixel grid.

    Parameters
    ----------
    sensor_x_mm, sensor_y_mm : ndarray (n_sensors,)
        Sensor positions in the foot frame.
    foot_length_mm : float
        Insole length.
    mirror : bool
        Mirror x (draw a left foot).
    pixel_mm : float
        Pixel size [mm].
    sigma_frac : float
        Gaussian width as a fraction of the foot length.

    Returns
    -------
    weights : ndarray (n_rows * n_cols, n_sensors)
        Row-normalised weights: ``(weights @ p).reshape(n_rows, n_cols)`` is the map
        (row 0 at the heel).
    mask : ndarray (n_rows, n_cols) of bool
        Pixels inside the insole outline.
    rect : tuple of float
        ``(x0, y0, width, height)`` of the grid [mm], for placing the image.
    """
    sign = -1.0 if mirror else 1.0
    ox, oy = insole_outline(foot_length_mm)
    ox = sign * ox
    x0, x1 = float(ox.min()) - pixel_mm, float(ox.max()) + pixel_mm
    y0, y1 = float(oy.min()) - pixel_mm, float(oy.max()) + pixel_mm
    nx, ny = int(math.ceil((x1 - x0) / pixel_mm)), int(math.ceil((y1 - y0) / pixel_mm))
    gx = x0 + (np.arange(nx) + 0.5) * pixel_mm
    gy = y0 + (np.arange(ny) + 0.5) * pixel_mm
    px, py = np.meshgrid(gx, gy)  # (ny, nx): rows along the foot
    sx, sy = sign * np.asarray(sensor_x_mm, float), np.asarray(sensor_y_mm, float)
    sigma = sigma_frac * foot_length_mm
    d2 = (px.reshape(-1, 1) - sx) ** 2 + (py.reshape(-1, 1) - sy) ** 2
    w = np.exp(-0.5 * d2 / sigma**2)
    w /= w.sum(axis=1, keepdims=True) + 1e-12
    mask = inside_polygon(px, py, ox, oy)
    return w.astype(np.float32), mask, (x0, y0, nx * pixel_mm, ny * pixel_mm)


def map_colormap() -> pg.ColorMap:
    """The pressure colour scale: slate grey at no load, then inferno from dark purple up.

    The first 3 % of the scale (12 kPa of 400) fade from `UNLOADED_COLOUR` into the inferno
    map at 12 % (inferno's black end is left out), so an unloaded insole is visibly an insole
    and any load is visibly warmer.
    """
    inferno = pg.colormap.get("inferno")
    u = np.linspace(0.0, 1.0, 32)
    positions = np.r_[0.0, 0.03 + 0.97 * u]
    colours = np.vstack((np.array(QtGui.QColor(UNLOADED_COLOUR).getRgb(), float),
                         inferno.map(0.12 + 0.88 * u, mode="float") * 255.0))
    return pg.ColorMap(positions, colours.astype(np.ubyte))


def peak_envelope(
    time_s: np.ndarray, values: np.ndarray, *, sampling_rate_hz: float, max_points: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a trace to its min/max per block when it has more than ``max_points`` samples.

    Parameters
    ----------
    time_s : ndarray (n,)
        Sample times [s] (``time_s * sampling_rate_hz`` are the absolute sample indices).
    values : ndarray (n,)
        Samples (NaN where lost).
    sampling_rate_hz : float
        Sample rate.
    max_points : int
        Most points to return (two per block).

    Returns
    -------
    x, y : ndarray
        The trace itself when short enough; else per block of ``k`` samples its first time
        and its middle time with the block's minimum and maximum (NaN only when the whole block
        is NaN). Blocks start at absolute sample indices divisible by ``k``, so a scrolling
        trace keeps the same blocks from frame to frame; the samples before the first and
        after the last whole block are kept as they are (the trace still ends at the newest
        sample).
    """
    n = len(values)
    if n <= max_points or n == 0:
        return time_s, values
    k = int(math.ceil(2 * n / max(2, max_points)))
    first = int(round(time_s[0] * sampling_rate_hz))
    skip = (-first) % k
    m = (n - skip) // k
    if m == 0:
        return time_s, values
    blocks = values[skip : skip + m * k].reshape(m, k)
    lo = np.fmin.reduce(blocks, axis=1)
    hi = np.fmax.reduce(blocks, axis=1)
    t0 = time_s[skip : skip + m * k : k]
    half = 0.5 * k / sampling_rate_hz
    end = skip + m * k
    x = np.concatenate((time_s[:skip], np.column_stack((t0, t0 + half)).ravel(), time_s[end:]))
    y = np.concatenate((values[:skip], np.column_stack((lo, hi)).ravel(), values[end:]))
    return x, y


def source_kind(runtime: LiveRuntime) -> str:
    """The kind of source of a runtime: ``file``, ``sim``, ``serial``, ``ble``, ``moticon-udp``.

    A replay is ``file`` whatever the recording was made from (its streams keep their recorded
    labels, such as ``ble-left``, which say nothing about where the bytes come from now).
    """
    reader = runtime.reader
    if runtime.is_replay or isinstance(reader, FileReader):
        return "file"
    if isinstance(runtime.source, str):
        try:
            return parse_source(runtime.source).scheme
        except ValueError:
            pass
    kinds = {s.transport for s in reader.streams}
    return kinds.pop() if len(kinds) == 1 else "live"


def _recorded_over(header: dict[str, Any]) -> str:
    kinds = sorted({str(s.get("transport", "")) for s in header.get("streams", [])} - {""})
    names = [_KIND_NAMES.get(k, k) for k in kinds]
    return f"recorded over {' + '.join(names)}" if names else ""


def _connection_text(kind: str, connection: dict[str, str]) -> str:
    """The state of the streams, in the words of the source kind."""
    if not connection:
        return "no streams"
    if kind == "file":
        states = {"connecting": "opening", "receiving": "reading", "connected": "reading"}
        values = {states.get(v, v) for v in connection.values()}
        return values.pop() if len(values) == 1 else "reading"
    values = set(connection.values())
    if len(values) == 1:
        return values.pop()
    return ", ".join(f"{k}: {v}" for k, v in connection.items())


def band_state_text(band: WatchEvent) -> str:
    """The banner's steady line while the run is above a band of "too much, too soon".

    Parameters
    ----------
    band : WatchEvent
        The latest band crossing (``kind == "band"``); its text is the terminal's sentence,
        `insole.live.loadwatch.BandCrossing.sentence`.

    Returns
    -------
    str
        E.g. ``Above the warning band since 13.0 s: past 1.3× your longest run of the last 30
        days — higher than your recent normal (an association in a study of runners, not a
        diagnosis)``: the sentence's head and its caveat, without the ratios of the moment
        of the crossing (the progress under the metrics says how far the run is now).
    """
    head = band.text.split(" — ", 1)[0]
    # The caveat on heel load only when the line names it ("your largest heel load ...").
    heel = "; heel load is experimental" if "heel load" in head else ""
    return (f"Above the {band.level} band since {band.time_s:.1f} s: {head} — higher than your "
            f"recent normal (an association in a study of runners, not a diagnosis{heel})")


def window_metrics_rows(snap: LiveSnapshot, profile: Profile | None = None,
                        ) -> list[tuple[str, str, str]]:
    """The metrics table of the window: `metrics_rows`, loads in body weights with a profile.

    Parameters
    ----------
    snap : LiveSnapshot
        The snapshot.
    profile : Profile, optional
        The runner's profile (`RecentMax.profile`, the one the terminal view's status line
        uses): heel peak, heel load and a plate's peak force are then worded by
        `insole.session.plain.fmt_value` in body weights (``1.42 BW``, ``15.2 BW·s``), as
        the status lines and the session summary say them. Relative readings (counts) stay
        in counts (`fmt_value` gives body weights only for newtons).

    Returns
    -------
    list of tuple of str
        (name, left, right) rows.
    """
    rows = metrics_rows(snap)
    if profile is None:
        return rows
    left, right = snap.sides.get("left"), snap.sides.get("right")

    def load(metric: str, view: SideView | None) -> str:
        return "–" if view is None else fmt_value(metric, getattr(view, metric), profile,
                                                  unit=view.unit)

    out = []
    for name, a, b in rows:
        metric = _LOAD_ROWS.get(name)
        if metric is not None:
            # a plate's (and any one-column) row keeps its value in the left column only
            a, b = load(metric, left), ("" if b == "" else load(metric, right))
        out.append((name, a, b))
    return out


def window_status_text(snap: LiveSnapshot, kind: str, *, header: dict[str, Any] | None = None,
                       ) -> str:
    """The window's status bar: what the source is and how it is doing.

    Parameters
    ----------
    snap : LiveSnapshot
        The snapshot.
    kind : str
        `source_kind` of the runtime.
    header : dict, optional
        The recording header of a replay (to say what it was recorded over).

    Returns
    -------
    str
        E.g. ``file run.insrec (recorded over BLE): reading  |  replay 48.0 / 600.0 s @ 1x  |
        frames lost 0 · unreadable 0`` or ``BLE: connected  |  battery left 96 %  right 91 %  |
        frames lost 2 · unreadable 0  |  reconnects 0  |  not recording`` (the words of the
        terminal view's status line, `insole.live.terminal.status_line`).
    """
    name = _KIND_NAMES.get(kind, kind)
    if kind == "file":
        target = parse_source(snap.source).target if ":" in snap.source else snap.source
        where = _recorded_over(header or {})
        name = f"file {os.path.basename(target)}" + (f" ({where})" if where else "")
    elif kind in ("serial", "moticon-udp") and ":" in snap.source:
        target = parse_source(snap.source).target
        name = f"{name} {target}" if target else name
    parts = [f"{name}: {_connection_text(kind, snap.connection)}"]
    if math.isfinite(snap.replay_duration_s):
        speed = "max" if math.isinf(snap.replay_speed) else f"{snap.replay_speed:g}x"
        parts.append(f"replay {snap.replay_position_s:.1f} / {snap.replay_duration_s:.1f} s "
                     f"@ {speed}{' paused' if snap.paused else ''}")
    batt = "  ".join(f"{s} {v.battery_pct} %" for s, v in snap.sides.items()
                     if v.battery_pct is not None)
    if batt or kind != "file":
        parts.append(f"battery {batt or '–'}")
    parts.append(f"frames lost {snap.frames_lost} · unreadable {snap.bad_frames}")
    if kind != "file":
        parts.append(f"reconnects {snap.reconnects}")
        parts.append(f"REC {os.path.basename(snap.recording)}" if snap.recording
                     else "not recording")
    elif snap.recording:
        parts.append(f"REC {os.path.basename(snap.recording)}")
    if snap.error:
        parts.append(f"ERROR {snap.error}")
    return "  |  ".join(parts)


#: Tops of a colour scale in counts, times a power of ten (at most 1.5× the highest reading).
_ROUND_TOPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _round_up(x: float) -> float:
    """The next of `_ROUND_TOPS` × 10^k at or above ``x`` (> 0): a colour-scale top."""
    k = 10.0 ** math.floor(math.log10(x))
    return next(round(m * k, 12) for m in _ROUND_TOPS if m * k >= x)


class _RgbaImage(QtWidgets.QGraphicsItem):
    """An RGBA buffer drawn into a rectangle of the plot; the QImage wraps the buffer (no copy).

    Writing into `rgba` and calling ``update()`` is the whole redraw: no conversion, no level
    handling (what `pg.ImageItem` does on every ``setImage``). Row 0 is drawn at the
    rectangle's low y (the heel).
    """

    def __init__(self) -> None:
        super().__init__()
        self.rgba = np.zeros((1, 1, 4), np.uint8)
        self._rect = QtCore.QRectF(0.0, 0.0, 1.0, 1.0)
        self._qimage = pg.functions.ndarray_to_qimage(self.rgba,
                                                      QtGui.QImage.Format.Format_RGBA8888)

    def set_buffer(self, rgba: np.ndarray, rect: tuple[float, float, float, float]) -> None:
        """Draw ``rgba`` (n_rows, n_cols, 4) uint8, C-contiguous, into ``rect`` (x, y, w, h)."""
        self.prepareGeometryChange()
        self.rgba = rgba
        self._rect = QtCore.QRectF(*rect)
        self._qimage = pg.functions.ndarray_to_qimage(rgba, QtGui.QImage.Format.Format_RGBA8888)
        self.update()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: D102 (Qt API)
        return self._rect

    def paint(self, painter: QtGui.QPainter, *args: Any) -> None:  # noqa: D102 (Qt API)
        painter.drawImage(self._rect, self._qimage)


class _FootMap:
    """One insole's pressure map: image, outline, sensors, CoP path and labels (created once)."""

    def __init__(self, plot: pg.PlotItem, side: str, lut: np.ndarray) -> None:
        self.plot = plot
        self.side = side
        self.lut = lut
        self.image = _RgbaImage()
        plot.addItem(self.image)
        self.outline = pg.PlotCurveItem(pen=pg.mkPen("#e6e6e6", width=1.5), antialias=True)
        self.sensors = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#ffffffb0"),
                                          brush=pg.mkBrush("#ffffff30"))
        self.cop = pg.PlotDataItem(pen=pg.mkPen(_COP_COLOUR, width=3), symbol="o",
                                   symbolSize=4, symbolBrush=_COP_COLOUR, symbolPen=None,
                                   name="centre of pressure, last step")
        for item in (self.outline, self.sensors, self.cop):
            plot.addItem(item)
            item.setCacheMode(_CACHED)
        self.medial = pg.TextItem("medial", color="#c8ccd2")
        self.lateral = pg.TextItem("lateral", color="#c8ccd2")
        self.no_load = pg.TextItem("no load (swing)", color="#e8e8e8", anchor=(0.5, 0.5),
                                   fill=pg.mkBrush("#111418b0"))
        for item in (self.medial, self.lateral, self.no_load):
            plot.addItem(item, ignoreBounds=True)
        self.no_load.setVisible(False)
        plot.setAspectLocked(True)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        self.weights: np.ndarray | None = None  # (n_inside_pixels, n_sensors)
        self.mask: np.ndarray | None = None
        self.rgba: np.ndarray | None = None
        self._inside = np.zeros(0, np.intp)  # flat indices of the pixels inside the outline
        self._values: np.ndarray | None = None  # last map inside the outline [map unit]
        self.unloaded = False
        self.uploads = 0  # images handed to Qt (tests)
        self._idx: np.ndarray | None = None
        self._key: tuple[Any, ...] | None = None
        self._cop: tuple[np.ndarray, np.ndarray] | None = None

    def configure(self, view: SideView) -> None:
        key = (tuple(view.sensor_x_mm), tuple(view.sensor_y_mm), view.foot_length_mm)
        if key == self._key:
            return
        self._key = key
        mirror = self.side == "left"
        weights, self.mask, rect = map_weights(
            view.sensor_x_mm, view.sensor_y_mm, view.foot_length_mm, mirror=mirror
        )
        # Only pixels inside the outline are computed; the others stay transparent.
        self._inside = np.flatnonzero(self.mask)
        self.weights = np.ascontiguousarray(weights[self._inside])
        self.rgba = np.zeros((*self.mask.shape, 4), np.uint8)
        self._idx = None
        self.image.set_buffer(self.rgba, rect)
        ox, oy = insole_outline(view.foot_length_mm)
        sign = -1.0 if mirror else 1.0
        self.outline.setData(np.r_[sign * ox, sign * ox[0]], np.r_[oy, oy[0]])
        self.sensors.setData(sign * view.sensor_x_mm, view.sensor_y_mm)
        x0, y0, width, height = rect
        length = view.foot_length_mm
        # Medial is negative x in the foot frame: screen-left on the right foot, screen-right
        # on the (mirrored) left foot. The labels sit in a row below the heel.
        label_y = y0 - 0.035 * length
        left_x, right_x = x0, x0 + width
        medial_x, lateral_x = (right_x, left_x) if mirror else (left_x, right_x)
        self.medial.setPos(medial_x, label_y)
        self.lateral.setPos(lateral_x, label_y)
        self.medial.setAnchor((1.0, 0.5) if mirror else (0.0, 0.5))
        self.lateral.setAnchor((0.0, 0.5) if mirror else (1.0, 0.5))
        self.no_load.setPos(x0 + 0.5 * width, y0 + 0.42 * length)
        self.plot.setRange(xRange=(x0, x0 + width),
                           yRange=(y0 - 0.07 * length, y0 + height), padding=0.02)

    @property
    def values(self) -> np.ndarray | None:
        """The last map (n_rows, n_cols) in `SideView.map_unit`, row 0 at the heel.

        kPa for newtons, counts for relative readings; NaN outside the outline.
        """
        if self._values is None or self.mask is None:
            return None
        out = np.full(self.mask.size, np.nan, np.float32)
        out[self._inside] = self._values
        return out.reshape(self.mask.shape)

    def draw(self, view: SideView, top: float = VMAX_KPA) -> None:
        """Draw `view`'s map values (`SideView.map_values`) on a colour scale from 0 to `top`."""
        self.configure(view)
        assert self.weights is not None
        assert self.mask is not None
        assert self.rgba is not None
        p = np.maximum(np.nan_to_num(view.map_values.astype(np.float32), nan=0.0), 0.0)
        values = self.weights @ p
        self._values = values
        idx = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        unloaded = not bool(p.size) or float(p.max()) < UNLOADED_KPA / VMAX_KPA * top
        if unloaded != self.unloaded:
            self.unloaded = unloaded
            self.no_load.setVisible(unloaded)
        if self._idx is None or not np.array_equal(idx, self._idx):
            self._idx = idx
            self.rgba.reshape(-1, 4)[self._inside] = self.lut[idx]
            self.image.update()
            self.uploads += 1
        cop = self._cop
        if (cop is None or len(cop[0]) != len(view.cop_x_mm)
                or not np.array_equal(cop[0], view.cop_x_mm, equal_nan=True)
                or not np.array_equal(cop[1], view.cop_y_mm, equal_nan=True)):
            self._cop = (view.cop_x_mm, view.cop_y_mm)
            sign = -1.0 if self.side == "left" else 1.0
            if len(view.cop_x_mm):
                self.cop.setData(sign * view.cop_x_mm, view.cop_y_mm, connect="finite")
            else:
                self.cop.setData([], [])


class _Trace:
    """Scrolling force plot of one insole: total, heel, and event markers (created once)."""

    def __init__(self, plot: pg.PlotItem, side: str, trace_s: float, *,
                 plate: bool = False) -> None:
        self.plot = plot
        self.side = side
        self.trace_s = trace_s
        #: One force plate under both feet: its force alone (no heel curve), contact markers.
        self.plate = plate
        #: What the force axis is called: the foot, or the plate.
        self.name = "plate" if plate else side
        colour = _SIDE_COLOURS.get(side, "#cccccc")
        self.unit = ""
        self.set_unit("N")
        plot.setLabel("bottom", "time before now [s]")
        # The x axis is relative (0 = newest sample) and fixed: the data scroll, the axes do
        # not, so their cached drawing is reused (pyqtgraph scrollingPlots); no grid lines
        # (they are repainted with the axes on every frame).
        plot.setXRange(-trace_s, 0.0, padding=0)
        for name in ("left", "bottom"):
            plot.getAxis(name).setCacheMode(_CACHED)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        # 1-pixel pens: Qt strokes a polyline in one go; wider pens are drawn segment by
        # segment and cost several times as much at 1000 Hz.
        self.total = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1),
                                      name="force" if plate else "total")
        self.heel = pg.PlotCurveItem(pen=pg.mkPen("#f2d024", width=1), name="heel")
        self.hs = pg.PlotCurveItem(pen=pg.mkPen("#34c759", width=1), connect="pairs",
                                   name="contact start" if plate else "heel strike")
        self.to = pg.PlotCurveItem(pen=pg.mkPen("#ff453a", width=1,
                                                style=QtCore.Qt.PenStyle.DashLine),
                                   connect="pairs", name="contact end" if plate else "toe-off")
        # A plate has no heel region: no heel curve (its "heel" would repeat the force).
        curves = ((self.total, self.hs, self.to) if plate
                  else (self.total, self.heel, self.hs, self.to))
        for item in curves:
            plot.addItem(item)
        if side == "left":
            legend = plot.addLegend(offset=(-5, 2), labelTextSize="8pt", colCount=4)
            legend.setBrush(pg.mkBrush("#111418c0"))
            for item in curves:
                legend.addItem(item, item.name())
            legend.setCacheMode(_CACHED)
        self.ymax = 100.0
        #: The y range shown: from 0 for newtons, around the data for relative readings.
        self.ylim = (0.0, self.ymax)
        plot.setYRange(*self.ylim, padding=0)
        self.marker_hs_s = np.zeros(0)
        self.marker_to_s = np.zeros(0)

    def set_unit(self, unit: str) -> None:
        """Label the force axis in the insole's force unit (`SideView.unit`).

        Newtons keep pyqtgraph's SI prefix (``left force (kN)``); relative readings are
        labelled as in the session report (`insole.session.plain.unit_label`: ``counts
        (relative)``), without a prefix ("kcounts" is no unit).
        """
        if unit == self.unit:
            return
        self.unit = unit
        axis = self.plot.getAxis("left")
        if unit == "N":
            axis.enableAutoSIPrefix(True)
            self.plot.setLabel("left", f"{self.name} force", units=unit)
        else:
            axis.enableAutoSIPrefix(False)
            self.plot.setLabel("left", f"{self.name} force [{unit_label(unit)}]", units=None)

    def _fit_y(self, view: SideView) -> None:
        """Keep the y range on the data: it grows at once and shrinks when far too large.

        Newtons start at 0 (no load); relative readings have no true zero and may be negative
        (a footswitch in swing), so their range spans the data with a margin, as the session
        report's force curves do.
        """
        if self.unit == "N":
            finite = view.total_n[np.isfinite(view.total_n)]
            top = float(finite.max()) if len(finite) else 0.0
            if top > self.ymax or top < 0.5 * self.ymax and top > 50:
                self.ymax = max(100.0, 1.15 * top)
                self.ylim = (0.0, self.ymax)
                self.plot.setYRange(*self.ylim, padding=0)
            return
        both = view.total_n if self.plate else np.concatenate((view.total_n, view.heel_n))
        finite = both[np.isfinite(both)]
        if not len(finite):
            return
        lo, hi = float(finite.min()), float(finite.max())
        y0, y1 = self.ylim
        span = (hi - lo) or max(abs(hi), 1.0)
        if lo < y0 or hi > y1 or span < 0.5 * (y1 - y0):
            self.ylim = (lo - 0.08 * span, hi + 0.08 * span)
            self.ymax = self.ylim[1]
            self.plot.setYRange(*self.ylim, padding=0)

    def _max_points(self) -> int:
        """Points worth drawing: 3 per pixel column (min, max and slack); 4000 before layout."""
        width = int(self.plot.vb.width())
        return 3 * width if width >= 50 else 4000

    def draw(self, view: SideView, now_s: float) -> None:
        self.set_unit(view.unit)
        max_points = self._max_points()
        curves = ((self.total, view.total_n),) if self.plate else (
            (self.total, view.total_n), (self.heel, view.heel_n))
        for item, values in curves:
            x, y = peak_envelope(view.time_s, values, sampling_rate_hz=view.sampling_rate_hz,
                                 max_points=max_points)
            item.setData(x - now_s, y, connect="all" if np.isfinite(y).all() else "finite")
        self._fit_y(view)
        x0 = now_s - self.trace_s
        hs = view.heel_strikes_s[view.heel_strikes_s >= x0]
        to = view.toe_offs_s[view.toe_offs_s >= x0]
        self.marker_hs_s, self.marker_to_s = hs, to
        self.hs.setData(np.repeat(hs - now_s, 2), np.tile(self.ylim, len(hs)))
        self.to.setData(np.repeat(to - now_s, 2), np.tile(self.ylim, len(to)))


class _FlashOverlay(QtWidgets.QFrame):
    """A thick yellow frame with a word, over the plots, shown briefly for a cue.

    The word is centred in a given strip (the window passes the strip under the force plots),
    so it covers no plot title or axis.
    """

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("flash")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QFrame#flash { border: 10px solid #ffd60a; "
                           "background: rgba(255, 214, 10, 22); }")
        self.label = QtWidgets.QLabel(self)
        self.label.setStyleSheet("QLabel { background: #ffd60a; color: #111418; "
                                 "font-size: 18px; font-weight: bold; padding: 2px 14px; "
                                 "border-radius: 6px; }")
        self.hide()

    def text(self) -> str:
        """The word shown."""
        return self.label.text()

    def show_text(self, text: str, rect: QtCore.QRect, where: QtCore.QRect | None = None,
                  ) -> None:
        """Cover ``rect`` (parent coordinates) and show ``text`` centred in ``where``.

        ``where`` is in the same coordinates (default: a strip at the top of ``rect``); the
        word is kept inside the frame's border.
        """
        self.setGeometry(rect)
        self.label.setText(text)
        self.label.adjustSize()
        if where is None:
            where = QtCore.QRect(rect.x(), rect.y() + 14, rect.width(), self.label.height())
        border = 12
        w, h = self.label.width(), self.label.height()
        x = where.x() - rect.x() + (where.width() - w) // 2
        y = where.y() - rect.y() + (where.height() - h) // 2
        x = min(max(border, x), max(border, rect.width() - border - w))
        y = min(max(border, y), max(border, rect.height() - border - h))
        self.label.move(x, y)
        self.raise_()
        self.show()


class LiveWindow(QtWidgets.QMainWindow):
    """The live window over a `LiveRuntime`.

    Parameters
    ----------
    runtime : LiveRuntime
        The running session (started by the caller).
    fps : float
        Redraw rate (capped at 60 Hz).
    record_path : str, optional
        File for the record button (default: ``live-YYYYmmdd-HHMMSS.insrec`` in the working
        directory). Replays have no record button (the file is the recording).

    Attributes
    ----------
    redraws : int
        Redraws done (for benchmarks).
    flashes : int
        Feedback flashes shown.
    band_alerts : int
        Band crossings ("too much, too soon") shown in the banner.
    band_event : WatchEvent or None
        The latest band crossing (shown for `BAND_BANNER_S` of recording time).
    kind : str
        `source_kind` of the runtime.

    Notes
    -----
    If ``runtime.feedback`` has a ``flash`` signal with ``subscribe`` (`insole.live.feedback.
    FeedbackEngine`), the window subscribes `flash` to it and unsubscribes when it closes.
    """

    #: Carries a flash request from any thread to the GUI thread.
    flash_requested = QtCore.Signal(object)

    def __init__(self, runtime: LiveRuntime, *, fps: float = 40.0,
                 record_path: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.redraws = 0
        self.flashes = 0
        self.band_alerts = 0
        self.band_event: WatchEvent | None = None
        self._watch: Any = None  # the runtime's event list being read (new after a seek)
        self._events_seen = 0
        self.display_paused = False
        self._record_path = record_path
        self.kind = source_kind(runtime)
        #: One force plate under both feet (`LiveRuntime.plate`): its force curve alone, no
        #: feet, no pressure maps, no heel (the report's plate layout).
        self.plate = bool(getattr(runtime, "plate", False))
        self.setWindowTitle(f"insole live — {runtime.source}")
        self.resize(1400, 820)
        self._snap: LiveSnapshot | None = None

        central = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 6)
        self.banner = QtWidgets.QLabel()
        self.banner.setWordWrap(True)
        self.banner.setMinimumHeight(34)
        font = self.banner.font()
        font.setPointSize(font.pointSize() + 2)
        font.setBold(True)
        self.banner.setFont(font)
        outer.addWidget(self.banner)

        middle = QtWidgets.QHBoxLayout()
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#111418")
        # Every item moves on every frame: an index of item positions only costs upkeep.
        self.graphics.scene().setItemIndexMethod(
            QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        # One rectangle around everything that changed: Qt's raster engine clips to one
        # rectangle much faster than to the many-rectangle region of the minimal update.
        self.graphics.setViewportUpdateMode(
            QtWidgets.QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        cmap = map_colormap()
        lut = cmap.getLookupTable(0.0, 1.0, 256, alpha=True)
        self.maps: dict[str, _FootMap] = {}
        self.traces: dict[str, _Trace] = {}
        self.colorbar = pg.ColorBarItem(values=(0, VMAX_KPA), colorMap=cmap,
                                        interactive=False, width=14, colorMapMenu=False)
        #: Unit of the maps and their colour scale: kPa, or counts for relative readings.
        self.map_unit = ""
        #: Top of the maps' colour scale, in `map_unit`.
        self.map_top = VMAX_KPA
        self._set_map_unit("kPa")
        if self.plate:
            self._plate_layout(runtime.trace_s)
        else:
            self._insole_layout(runtime.trace_s, lut)
        middle.addWidget(self.graphics, stretch=5)
        self.flash_overlay = _FlashOverlay(self.graphics)

        self.metrics = QtWidgets.QLabel()
        self.metrics.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.metrics.setWordWrap(True)
        self.metrics.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.metrics.setFixedWidth(340)
        self.metrics.setStyleSheet("QLabel { background: #1b1f24; color: #e8e8e8; "
                                   "padding: 8px; font-size: 13px; }")
        middle.addWidget(self.metrics, stretch=0)
        outer.addLayout(middle, stretch=1)

        controls = QtWidgets.QHBoxLayout()
        self.pause_display = QtWidgets.QPushButton("Pause display")
        self.pause_display.setCheckable(True)
        self.pause_display.toggled.connect(self._on_pause_display)
        controls.addWidget(self.pause_display)
        self.record_button = QtWidgets.QPushButton()
        self.record_button.setCheckable(True)
        self.record_button.setChecked(runtime.recording is not None)
        self.record_button.toggled.connect(self._on_record)
        controls.addWidget(self.record_button)
        # A replay is a recording already: no record button (it would copy the file).
        self.record_button.setVisible(not runtime.is_replay)
        self.replay_controls = QtWidgets.QWidget()
        rc = QtWidgets.QHBoxLayout(self.replay_controls)
        rc.setContentsMargins(0, 0, 0, 0)
        rc.addWidget(QtWidgets.QLabel("replay speed"))
        self.speed = QtWidgets.QComboBox()
        for label in ("0.5x", "1x", "2x", "4x", "8x", "max"):
            self.speed.addItem(label)
        self.speed.currentTextChanged.connect(self._on_speed)
        rc.addWidget(self.speed)
        self.pause_replay = QtWidgets.QPushButton("Pause replay")
        self.pause_replay.setCheckable(True)
        self.pause_replay.toggled.connect(self._on_pause_replay)
        rc.addWidget(self.pause_replay)
        rc.addWidget(QtWidgets.QLabel("seek"))
        self.seek = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.seek.setRange(0, 1000)
        self.seek.sliderReleased.connect(self._on_seek)
        rc.addWidget(self.seek, stretch=1)
        self.position = QtWidgets.QLabel("")
        self.position.setToolTip("recording time the pipeline has processed / file length")
        self.position.setFixedWidth(130)
        rc.addWidget(self.position)
        controls.addWidget(self.replay_controls, stretch=1)
        self.replay_controls.setVisible(runtime.is_replay)
        if not runtime.is_replay:
            controls.addStretch(1)
        outer.addLayout(controls)
        self._sync_speed_box()
        self._update_record_button()

        self.status = QtWidgets.QLabel()
        # Ignored width: a new text never re-lays out the window.
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                  QtWidgets.QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status, 1)
        self.setCentralWidget(central)

        self.flash_requested.connect(self._show_flash)
        self._flash_timer = QtCore.QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self.flash_overlay.hide)
        self._flash_source: Any = None
        signal: Any = getattr(getattr(runtime, "feedback", None), "flash", None)
        if signal is not None and callable(getattr(signal, "subscribe", None)):
            signal.subscribe(self.flash)
            self._flash_source = signal

        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, round(1000.0 / min(float(fps), 60.0))))
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()
        self._banner_text = ""
        self._metrics_text = ""
        self._status_text = ""
        self._position_text = ""
        self._seek_value = -1
        self._labels_due_s = 0.0
        self.refresh()

    def _insole_layout(self, trace_s: float, lut: np.ndarray) -> None:
        """Two insoles: both feet's maps, the colour bar, the CoP legend, a force plot a foot."""
        for col, side in enumerate(("left", "right")):
            plot = self.graphics.addPlot(row=0, col=col, rowspan=2)
            self.maps[side] = _FootMap(plot, side, lut)
        self._set_map_unit("kPa", force=True)
        self.graphics.addItem(self.colorbar, row=0, col=2, rowspan=2)
        # One legend under both feet (inside a map it would cover the toes).
        self.map_legend = pg.LegendItem(labelTextSize="9pt", labelTextColor="#e8e8e8")
        self.map_legend.addItem(self.maps["left"].cop, "centre-of-pressure path, last step")
        self.map_legend.layout.setContentsMargins(2, 0, 2, 0)
        self.map_legend.setMaximumHeight(22)
        self.graphics.addItem(self.map_legend, row=2, col=0, colspan=2)
        self.map_legend.setCacheMode(_CACHED)
        for row, side in enumerate(("left", "right")):
            plot = self.graphics.addPlot(row=row, col=3, title=f"{side} force (last "
                                         f"{trace_s:g} s)")
            self.traces[side] = _Trace(plot, side, trace_s)
        self.traces["right"].plot.setXLink(self.traces["left"].plot)
        lay = self.graphics.ci.layout
        for col, stretch in ((0, 2), (1, 2), (2, 0), (3, 5)):
            lay.setColumnStretchFactor(col, stretch)
        for row, stretch in ((0, 1), (1, 1), (2, 0)):
            lay.setRowStretchFactor(row, stretch)
        # The bottom strip: the CoP legend under the feet, the flash's word under the plots.
        lay.setRowMinimumHeight(2, BOTTOM_STRIP_PX)
        for col in (0, 1):  # equal feet: the titles' widths ("LEFT" / "RIGHT") must not count
            lay.setColumnMinimumWidth(col, 150)
            lay.setColumnPreferredWidth(col, 180)

    def _plate_layout(self, trace_s: float) -> None:
        """One force plate under both feet: its force and contacts, over the whole width.

        No feet, no pressure maps, no heel: the plate measures the force of the whole body and
        does not tell the feet apart (the session report draws it the same way).
        """
        plot = self.graphics.addPlot(row=0, col=0, title="force plate under both feet: force "
                                     f"(last {trace_s:g} s)")
        self.traces["left"] = _Trace(plot, "left", trace_s, plate=True)
        #: Under the plot (and the strip of the feedback flash's word).
        self.plate_note = pg.LabelItem(
            "One force plate under both feet: every contact is a step of either foot; "
            "no pressure map, no heel.", color="#c8ccd2", size="9pt")
        self.graphics.addItem(self.plate_note, row=1, col=0)
        lay = self.graphics.ci.layout
        lay.setRowStretchFactor(0, 1)
        lay.setRowStretchFactor(1, 0)
        lay.setRowMinimumHeight(1, BOTTOM_STRIP_PX)

    # -- drawing -------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        """The timer's redraw: the status bar and replay position at most `LABELS_HZ`."""
        now = time.monotonic()
        due = now >= self._labels_due_s
        if due:
            self._labels_due_s = now + 1.0 / LABELS_HZ
        self.refresh(labels=due)

    def refresh(self, *, labels: bool = True) -> None:
        """Pull one snapshot and redraw (skipped while the display is paused).

        Parameters
        ----------
        labels : bool
            Also update the status bar and the replay position (text widgets cost a relayout
            and a repaint of their own, and their numbers change on every frame; the timer
            updates them `LABELS_HZ` times a second).
        """
        if self.display_paused:
            return
        snap = self.runtime.snapshot()
        self._snap = snap
        self._fit_map_scale(snap)
        for side, view in snap.sides.items():
            if side in self.maps:
                self.maps[side].draw(view, self.map_top or 1.0)
            if side in self.traces:
                self.traces[side].draw(view, snap.now_s)
        self._read_events()
        self._draw_banner(snap)
        self._draw_metrics(snap)
        if labels or snap.ended or snap.error:
            text = window_status_text(snap, self.kind, header=self.runtime.header)
            if text != self._status_text:
                self._status_text = text
                self.status.setText(text)
            if self.runtime.is_replay:
                self._draw_position(snap)
        self.redraws += 1

    def _set_map_unit(self, unit: str, *, force: bool = False) -> None:
        """Title the maps and label the colour scale in `unit` (kPa, or counts)."""
        if unit == self.map_unit and not force:
            return
        self.map_unit = unit
        pressure = unit == "kPa"
        for side, fmap in self.maps.items():
            what = "pressure" if pressure else "sensor readings"
            fmap.plot.setTitle(f"<b>{side.upper()}</b> {what}")
        label = ("pressure [kPa] (grey: no load)" if pressure
                 else f"reading above swing [{unit_label(unit)}] (grey: no load)")
        self.colorbar.getAxis("left").setLabel(label)
        self.map_top = VMAX_KPA if pressure else 0.0
        if pressure:
            self.colorbar.setLevels((0.0, VMAX_KPA))

    def _fit_map_scale(self, snap: LiveSnapshot) -> None:
        """Set the maps' unit and colour scale, and the unit of a force plot without data.

        kPa: 0-`VMAX_KPA`, fixed. Counts: 0 to a round value at or above the highest reading
        so far (`SideView.map_max`; it only grows, so a colour keeps its meaning from frame to
        frame). A force plot without data (a one-insole recording) takes the others' unit.
        """
        units = {v.map_unit for v in snap.sides.values()}
        if not units:
            return
        self._set_map_unit(units.pop() if len(units) == 1 else "counts")
        force_units = {v.unit for v in snap.sides.values()}
        if len(force_units) == 1:
            unit = force_units.pop()
            for side, trace in self.traces.items():
                if side not in snap.sides:
                    trace.set_unit(unit)
        if self.map_unit == "kPa":
            return
        hi = max((v.map_max for v in snap.sides.values() if math.isfinite(v.map_max)),
                 default=0.0)
        if hi > self.map_top:
            self.map_top = max(_round_up(hi), hi)
            self.colorbar.setLevels((0.0, self.map_top))

    def _draw_position(self, snap: LiveSnapshot) -> None:
        """The seek slider and position label follow the pipeline (`replay_position_s`)."""
        dur = snap.replay_duration_s
        pos = snap.replay_position_s
        if not self.seek.isSliderDown() and dur > 0 and math.isfinite(pos):
            value = int(1000 * pos / dur)
            if value != self._seek_value:
                self._seek_value = value
                self.seek.blockSignals(True)
                self.seek.setValue(value)
                self.seek.blockSignals(False)
        text = f"{pos:5.1f} / {dur:.1f} s"
        if text != self._position_text:
            self._position_text = text
            self.position.setText(text)

    def _read_events(self) -> None:
        """Take the runtime's new events once each; keep the latest band crossing."""
        events = getattr(self.runtime, "events", None)
        if events is None:
            return
        watch = getattr(self.runtime, "watch", None)
        if watch is not self._watch:  # a new session state (seek): its events start at 0
            self._watch = watch
            self._events_seen = 0
            self.band_event = None
        new = events(self._events_seen)
        self._events_seen += len(new)
        for ev in new:
            if ev.kind == "band":
                self.band_event = ev
                self.band_alerts += 1

    def _draw_banner(self, snap: LiveSnapshot) -> None:
        band = self.band_event
        if band is not None and snap.now_s - band.time_s < BAND_BANNER_S:
            text = "  •  ".join([f"{band.time_s:.1f} s: {band.text}"]
                                + [a.message for a in snap.alerts[:2]])
            colour = _BAND_COLOURS.get(band.level, "#b26a00")
        elif band is not None:
            # The crossing was announced; the run is still above that band (its steps,
            # duration and heel load only grow): a steady line, never "No alerts".
            text = "  •  ".join([band_state_text(band)] + [a.message for a in snap.alerts[:2]])
            colour = _BAND_COLOURS.get(band.level, "#b26a00")
        elif snap.alerts:
            top = snap.alerts[0]
            text = "  •  ".join(a.message for a in snap.alerts[:3])
            colour = _LEVEL_COLOURS.get(top.level, "#444")
        else:
            text = ("No alerts — data quality within this run's limits" if self.plate else
                    "No alerts — heel load and data quality within this run's limits")
            colour = "#2d3b2d"
        if text != self._banner_text:
            self._banner_text = text
            self.banner.setText(text)
            self.banner.setStyleSheet(f"QLabel {{ background: {colour}; color: white; "
                                      "padding: 6px; border-radius: 4px; }")

    @property
    def profile(self) -> Profile | None:
        """The runner's profile of the runtime's history reference (None without one)."""
        return getattr(getattr(self.runtime, "recent", None), "profile", None)

    def _draw_metrics(self, snap: LiveSnapshot) -> None:
        rows = window_metrics_rows(snap, self.profile)
        head = ("<th colspan='2' align='right' style='color:#4fa3ff'>force plate (both feet)"
                "</th>" if snap.plate else
                "<th align='right' style='color:#4fa3ff'>left</th>"
                "<th align='right' style='color:#ff8a3d'>right</th>")
        html = ["<table cellspacing='0' cellpadding='3' width='100%'>",
                f"<tr><th align='left'></th>{head}</tr>"]
        for name, a, b in rows:
            if b == "":
                html.append(f"<tr><td>{name}</td><td colspan='2' align='right'><b>{a}</b>"
                            "</td></tr>")
            else:
                html.append(f"<tr><td>{name}</td><td align='right'><b>{a}</b></td>"
                            f"<td align='right'><b>{b}</b></td></tr>")
        html.append("</table>")
        progress = str(snap.extra.get("progress", "") or "")
        if progress:
            html.append(f"<p style='color:#ffd60a'><b>{progress}</b></p>")
        units = sorted({v.unit for v in snap.sides.values()} - {"N"})
        what = (f"Relative sensor readings ({', '.join(units)}), not newtons: compare within "
                "this recording only" if units else
                "Force plate under both feet (every contact a step, no heel)" if snap.plate
                else "Insole forces")
        trends = "" if snap.plate else ("; trends compare this run with its own first minutes "
                                        "(experimental)")
        html.append(f"<p style='color:#9aa0a6; font-size:11px'>{what}{trends}. "
                    "Not a medical device.</p>")
        text = "".join(html)
        if text != self._metrics_text:
            self._metrics_text = text
            self.metrics.setText(text)

    # -- feedback flash ------------------------------------------------------------------------

    def flash(self, cue: Any = None) -> None:
        """Flash the window for a feedback cue; safe to call from any thread.

        Parameters
        ----------
        cue : object, optional
            The cue (`insole.live.feedback.Cue`); its ``kind`` (``"strike"`` / ``"heel"``),
            ``side`` and ``what`` name the flash. Anything else (or None) flashes "cue".

        Notes
        -----
        The request goes to the GUI thread through a queued Qt signal: the caller (the
        runtime's worker) returns at once, and the flash shows on the GUI thread's next turn,
        not the next redraw. It stays on for `FLASH_MS`.
        """
        self.flash_requested.emit(cue)

    def _show_flash(self, cue: Any) -> None:
        kind = str(getattr(cue, "kind", "") or "")
        side = str(getattr(cue, "side", "") or "")
        what = str(getattr(cue, "what", "") or "")
        if kind == "heel":
            word = f"{side.upper()} HEEL — {what or 'impact'} above target".strip()
        elif kind == "strike":
            word = f"{side.upper()} STRIKE".strip()
        else:
            word = "CUE"
        self.flash_overlay.show_text(word, self.graphics.rect(), self._flash_strip())
        self.flashes += 1
        self._flash_timer.start(FLASH_MS)

    def _flash_strip(self) -> QtCore.QRect:
        """The strip under the lower force plot (graphics coordinates): no title, no axis."""
        view = self.graphics
        plot = self.traces["right" if "right" in self.traces else "left"].plot
        box = view.mapFromScene(plot.sceneBoundingRect()).boundingRect()
        bottom = view.rect().bottom()
        return QtCore.QRect(box.left(), box.bottom() + 1, box.width(),
                            max(0, bottom - box.bottom()))

    # -- controls ------------------------------------------------------------------------------

    def _on_pause_display(self, paused: bool) -> None:
        self.display_paused = paused
        self.pause_display.setText("Resume display" if paused else "Pause display")

    def _on_record(self, on: bool) -> None:
        if on and self.runtime.recording is None:
            path = self._record_path or datetime.now().strftime("live-%Y%m%d-%H%M%S.insrec")
            try:
                self.runtime.start_recording(path)
            except Exception as exc:  # show, never crash the window
                self.record_button.blockSignals(True)
                self.record_button.setChecked(False)
                self.record_button.blockSignals(False)
                self.status.setText(f"cannot record: {exc}")
        elif not on:
            self.runtime.stop_recording()
        self._update_record_button()

    def _update_record_button(self) -> None:
        rec = self.runtime.recording
        self.record_button.setText(f"Stop recording ({os.path.basename(rec)})" if rec
                                   else "Start recording")

    def _sync_speed_box(self) -> None:
        reader = self.runtime.reader
        speed = getattr(reader, "speed", 1.0)
        label = "max" if math.isinf(speed) else f"{speed:g}x"
        if self.speed.findText(label) < 0:
            self.speed.addItem(label)
        self.speed.blockSignals(True)
        self.speed.setCurrentText(label)
        self.speed.blockSignals(False)

    def _on_speed(self, text: str) -> None:
        self.runtime.set_speed(math.inf if text == "max" else float(text.rstrip("x")))

    def _on_pause_replay(self, paused: bool) -> None:
        self.runtime.set_paused(paused)
        self.pause_replay.setText("Resume replay" if paused else "Pause replay")

    def _on_seek(self) -> None:
        snap = self._snap
        if snap is None or not math.isfinite(snap.replay_duration_s):
            return
        self._seek_value = -1
        self.runtime.seek(self.seek.value() / 1000.0 * snap.replay_duration_s)

    def save_screenshot(self, path: str | os.PathLike[str]) -> QtGui.QImage:
        """Redraw now and save the window as a PNG; return the image."""
        self.refresh()
        QtWidgets.QApplication.processEvents()
        pixmap = self.grab()
        if not pixmap.save(os.fspath(path), "PNG"):
            raise OSError(f"cannot write screenshot {os.fspath(path)}")
        return pixmap.toImage()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt name)
        """Stop the timer (and the flash subscription) when the window closes."""
        self.timer.stop()
        if self._flash_source is not None:
            self._flash_source.unsubscribe(self.flash)
            self._flash_source = None
        super().closeEvent(event)


def run_window(
    runtime: LiveRuntime,
    *,
    screenshot: str | os.PathLike[str] | None = None,
    exit_after_s: float | None = None,
    fps: float = 40.0,
) -> int:
    """Open the window on a started runtime and run the Qt event loop until it closes.

    Parameters
    ----------
    runtime : LiveRuntime
        Started runtime (stopped by the caller).
    screenshot : path-like, optional
        Save the window as a PNG when it closes (or at ``exit_after_s``).
    exit_after_s : float, optional
        Close the window after this many seconds. Without it, a window on a platform that
        shows nothing (``QT_QPA_PLATFORM=offscreen``) closes when the source ends.
    fps : float
        Redraw rate (≤ 60 Hz).

    Returns
    -------
    int
        0.
    """
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = LiveWindow(runtime, fps=fps)
    window.show()
    shot = {"done": False}

    def take() -> None:
        if screenshot is not None and not shot["done"]:
            window.save_screenshot(screenshot)
            shot["done"] = True

    def finish() -> None:
        take()
        window.close()

    if exit_after_s is not None:
        QtCore.QTimer.singleShot(int(1000 * exit_after_s), finish)
    app.setQuitOnLastWindowClosed(True)
    # Ctrl-C closes the window: let Python run its signal handlers while Qt's loop runs.
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    old_handler = signal.signal(signal.SIGINT, lambda *_: window.close()) if main else None
    tick = QtCore.QTimer(window)
    headless = app.platformName() in ("offscreen", "minimal")
    if headless and exit_after_s is None:
        # Nobody can close a window nothing shows: it closes (and saves its screenshot) when
        # the source ends, a replay's recording at its end. A live source runs until Ctrl-C.
        def close_at_end() -> None:
            if runtime.ended or not runtime.running:  # the end, or the worker failed
                finish()

        tick.timeout.connect(close_at_end)
    else:
        tick.timeout.connect(lambda: None)
    tick.start(200)
    if screenshot is not None:
        original = window.closeEvent

        def close_with_shot(event: QtGui.QCloseEvent) -> None:
            take()
            original(event)

        window.closeEvent = close_with_shot  # type: ignore[method-assign]
    try:
        app.exec()
    finally:
        if main:
            signal.signal(signal.SIGINT, old_handler)
    return 0
