"""Peak resident memory of a command, for the memory benches (``*_memory.py``).

`peak_rss_mb` runs a command in a child process and returns its peak RSS (``ru_maxrss`` from
``os.wait4``). Linux carries a process's high-water mark across ``exec``: a child started by
`subprocess` (vfork or fork, then exec) reports at least the high-water mark its parent had
when it started it (measured here: after this process touched 1 GB and freed it, ``python -c
pass`` reported 1012 MB instead of 12). So a bench must keep its own process small (simulate its
recordings in a child process too), and `peak_rss_mb` refuses a figure that does not rise above
this process's own peak: that figure would be the bench's, not the command's.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: A child's peak must exceed the bench's own by this much to be the child's [MB].
MARGIN_MB = 1.0


def own_peak_mb() -> float:
    """This process's own peak RSS [MB] (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return its peak RSS [MB] and wall time [s].

    Raises
    ------
    SystemExit
        If the command fails, or if its peak cannot be told from this process's own.
    """
    floor = own_peak_mb()
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            text = err.read().decode(errors="replace")[-500:]
            raise SystemExit(f"{' '.join(cmd)} failed: {text}")
    peak = usage.ru_maxrss / 1024.0
    if peak <= floor + MARGIN_MB:
        raise SystemExit(
            f"{' '.join(cmd)}: its peak RSS ({peak:.0f} MB) is this bench's own ({floor:.0f} MB), "
            "which a child inherits across exec: keep the bench process smaller"
        )
    return peak, wall


def simulated(path: Path, duration_s: float) -> Path:
    """``path``: a simulated recording (two 16-sensor insoles, 200 Hz, seed 2, 1 % loss).

    Made on first use by ``insole simulate`` in a child process (not in this one: see the
    module docstring), then kept for later runs.
    """
    if not path.exists():
        print(f"simulating {duration_s / 3600:g} h into {path} ...", flush=True)
        t = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.unlink(missing_ok=True)
        subprocess.run(
            [str(Path(sys.executable).with_name("insole")), "simulate", "--duration",
             f"{duration_s:g}", "--seed", "2", "--loss", "0.01", "--out", str(part), "--quiet"],
            check=True, stdout=subprocess.DEVNULL,
        )
        part.replace(path)
        print(f"simulated {path} in {time.perf_counter() - t:.1f} s", flush=True)
    return path
