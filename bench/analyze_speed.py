"""Speed of the analysis: offline, whole process, streaming, and early heel strikes.

All on one simulated hour of two 16-sensor insoles at 200 Hz with 1 % frame loss
(``SimulationRequest(duration_s=3600, seed=2, loss=0.01)``, cached at ``--path``):

offline
    ``SessionAnalysis(keep_records=False).run(path)`` in-process from the file path, as
    ``insole analyze`` runs it (the steps stay arrays), best and median of ``--repeat``;
    split into *load* (read the file, decode the frames, calibrate the counts: the first
    stages of the pipeline, timed on their own as `bench/decode_speed.py` does) and
    *analysis* (the rest: detection, step features, summary); the load split into its
    stages; and the API's default ``SessionAnalysis().run(path)``, which also builds a step
    object per step.
bare kernel
    A vectorised threshold-only detector on the same calibrated total-force arrays (10 % of the
    range, rising crossings), timed in the same run: the floor any detector pays for touching
    the data once.
process
    ``insole analyze FILE --json`` as a separate process, caches warm (numba's and Python's
    byte code: runs 2-4 of four, with ``PYTHONDONTWRITEBYTECODE`` unset for them);
    then the start-up alone: the imports of the analysis path, and the first call of a compiled
    kernel (numba's own start-up, paid once per process).
streaming
    The first 10 minutes fed chunk by chunk as received (one frame per chunk, as BLE
    notifications arrive): processing time per chunk, p50 and p99.
heel-strike events
    Simulated running at 200 Hz (5 minutes, no loss) and the running force plate (300 Hz, if
    ``../shared/data`` is there), fed to the detector one sample at a time: for each heel strike
    it announces (`ContactDetector.pop_heel_strikes`), how much data had arrived after its
    onset sample. Then the simulated run through the pipeline as received (whole frames of
    several samples: `PipelineUpdate.heel_strikes`), and whether the steps carry the same
    times.

Run: .venv/bin/python bench/analyze_speed.py [--path /tmp/hour.insrec] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode_speed import calibrate, calibrators, decode, gather  # noqa: E402

from firmware_protocol.frames import Side  # noqa: E402
from insole.commands.simulate import SimulationRequest, simulate_to_file  # noqa: E402
from insole.core.events import PLATE_UNDER_BOTH_FEET, ContactDetector  # noqa: E402
from insole.core.pipeline import Pipeline  # noqa: E402
from insole.recordings.container import read_raw_recording  # noqa: E402
from insole.session.analysis import SessionAnalysis  # noqa: E402


def load(path: Path, split: dict[str, float] | None = None) -> list[np.ndarray]:
    """Read, decode and calibrate: the total force per device (one array per device).

    ``split`` (if given) receives the time of each stage [s]: read, decode, samples, calibrate.
    """
    t = [time.perf_counter()]
    raw = read_raw_recording(path)
    t.append(time.perf_counter())
    tables, _ = decode(raw)
    t.append(time.perf_counter())
    per_dev = gather(tables)
    t.append(time.perf_counter())
    cals = calibrators(raw.header, per_dev[0][2].shape[1])
    forces = calibrate(cals, per_dev)
    t.append(time.perf_counter())
    if split is not None:
        for name, a, b in zip(("read", "decode", "samples", "calibrate"), t, t[1:], strict=False):
            split[name] = min(split.get(name, float("inf")), b - a)
    # One array per device (the decoder was fed in runs of 2 MiB, as the analysis feeds it).
    per_device: dict[tuple[int, int], list[np.ndarray]] = {}
    for (dev_id, side, _), f in zip(per_dev, forces, strict=True):
        per_device.setdefault((dev_id, int(side)), []).append(f.sum(axis=1))
    return [np.concatenate(parts) for parts in per_device.values()]


def bare_kernel(totals: list[np.ndarray]) -> int:
    """A vectorised threshold-only detector: rising crossings of 10 % of the range."""
    n = 0
    for x in totals:
        lo, hi = np.nanpercentile(x, [2, 98])
        above = x > lo + 0.1 * (hi - lo)
        n += int(np.count_nonzero(above[1:] & ~above[:-1]))
    return n


def offline(path: Path, repeat: int) -> None:
    """The headline: the analysis as `insole analyze` runs it, beside the bare kernel."""
    times, loads, kernels, objects = [], [], [], []
    split: dict[str, float] = {}
    analysis = None
    for _ in range(repeat):
        t = time.perf_counter()
        analysis = SessionAnalysis(keep_records=False).run(path)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        totals = load(path, split)
        loads.append(time.perf_counter() - t)
        t = time.perf_counter()
        n_bare = bare_kernel(totals)
        kernels.append(time.perf_counter() - t)
        t = time.perf_counter()
        SessionAnalysis().run(path)
        objects.append(time.perf_counter() - t)
    assert analysis is not None
    dur = analysis.summary_["duration_s"]
    best, med = min(times), statistics.median(times)
    print(
        f"offline, as `insole analyze` runs it (read, decode, calibrate, detect, features, "
        f"summary; the steps stay arrays): {analysis.summary_['step_count']} steps in "
        f"{dur:.0f} s of recording (two insoles): best {best:.3f} s, median {med:.3f} s "
        f"({dur / best:.0f}x real time, one core)"
    )
    print(
        f"  load (read + decode + calibrate) best {min(loads):.3f} s; "
        f"analysis (the rest) {best - min(loads):.3f} s"
    )
    print(
        f"  bare kernel (vectorised threshold-only detector, same arrays): "
        f"{1e3 * min(kernels):.1f} ms, {n_bare} contacts"
    )
    print("  load split (best): " + ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in split.items()))
    print(
        f"  keeping a step object per step (the API's SessionAnalysis().run default): "
        f"best {min(objects):.3f} s, median {statistics.median(objects):.3f} s"
    )


def process(path: Path) -> None:
    insole = Path(sys.executable).with_name("insole")
    cmd = [str(insole), "analyze", str(path), "--json"]
    # Warm caches are numba's and Python's own: with byte-code writing off (some sandboxes
    # and CI images set PYTHONDONTWRITEBYTECODE), every run compiles the package's sources
    # again (about 0.1 s here), which no installed copy does.
    env = dict(os.environ)
    no_pyc = env.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    times = []
    for _ in range(4):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    warm = times[1:]
    print(
        f"process: `insole analyze FILE --json` warm {min(warm):.2f}-{max(warm):.2f} s over "
        f"{len(warm)} runs (first run {times[0]:.2f} s)"
        + ("; PYTHONDONTWRITEBYTECODE unset for these runs" if no_pyc else "")
    )
    # Start-up alone: the imports of the analysis path, and numba's first call of a kernel
    # loaded from its cache (the detector's and the decoder's kernels).
    code = (
        "import time; t = time.perf_counter(); import numpy as np; "
        "import insole.session.analysis; t1 = time.perf_counter(); "
        "from insole.core.events import ContactDetector; "
        "ContactDetector(sampling_rate_hz=200.0).feed(np.zeros(400)); "
        "print(t1 - t, time.perf_counter() - t1)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    ).stdout.split()
    print(
        f"  start-up: imports of the analysis path {float(out[0]):.2f} s; first call of a "
        f"compiled kernel (numba, from its cache) {float(out[1]):.2f} s"
    )


def streaming(path: Path) -> None:
    raw = read_raw_recording(path)
    pipe = Pipeline(raw.header, emit_samples=True)
    costs = []
    limit = 600.0
    for sid, stream in raw.streams.items():
        for t_host, data in stream.iter_chunks():
            if t_host > limit:
                break
            t = time.perf_counter()
            pipe.feed(sid, data)
            costs.append(time.perf_counter() - t)
    costs.sort()
    n = len(costs)
    print(
        f"streaming: {n} chunks (one frame each) for {limit:.0f} s of two insoles: "
        f"p50 {1e6 * costs[n // 2]:.0f} us, p99 {1e6 * costs[int(n * 0.99)]:.0f} us per chunk"
    )


def _detector_delays(
    x: np.ndarray, fs: float, **options: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Feed a force signal one sample at a time; per heel strike: (time [s], data after [ms])."""
    det = ContactDetector(sampling_rate_hz=fs, **options)
    out_t, out_d = [], []
    for i in range(x.size):
        det.feed(x[i : i + 1])
        for t in det.pop_heel_strikes():
            out_t.append(t)
            out_d.append(1e3 * ((i + 1) / fs - t))
    det.finish()
    return np.array(out_t), np.array(out_d)


