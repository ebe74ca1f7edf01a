"""Time the per-step features of a one-hour two-insole 200 Hz recording: batch vs per step.

"before" is the original per-contact code (`step_load` called once per contact, a swing median
per contact), kept verbatim as the test oracle in tests/core/test_steps_batch.py; "after" is the
batch path (`swing_baselines` + `step_features` over all contacts a feed finished; compiled
kernels, `insole.core._steps_kernel`). Timed:

- the features alone: ``_Side._steps_from`` on the contacts of each side, as offline analysis
  calls it (all contacts of the hour at once), split into baselines, feature arrays and
  `StepLoad` / `StepRecord` objects for "after"; the feature arrays also by the numpy batch
  code the kernel replaced (``step_features_numpy`` in tests/helpers_steps_oracle.py, its
  oracle), checked bit-identical;
- the whole ``SessionAnalysis().run(path)``, with the original ``_steps_from`` patched in for
  "before".

Run: .venv/bin/python bench/features_speed.py [--path FILE] [--repeat N]
(the recording is simulated first if missing:
``SimulationRequest(duration_s=3600, seed=2, loss=0.01)``, about 50 MB).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core import pipeline as pipeline_mod
from insole.core.steps import step_features, swing_baselines
from insole.recordings.container import read_raw_recording
from insole.session.analysis import SessionAnalysis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers_steps_oracle import step_features_numpy  # noqa: E402  (the kernel's oracle)


def _reference():
    spec = importlib.util.spec_from_file_location(
        "steps_reference", ROOT / "tests" / "core" / "test_steps_batch.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _capture(path: Path) -> list[tuple[object, list]]:
    """Each ``_steps_from`` call of an offline run: (side state before it, contacts)."""
    calls = []
    original = pipeline_mod._Side._steps_from

    def spy(self, contacts):
        if contacts:
            calls.append((copy.copy(self), list(contacts)))
        return original(self, contacts)

    pipeline_mod._Side._steps_from = spy
    try:
        raw = read_raw_recording(path)
        pipe = pipeline_mod.Pipeline(raw.header)
        for sid, stream in raw.streams.items():
            pipe.feed(sid, stream.data)
        pipe.finish()
    finally:
        pipeline_mod._Side._steps_from = original
    return calls


def _best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--path", type=Path, default=Path("/tmp/hour.insrec"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not args.path.exists():
        print(f"simulating {args.path} ...")
        simulate_to_file(SimulationRequest(duration_s=3600, seed=2, loss=0.01), args.path)
    ref = _reference()
    calls = _capture(args.path)
    n_steps = sum(len(c) for _, c in calls)
    print(f"{args.path}: {n_steps} steps in {len(calls)} batches (offline: one per side)")

    def run(steps_from):
        return [r for side, contacts in calls for r in steps_from(copy.copy(side), contacts)]

    t_before, before = _best(lambda: run(ref.ref_steps_from), max(1, args.repeat // 2))
    t_after, after = _best(lambda: run(pipeline_mod._Side._steps_from), args.repeat)
    worst = 0.0
    for a, b in zip(after, before, strict=True):
        ref.assert_records_match([a], [b])
        x, y = a.load.strike_index_pct, b.load.strike_index_pct
        if math.isfinite(y) and y != 0:
            worst = max(worst, abs(x - y) / abs(y))

    # The parts of "after": baselines, feature arrays, objects.
    def parts():
        out = []
        for side, contacts in calls:
            base = side._detector_base
            hs = np.array([c.heel_strike_index for c in contacts]) + base
            to = np.array([c.toe_off_index for c in contacts]) + base
            imp = [np.nan if c.impact_peak_n is None else c.impact_peak_n for c in contacts]
            t0 = time.perf_counter()
            b = swing_baselines(
                side._buf,
                hs,
                to,
                baseline_n=side._baseline,
                previous_toe_off_index=side._last_to_index,
                first_index=side._buf0,
            )
            t1 = time.perf_counter()
            f = step_features(
                side._buf,
                layout=side.layout,
                sampling_rate_hz=side.fs,
                heel_strike_index=hs - side._buf0,
                toe_off_index=to - side._buf0,
                baseline_n=b,
                impact_peak_n=imp,
            )
            t2 = time.perf_counter()
            f.loads()
            t3 = time.perf_counter()
            g = step_features_numpy(
                side._buf,
                layout=side.layout,
                sampling_rate_hz=side.fs,
                heel_strike_index=hs - side._buf0,
                toe_off_index=to - side._buf0,
                baseline_n=b,
                impact_peak_n=imp,
            )
            t4 = time.perf_counter()
            for name in f.__dataclass_fields__:
                x, y = getattr(f, name), getattr(g, name)
                same = x == y if isinstance(x, tuple) else np.array_equal(x, y, equal_nan=True)
                assert same, f"{name}: compiled != numpy"
            out.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3))
        return np.sum(out, axis=0)

    split = np.min([parts() for _ in range(args.repeat)], axis=0)
    print(
        f"features (_Side._steps_from, all {n_steps} steps), best of runs:\n"
        f"  before (per step): {t_before:7.3f} s\n"
        f"  after  (batch):    {t_after:7.3f} s   ({t_before / t_after:.0f}x faster)\n"
        f"    swing baselines {1e3 * split[0]:.1f} ms, feature arrays {1e3 * split[1]:.1f} ms "
        f"(together {1e3 * (split[0] + split[1]):.1f} ms), StepLoad objects "
        f"{1e3 * split[2]:.1f} ms, the rest (StepRecords) "
        f"{1e3 * (t_after - split[:3].sum()):.1f} ms\n"
        f"    feature arrays by the former numpy batch code: {1e3 * split[3]:.1f} ms "
        f"(the same numbers)\n"
        f"  results: bit-identical except the strike index (max rel. difference {worst:.1e})"
    )

    def analysis(steps_from) -> float:
        saved = pipeline_mod._Side._steps_from
        pipeline_mod._Side._steps_from = steps_from
        try:
            times = []
            for _ in range(max(1, args.repeat // 2)):
                t = time.perf_counter()
                SessionAnalysis().run(args.path)
                times.append(time.perf_counter() - t)
            return statistics.median(times)
        finally:
            pipeline_mod._Side._steps_from = saved

    a_before = analysis(ref.ref_steps_from)
    a_after = analysis(pipeline_mod._Side._steps_from)
    print(
        f"SessionAnalysis().run (median): before {a_before:.2f} s, after {a_after:.2f} s "
        f"({a_before - a_after:+.2f} s)"
    )


if __name__ == "__main__":
    main()
