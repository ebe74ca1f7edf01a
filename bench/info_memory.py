"""Peak memory of ``insole info FILE --json`` on 1 h and 4 h recordings.

The "Core v2" target (constant memory for any recording length): the 4-hour ``info`` peaks at
most 1.3 x the 1-hour one, because `insole.recordings.loader.recording_info` reads the file run by
run and keeps only totals. Each figure is the child process's own peak RSS (``ru_maxrss`` via
wait4). ``--compare`` also measures ``load_recording(FILE).info()`` (what ``insole info`` ran
before: every sample decoded and held) on the same files.

Recordings are simulated once (two 16-sensor insoles, 200 Hz, 1 % loss, seed 2:
``SimulationRequest(duration_s=D, seed=2, loss=0.01)``) and kept in ``--dir`` (default: the temp
folder) under the names that ``bench/replay_memory.py`` uses, so both benches share them.

Run: .venv/bin/python bench/info_memory.py [--dir D] [--durations 3600 14400] [--compare]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from insole.commands.simulate import SimulationRequest, simulate_to_file


def _peak_of(cmd: list[str]) -> float:
    """Peak RSS [MB] of one child process (its own ``ru_maxrss``, via wait4)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-500:]}")
    return usage.ru_maxrss / 1024


def _recording(folder: Path, duration_s: int) -> Path:
    """The simulated recording of ``duration_s`` seconds, made on first use."""
    path = folder / f"insole-bench-replay-{duration_s}s.insrec"
    if not path.exists():
        print(f"simulating {duration_s / 3600:g} h into {path} ...", flush=True)
        part = path.with_name(path.name + ".part")
        simulate_to_file(SimulationRequest(duration_s=float(duration_s), seed=2, loss=0.01), part)
        part.replace(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--durations", type=int, nargs="+", default=[3600, 14400])
    ap.add_argument("--compare", action="store_true",
                    help="also measure load_recording(FILE).info() (the former insole info)")
    args = ap.parse_args()
    insole = str(Path(sys.executable).with_name("insole"))
    peaks: dict[int, float] = {}
    for d in args.durations:
        rec = _recording(args.dir, d)
        size_mb = rec.stat().st_size / 1e6
        peaks[d] = _peak_of([insole, "info", str(rec), "--json"])
        print(f"insole info --json {d / 3600:4g} h ({size_mb:.0f} MB file): "
              f"peak RSS {peaks[d]:.0f} MB", flush=True)
        if args.compare:
            code = ("import sys; from insole.recordings.loader import load_recording; "
                    "load_recording(sys.argv[1]).info()")
            old = _peak_of([sys.executable, "-c", code, str(rec)])
            print(f"load_recording().info() {d / 3600:4g} h: peak RSS {old:.0f} MB", flush=True)
    first, last = args.durations[0], args.durations[-1]
    print(f"ratio {last / 3600:g} h / {first / 3600:g} h: {peaks[last] / peaks[first]:.2f} "
          "(target <= 1.3)")


if __name__ == "__main__":
    main()
