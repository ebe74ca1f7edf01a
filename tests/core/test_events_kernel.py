"""The compiled kernels of the contact detector (`insole.core._events_kernel`).

The kernels reproduce numpy's own algorithms where the detector used them (medians, the 2nd and
98th percentiles, pairwise sums, float ``arange``, ``interp``), bit for bit; they are cached on
disk, so a new process loads them instead of compiling; they also run as plain Python
(``NUMBA_DISABLE_JIT=1``) for debugging; and any chunking gives the same contacts on real data.
``bench/events_kernel_check.py`` compares the whole detector with the former pure-Python one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers_live import live  # tests/ is on the path (tests/conftest.py)

from insole.core import _events_kernel as kernel
from insole.core.events import ContactDetector, detect_contacts

DATA = Path(__file__).parents[2].parent / "shared" / "data"
GAITPDB_WALK = DATA / "gaitpdb" / "GaCo01_01.txt"
FORCE_PLATE = DATA / "running_forceplate" / "RBDS001runT25forces.txt"
HUNTINGTON = DATA / "gaitndd" / "hunt5"
ROOT = Path(__file__).parents[2]


def _run_detector(x: np.ndarray, fs: float, chunks: list[np.ndarray], **options: float) -> dict:
    det = ContactDetector(sampling_rate_hz=fs, **options)  # type: ignore[arg-type]
    contacts, early, retracted = live(det, chunks)
    # A heel strike announced and retracted within one call is never returned: only what
    # stays announced is the same for any chunking.
    for t in retracted:
        early.remove(t)
    counters = (det.cut_at_start_, det.cut_at_end_, det.retracted_heel_strikes_)
    return {"contacts": contacts, "early": early, "counters": counters}


def _random_chunks(x: np.ndarray, rng: np.random.Generator, most: int) -> list[np.ndarray]:
    cuts = np.cumsum(rng.integers(1, most + 1, x.size))
    return np.split(x, cuts[cuts < x.size])


# --------------------------------------------------------------------------- numpy, bit for bit


def test_median_and_percentiles_are_numpys() -> None:
    for small in ([5.0], [1.0, 1.0], [2.0, 1.0], [3.0] * 7, [1.0, 3.0, 2.0, 3.0], [-0.0, 0.0]):
        assert kernel._median(np.array(small)) == np.median(small)
    rng = np.random.default_rng(1)
    for _ in range(500):
        n = int(rng.integers(1, 400))
        a = np.round(rng.normal(size=n) * 100, int(rng.integers(0, 3)))  # with ties
        assert kernel._median(a) == np.median(a)
        s = np.sort(a)
        for q in (2.0, 98.0):
            assert kernel._quantile_sorted(s, q / 100) == np.percentile(a, q)


def test_sum_arange_and_interp_are_numpys() -> None:
    rng = np.random.default_rng(2)
    for n in [*range(1, 140), 255, 256, 257, 1000, 4099]:
        m = rng.normal(size=(3, n)) ** 2 * 10 ** rng.uniform(-3, 3, size=(3, n))
        sums = np.sum(m, axis=1)
        for row in range(3):
            assert kernel._np_sum(np.ascontiguousarray(m[row])) == sums[row]
    for _ in range(300):
        start = float(rng.uniform(-1e5, 1e6))
        stop = start + float(rng.uniform(0, 8)) + 1e-9
        assert np.array_equal(kernel._np_arange(start, stop, 0.1), np.arange(start, stop, 0.1))


def test_edge_matching_finds_numpys_best_shift() -> None:
    # `_edge_fit` is np.interp, a bounded least-squares height factor per shift, np.sum over a
    # grid of shifts and np.argmin, written out.
    lo, hi = kernel.EDGE_SCALE_LIMITS
    rng = np.random.default_rng(3)
    for _ in range(200):
        size = int(rng.integers(2, 30))
        t_hs = float(rng.uniform(0, 1e6))
        xp = np.arange(size, dtype=np.float64) + np.floor(t_hs) - 3 - t_hs  # edge offsets
        fp = np.clip(np.linspace(-0.2, 1.5, size), 0, None) ** rng.uniform(1, 3)
        n = int(rng.integers(0, 140))
        idx = np.floor(t_hs) + np.arange(n, dtype=np.float64) - rng.integers(0, 6)
        y = fp[np.clip(np.arange(n), 0, size - 1)] + rng.normal(0, 0.05, n)
        start = float(np.floor(t_hs)) - float(rng.integers(1, 6))
        shifts = np.arange(start, np.floor(t_hs) + 1e-9, 0.1)
        model = np.interp(idx[None, :] - shifts[:, None], xp, fp, left=0.0)
        mm, my = np.sum(model * model, 1), model @ y
        a = np.where(mm > 0, np.clip(my / np.where(mm > 0, mm, 1.0), lo, hi), 1.0)
        sse = np.sum((a[:, None] * model - y) ** 2, 1)
        best, best_sse = kernel._edge_fit(idx, y, shifts, xp, fp)
        if n == 0:
            assert best == 0
            assert best_sse == 0.0
            continue
        assert best_sse == pytest.approx(sse.min(), rel=1e-9, abs=1e-12)
        assert sse[best] == pytest.approx(sse.min(), rel=1e-9, abs=1e-12)


def test_edge_matching_scales_a_higher_edge() -> None:
    # A contact whose edge is 20 % higher than the remembered one is still matched at its time;
    # an edge far higher than the limit is not stretched to fit.
    xp = np.arange(-3.0, 12.0)
    fp = np.clip(xp, 0, None) ** 2 / 81.0  # zero before the heel strike at 0, then rising
    idx = np.arange(2.0, 10.0) + 40.0  # the samples seen: the edge's upper part, true shift 40
    shifts = np.arange(35.0, 45.0 + 1e-9, 0.1)
    for height, exact in ((1.2, True), (3.0, False)):
        y = height * np.interp(idx - 40.0, xp, fp)
        best, _ = kernel._edge_fit(idx, y, shifts, xp, fp)
        assert bool(abs(shifts[best] - 40.0) < 1e-6) is exact


# --------------------------------------------------------------------------- cache and debugging


def test_every_kernel_is_cached_on_disk() -> None:
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    dispatchers = {n: f for n, f in vars(kernel).items() if isinstance(f, Dispatcher)}
    assert "advance" in dispatchers
    assert "find_peaks" in dispatchers
    not_cached = [
        n
        for n, f in dispatchers.items()
        if isinstance(f._cache, NullCache)  # type: ignore[attr-defined]
    ]
    assert not_cached == []


def test_a_new_process_loads_the_kernel_from_the_cache() -> None:
    # Warm the cache here (compiles only if it is cold), then a new process must load it.
    detect_contacts(np.r_[np.zeros(700), np.ones(60), np.zeros(100)], sampling_rate_hz=200.0)
    code = textwrap.dedent(
        """
        import json, numpy as np
        from insole.core import _events_kernel as kernel
        from insole.core.events import detect_contacts
        detect_contacts(np.r_[np.zeros(700), np.ones(60), np.zeros(100)], sampling_rate_hz=200.0)
        stats = kernel.advance.stats
        print(json.dumps({"hits": sum(stats.cache_hits.values()),
                          "misses": sum(stats.cache_misses.values())}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats == {"hits": 1, "misses": 0}


def test_the_kernel_runs_as_plain_python_with_the_same_contacts() -> None:
    fs = 200.0
    t = np.arange(int(12 * fs)) / fs
    rng = np.random.default_rng(3)
    force = np.clip(np.sin(2 * np.pi * (t - 0.2) / 0.7), 0, None) ** 1.5 * 1500.0
    force += rng.normal(0, 5, force.size)
    force[rng.integers(600, force.size, 20)] = np.nan  # lost samples
    compiled = detect_contacts(force, sampling_rate_hz=fs).to_list()
    code = textwrap.dedent(
        f"""
        import numpy as np
        from insole.core.events import detect_contacts
        force = np.frombuffer(bytes.fromhex("{force.tobytes().hex()}"), dtype=np.float64)
        for c in detect_contacts(force, sampling_rate_hz={fs}):
            print(repr(c))
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    assert len(compiled) >= 15
    assert result.stdout.strip().splitlines() == [repr(c) for c in compiled]


# --------------------------------------------------------------------------- chunking identity


def test_many_tiny_contacts_fit_the_output_rows() -> None:
    # Every other sample a contact (no gates): as many rows as the kernel can ever emit.
    x = np.tile([0.0, 1.0], 2000)
    options = {"min_contact_s": 0.0, "min_swing_s": 0.0, "refractory_s": 0.0}
    whole = _run_detector(x, 200.0, [x], **options)
    per_sample = _run_detector(x, 200.0, [x[i : i + 1] for i in range(x.size)], **options)
    assert len(whole["contacts"]) > 1000
    assert whole == per_sample


@pytest.mark.parametrize("record", [GAITPDB_WALK, FORCE_PLATE], ids=["gaitpdb", "forceplate"])
def test_any_chunking_of_real_data_gives_the_same_results(record: Path) -> None:
    if not record.exists():
        pytest.skip(f"validation data not available: {record}")
    if record == FORCE_PLATE:
        from insole.sources.importers.table import read_table

        (fy,), fs_read = read_table(record, columns=["Fy"], sampling_rate_hz=300.0)
        x, fs = np.asarray(fy, dtype=np.float64), float(fs_read or 300.0)
    else:
        from insole.sources.importers.physionet import read_gaitpdb

        _, left, _, fs = read_gaitpdb(record)
        x = left.sum(axis=1).astype(np.float64)
    rng = np.random.default_rng(4)
    lossy = x.copy()
    for start in rng.integers(0, x.size, x.size // 200):  # runs of lost samples
        lossy[start : start + int(rng.integers(1, 9))] = np.nan
    for signal in (x, lossy):
        whole = _run_detector(signal, fs, [signal])
        assert len(whole["contacts"]) > 20
        for most in (1, 7, 300):
            assert _run_detector(signal, fs, _random_chunks(signal, rng, most)) == whole


def test_announced_heel_strikes_less_the_retracted_are_the_steps_on_real_data() -> None:
    # Huntington's gait (gaitndd hunt5): touches and long first phases are announced, then
    # retracted. Fed live in random chunks, what stays announced is exactly the heel strikes of
    # the steps, and every retraction is reported once.
    if not HUNTINGTON.with_suffix(".hea").exists():
        pytest.skip(f"validation data not available: {HUNTINGTON}")
    from insole.sources.importers.physionet import read_gaitndd

    left, _, fs, _ = read_gaitndd(HUNTINGTON)
    x = np.asarray(left, dtype=np.float64)
    rng = np.random.default_rng(5)
    det = ContactDetector(sampling_rate_hz=fs)
    contacts, early, retracted = live(det, _random_chunks(x, rng, 12))
    assert len(retracted) >= 3
    assert len(retracted) <= det.retracted_heel_strikes_
    for t in retracted:
        early.remove(t)  # raises if a retraction was not announced before
    assert sorted(early) == [c.heel_strike_s for c in contacts]


def test_a_restart_forgets_the_air_level() -> None:
    """After a (re)start the air level comes from the swings seen since, not from before.

    A restart means the levels (a sensor's offset) may have changed: the ring of swing
    levels starts empty, and its next slot at its start (the run's own swings are read).
    """
    fp = np.zeros(kernel.N_FP)
    fp[kernel.P_UNLOADED] = 0.0
    fp[kernel.P_OFF_FRAC] = 0.075
    ist = np.zeros(kernel.N_IST, dtype=np.int64)
    fst = np.full(kernel.N_FST, np.nan)
    fst[kernel.F_LOW], fst[kernel.F_HIGH] = 0.0, 800.0
    for _ in range(5):
        kernel._push_air.py_func(ist, fst, 5.0)
    assert kernel._air_level.py_func(fp, ist, fst) == 5.0
    kernel._start_at.py_func(np.zeros(4), fp, ist, fst, 1)  # a restart, in a swing
    assert kernel._air_level.py_func(fp, ist, fst) == 0.0  # unloaded_level until a swing
    kernel._push_air.py_func(ist, fst, 40.0)
    assert kernel._air_level.py_func(fp, ist, fst) == 40.0
