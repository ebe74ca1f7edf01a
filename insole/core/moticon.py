"""Moticon OpenGo: sensor layout, channel names and the UDP datagram parser.

The Moticon OpenGo sensor insole has 16 capacitive pressure sensors, a 6-axis IMU and reports
100 samples per second; its desktop software exports text files
(`insole.sources.importers.moticon`) and can stream each sample as one UDP datagram of
whitespace-separated numbers (`insole.sources.readers.moticon_udp`).

UDP streams are recorded **as received** (one chunk per datagram) in a stream whose
``transport`` is ``"moticon-udp"`` (`TRANSPORT`); live sessions, ``insole record``, replay and
offline analysis all parse them with the same `MoticonDecoder` (`insole.core.pipeline.Pipeline`
picks it for such a stream), never by converting them to protocol frames. A reader that does
not know the transport finds no protocol frame in the text (no 0x00 delimiter) and reports its
bytes as discarded.

Units (Moticon OpenGo text export header, e.g. ``left pressure 1[N/cm²]``): pressure N/cm²
in steps of 0.25 N/cm² (docs/domain.md), acceleration g, angular rate deg/s, total force N,
centre of pressure normalised to -0.5 .. +0.5 of the insole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firmware_protocol import DecoderStats, Side
from insole.core.layouts import SensorLayout, insole_outline

__all__ = [
    "DEFAULT_SIZE",
    "DEFAULT_UDP_COLUMNS",
    "MOTICON_N_SENSORS",
    "PRESSURE_STEP_N_CM2",
    "SIDE_CHANNELS",
    "TRANSPORT",
    "MoticonDecoder",
    "MoticonSamples",
    "insole_length_mm",
    "moticon_calibration",
    "moticon_devices",
    "moticon_layout",
    "parse_columns",
]

#: ``transport`` of a recording stream holding OpenGo UDP datagrams as received.
TRANSPORT = "moticon-udp"
#: Pressure sensors per OpenGo insole.
MOTICON_N_SENSORS = 16
#: Resolution of the OpenGo pressures [N/cm²] (docs/domain.md; every value in the shared
#: exports is a multiple of it).
PRESSURE_STEP_N_CM2 = 0.25
#: Insole size assumed when the size is not known (UDP streams do not say).
DEFAULT_SIZE = 5

# Sensor centres in the vendor's normalised insole frame: X heel (-0.5) → toe (+0.5), Y lateral
# (-) → medial (+). Recovered from the vendor's own output, not from a drawing: in both shared
# exports (sizes 3 and 7, both feet) "centre of pressure" × "total force" is exactly
# Σ pressure_i · area_i · (X_i, Y_i), so a least-squares fit over all loaded samples gives each
# sensor's centre (residual < 0.0025 of the insole; the same centres, ±0.004, for both sizes
# and feet: the positions scale with the insole). Signs: sensors 1-4 load first in stance
# (heel), 14-16 last (toes); sensor 13 (Y = -0.46) is the fifth metatarsal head, sensor 7 the
# lightly loaded medial arch.
SENSOR_XY = (
    (-0.403, 0.109), (-0.417, -0.166), (-0.266, 0.089), (-0.287, -0.225),
    (-0.125, 0.061), (-0.152, -0.273), (0.080, 0.242), (-0.012, -0.392),
    (0.256, 0.274), (0.241, 0.064), (0.226, -0.116), (0.207, -0.295),
    (0.170, -0.463), (0.413, 0.178), (0.409, -0.082), (0.359, -0.311),
)
_REGIONS = (
    "heel_medial", "heel_lateral", "heel_medial", "heel_lateral",
    "midfoot", "midfoot", "midfoot", "midfoot",
    "forefoot_medial", "forefoot_central", "forefoot_central", "forefoot_lateral",
    "forefoot_lateral", "toes", "toes", "toes",
)
# Sensor areas [cm²] of a size-7 insole, recovered the same way: the export's "total force"
# is exactly Σ pressure_i · area_i (least squares over the loaded samples of both feet of
# moticon_opengo_walk_230927_102114.txt; the left and right fits agree to ±0.07 cm²).
# The size-3 export (moticon_opengo_walk_events.txt) gives 0.70 × these areas.
_AREA_SIZE7_CM2 = (
    12.36, 11.05, 13.37, 13.12, 13.13, 13.02, 17.98, 18.22,
    15.66, 12.43, 12.51, 12.67, 10.22, 10.13, 12.50, 6.48,
)
# Area ratio size 3 / size 7 measured above: sqrt(0.70) = 0.836 in length over 4 sizes, i.e.
# 4.1 % of the size-7 length per size.
_LENGTH_STEP = (1.0 - math.sqrt(0.70)) / 4.0
# Length of a size-7 insole [mm]: an ASSUMPTION (Moticon does not publish insole lengths in
# the exports; 290 mm fits EU 44-45 shoes). Only positions in mm depend on it; areas and
# pressures do not.
_LENGTH_SIZE7_MM = 290.0


def insole_length_mm(size: int) -> float:
    """Approximate length of an OpenGo insole of a given size [mm].

    Parameters
    ----------
    size : int
        Moticon insole size, 1 .. 10.

    Returns
    -------
    float
        Length [mm]; uncertain to about ±10 mm (see the module's notes on `_LENGTH_SIZE7_MM`).
    """
    _check_size(size)
    return round(_LENGTH_SIZE7_MM * (1.0 + _LENGTH_STEP * (size - 7)), 1)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 1 <= size <= 10:
        raise ValueError(f"Moticon insole size must be a whole number 1 .. 10, got {size!r}")


def moticon_layout(size: int = DEFAULT_SIZE) -> SensorLayout:
    """Sensor layout of a Moticon OpenGo insole.

    Parameters
    ----------
    size : int
        Moticon insole size (the export header's ``Size``), 1 .. 10.

    Returns
    -------
    SensorLayout
        ``"moticon16-s<size>"``: 16 sensors numbered as in the OpenGo export; areas are the
        sensors' own pad areas (their sum is the vendor's total force divided by pressure),
        not tiles of the outline.

    Notes
    -----
    Positions and areas were recovered from the vendor's own total-force and
    centre-of-pressure channels (module comments); areas for sizes other than 3 and 7 and
    all lengths in mm are scaled from them and are approximate. ``y_mm`` = (X + 0.5) · length;
    ``x_mm`` = -(Y - Y_heel) · width, Y_heel the mean Y of the four heel sensors, width that of
    `insole.core.layouts.insole_outline`.
    """
    length = insole_length_mm(size)
    vx, _ = insole_outline(length, n=400)
    width = float(np.max(vx) - np.min(vx))
    xy = np.asarray(SENSOR_XY)
    y_heel = float(np.mean(xy[:4, 1]))
    scale = (1.0 + _LENGTH_STEP * (size - 7)) ** 2
    area_cm2 = np.asarray(_AREA_SIZE7_CM2) * scale
    if size == 3:  # measured directly
        area_cm2 = np.asarray(_AREA_SIZE7_CM2) * 0.70
    return SensorLayout(
        name=f"moticon16-s{size}",
        foot_length_mm=length,
        x_mm=np.round(-(xy[:, 1] - y_heel) * width, 1),
        y_mm=np.round((xy[:, 0] + 0.5) * length, 1),
        area_mm2=np.round(area_cm2 * 100.0, 1),
        region=_REGIONS,
    )


def moticon_calibration() -> dict[str, Any]:
    """The ``linear_v1`` calibration of OpenGo pressures: counts of 0.25 N/cm² = 2.5 kPa.

    Returns
    -------
    dict
        ``{"model": "linear_v1", "unit": "kPa", "scale": [2.5] * 16, "offset": [0.0] * 16,
        "invalid_count": 65535}`` (``recordings/FORMAT.md`` §2.3).
    """
    return {
        "model": "linear_v1",
        "unit": "kPa",
        "scale": [PRESSURE_STEP_N_CM2 * 10.0] * MOTICON_N_SENSORS,
        "offset": [0.0] * MOTICON_N_SENSORS,
        "invalid_count": 65535,
    }


# -- channels ---------------------------------------------------------------------------------

#: The 25 channels of one side in the order public UDP integrations use: acceleration (3),
#: angular rate (3), centre of pressure (2), pressures 1-16, total force.
SIDE_CHANNELS: tuple[str, ...] = (
    "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z", "cop_x", "cop_y",
    *(f"p{i}" for i in range(1, MOTICON_N_SENSORS + 1)), "force",
)
#: Default column order of a datagram: time, then the 25 left and the 25 right channels.
DEFAULT_UDP_COLUMNS: tuple[str, ...] = (
    "time", *(f"left_{c}" for c in SIDE_CHANNELS), *(f"right_{c}" for c in SIDE_CHANNELS),
)
_KNOWN = frozenset(DEFAULT_UDP_COLUMNS) | {"skip"}


def parse_columns(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Check a datagram column order.

    Parameters
    ----------
    text : str or sequence of str or None
        Comma-separated names (``"time,left_p1,...,skip"``) or a sequence of them; None or
        ``"default"`` gives `DEFAULT_UDP_COLUMNS`. Names: ``time``, ``skip`` (a number to
        ignore) and ``left_`` / ``right_`` + one of `SIDE_CHANNELS`.

    Returns
    -------
    tuple of str
        The names.

    Raises
    ------
    ValueError
        For an unknown or repeated name, no ``time`` column, or a side with some but not all
        16 pressures.
    """
    if text is None or (isinstance(text, str) and text.strip().lower() == "default"):
        return DEFAULT_UDP_COLUMNS
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text)]
    bad = [n for n in names if n not in _KNOWN]
    if bad:
        raise ValueError(
            f"unknown column {bad[0]!r}; use time, skip, or left_/right_ + one of "
            f"{', '.join(SIDE_CHANNELS[:8])}, p1..p16, force"
        )
    named = [n for n in names if n != "skip"]
    if len(set(named)) != len(named):
        dup = next(n for n in named if named.count(n) > 1)
        raise ValueError(f"column {dup!r} is given twice")
    if "time" not in named:
        raise ValueError("the columns need a 'time' column (loss is counted from it)")
    sides = 0
    for side in ("left", "right"):
        n_p = sum(1 for i in range(1, MOTICON_N_SENSORS + 1) if f"{side}_p{i}" in named)
        if n_p not in (0, MOTICON_N_SENSORS):
            raise ValueError(f"the {side} side has {n_p} of the 16 pressures; give all or none")
        sides += n_p > 0
    if not sides:
        raise ValueError("the columns hold no pressures (left_p1..left_p16, right_p1..)")
    return tuple(names)


