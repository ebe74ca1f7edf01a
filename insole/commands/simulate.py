"""Simulate a session end to end and write it as an ordinary recording (``insole simulate``).

Gait model → FSR insoles → firmware frames → link with faults → the bytes a host receives, with
their host receive times, written through `RecordingWriter`. The recording is indistinguishable
in format from a live one, so every later stage (replay, analysis) is tested on the same path
as real data. The ground truth (one row per step) goes to a CSV beside it.

The run is simulated and written a few minutes at a time (`GaitStream`, `Transmission`), so
memory does not grow with the duration (bench/simulate_memory.py); the bytes are those of
simulating the whole run at once (`simulate_gait`, `transmit`). `MAX_DURATION_S` bounds the
duration.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from firmware_protocol import Side
from insole.commands.progress import Progress
from insole.core.layouts import default_layout
from insole.recordings.container import RecordingWriter, software_version
from insole.sources.sim.gait import GaitConfig, GaitStream, StepTruth
from insole.sources.sim.limits import MAX_DURATION_S
from insole.sources.sim.transport import TimeMerge, Transmission, TransportConfig

__all__ = ["MAX_DURATION_S", "SimulationRequest", "simulate_to_file", "write_truth_csv"]

#: Columns of the ground-truth CSV, in order.
TRUTH_COLUMNS = (
    "side",
    "heel_strike_s",
    "toe_off_s",
    "contact_s",
    "strike_pattern",
    "strike_index_pct",
    "peak_force_n",
    "heel_peak_n",
)


@dataclass(frozen=True)
class SimulationRequest:
    """Everything ``insole simulate`` can set; defaults give a clean 200 Hz BLE run.

    See `insole.sources.sim.gait.GaitConfig` and `insole.sources.sim.transport.TransportConfig` for
    the meaning and sources of each parameter.
    """

    duration_s: float = 60.0
    seed: int = 0
    gait: Literal["run", "walk"] = "run"
    cadence_spm: float | None = None
    speed_mps: float | None = None
    strike: Literal["rearfoot", "midfoot", "forefoot", "mixed"] = "rearfoot"
    sample_rate_hz: int = 200
    n_sensors: int = 16
    body_mass_kg: float = 70.0
    asymmetry_pct: float = 0.0
    fatigue_pct: float = 0.0
    stand_s: float = 0.0
    pronation: float = 0.0
    loss: float = 0.0
    burst_loss: float = 0.0
    garbage_per_min: float = 0.0
    drift_ppm: float = 0.0
    link: Literal["ble", "serial"] = "ble"
    batch: int = 6
    start: datetime | None = None

    def gait_config(self) -> GaitConfig:
        """The gait model's configuration; the duration is rounded up to whole frames."""
        n_frames = math.ceil(self.duration_s * self.sample_rate_hz / self.batch)
        return GaitConfig(
            duration_s=n_frames * self.batch / self.sample_rate_hz,
            gait=self.gait,
            cadence_spm=self.cadence_spm,
            speed_mps=self.speed_mps,
            body_mass_kg=self.body_mass_kg,
            strike=self.strike,
            pronation=self.pronation,
            asymmetry_pct=self.asymmetry_pct,
            fatigue_pct=self.fatigue_pct,
            stand_s=self.stand_s,
            sample_rate_hz=float(self.sample_rate_hz),
            layout=default_layout(self.n_sensors),
            seed=self.seed,
        )

    def transport_config(self) -> TransportConfig:
        """The simulated link's configuration."""
        return TransportConfig(
            link=self.link,
            batch=self.batch,
            loss=self.loss,
            burst_loss=self.burst_loss,
            garbage_per_min=self.garbage_per_min,
            drift_ppm=self.drift_ppm,
            seed=self.seed + 7919,  # independent of the gait model's stream of numbers
        )


def write_truth_csv(truth: StepTruth, path: str | os.PathLike[str]) -> None:
    """Write the per-step ground truth as CSV (columns `TRUTH_COLUMNS`).

    Times are seconds since the recording's first sample.
    """
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(TRUTH_COLUMNS)
        _write_truth_rows(w, truth)


def _write_truth_rows(w: Any, truth: StepTruth) -> None:
    """Write rows of `write_truth_csv` with the ``csv.writer`` `w`."""
    for i in range(len(truth)):
        w.writerow(
            [
                truth.side[i],
                f"{truth.heel_strike_s[i]:.6f}",
                f"{truth.toe_off_s[i]:.6f}",
                f"{truth.toe_off_s[i] - truth.heel_strike_s[i]:.6f}",
                truth.strike_pattern[i],
                f"{truth.strike_index_pct[i]:.3f}",
                f"{truth.peak_force_n[i]:.2f}",
                f"{truth.heel_peak_n[i]:.2f}",
            ]
        )


def _header(
    req: SimulationRequest,
    cfg: GaitConfig,
    calibration: dict[str, dict[str, Any]],
    streams: list[tuple[int, str]],
    report: dict[str, Any],
) -> dict[str, Any]:
    tcfg = req.transport_config()
    start = req.start or datetime.now(UTC).astimezone()
    devices = []
    for side in (Side.LEFT, Side.RIGHT):
        devices.append(
            {
                "device_id": tcfg.device_ids[int(side)],
                "side": side.label,
                "sample_rate_hz": float(cfg.sample_rate_hz),
                "n_sensors": cfg.layout.n_sensors,
                "adc_bits": int(cfg.adc_bits),
                "layout": cfg.layout.to_json(),
                "calibration": calibration[side.label],
            }
        )
    gait = {k: v for k, v in asdict(cfg).items() if k != "layout"}
    return {
        "start_time": start.isoformat(),
        "source": "sim",
        "software": {"name": "insole", "version": software_version()},
        "streams": [
            {"stream_id": sid, "transport": tcfg.link, "label": label} for sid, label in streams
        ],
        "devices": devices,
        "extra": {
            "simulation": {
                "gait": gait,
                "transport": {k: v for k, v in asdict(tcfg).items()},
                "injected": report,
            }
        },
    }


