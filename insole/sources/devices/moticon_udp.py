"""An emulated Moticon OpenGo desktop software: UDP datagrams on loopback.

``insole emulate moticon-udp --port P [--from FILE] [--loss F]`` sends one datagram per sample
to ``127.0.0.1:P`` (loopback only: this is for tests and demos), in the default column order of
`insole.core.moticon.DEFAULT_UDP_COLUMNS` (or ``--columns``), paced on an absolute schedule
(``--speed``; ``max`` sends as fast as the socket takes them). Sources:

- an OpenGo text export (``.txt``): its rows, with its IMU, total-force and centre-of-pressure
  channels; a row where one side has no sample sends ``nan`` for that side;
- a recording: a ``moticon-udp`` stream is re-sent datagram by datagram as recorded; any other
  recording of 16-sensor insoles is decoded and its forces sent as OpenGo pressures
  (force / sensor area of the recording's layout, in steps of 0.25 N/cm²);
- nothing: the gait simulator (`insole.sources.sim.gait.simulate_gait`, walking, 100 Hz, on
  the OpenGo layout).

``--duration`` repeats a file source (time running on) until that much data was sent.
``--loss F`` drops each datagram with probability F (never the first or the last, so the
receiver can count every one from the time column); the JSON report printed at the end gives
the datagrams sent and dropped.
"""

from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from insole.core.moticon import (
    DEFAULT_SIZE,
    DEFAULT_UDP_COLUMNS,
    PRESSURE_STEP_N_CM2,
    SIDE_CHANNELS,
    TRANSPORT,
    moticon_layout,
    parse_columns,
)
from insole.errors import InsoleError

__all__ = ["EmulatorError", "MoticonEmulator", "datagram_rows"]

#: Where the emulator sends: loopback only.
HOST = "127.0.0.1"


class EmulatorError(InsoleError, ValueError):
    """The emulator cannot run with these arguments; the message says why."""


@dataclass
class _Rows:
    """Samples to send: a time column and per side the 25 channels (NaN = no sample)."""

    time_s: np.ndarray
    sides: dict[str, dict[str, np.ndarray]]
    period_s: float


def _cop(pressure: np.ndarray, area_cm2: np.ndarray, layout_xy: np.ndarray) -> np.ndarray:
    w = pressure * area_cm2
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (w @ layout_xy) / total[:, None]
    c[~(total > 0)] = 0.0
    return c


def _from_pressure(time_s: np.ndarray, pressure: dict[str, np.ndarray], size: int,
                   period_s: float) -> _Rows:
    from insole.core.moticon import SENSOR_XY  # the vendor-frame sensor centres

    layout = moticon_layout(size)
    area_cm2 = layout.area_mm2 / 100.0
    xy = np.asarray(SENSOR_XY)
    sides: dict[str, dict[str, np.ndarray]] = {}
    for side, p in pressure.items():
        ch = {f"p{i + 1}": p[:, i] for i in range(16)}
        ch["force"] = (p * area_cm2).sum(axis=1)
        cop = _cop(p, area_cm2, xy)
        ch["cop_x"], ch["cop_y"] = cop[:, 0], cop[:, 1]
        z = np.zeros(len(time_s))
        for name in ("acc_x", "acc_y", "gyro_x", "gyro_y", "gyro_z"):
            ch[name] = z
        ch["acc_z"] = z + 1.0
        sides[side] = ch
    return _Rows(time_s, sides, period_s)


def _quantise(p: np.ndarray) -> np.ndarray:
    return np.round(np.clip(p, 0.0, None) / PRESSURE_STEP_N_CM2) * PRESSURE_STEP_N_CM2


def _rows_from_export(path: Path) -> _Rows:
    from insole.sources.importers.moticon import read_moticon

    data = read_moticon(path)
    times = np.unique(np.concatenate([s.time_s for s in data.sides.values()]))
    sides: dict[str, dict[str, np.ndarray]] = {}
    for side, s in data.sides.items():
        where = np.searchsorted(times, s.time_s)
        ch: dict[str, np.ndarray] = {}
        for i in range(16):
            col = np.full(len(times), np.nan)
            col[where] = s.pressure_n_cm2[:, i]
            ch[f"p{i + 1}"] = col
        for name in SIDE_CHANNELS:
            if name.startswith("p"):
                continue
            col = np.full(len(times), np.nan)
            col[where] = s.channels.get(name, np.zeros(len(s.time_s)))
            ch[name] = col
        sides[side] = ch
    return _Rows(times, sides, 1.0 / data.sampling_rate_hz)


