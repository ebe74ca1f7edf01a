"""Batch analysis throughput: local processes, separate commands, Dask, and a projection.

    .venv/bin/python bench/batch.py [--count 200] [--cache DIR] [--separate 20] [--dask-tasks 2000]

1. Makes ``--count`` ten-minute recordings with the simulator (``insole simulate --duration
   600 --seed K``), cached in ``--cache`` (default: a folder in the system temp dir) so a
   second run starts at once.
2. ``insole analyze DIR --out-dir D --jobs 1`` and ``--jobs 2`` on all of them: wall time,
   recordings per second, the per-file analysis time measured in the workers and the time the
   parent spent writing the outputs.
3. ``--separate`` separate ``insole analyze FILE --steps-csv`` processes against one
   ``--jobs 2`` batch on the same recordings: the speed-up (issue 13: >= 1.8x) and whether the
   per-step rows are identical; then the same batch on a Dask ``LocalCluster`` (loopback,
   2 worker processes) and whether its tables are identical too.
4. The Dask scheduler's overhead per task: ``--dask-tasks`` no-op tasks through the batch's
   own submission loop on a loopback cluster.
5. The projected wall time of 100,000 recordings on a 64-core cluster:
   ``N * per_file / 64 + tasks * scheduler_overhead`` (a task takes 16 files at that scale;
   workers and scheduler not overlapped: an upper estimate), next to the parent's serial
   output writing, ``N * collect_per_file``, which no number of workers shortens (measured
   in this process on 8 results).

The development machine has 2 cores shared with other work: figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from insole.commands import batch  # noqa: E402

PY = sys.executable


def insole(*args: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([PY, "-m", "insole.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"insole {' '.join(map(str, args))}: {proc.stderr.strip()}")
    return proc


def make_recordings(cache: Path, count: int, duration_s: float) -> list[Path]:
    rec = cache / "rec"
    tmp = cache / "tmp"
    rec.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(exist_ok=True)
    paths = [rec / f"run{duration_s:.0f}_s{k:03d}.insrec" for k in range(1, count + 1)]
    missing = [p for p in paths if not p.is_file()]

    def make(p: Path) -> None:
        k = int(p.stem.rsplit("_s", 1)[1])
        part = tmp / p.name
        insole("simulate", "--duration", duration_s, "--seed", k, "--out", part)
        os.replace(part, p)

    if missing:
        t0 = time.perf_counter()
        print(f"simulating {len(missing)} recordings of {duration_s:.0f} s into {rec} ...",
              flush=True)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(make, missing))
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return paths


def run_batch_cli(inputs: list[Path], out: Path, *extra: object) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = insole("analyze", *inputs, "--out-dir", out, "--json", "--quiet", *extra)
    return time.perf_counter() - t0, json.loads(proc.stdout)


def rows_by_recording(steps_csv: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in steps_csv.read_bytes().decode().split("\r\n")[1:]:
        if line:
            rec, rest = line.split(",", 1)
            out.setdefault(rec, []).append(rest)
    return out


def parent_cost(paths: list[Path], out: Path) -> float:
    """Seconds per recording the batch's parent spends writing a result into the outputs.

    The results of ``paths`` (analysed here first) are written twice into fresh output
    folders; the second, warm pass is timed, including the final Parquet flush.
    """
    results = [batch.analyze_file(str(p)) for p in paths]
    spent = 0.0
    for k in range(2):
        outputs = batch._Outputs(out / f"parent{k}", [])
        t0 = time.perf_counter()
        for r in results:
            outputs.add_steps(r)
        outputs.finish([], [])
        spent = time.perf_counter() - t0
    return spent / len(paths)


def noop(paths: list[str]) -> list[dict]:
    return [{"recording": p, "summary": {}, "n_steps": 0, "seconds": 0.0} for p in paths]


def dask_overhead(n_tasks: int, window: int) -> float:
    """Seconds per task of the scheduler and the batch's own submission loop.

    ``window`` tasks in flight, as the batch keeps on a cluster of ``window / 2`` threads.
    """
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        engine = batch._dask(cluster.scheduler_address, noop)
        engine.window = window  # one file per task: the overhead of a task
        try:
            paths = [f"t{i}" for i in range(n_tasks)]
            for _ in batch._results(engine, paths[:100]):  # warm up
                pass
            t0 = time.perf_counter()
            n = sum(1 for _ in batch._results(engine, paths))
            return (time.perf_counter() - t0) / n
        finally:
            engine.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200, help="ten-minute recordings (200)")
    ap.add_argument("--separate", type=int, default=20,
                    help="recordings for separate commands vs one batch (20)")
    ap.add_argument("--duration", type=float, default=600.0, help="recording length [s]")
    ap.add_argument("--cache", type=Path,
                    default=Path(tempfile.gettempdir()) / "insole-bench-batch")
    ap.add_argument("--dask-tasks", type=int, default=2000)
    ap.add_argument("--skip-dask-batch", action="store_true")
    args = ap.parse_args()

    paths = make_recordings(args.cache, max(args.count, args.separate), args.duration)
    work = Path(tempfile.mkdtemp(prefix="insole-bench-batch-out-"))
    try:
        corpus = work / "corpus"  # exactly --count recordings
        corpus.mkdir()
        for p in paths[: args.count]:
            (corpus / p.name).symlink_to(p)
        size_mb = sum(p.stat().st_size for p in paths[: args.count]) / 1e6
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(f"\n{args.count} recordings of {args.duration:.0f} s ({size_mb:.0f} MB), "
              f"{os.cpu_count()} cores (shared), {when}")

        per_file: dict[int, float] = {}
        results: dict[int, dict] = {}
        for jobs in (1, 2):
            wall, res = run_batch_cli([corpus], work / f"jobs{jobs}", "--jobs", jobs)
            results[jobs] = res
            per_file[jobs] = res["analysis_s"] / max(res["recordings"], 1)
            print(f"  --jobs {jobs}: {wall:6.1f} s wall, {args.count / wall:5.2f} recordings/s, "
                  f"{res['steps']} steps; analysis {per_file[jobs]:.2f} s per file in the "
                  f"workers; parent wrote outputs for {res['collect_s']:.1f} s")
        same = (work / "jobs1" / "steps.csv").read_bytes() == (
            work / "jobs2" / "steps.csv").read_bytes()
        print(f"  --jobs 1 and --jobs 2 steps.csv identical: {same}")

        # Separate commands against one batch.
        sep = paths[: args.separate]
        sep_dir = work / "separate"
        sep_dir.mkdir()
        t0 = time.perf_counter()
        for p in sep:
            insole("analyze", p, "--steps-csv", sep_dir / f"{p.stem}.csv")
        t_sep = time.perf_counter() - t0
        t_batch, res = run_batch_cli(sep, work / "sep_batch", "--jobs", 2)
        batch_rows = rows_by_recording(work / "sep_batch" / "steps.csv")
        identical = all(
            batch_rows.get(str(p), []) == (sep_dir / f"{p.stem}.csv").read_bytes().decode()
            .split("\r\n")[1:-1]
            for p in sep
        )
        print(f"\n{len(sep)} separate 'insole analyze --steps-csv' processes: {t_sep:6.1f} s")
        print(f"one batch --jobs 2 on the same {len(sep)}:          {t_batch:6.1f} s  "
              f"-> {t_sep / t_batch:.2f}x faster; per-step rows identical: {identical}")

        if not args.skip_dask_batch:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None) as cluster:
                t_dask, res = run_batch_cli(sep, work / "sep_dask", "--scheduler",
                                            cluster.scheduler_address)
            same_dask = (work / "sep_dask" / "steps.csv").read_bytes() == (
                work / "sep_batch" / "steps.csv").read_bytes()
            print(f"the same {len(sep)} on a loopback Dask LocalCluster (2 worker processes): "
                  f"{t_dask:6.1f} s; steps.csv identical to --jobs 2: {same_dask}")

        n, cores = 100_000, 64
        overhead = dask_overhead(args.dask_tasks, 2 * cores)
        print(f"\nDask scheduler overhead: {overhead * 1e3:.2f} ms per task ({args.dask_tasks} "
              f"no-op tasks, {2 * cores} in flight, loopback LocalCluster, the batch's loop)")

        cost = per_file[1]
        collect = parent_cost(paths[: min(8, args.count)], work)
        print(f"parent's cost per recording (steps into steps.csv and steps.parquet, warm): "
              f"{collect * 1e3:.1f} ms")
        compute = n * cost / cores
        chunk = max(1, min(batch.MAX_FILES_PER_TASK, n // (8 * cores)))  # as batch._dask
        tasks = -(-n // chunk)
        sched = tasks * overhead
        print(f"\nprojection, {n:,} recordings of {args.duration:.0f} s on {cores} cores:")
        print(f"  analysis {n:,} x {cost:.2f} s / {cores} = {compute / 3600:.2f} h")
        print(f"  + scheduler {tasks:,} tasks of {chunk} files x {overhead * 1e3:.2f} ms = "
              f"{sched / 60:.1f} min (one file per task: {n * overhead / 60:.1f} min)")
        print(f"  = {(compute + sched) / 3600:.2f} h of wall time "
              f"({n / (compute + sched):.1f} recordings/s)")
        bound = "the bound" if n * collect > compute + sched else "hidden behind the workers"
        print(f"  the parent's serial output writing: {n:,} x {collect * 1e3:.1f} ms = "
              f"{n * collect / 60:.1f} min ({bound})")
        print(f"  input to read: {n * size_mb / args.count / 1e6:.2f} TB "
              f"({n * size_mb / args.count / (compute + sched):.0f} MB/s sustained)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