def _describe(name: str, t: np.ndarray, d: np.ndarray, after_s: float) -> str:
    d = d[t > after_s]
    return (
        f"  {name}: {d.size} heel strikes after the {after_s:.0f} s start-up: data after the "
        f"onset sample p50 {np.percentile(d, 50):.1f} ms, p99 {np.percentile(d, 99):.1f} ms, "
        f"max {d.max():.1f} ms"
    )


def heel_strike_latency(tmp: Path) -> None:
    path = tmp / "run.insrec"
    simulate_to_file(SimulationRequest(duration_s=300, seed=5, loss=0.0), path)
    raw = read_raw_recording(path)
    print("heel-strike events (announced as soon as certain):")
    # 1. The detector, fed one sample at a time: the data it needs after the onset.
    tables, _ = decode(raw)
    per_dev = gather(tables)
    cals = calibrators(raw.header, per_dev[0][2].shape[1])
    forces = calibrate(cals, per_dev)
    by_side: dict[str, list[np.ndarray]] = {}
    for (_, side, _), f in zip(per_dev, forces, strict=True):
        by_side.setdefault(Side(side).label, []).append(f.sum(axis=1))
    for side, parts in by_side.items():
        t, d = _detector_delays(np.concatenate(parts), 200.0)
        print(_describe(f"simulated running 200 Hz, {side}, per sample", t, d, 3.0))
    plate = Path(__file__).resolve().parents[2] / "shared/data/running_forceplate"
    if (plate / "RBDS001runT25forces.txt").exists():
        from insole.sources.importers.table import read_table

        (fy,), fs = read_table(
            plate / "RBDS001runT25forces.txt", columns=["Fy"], sampling_rate_hz=300.0
        )
        # As the analysis runs a plate under both feet (force in N).
        t, d = _detector_delays(
            np.asarray(fy, float), float(fs or 300.0), unloaded_level=0.0, **PLATE_UNDER_BOTH_FEET
        )
        print(_describe("running force plate RBDS001 300 Hz, per sample", t, d, 3.0))
    # 2. The pipeline fed as the data were received: frames carry several samples each, so
    # the insole's data run ahead of the sample that made a heel strike certain.
    pipe = Pipeline(raw.header)
    delays, times, announced, retracted, steps = [], [], set(), set(), []
    chunks = sorted(
        (t, sid, data) for sid, s in raw.streams.items() for t, data in s.iter_chunks()
    )
    for _, sid, data in chunks:
        update = pipe.feed(sid, data)
        for side, t_hs in update.heel_strikes:
            (state,) = [s for s in pipe.sides.values() if s.label == side]
            delays.append(1e3 * (state.n / state.fs - t_hs))
            times.append(t_hs)
            announced.add((side, t_hs))
        retracted.update(update.retracted_heel_strikes)
        steps += update.steps
    end = pipe.finish()
    steps += end.steps
    announced.update(end.heel_strikes)
    retracted.update(end.retracted_heel_strikes)
    same = sum((s.side, s.heel_strike_s) in announced for s in steps)
    print(_describe("pipeline, whole frames as received", np.array(times), np.array(delays), 3.0))
    print(
        f"  {same}/{len(steps)} steps carry the time announced for their heel strike; "
        f"{len(retracted)} announced heel strikes retracted; announced less retracted "
        f"{'==' if announced - retracted == {(s.side, s.heel_strike_s) for s in steps} else '!='}"
        " the steps' heel strikes"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "hour.insrec")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.path.exists():
        simulate_to_file(SimulationRequest(duration_s=3600, seed=2, loss=0.01), args.path)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    offline(args.path, args.repeat)
    process(args.path)
    streaming(args.path)
    with tempfile.TemporaryDirectory() as tmp:
        heel_strike_latency(Path(tmp))


if __name__ == "__main__":
    main()
