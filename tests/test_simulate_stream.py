"""``insole simulate`` writes a run block by block: bounded memory, the bytes of all at once.

The reference is the whole-run path (`simulate_gait` for the run, `transmit` for the link), which
``simulate_to_file`` used before it wrote in blocks; the example recordings in recordings/ were
made by it.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import insole.commands.simulate as simulate_module
import insole.sources.sim.gait as gait_module
import insole.sources.sim.transport as transport_module
from firmware_protocol import Side
from insole.commands.simulate import SimulationRequest, simulate_to_file, write_truth_csv
from insole.recordings.container import read_raw_recording
from insole.sources.sim.gait import simulate_gait
from insole.sources.sim.transport import Transmission, transmit

START = datetime.fromisoformat("2026-05-01T07:30:00+02:00")
RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def _whole_run(request: SimulationRequest, truth_csv: Path):
    """Streams, report and calibration of the run simulated at once; its truth CSV."""
    sim = simulate_gait(request.gait_config())
    streams, report = transmit(
        {Side.LEFT: sim.left.counts, Side.RIGHT: sim.right.counts},
        sample_rate_hz=request.sample_rate_hz, adc_bits=sim.config.adc_bits,
        config=request.transport_config())
    write_truth_csv(sim.truth, truth_csv)
    return streams, report, sim.calibration


def _assert_same_recording(path: Path, streams, report, calibration) -> None:
    raw = read_raw_recording(path)
    assert raw.damage is None
    assert raw.header["extra"]["simulation"]["injected"] == report.as_dict()
    assert {d["side"]: d["calibration"] for d in raw.header["devices"]} == calibration
    assert sorted(raw.streams) == [s.stream_id for s in streams]
    for s in streams:
        got = raw.streams[s.stream_id]
        assert got.data == s.data
        assert np.array_equal(got.chunk_end, s.chunk_end)
        assert np.array_equal(got.chunk_time_s, s.chunk_time_s)


@pytest.mark.parametrize("link", ["ble", "serial"])
def test_simulate_writes_block_by_block_the_bytes_of_the_whole_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: str
) -> None:
    request = SimulationRequest(duration_s=900.0, seed=5, link=link, strike="mixed",
                                loss=0.02, burst_loss=0.03, garbage_per_min=4.0,
                                drift_ppm=40.0, stand_s=10.0, start=START)
    streams, report, calibration = _whole_run(request, tmp_path / "whole.csv")

    def whole_run(*args, **kwargs):
        raise AssertionError("simulate_to_file must not simulate the whole run at once")

    for module in (gait_module, transport_module, simulate_module):
        monkeypatch.setattr(module, "simulate_gait", whole_run, raising=False)
        monkeypatch.setattr(module, "transmit", whole_run, raising=False)
    blocks: list[int] = []
    feed = Transmission.feed

    def counted(self, counts):
        blocks.append(max((len(c) for c in counts.values()), default=0))
        return feed(self, counts)

    monkeypatch.setattr(Transmission, "feed", counted)
    out = tmp_path / "run.insrec"
    result = simulate_to_file(request, out, truth_path=tmp_path / "run.csv")
    n_samples = round(request.gait_config().duration_s * request.sample_rate_hz)
    assert len(blocks) >= 4  # 256 contacts of a foot (about 3 minutes) at most per block
    assert max(blocks) < n_samples / 3
    assert sum(blocks) == n_samples
    _assert_same_recording(out, streams, report, calibration)
    assert (tmp_path / "run.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    with open(tmp_path / "run.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert result["steps"] == len(rows)
    assert result["steps_by_side"] == {s: sum(r["side"] == s for r in rows)
                                       for s in ("left", "right")}
    assert result["frames_dropped"] == report.frames_dropped > 0
    assert result["frames_corrupted"] == report.frames_corrupted > 0


def test_the_same_request_gives_the_same_file(tmp_path: Path) -> None:
    # The writer's blocks are cut by size only: however fast the run is written.
    request = SimulationRequest(duration_s=300.0, seed=2, loss=0.01, start=START)
    simulate_to_file(request, tmp_path / "a.insrec")
    simulate_to_file(request, tmp_path / "b.insrec")
    assert (tmp_path / "a.insrec").read_bytes() == (tmp_path / "b.insrec").read_bytes()


def test_a_run_longer_than_a_week_is_refused(tmp_path: Path) -> None:
    for duration in (7 * 24 * 3600.0 + 1, float("inf"), float("nan"), 0.0):
        with pytest.raises(ValueError, match="at most 604800 s"):
            simulate_to_file(SimulationRequest(duration_s=duration), tmp_path / "x.insrec")
    assert not (tmp_path / "x.insrec").exists()


@pytest.mark.parametrize("path", sorted(RECORDINGS.glob("*.insrec")), ids=lambda p: p.stem)
def test_example_recordings_are_made_again_exactly(tmp_path: Path, path: Path) -> None:
    """The commands in recordings/README.md still give the chunks and truth of the files."""
    raw = read_raw_recording(path)
    sim = raw.header["extra"]["simulation"]
    g, t = sim["gait"], sim["transport"]
    n_frames = round(g["duration_s"] * g["sample_rate_hz"] / t["batch"])  # whole frames
    request = SimulationRequest(
        duration_s=(n_frames - 0.5) * t["batch"] / g["sample_rate_hz"], seed=g["seed"],
        gait=g["gait"],
        cadence_spm=g["cadence_spm"], speed_mps=g["speed_mps"], strike=g["strike"],
        sample_rate_hz=int(g["sample_rate_hz"]), n_sensors=raw.header["devices"][0]["n_sensors"],
        body_mass_kg=g["body_mass_kg"], asymmetry_pct=g["asymmetry_pct"],
        fatigue_pct=g["fatigue_pct"], stand_s=g.get("stand_s", 0.0), pronation=g["pronation"],
        loss=t["loss"], burst_loss=t["burst_loss"], garbage_per_min=t["garbage_per_min"],
        drift_ppm=t["drift_ppm"], link=t["link"], batch=t["batch"],
        start=datetime.fromisoformat(raw.header["start_time"]))
    out = tmp_path / path.name
    simulate_to_file(request, out, truth_path=tmp_path / "truth.csv")
    again = read_raw_recording(out)
    for key in ("start_time", "source", "streams", "devices"):
        assert again.header[key] == raw.header[key], key
    again_sim = again.header["extra"]["simulation"]
    assert {k: again_sim["gait"][k] for k in g} == g  # (newer parameters were added since)
    assert again_sim["transport"] == t
    assert again_sim["injected"] == sim["injected"]
    assert sorted(again.streams) == sorted(raw.streams)
    for sid, stream in raw.streams.items():
        assert again.streams[sid].data == stream.data
        assert np.array_equal(again.streams[sid].chunk_end, stream.chunk_end)
        assert np.array_equal(again.streams[sid].chunk_time_s, stream.chunk_time_s)
    truth = path.with_name(path.stem + ".truth.csv")
    assert (tmp_path / "truth.csv").read_bytes() == truth.read_bytes()
