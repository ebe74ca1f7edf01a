"""bench/loss_steps.py: the frame-loss model, a clear error, and steps kept on real walks."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from helpers_bench import load_bench  # tests/ is on the path (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("loss_steps")


def test_frames_are_lost_whole_and_never_first_or_last(bench: ModuleType) -> None:
    x = np.arange(6000, dtype=np.float64)
    lossy = bench.lose_frames(x, np.random.default_rng(0), 0.02, 0.02, 8.0)
    frames = np.isnan(lossy).reshape(-1, bench.FRAME_SAMPLES)
    assert np.all(frames.all(axis=1) | ~frames.any(axis=1))  # whole frames
    assert not frames[0].any()
    assert not frames[-1].any()
    share = frames[:, 0].mean()
    assert 0.02 < share < 0.08
    seen = ~np.isnan(lossy)
    assert np.array_equal(lossy[seen], x[seen])


def test_missing_data_is_one_line_and_status_2(bench: ModuleType, tmp_path, capsys) -> None:
    assert bench.main(["--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "gaitpdb" in err[0]


def test_burst_loss_on_real_walks_keeps_the_step_count(bench: ModuleType) -> None:
    data = ROOT.parent / "shared" / "data"
    if not (data / "gaitpdb").is_dir():
        pytest.skip(f"validation data not available: {data}")
    from insole.core.events import detect_contacts

    off = total = 0
    walks = [s for s in bench.signals(data) if s[0].startswith("gaitpdb")]
    for seed in range(1, 5):
        for _, x, fs in walks:
            rng = np.random.default_rng(seed)
            clean = detect_contacts(x, sampling_rate_hz=fs, unloaded_level=0.0)
            lossy = detect_contacts(
                bench.lose_frames(x, rng, 0.0, 0.01, 8.0), sampling_rate_hz=fs, unloaded_level=0.0
            )
            row = bench.compare(clean, lossy, fs)
            off += row["count_off"]
            total += row["n"]
    # 1 % of the frames lost in bursts of mean 8 frames (0.48 s): the summed count error was
    # 0.46 % of 14,816 steps (0.72 % before contacts were cut at losses that could hide a
    # swing: 107 against 68).
    assert off <= 0.006 * total