def _rows_from_recording(path: Path) -> _Rows | list[tuple[float, bytes]]:
    from insole.recordings.container import read_header, read_raw_recording

    # Read past damage, as `load_recording` below and the commands do by default.
    header = read_header(path, salvage=True)
    moticon = [int(s["stream_id"]) for s in header.get("streams", [])
               if s.get("transport") == TRANSPORT]
    if moticon:
        raw = read_raw_recording(path, salvage=True)
        stream = raw.streams.get(moticon[0])
        if stream is None or not stream.n_chunks:
            raise EmulatorError(f"{path}: its moticon-udp stream holds no datagrams")
        return [(float(t), bytes(d)) for t, d in stream.iter_chunks()]
    from insole.core.calibration import Calibrator
    from insole.core.layouts import SensorLayout
    from insole.recordings.loader import load_recording

    rec = load_recording(path)
    if not rec.devices:
        raise EmulatorError(f"{path}: no insole data to send")
    entries = {(int(d.get("device_id", -1)), str(d.get("side"))): d
               for d in header.get("devices", [])}
    pressure: dict[str, np.ndarray] = {}
    rate = rec.devices[0].sample_rate_hz
    n = 0
    # Put the insoles on one time axis: imports keep the file's times in the device clocks;
    # real insoles' clocks are independent, so their first receive times are used.
    imported = str(header.get("source", "")).startswith("import:")
    start = {dev.side: (dev.device_t0_us / 1e6 if imported else
                        float(dev.host_time_s[0]) if dev.n_samples else 0.0)
             for dev in rec.devices}
    first = min(start.values())
    for dev in rec.devices:
        if dev.n_sensors != 16:
            raise EmulatorError(
                f"{path}: the {dev.side} insole has {dev.n_sensors} sensors; an OpenGo stream "
                "carries 16 (send an OpenGo export or a 16-sensor recording)")
        entry = entries.get((dev.device_id, dev.side), {})
        layout = (SensorLayout.from_json(entry["layout"]) if entry.get("layout")
                  else moticon_layout(DEFAULT_SIZE))
        force = Calibrator(entry.get("calibration") or {}, layout).force(dev.counts)
        k = np.rint((dev.device_time_s + start[dev.side] - first) * dev.sample_rate_hz
                    ).astype(np.int64)
        n = max(n, int(k[-1]) + 1) if len(k) else n
        p = np.full((int(k[-1]) + 1 if len(k) else 0, 16), np.nan)
        p[k] = force / (layout.area_mm2 / 100.0)
        pressure[dev.side] = _quantise(p)
    for side, p in pressure.items():
        if len(p) < n:
            pressure[side] = np.vstack([p, np.full((n - len(p), 16), np.nan)])
    return _from_pressure(np.arange(n) / rate, pressure, DEFAULT_SIZE, 1.0 / rate)


def _rows_from_sim(duration_s: float, seed: int) -> _Rows:
    from insole.sources.sim.gait import GaitConfig, simulate_gait

    layout = moticon_layout(DEFAULT_SIZE)
    sim = simulate_gait(GaitConfig(duration_s=duration_s, gait="walk", sample_rate_hz=100.0,
                                   layout=layout, seed=seed))
    area_cm2 = layout.area_mm2 / 100.0
    pressure = {side: _quantise(np.asarray(sim[side].force_n, np.float64) / area_cm2)
                for side in ("left", "right")}
    return _from_pressure(sim.time_s, pressure, DEFAULT_SIZE, 0.01)


def _fmt(v: float) -> str:
    return "nan" if not math.isfinite(v) else f"{v:.6g}"


def datagram_rows(rows: _Rows, columns: tuple[str, ...], *, repeat_to_s: float | None = None
                  ) -> Iterator[tuple[float, bytes]]:
    """The datagrams of some rows: ``(send time [s from the first], bytes)``.

    Parameters
    ----------
    rows : _Rows
        Time column and channels per side.
    columns : tuple of str
        Column order (`insole.core.moticon.parse_columns`).
    repeat_to_s : float, optional
        Repeat the rows, time running on, until this much time was sent.

    Yields
    ------
    (float, bytes)
        Time of the sample relative to the first, and the datagram.
    """
    t = rows.time_s - rows.time_s[0]
    span = float(t[-1]) + rows.period_s
    loop = 0
    while True:
        offset = loop * span
        for i in range(len(t)):
            ti = float(t[i]) + offset
            if repeat_to_s is not None and ti >= repeat_to_s:
                return
            fields = []
            for c in columns:
                if c == "time":
                    fields.append(f"{ti + float(rows.time_s[0]):.3f}")
                elif c == "skip":
                    fields.append("0")
                else:
                    side, _, name = c.partition("_")
                    ch = rows.sides.get(side)
                    fields.append(_fmt(float(ch[name][i])) if ch is not None else "nan")
            yield ti, " ".join(fields).encode("ascii")
        loop += 1
        if repeat_to_s is None:
            return