def moticon_devices(
    *,
    size: int | None = None,
    columns: Sequence[str] = DEFAULT_UDP_COLUMNS,
    time_unit: str = "s",
    sampling_rate_hz: float = 100.0,
    device_ids: tuple[int, int] = (1, 2),
) -> list[dict[str, Any]]:
    """Recording-header device entries for an OpenGo UDP stream.

    Parameters
    ----------
    size : int, optional
        Insole size for the layout (default `DEFAULT_SIZE`; the stream does not say).
    columns : sequence of str
        Datagram column order (`parse_columns`).
    time_unit : {"s", "ms"}
        Unit of the time column.
    sampling_rate_hz : float
        Nominal rate (OpenGo: 100 Hz).
    device_ids : (int, int)
        ``device_id`` of the left and the right insole.

    Returns
    -------
    list of dict
        One entry per side present in `columns`, with layout, calibration and a
        ``"moticon_udp"`` key (``columns``, ``time_unit``, ``size``, ``size_known``) that
        `decoder_for_header` reads back.
    """
    cols = parse_columns(columns)
    layout = moticon_layout(size or DEFAULT_SIZE).to_json()
    out = []
    for side, dev_id in zip(("left", "right"), device_ids, strict=True):
        if f"{side}_p1" not in cols:
            continue
        out.append({
            "device_id": int(dev_id),
            "side": side,
            "sample_rate_hz": float(sampling_rate_hz),
            "n_sensors": MOTICON_N_SENSORS,
            "adc_bits": 16,
            "layout": layout,
            "calibration": moticon_calibration(),
            "moticon_udp": {"columns": list(cols), "time_unit": time_unit,
                            "size": size or DEFAULT_SIZE, "size_known": size is not None},
        })
    return out


