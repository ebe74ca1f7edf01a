"""The compiled kernels load safely when several threads start analysing at once (Dask workers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import json, sys, threading
from insole.session.analysis import SessionAnalysis

path = sys.argv[1]
barrier = threading.Barrier(4)
results, errors = [None] * 4, []

def work(i):
    barrier.wait()  # all four load the kernels at the same moment
    try:
        results[i] = SessionAnalysis(keep_records=False).run(path).summary_["step_count"]
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        errors.append(f"{type(exc).__name__}: {exc}")

threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"results": results, "errors": errors}))
"""


def test_first_analyses_in_four_threads_at_once() -> None:
    rec = ROOT / "recordings" / "run_rearfoot_20s.insrec"
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(rec)],
        capture_output=True, text=True, timeout=240, cwd=ROOT, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["errors"] == []
    assert len(set(got["results"])) == 1
    assert got["results"][0] > 0
