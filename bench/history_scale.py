"""Cost of ``analyze --save`` and ``history`` with a short and a long training history.

Builds two histories in a temporary folder, 10 and 2,000 sessions (``--sizes``), through
`insole.session.history.HistoryDB.save_session`, the call ``insole analyze FILE --save`` makes. Each
synthetic session is the analysis of ``--recording`` (default
``recordings/run_rearfoot_20s.insrec``) with its summary varied: start time (about one session
every 31 hours, ending the day before the recording, in UTC+01:00 / UTC+02:00), duration, step
count, session heel load, median heel peak and symmetry indices (seeded, ±25 %); its steps table
is the recording's (56 rows). Then, in each history, best and median of ``--repeat`` runs of:

save
    ``insole.cli.main(["analyze", REC, "--save", "--db", DB])`` in-process, on a fresh copy of
    the history each time (so every run really saves): analysis + open + save + warnings.
save (history part)
    The same with the analysis done beforehand: only
    `insole.commands.history.handle_analyze_save`, the part whose cost can grow with the history.
save, changed outside
    ``save`` after another program touched the history file (its modification time moved): the
    save checks the sessions tables first (``PRAGMA quick_check``), which grows with the history
    (informative). The copies for ``save`` keep the file's size, modification time and
    checked-state marker, as insole left them after the last save
    (`insole.session.history._CHECK_MARKER`).
history
    ``insole.cli.main(["history", "--db", DB])``, the default listing (output discarded).
history --all
    Every session (informative; grows with the history by design).
history (process)
    ``python -m insole.cli history --db DB`` as a separate process, as a runner types it
    (informative: interpreter start and imports included).

Prints the times and the ratio 2,000 / 10 of each. The target is a ratio within 0.5-1.5 for
``save`` and ``history``.

Run: .venv/bin/python bench/history_scale.py [--sizes 10 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from insole.cli import main as cli
from insole.commands.history import handle_analyze_save
from insole.session.analysis import SessionAnalysis
from insole.session.history import HistoryDB

ROOT = Path(__file__).resolve().parent.parent


def build_history(path: Path, n: int, summary: dict[str, Any], steps: list[dict]) -> None:
    """Write `n` synthetic sessions before the recording's start into a new database."""
    rng = random.Random(n)
    end = datetime.fromisoformat(str(summary["start"])) - timedelta(days=1)
    base = json.loads(json.dumps(summary, default=str))
    with HistoryDB(path) as db:
        for i in range(n):
            tz = timezone(timedelta(hours=1 + (i // 150) % 2))
            start = (end - timedelta(hours=31 * (n - 1 - i))).astimezone(tz)
            f = rng.uniform(0.75, 1.25)
            s = dict(base)
            s["start"] = start.isoformat()
            s["duration_s"] = round(base["duration_s"] * f, 2)
            s["step_count"] = round(base["step_count"] * f)
            s["heel_impulse_ns"] = base["heel_impulse_ns"] * f * rng.uniform(0.95, 1.05)
            s["heel_peak_n"] = dict(base["heel_peak_n"])
            s["heel_peak_n"]["median"] = base["heel_peak_n"]["median"] * rng.uniform(0.97, 1.03)
            s["symmetry_pct"] = {
                k: (v or 0.0) + rng.gauss(0.0, 1.0) for k, v in base["symmetry_pct"].items()
            }
            db.save_session(
                s, steps, recording_path=f"/runs/s{i}.insrec", recording_sha256=f"{n}-{i:064x}"
            )


def timed(
    fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
) -> list[float]:
    """Wall-clock times of `fn` (after `setup`, untimed), output discarded."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs=2, default=[10, 2000])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--recording", type=Path, default=ROOT / "recordings/run_rearfoot_20s.insrec")
    args = ap.parse_args()
    rec = args.recording
    analysis = SessionAnalysis(keep_records=False).run(rec)
    results: dict[str, dict[int, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            master = Path(tmp) / f"h{n}.sqlite3"
            t = time.perf_counter()
            build_history(master, n, analysis.summary_, analysis.steps_)
            size_mb = master.stat().st_size / 1e6
            print(f"built {n} sessions in {time.perf_counter() - t:.1f} s ({size_mb:.1f} MB)")
            work = Path(tmp) / f"w{n}.sqlite3"

            def fresh(master: Path = master, work: Path = work) -> None:
                """A copy of the history as insole left it: its checked-state marker holds."""
                for extra in ("-wal", "-shm", "-checked"):
                    Path(str(work) + extra).unlink(missing_ok=True)
                shutil.copy2(master, work)  # size, modification time and content kept
                with open(work, "rb+") as f:  # not timed: flush the copy's dirty pages now
                    os.fsync(f.fileno())
                marker = Path(str(master) + "-checked")
                if marker.exists():
                    shutil.copyfile(marker, Path(str(work) + "-checked"))

            def changed(fresh: Callable[[], None] = fresh, work: Path = work) -> None:
                """The same, then the file touched by another program: it is checked again."""
                fresh()
                st = work.stat()
                os.utime(work, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))

            save_args = SimpleNamespace(file=rec, save=True, db=work)
            save_argv = ["analyze", str(rec), "--save", "--db", str(work)]
            runs: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]] = {
                "save": (lambda a=save_argv: cli(a), fresh),
                "save (history part)": (
                    lambda a=save_args: handle_analyze_save(a, analysis),
                    fresh,
                ),
                "save, changed outside": (lambda a=save_argv: cli(a), changed),
                "history": (lambda m=master: cli(["history", "--db", str(m)]), None),
                "history --all": (lambda m=master: cli(["history", "--db", str(m), "--all"]), None),
                "history (process)": (
                    lambda m=master: subprocess.run(
                        [sys.executable, "-m", "insole.cli", "history", "--db", str(m)],
                        check=True,
                        capture_output=True,
                    ),
                    None,
                ),
            }
            for name, (fn, setup) in runs.items():
                if name == "history --all" and not _has_all_flag():
                    continue
                results.setdefault(name, {})[n] = timed(fn, args.repeat, setup)
    small, large = args.sizes
    print(f"\n{'':<22}{small:>7} sessions  {large:>7} sessions   ratio (median)")
    for name, by_n in results.items():
        a, b = statistics.median(by_n[small]), statistics.median(by_n[large])
        print(
            f"{name:<22}{a * 1e3:>9.1f} ms  {b * 1e3:>11.1f} ms   {b / a:>6.2f}×"
            f"   (best {min(by_n[small]) * 1e3:.1f} / {min(by_n[large]) * 1e3:.1f} ms)"
        )


def _has_all_flag() -> bool:
    """Whether this insole's ``history`` accepts ``--all`` (the bench also runs on older ones)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli(["history", "--all", "--db", "/nonexistent/insole-bench.sqlite3"])
        except SystemExit:
            return False
    return True


if __name__ == "__main__":
    main()