@dataclass
class MoticonEmulator:
    """Send OpenGo datagrams to ``127.0.0.1:port``.

    Parameters
    ----------
    port : int
        Destination UDP port on loopback.
    source : path-like, optional
        OpenGo export or recording; default the simulator.
    loss : float
        Probability of dropping each datagram (never the first or the last).
    speed : float
        Pace relative to real time (``math.inf``: as fast as possible).
    duration_s : float, optional
        Data to send [s]: the simulator's length (default 60 s); a file is repeated up to it
        (default: once).
    seed : int
        Random seed (loss, simulator).
    columns : str, optional
        Column order (default `insole.core.moticon.DEFAULT_UDP_COLUMNS`).
    """

    port: int
    source: str | Path | None = None
    loss: float = 0.0
    speed: float = 1.0
    duration_s: float | None = None
    seed: int = 0
    columns: str | None = None

    def datagrams(self) -> list[tuple[float, bytes]]:
        """Every datagram to send with its time [s from the first] (before loss).

        Raises
        ------
        EmulatorError
            For a missing or unusable source.
        """
        cols = parse_columns(self.columns) if self.columns else DEFAULT_UDP_COLUMNS
        if self.source is None:
            rows = _rows_from_sim(self.duration_s or 60.0, self.seed)
            return list(datagram_rows(rows, cols))
        path = Path(self.source)
        if not path.is_file():
            raise EmulatorError(f"--from {str(path)!r}: not a file; give an OpenGo export "
                                "(.txt) or a recording")
        with open(path, "rb") as f:
            magic = f.read(8)
        if magic == b"INSOLREC":
            got = _rows_from_recording(path)
            if isinstance(got, list):
                t0 = got[0][0]
                return [(t - t0, d) for t, d in got]
            rows = got
        else:
            rows = _rows_from_export(path)
        return list(datagram_rows(rows, cols, repeat_to_s=self.duration_s))

    def run(self, *, stop: threading.Event | None = None, out: TextIO | None = None
            ) -> dict[str, Any]:
        """Send everything; return the report (``sent``, ``dropped``, ``datagrams``, ...).

        Parameters
        ----------
        stop : threading.Event, optional
            Set to stop early.
        out : text stream, optional
            Where to print one start line.

        Returns
        -------
        dict
            ``datagrams`` (before loss), ``sent``, ``dropped``, ``dropped_times_s``,
            ``duration_s``, ``port``, ``stopped_early``.
        """
        if not 0.0 <= self.loss < 1.0:
            raise EmulatorError(f"--loss must be 0 <= F < 1, got {self.loss}")
        if not self.speed > 0:
            raise EmulatorError(f"--speed must be positive, got {self.speed}")
        if not 1 <= self.port <= 65535:
            raise EmulatorError(f"--port must be 1..65535, got {self.port}")
        grams = self.datagrams()
        rng = np.random.default_rng(self.seed)
        drop = rng.random(len(grams)) < self.loss
        if len(drop):
            drop[0] = drop[-1] = False
        stop = stop or threading.Event()
        if out is not None:
            print(f"sending {len(grams)} OpenGo datagrams to {HOST}:{self.port} "
                  f"(speed {self.speed:g}, loss {self.loss:g})", file=out, flush=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = 0
        dropped: list[float] = []
        start = time.monotonic()
        try:
            for (t, data), lost in zip(grams, drop.tolist(), strict=True):
                if stop.is_set():
                    break
                if math.isfinite(self.speed):
                    wait = start + t / self.speed - time.monotonic()
                    if wait > 0 and stop.wait(wait):
                        break
                if lost:
                    dropped.append(round(t, 6))
                    continue
                sock.sendto(data, (HOST, self.port))
                sent += 1
        finally:
            sock.close()
        return {
            "port": self.port,
            "datagrams": len(grams),
            "sent": sent,
            "dropped": len(dropped),
            "dropped_times_s": dropped,
            "duration_s": round(grams[-1][0], 6) if grams else 0.0,
            "stopped_early": sent + len(dropped) < len(grams),
        }


def run_cli(emulator: MoticonEmulator, *, stop: threading.Event | None = None,
            report_path: str | None = None) -> int:
    """Run the emulator for the CLI: start line on stderr, JSON report as stdout's last line.

    Parameters
    ----------
    emulator : MoticonEmulator
        What to send.
    stop : threading.Event, optional
        Set (e.g. by a signal) to stop early.
    report_path : str, optional
        Also write the report there.

    Returns
    -------
    int
        Exit status 0.
    """
    report = emulator.run(stop=stop, out=sys.stderr)
    text = json.dumps(report)
    print(text, flush=True)
    if report_path:
        Path(report_path).write_text(text + "\n", encoding="utf-8")
    return 0
