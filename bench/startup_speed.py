"""Start-up of an analysis process: where the time of ``insole analyze FILE --json`` goes.

Each variant runs in a fresh process (caches warm), best and median of ``--repeat``:

plain
    ``import insole.session.analysis``, then the first `insole.core.events.ContactDetector` (it
    imports numba and loads the detector's kernels from numba's cache), as `bench/analyze_speed.py`
    times it.
load_numba
    The same with `firmware_protocol.jit.load_numba` called first (numba's import and its CPU
    target; numba's registries are loaded, without scipy.linalg and cffi, only if a kernel
    must be compiled), as ``insole.core.events._kernel`` would call it.

Printed per variant: the imports of the analysis path, then numba's import plus the first
call (what `bench/analyze_speed.py` reports as "first call of a compiled kernel"), and whether
scipy.linalg ended up imported.

With ``--cli FILE`` (default: the hour `bench/analyze_speed.py` caches, if there), the command
itself, ``insole analyze FILE --json`` as `insole.cli.main` runs it, split into its phases
(best of ``--repeat`` each): the interpreter's start, the imports of the command line and of
the analysis path, building the argument parser, numba's import and CPU target
(`load_numba`; its registries only if a kernel must be compiled), loading each compiled
kernel from numba's cache (the first analysis pays it),
the rest of the first analysis over a second one in the same process (first use of
everything else), the second analysis, the JSON, and the interpreter's exit after the last
line of Python has run.

Run: .venv/bin/python bench/startup_speed.py [--repeat 7] [--cli FILE]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODE = """
import sys, time
t = time.perf_counter()
import numpy as np
import insole.session.analysis
t1 = time.perf_counter()
if {first!r}:
    from firmware_protocol.jit import load_numba
    load_numba()
from insole.core.events import ContactDetector
ContactDetector(sampling_rate_hz=200.0).feed(np.zeros(400))
t2 = time.perf_counter()
print(t1 - t, t2 - t1, "scipy.linalg" in sys.modules)
"""

# The command's phases, timed in the child; the parent adds the interpreter's start and exit.
CLI_CODE = """
import time
t0 = time.time()
import contextlib, io, os, sys
c = [time.perf_counter()]
import insole.cli as cli
c.append(time.perf_counter())
import insole.session.analysis
c.append(time.perf_counter())
args = cli.build_parser().parse_args(["analyze", {path!r}, "--json"])
c.append(time.perf_counter())
from firmware_protocol.jit import load_numba
load_numba()
c.append(time.perf_counter())
from numba.core import caching
loads = [0.0]
load_overload = caching.Cache.load_overload
def timed(self, *a, **k):
    s = time.perf_counter()
    try:
        return load_overload(self, *a, **k)
    finally:
        loads[0] += time.perf_counter() - s
caching.Cache.load_overload = timed
from insole.session.analysis import SessionAnalysis
summary = SessionAnalysis(keep_records=False).run(args.paths[0]).summary_
c.append(time.perf_counter())
SessionAnalysis(keep_records=False).run(args.paths[0])
c.append(time.perf_counter())
with contextlib.redirect_stdout(io.StringIO()):
    cli._print_json(summary)
c.append(time.perf_counter())
# Last, the command as it runs (what it sets up for the exit included), output discarded.
with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
    cli.main(["analyze", {path!r}, "--json"])
d = [b - a for a, b in zip(c, c[1:])]
print(t0, d[0], d[1], d[2], d[3], loads[0], d[4] - loads[0] - d[5], d[5], d[6], time.time())
"""

#: Phases of ``--cli``, in the order printed.
PHASES = (
    "interpreter start",
    "import insole.cli",
    "import the analysis path",
    "argument parser",
    "numba import (load_numba)",
    "kernels loaded from numba's cache",
    "rest of the first analysis (first use)",
    "analysis (warm, in process)",
    "JSON",
    "interpreter exit",
)


def cli_phases(path: Path, repeat: int) -> None:
    """``insole analyze FILE --json`` phase by phase (see the module docstring)."""
    insole = Path(sys.executable).with_name("insole")
    walls, rows = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([str(insole), "analyze", str(path), "--json"], check=True,
                       stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", CLI_CODE.format(path=str(path))],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        end = time.time()
        v = [float(x) for x in out]
        rows.append([v[0] - start, *v[1:-1], end - v[-1]])
    print(f"`insole analyze {path.name} --json`: best {min(walls):.3f} s, median "
          f"{statistics.median(walls):.3f} s; its phases (best of {repeat}):")
    for name, values in zip(PHASES, zip(*rows, strict=True), strict=True):
        print(f"  {name:<42} {1e3 * min(values):6.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cli", type=Path, metavar="FILE",
                    default=Path(tempfile.gettempdir()) / "hour.insrec")
    args = ap.parse_args()
    variants = {"plain": False, "load_numba": True}
    res: dict[str, list[tuple[float, float, str]]] = {k: [] for k in variants}
    for _ in range(args.repeat):  # interleaved, so that load from other work falls on both
        for name, first in variants.items():
            out = subprocess.run(
                [sys.executable, "-c", CODE.format(first=first)],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            res[name].append((float(out[0]), float(out[1]), out[2]))
    for name, rows in res.items():
        imp = [r[0] for r in rows]
        first_call = [r[1] for r in rows]
        print(
            f"{name:<11} imports best {min(imp):.3f} s, median {statistics.median(imp):.3f} s; "
            f"numba + first kernel call best {min(first_call):.3f} s, median "
            f"{statistics.median(first_call):.3f} s; scipy.linalg imported: {rows[0][2]}"
        )
    if args.cli.exists():
        cli_phases(args.cli, args.repeat)


if __name__ == "__main__":
    main()
