"""Simulate a session end to end and write it as an ordinary recording (``insole simulate``).

Gait model → FSR insoles → firmware frames → link with faults → the bytes a host receives, with
their host receive times, written through `RecordingWriter`. The recording is indistinguishable
in format from a live one, so every later stage (replay, analysis) is tested on the same path
as real data. The ground truth (one row per step) goes to a CSV beside it.
"""

from __future__ import annotations

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
from insole.sources.sim.gait import GaitConfig, GaitSimulation, StepTruth, simulate_gait
from insole.sources.sim.transport import TransportConfig, transmit

__all__ = ["SimulationRequest", "simulate_to_file", "write_truth_csv"]

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
    req: SimulationRequest, sim: GaitSimulation, streams: list[Any], report: dict[str, Any]
) -> dict[str, Any]:
    cfg = sim.config
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
                "calibration": sim[side.label].calibration,
            }
        )
    gait = {k: v for k, v in asdict(cfg).items() if k != "layout"}
    return {
        "start_time": start.isoformat(),
        "source": "sim",
        "software": {"name": "insole", "version": software_version()},
        "streams": [
            {"stream_id": s.stream_id, "transport": tcfg.link, "label": s.label} for s in streams
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


def simulate_to_file(
    request: SimulationRequest,
    out: str | os.PathLike[str],
    *,
    truth_path: str | os.PathLike[str] | None = None,
    progress: bool = False,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Simulate a session and write it as a recording.

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
    """
    t0 = time.perf_counter()
    bar = Progress("insole simulate", enabled=progress, stream=sys.stderr,
                   total=round(float(request.duration_s), 1), unit="s")
    bar.stage("gait model")
    sim = simulate_gait(request.gait_config())
    bar.stage("firmware and link")
    counts = {Side.LEFT: sim.left.counts, Side.RIGHT: sim.right.counts}
    streams, report = transmit(
        counts,
        sample_rate_hz=int(request.sample_rate_hz),
        adc_bits=int(sim.config.adc_bits),
        config=request.transport_config(),
    )
    header = _header(request, sim, streams, report.as_dict())
    # Write chunks in host-time order across streams, as a live recorder would.
    sid = np.concatenate([np.full(len(s.chunk_end), i) for i, s in enumerate(streams)])
    times = np.concatenate([s.chunk_time_s for s in streams])
    idx = np.concatenate([np.arange(len(s.chunk_end)) for s in streams])
    order = np.argsort(times, kind="stable")
    out_path = Path(out)
    with RecordingWriter(out_path, header, overwrite=overwrite) as writer:
        n = len(order)
        step = max(1, n // 100)
        for k, (si, ci) in enumerate(zip(sid[order].tolist(), idx[order].tolist(), strict=True)):
            s = streams[si]
            a = int(s.chunk_end[ci - 1]) if ci else 0
            writer.write_chunk(
                s.stream_id, s.data[a : int(s.chunk_end[ci])], float(s.chunk_time_s[ci])
            )
            if k % step == 0:  # by simulated seconds
                bar.update("writing", float(times[order[k]]) / request.duration_s)
        bar.update("writing", 1.0)
    if truth_path is not None:
        write_truth_csv(sim.truth, truth_path)
    bar.done()
    truth = sim.truth
    return {
        "out": str(out_path),
        "truth": str(truth_path) if truth_path is not None else None,
        "start": header["start_time"],
        "duration_s": round(float(sim.config.duration_s), 6),
        "sample_rate_hz": int(request.sample_rate_hz),
        "sensors_per_side": sim.config.layout.n_sensors,
        "gait": request.gait,
        "strike": request.strike,
        "steps": len(truth),
        "steps_by_side": {s: int(np.sum(truth.side == s)) for s in ("left", "right")},
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
