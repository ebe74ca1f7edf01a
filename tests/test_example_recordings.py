"""The example recordings in recordings/ decode with exactly the faults their headers record."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from insole.recordings.loader import load_recording

RECORDINGS = sorted((Path(__file__).parents[1] / "recordings").glob("*.insrec"))


def test_there_are_example_recordings() -> None:
    assert len(RECORDINGS) >= 4


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_example_recording_counters_match_injected_faults(path: Path) -> None:
    rec = load_recording(path)
    injected = rec.header["extra"]["simulation"]["injected"]
    assert rec.damage is None
    assert rec.frames_lost == injected["frames_dropped"] + injected["frames_corrupted"]
    assert rec.frames == injected["frames_sent"] - rec.frames_lost
    assert [d.side for d in rec.devices] == ["left", "right"]
    assert rec.duration_s == pytest.approx(20.0, abs=0.05)
    for d in rec.devices:
        assert d.n_sensors == 16
        assert np.all(np.diff(d.device_time_s) > 0)
        assert np.all(np.diff(d.host_time_s) >= 0)
        assert d.header["calibration"]["model"] == "fsr_divider_v1"


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_truth_file_sits_beside_each_recording(path: Path) -> None:
    truth = path.with_name(path.stem + ".truth.csv")
    with open(truth, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    gait = load_recording(path).header["extra"]["simulation"]["gait"]
    expected_steps = 20.0 * gait["cadence_spm"] / 60.0
    assert abs(len(rows) - expected_steps) <= 3