def _frozen_clock() -> float:
    """The writer's clock: the recording's blocks do not depend on how fast it is written."""
    return 0.0


def simulate_to_file(
    request: SimulationRequest,
    out: str | os.PathLike[str],
    *,
    truth_path: str | os.PathLike[str] | None = None,
    progress: bool = False,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Simulate a session and write it as a recording.

    The run is simulated, framed and written a block of a few minutes at a time, in memory
    bounded independently of its duration; the chunks written are those of simulating it at
    once (`insole.sources.sim.gait.simulate_gait`, `insole.sources.sim.transport.transmit`).
    The recording's blocks are cut by size only (never by the wall-clock age of a chunk, as
    in a live recording), so a request always gives the same file.

    Parameters
    ----------
    request : SimulationRequest
        What to simulate.
    out : path-like
        Recording to write.
    truth_path : path-like, optional
        Where to write the per-step ground truth CSV.
    progress : bool
        Show a progress bar on stderr (when it is a terminal).
    overwrite : bool
        Replace an existing file at ``out``.

    Returns
    -------
    dict
        What was written: paths, duration, steps, frames sent, ``frames_dropped`` (on purpose),
        ``frames_corrupted`` (by injected garbage) and the other injected faults.

    Raises
    ------
    ValueError
        If the request is out of range, e.g. longer than `MAX_DURATION_S`.
    """
    t0 = time.perf_counter()
    if not (math.isfinite(request.duration_s) and 0 < request.duration_s <= MAX_DURATION_S):
        raise ValueError(
            f"duration_s must be greater than 0 and at most {MAX_DURATION_S:g} s (a week), "
            f"got {request.duration_s!r}")
    bar = Progress("insole simulate", enabled=progress, stream=sys.stderr,
                   total=round(float(request.duration_s), 1), unit="s")
    cfg = request.gait_config()
    tcfg = request.transport_config()
    gait = GaitStream(cfg)
    sides = {Side.LEFT: "left", Side.RIGHT: "right"}
    n_sensors = cfg.layout.n_sensors
    bar.stage("drawing the faults")  # every random choice of the link, before the first byte

    def counts_of(side: Side) -> Any:  # garbage in frames of 64 sensors needs them once more
        return (block.counts for block in gait.insole(sides[side]))

    link = Transmission(
        {side: (gait.n_samples, n_sensors) for side in sides},
        sample_rate_hz=int(request.sample_rate_hz),
        adc_bits=int(cfg.adc_bits),
        config=tcfg,
        counts_of=counts_of,
    )
    report = link.report
    header = _header(request, cfg, gait.calibration, link.streams, report.as_dict())
    order = {sid: i for i, (sid, _) in enumerate(link.streams)}
    stream_ids = [sid for sid, _ in link.streams]
    # Write chunks in host-time order across streams, as a live recorder would.
    arrivals = TimeMerge(len(link.streams))
    out_path = Path(out)
    steps = {"left": 0, "right": 0}
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(RecordingWriter(out_path, header, overwrite=overwrite,
                                                     clock=_frozen_clock))
        truth_csv = None
        if truth_path is not None:
            truth_csv = csv.writer(stack.enter_context(
                open(truth_path, "w", newline="", encoding="utf-8")))
            truth_csv.writerow(TRUTH_COLUMNS)

        def write(*, final: bool) -> None:
            times, lengths, wire, source = arrivals.pop(final=final)
            data = wire.tobytes()
            ends = np.cumsum(lengths).tolist()
            begin = 0
            for end, t, i in zip(ends, times.tolist(), source.tolist(), strict=True):
                writer.write_chunk(stream_ids[i], data[begin:end], t)
                begin = end

        part = max(1, (1 << 20) // n_sensors)  # samples framed and written at a time
        for block in gait.blocks():
            if truth_csv is not None:
                _write_truth_rows(truth_csv, block.truth)
            for side in steps:
                steps[side] += int(np.sum(block.truth.side == side))
            for start in range(0, block.left.shape[0], part):
                for sid, wire, lengths, host in link.feed(
                        {Side.LEFT: block.left[start:start + part],
                         Side.RIGHT: block.right[start:start + part]}):
                    arrivals.add(order[sid], host, lengths, wire)
                write(final=False)
            bar.update("simulating and writing",
                       (block.start + block.left.shape[0]) / max(gait.n_samples, 1))
        for sid, wire, lengths, host in link.close():
            arrivals.add(order[sid], host, lengths, wire)
        write(final=True)
    bar.done()
    return {
        "out": str(out_path),
        "truth": str(truth_path) if truth_path is not None else None,
        "start": header["start_time"],
        "duration_s": round(float(cfg.duration_s), 6),
        "sample_rate_hz": int(request.sample_rate_hz),
        "sensors_per_side": n_sensors,
        "gait": request.gait,
        "strike": request.strike,
        "steps": steps["left"] + steps["right"],
        "steps_by_side": steps,
        "seed": request.seed,
        "link": request.link,
        "frames_sent": report.frames_sent,
        "frames_dropped": report.frames_dropped,
        "frames_corrupted": report.frames_corrupted,
        "garbage_bytes": report.garbage_bytes,
        "drift_ppm": report.drift_ppm,
        "bytes": out_path.stat().st_size,
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