# -- datagrams --------------------------------------------------------------------------------


@dataclass
class MoticonSamples:
    """Samples of one side parsed from datagrams.

    Attributes
    ----------
    side : {"left", "right"}
    device_id : int
        The side's ``device_id``.
    index : ndarray of int64, shape (n,)
        Sample index from the time column (0 = the stream's first datagram).
    time_s : ndarray of float64, shape (n,)
        The time column [s].
    counts : ndarray of uint16, shape (n, 16)
        Pressures in counts of `PRESSURE_STEP_N_CM2` (65535 = invalid).
    channels : dict of str to ndarray of float64, shape (n,)
        The other channels present (``acc_x``, ..., ``force``, ``cop_x``), NaN where missing.
    """

    side: str
    device_id: int
    index: NDArray[np.int64]
    time_s: NDArray[np.float64]
    counts: NDArray[np.uint16]
    channels: dict[str, NDArray[np.float64]]


#: Missing sample indices remembered per stream so a late datagram is recognised as reordered.
_MISSING_MEMORY = 4096


class MoticonDecoder:
    """Parse OpenGo UDP datagrams (whitespace-separated numbers) into samples per side.

    The same object serves live sources (one datagram per `feed`) and recordings (a run of
    datagrams with their ``chunk_ends``). Bad datagrams are counted, never raised.

    Parameters
    ----------
    columns : sequence of str
        Column order (`parse_columns`).
    time_unit : {"s", "ms"}
        Unit of the time column.
    sampling_rate_hz : float
        Nominal rate; sample index = round((time - first time) · rate).
    device_ids : (int, int)
        ``device_id`` of the left and the right side.

    Attributes
    ----------
    stats : firmware_protocol.DecoderStats
        ``frames`` = datagrams parsed, ``samples`` = side samples, ``malformed_frames`` /
        ``discarded_bytes`` = datagrams that were not a row of numbers of the configured
        length, ``lost_frames`` = samples missing in the time column (``lost_by_device`` per
        side), ``out_of_order_frames`` = late datagrams filling a gap (no longer lost, not
        used), ``duplicate_frames`` = datagrams repeating a time already seen, ``restarts`` =
        jumps of the time column backwards by more than 1 s (the sender restarted).
    """

    def __init__(
        self,
        columns: Sequence[str] = DEFAULT_UDP_COLUMNS,
        *,
        time_unit: str = "s",
        sampling_rate_hz: float = 100.0,
        device_ids: tuple[int, int] = (1, 2),
    ) -> None:
        self.columns = parse_columns(columns)
        if time_unit not in ("s", "ms"):
            raise ValueError(f"time_unit must be 's' or 'ms', got {time_unit!r}")
        if not (math.isfinite(sampling_rate_hz) and 1.0 <= sampling_rate_hz <= 10000.0):
            raise ValueError(f"sampling rate must be 1 .. 10000 Hz, got {sampling_rate_hz!r}")
        self.time_unit = time_unit
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.device_ids = device_ids
        self.stats = DecoderStats()
        self._time_col = self.columns.index("time")
        self._sides: list[tuple[str, int, list[int], dict[str, int]]] = []
        for side, dev_id in zip(("left", "right"), device_ids, strict=True):
            if f"{side}_p1" not in self.columns:
                continue
            p_cols = [self.columns.index(f"{side}_p{i}") for i in range(1, 17)]
            other = {c: self.columns.index(f"{side}_{c}") for c in SIDE_CHANNELS
                     if not c.startswith("p") and f"{side}_{c}" in self.columns}
            self._sides.append((side, int(dev_id), p_cols, other))
        self._t0: float | None = None
        self._last = -1
        self._missing: set[int] = set()
        self._pending = b""

    def flush_partial(self) -> None:
        """Drop a datagram cut by a piece boundary (a reconnect: the next bytes are new)."""
        if self._pending:
            self.stats.discarded_bytes += len(self._pending)
            self.stats.malformed_frames += 1
        self._pending = b""

    def feed(self, data: bytes, chunk_ends: ArrayLike | None = None) -> list[MoticonSamples]:
        r"""Parse datagrams.

        Parameters
        ----------
        data : bytes
            One datagram (``chunk_ends`` None), or several recorded datagrams back to back.
            A lone ``b"\\x00"`` is the pipeline's end-of-piece marker and is ignored.
        chunk_ends : array of int, optional
            End offset of each datagram in `data`; an end beyond ``len(data)`` means the last
            datagram continues in the next call.

        Returns
        -------
        list of MoticonSamples
            The new samples of each side present (in index order; late and duplicate
            datagrams are counted and left out).
        """
        if chunk_ends is None:
            if data == b"\x00":
                self.flush_partial()
                return []
            grams = [data]
        else:
            buf = self._pending + bytes(data)
            shift = len(self._pending)
            grams, start = [], 0
            for end in np.asarray(chunk_ends, np.int64).tolist():
                end = int(end) + shift
                if end > len(buf):
                    break
                if end > start:
                    grams.append(buf[start:end])
                start = max(start, end)
            self._pending = buf[start:]
        self.stats.bytes_in += len(data)
        return self._parse(grams)

    def _parse(self, grams: list[bytes]) -> list[MoticonSamples]:
        n_cols = len(self.columns)
        rows: list[list[float]] = []
        for g in grams:
            if g == b"\x00":
                continue
            try:
                fields = g.split()
                row = [float(f) for f in fields] if len(fields) == n_cols else None
            except ValueError:
                row = None
            if row is None or not math.isfinite(row[self._time_col]):
                self.stats.malformed_frames += 1
                self.stats.discarded_bytes += len(g)
                continue
            rows.append(row)
        if not rows:
            return []
        values = np.asarray(rows, np.float64)
        t = values[:, self._time_col] * (1e-3 if self.time_unit == "ms" else 1.0)
        keep = np.zeros(len(t), bool)
        index = np.zeros(len(t), np.int64)
        fs = self.sampling_rate_hz
        for i, ti in enumerate(t.tolist()):
            if self._t0 is None:
                self._t0 = ti
            k = int(round((ti - self._t0) * fs))
            if k < self._last - fs:  # sender restarted: its time went back by over 1 s
                self.stats.restarts += 1
                self._t0 = ti - (self._last + 1) / fs
                k = self._last + 1
            if k > self._last:
                lost = k - self._last - 1 if self._last >= 0 else 0
                if lost:
                    self.stats.lost_frames += lost
                    for side, dev_id, _, _ in self._sides:
                        key = (dev_id, Side.parse(side))
                        self.stats.lost_by_device[key] = (
                            self.stats.lost_by_device.get(key, 0) + lost)
                    if lost <= _MISSING_MEMORY:
                        self._missing.update(range(self._last + 1, k))
                    if len(self._missing) > _MISSING_MEMORY:
                        cut = k - _MISSING_MEMORY
                        self._missing = {m for m in self._missing if m >= cut}
                self._last = k
                keep[i] = True
                index[i] = k
            elif k in self._missing:
                self._missing.discard(k)
                self.stats.lost_frames -= 1
                for side, dev_id, _, _ in self._sides:
                    key = (dev_id, Side.parse(side))
                    self.stats.lost_by_device[key] -= 1
                self.stats.out_of_order_frames += 1
            else:
                self.stats.duplicate_frames += 1
        self.stats.frames += int(keep.sum())
        out = []
        for side, dev_id, p_cols, other in self._sides:
            p = values[keep][:, p_cols]
            present = np.all(np.isfinite(p), axis=1)
            if not present.any():
                continue
            p = p[present]
            with np.errstate(invalid="ignore"):
                c = np.clip(np.rint(p / PRESSURE_STEP_N_CM2), 0, 65534)
            counts = c.astype(np.uint16)
            self.stats.samples += int(present.sum())
            out.append(MoticonSamples(
                side=side,
                device_id=dev_id,
                index=index[keep][present],
                time_s=t[keep][present],
                counts=counts,
                channels={name: values[keep][present, j] for name, j in other.items()},
            ))
        return out


