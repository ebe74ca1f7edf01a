"""The live window (pyqtgraph on PySide6): pressure maps, force traces, metrics and alerts.

The window only draws (DESIGN.md §1, invariant 4): a `QTimer` at ≤ 60 Hz pulls a
`LiveSnapshot` from `insole.live.runtime.LiveRuntime` and updates plot items that were created
once (``setData`` / ``setImage``; no items are added while streaming). Everything it shows was
produced by the pipeline: the force traces are the pipeline's calibrated total and heel force,
the markers sit at the pipeline's heel-strike and toe-off times, the metrics come from its steps.

Pressure maps: each sensor's pressure is spread over a pixel grid of the insole with fixed
normalised Gaussian weights (Nadaraya–Watson smoothing, σ = 6 % of the foot length), computed
once per insole, so each redraw is one matrix product ``weights @ pressure``. Pixels outside the
insole outline are transparent; sensor positions are drawn as small circles. The colour scale
is fixed (0 to ``vmax_kpa``) and labelled, so colours mean the same on every frame. The left
insole is drawn mirrored (medial side towards the middle of the window).

Importing this module imports Qt and pyqtgraph; the rest of the package never does.
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from ..layouts import insole_outline
from .runtime import LiveRuntime, LiveSnapshot, SideView
from .terminal import metrics_rows, status_text

__all__ = ["LiveWindow", "map_weights", "run_window"]

#: Top of the fixed colour scale [kPa]; heel peak pressure in running is about 250-430 kPa
#: (DESIGN.md §2 *Typical magnitudes*), so 400 kPa keeps typical heel peaks in range.
VMAX_KPA = 400.0
#: Pixel size of the pressure maps [mm].
PIXEL_MM = 2.5
_LEVEL_COLOURS = {"warning": "#b3261e", "caution": "#b26a00", "info": "#1f5fa8"}
_SIDE_COLOURS = {"left": "#4fa3ff", "right": "#ff8a3d"}


def _inside(px: np.ndarray, py: np.ndarray, ox: np.ndarray, oy: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of points (px, py) against polygon (ox, oy)."""
    inside = np.zeros(px.shape, bool)
    x2, y2 = np.roll(ox, 1), np.roll(oy, 1)
    for xa, ya, xb, yb in zip(ox, oy, x2, y2, strict=True):
        crosses = (ya > py) != (yb > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = xa + (py - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (px < xc)
    return inside


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
    mask = _inside(px, py, ox, oy)
    return w.astype(np.float32), mask, (x0, y0, nx * pixel_mm, ny * pixel_mm)


class _FootMap:
    """One insole's pressure map: image, outline, sensor circles and CoP path (created once)."""

    def __init__(self, plot: pg.PlotItem, side: str, lut: np.ndarray) -> None:
        self.plot = plot
        self.side = side
        self.lut = lut
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self.outline = pg.PlotDataItem(pen=pg.mkPen("#dddddd", width=2))
        plot.addItem(self.outline)
        self.sensors = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#ffffff80"), brush=None)
        plot.addItem(self.sensors)
        self.cop = pg.PlotDataItem(pen=pg.mkPen("#00e5ff", width=3), symbol="o", symbolSize=4,
                                   symbolBrush="#00e5ff", symbolPen=None)
        plot.addItem(self.cop)
        plot.setAspectLocked(True)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        self.weights: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.rgba: np.ndarray | None = None
        self.values: np.ndarray | None = None  # last map [kPa], NaN outside
        self._key: tuple[Any, ...] | None = None

    def configure(self, view: SideView) -> None:
        key = (tuple(view.sensor_x_mm), tuple(view.sensor_y_mm), view.foot_length_mm)
        if key == self._key:
            return
        self._key = key
        mirror = self.side == "left"
        self.weights, self.mask, rect = map_weights(
            view.sensor_x_mm, view.sensor_y_mm, view.foot_length_mm, mirror=mirror
        )
        self.rgba = np.zeros((*self.mask.shape, 4), np.uint8)
        self.image.setImage(self.rgba, autoLevels=False, levels=None)
        self.image.setRect(QtCore.QRectF(*rect))  # after an image exists (it scales pixels)
        ox, oy = insole_outline(view.foot_length_mm)
        sign = -1.0 if mirror else 1.0
        self.outline.setData(np.r_[sign * ox, sign * ox[0]], np.r_[oy, oy[0]])
        self.sensors.setData(sign * view.sensor_x_mm, view.sensor_y_mm)
        self.plot.setRange(xRange=(rect[0], rect[0] + rect[2]),
                           yRange=(rect[1], rect[1] + rect[3]), padding=0.02)

    def draw(self, view: SideView) -> None:
        self.configure(view)
        assert self.weights is not None
        assert self.mask is not None
        assert self.rgba is not None
        p = np.nan_to_num(view.pressure_kpa.astype(np.float32), nan=0.0)
        values = (self.weights @ np.maximum(p, 0.0)).reshape(self.mask.shape)
        idx = np.clip(values * (255.0 / VMAX_KPA), 0, 255).astype(np.uint8)
        rgba = self.lut[idx]
        rgba[~self.mask, 3] = 0
        self.rgba[...] = rgba
        self.values = np.where(self.mask, values, np.nan)
        self.image.setImage(self.rgba, autoLevels=False, levels=None)
        sign = -1.0 if self.side == "left" else 1.0
        if len(view.cop_x_mm):
            self.cop.setData(sign * view.cop_x_mm, view.cop_y_mm, connect="finite")
        else:
            self.cop.setData([], [])


class _Trace:
    """Scrolling force plot of one insole: total, heel, and event markers (created once)."""

    def __init__(self, plot: pg.PlotItem, side: str, trace_s: float) -> None:
        self.plot = plot
        self.trace_s = trace_s
        colour = _SIDE_COLOURS.get(side, "#cccccc")
        plot.setLabel("left", f"{side} force", units="N")
        plot.setLabel("bottom", "time before now [s]")
        # The x axis is relative (0 = newest sample) and fixed: the data scroll, the axes do
        # not, so their cached drawing is reused (pyqtgraph scrollingPlots); no grid lines
        # (they are repainted with the axes on every frame).
        plot.setXRange(-trace_s, 0.0, padding=0)
        for name in ("left", "bottom"):
            plot.getAxis(name).setCacheMode(
                QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        if side == "left":
            legend = plot.addLegend(offset=(-5, 2), labelTextSize="8pt", colCount=4)
            legend.setBrush(pg.mkBrush("#111418c0"))
        self.total = plot.plot(pen=pg.mkPen(colour, width=2), name="total")
        self.heel = plot.plot(pen=pg.mkPen("#f2d024", width=1.5), name="heel")
        self.hs = pg.PlotDataItem(pen=pg.mkPen("#34c759", width=1.5), connect="pairs",
                                  name="heel strike")
        self.to = pg.PlotDataItem(pen=pg.mkPen("#ff453a", width=1.5,
                                               style=QtCore.Qt.PenStyle.DashLine),
                                  connect="pairs", name="toe-off")
        plot.addItem(self.hs)
        plot.addItem(self.to)
        self.ymax = 100.0
        plot.setYRange(0, self.ymax, padding=0)
        self.marker_hs_s = np.zeros(0)
        self.marker_to_s = np.zeros(0)

    def draw(self, view: SideView, now_s: float) -> None:
        t = view.time_s - now_s
        self.total.setData(t, view.total_n, connect="finite")
        self.heel.setData(t, view.heel_n, connect="finite")
        finite = view.total_n[np.isfinite(view.total_n)]
        top = float(finite.max()) if len(finite) else 0.0
        if top > self.ymax or top < 0.5 * self.ymax and top > 50:
            self.ymax = max(100.0, 1.15 * top)
            self.plot.setYRange(0, self.ymax, padding=0)
        x0 = now_s - self.trace_s
        hs = view.heel_strikes_s[view.heel_strikes_s >= x0]
        to = view.toe_offs_s[view.toe_offs_s >= x0]
        self.marker_hs_s, self.marker_to_s = hs, to
        self.hs.setData(np.repeat(hs - now_s, 2), np.tile([0.0, self.ymax], len(hs)))
        self.to.setData(np.repeat(to - now_s, 2), np.tile([0.0, self.ymax], len(to)))


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
        directory).

    Attributes
    ----------
    redraws : int
        Redraws done (for benchmarks).
    """

    def __init__(self, runtime: LiveRuntime, *, fps: float = 40.0,
                 record_path: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.redraws = 0
        self.display_paused = False
        self._record_path = record_path
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
        cmap = pg.colormap.get("inferno")
        lut = cmap.getLookupTable(0.0, 1.0, 256, alpha=True)
        self.maps: dict[str, _FootMap] = {}
        self.traces: dict[str, _Trace] = {}
        for col, side in enumerate(("left", "right")):
            plot = self.graphics.addPlot(row=0, col=col, rowspan=2,
                                         title=f"<b>{side.upper()}</b> pressure")
            self.maps[side] = _FootMap(plot, side, lut)
        self.colorbar = pg.ColorBarItem(values=(0, VMAX_KPA), colorMap=cmap,
                                        label="pressure [kPa]", interactive=False, width=14,
                                        colorMapMenu=False)
        self.graphics.addItem(self.colorbar, row=0, col=2, rowspan=2)
        for row, side in enumerate(("left", "right")):
            plot = self.graphics.addPlot(row=row, col=3, title=f"{side} force (last "
                                         f"{runtime.trace_s:g} s)")
            self.traces[side] = _Trace(plot, side, runtime.trace_s)
        self.traces["right"].plot.setXLink(self.traces["left"].plot)
        lay = self.graphics.ci.layout
        for col, stretch in ((0, 2), (1, 2), (2, 0), (3, 5)):
            lay.setColumnStretchFactor(col, stretch)
        middle.addWidget(self.graphics, stretch=5)

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
        self.position.setMinimumWidth(110)
        rc.addWidget(self.position)
        controls.addWidget(self.replay_controls, stretch=1)
        self.replay_controls.setVisible(runtime.is_replay)
        if not runtime.is_replay:
            controls.addStretch(1)
        outer.addLayout(controls)
        self._sync_speed_box()
        self._update_record_button()

        self.status = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status, 1)
        self.setCentralWidget(central)

        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, round(1000.0 / min(float(fps), 60.0))))
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._banner_text = ""
        self._metrics_text = ""
        self.refresh()

    # -- drawing -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pull one snapshot and redraw (skipped while the display is paused)."""
        if self.display_paused:
            return
        snap = self.runtime.snapshot()
        self._snap = snap
        for side, view in snap.sides.items():
            if side in self.maps:
                self.maps[side].draw(view)
                self.traces[side].draw(view, snap.now_s)
        self._draw_banner(snap)
        self._draw_metrics(snap)
        self.status.setText(status_text(snap))
        if self.runtime.is_replay and not self.seek.isSliderDown():
            dur = snap.replay_duration_s
            if dur > 0:
                self.seek.blockSignals(True)
                self.seek.setValue(int(1000 * snap.replay_position_s / dur))
                self.seek.blockSignals(False)
            self.position.setText(f"{snap.replay_position_s:5.1f} / {dur:.1f} s")
        self.redraws += 1

    def _draw_banner(self, snap: LiveSnapshot) -> None:
        if snap.alerts:
            top = snap.alerts[0]
            text = "  •  ".join(a.message for a in snap.alerts[:3])
            colour = _LEVEL_COLOURS.get(top.level, "#444")
        else:
            text = "No alerts — heel load and data quality within this run's limits"
            colour = "#2d3b2d"
        if text != self._banner_text:
            self._banner_text = text
            self.banner.setText(text)
            self.banner.setStyleSheet(f"QLabel {{ background: {colour}; color: white; "
                                      "padding: 6px; border-radius: 4px; }")

    def _draw_metrics(self, snap: LiveSnapshot) -> None:
        rows = metrics_rows(snap)
        html = ["<table cellspacing='0' cellpadding='3' width='100%'>",
                "<tr><th align='left'></th><th align='right' style='color:#4fa3ff'>left</th>"
                "<th align='right' style='color:#ff8a3d'>right</th></tr>"]
        for name, a, b in rows:
            if b == "":
                html.append(f"<tr><td>{name}</td><td colspan='2' align='right'><b>{a}</b>"
                            "</td></tr>")
            else:
                html.append(f"<tr><td>{name}</td><td align='right'><b>{a}</b></td>"
                            f"<td align='right'><b>{b}</b></td></tr>")
        html.append("</table><p style='color:#9aa0a6; font-size:11px'>Insole forces; trends "
                    "compare this run with its own first minutes (experimental). "
                    "Not a medical device.</p>")
        text = "".join(html)
        if text != self._metrics_text:
            self._metrics_text = text
            self.metrics.setText(text)

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
        """Stop the timer when the window closes."""
        self.timer.stop()
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
        Close the window after this many seconds.
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