def decoder_for_header(header: dict[str, Any], stream_id: int) -> MoticonDecoder:
    """The decoder of a ``moticon-udp`` stream, configured from the header's devices.

    Parameters
    ----------
    header : dict
        Recording header (or a live reader's equivalent). The first device with a
        ``"moticon_udp"`` entry gives the column order and time unit; without one the defaults
        apply. Device ids come from the devices' ``side``.
    stream_id : int
        The stream (unused for now: one OpenGo stream per recording).

    Returns
    -------
    MoticonDecoder
        A fresh decoder.
    """
    devices = [d for d in header.get("devices", []) if isinstance(d, dict)]
    conf: dict[str, Any] = next(
        (d["moticon_udp"] for d in devices if isinstance(d.get("moticon_udp"), dict)), {})
    ids = {str(d.get("side")): int(d.get("device_id", 0)) for d in devices}
    rate = next((float(d["sample_rate_hz"]) for d in devices if d.get("moticon_udp")
                 and d.get("sample_rate_hz")), 100.0)
    return MoticonDecoder(
        conf.get("columns") or DEFAULT_UDP_COLUMNS,
        time_unit=str(conf.get("time_unit", "s")),
        sampling_rate_hz=rate,
        device_ids=(ids.get("left", 1), ids.get("right", 2)),
    )
