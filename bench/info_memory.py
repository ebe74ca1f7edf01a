"""Peak memory of ``insole info FILE --json`` on 1 h and 4 h recordings.

The "Core v2" target (constant memory for any recording length): the 4-hour ``info`` peaks at
most 1.3 x the 1-hour one, because `insole.recordings.loader.recording_info` reads the file run by
run and keeps only totals. Each figure is the child process's own peak RSS (``ru_maxrss`` via
wait4). ``--compare`` also measures ``load_recording(FILE).info()`` (what ``insole info`` ran
before: every sample decoded and held) on the same files.

Recordings are simulated once, by ``insole simulate`` in a child process (two 16-sensor
insoles, 200 Hz, 1 % loss, seed 2; see bench/peak_rss.py) and kept in ``--dir`` (default: the temp
folder) under the names that ``bench/replay_memory.py`` uses, so both benches share them.

Run: .venv/bin/python bench/info_memory.py [--dir D] [--durations 3600 14400] [--compare]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from peak_rss import own_peak_mb, peak_rss_mb, simulated  # bench/ is on the path


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
        rec = simulated(args.dir / f"insole-bench-replay-{d}s.insrec", d)
        size_mb = rec.stat().st_size / 1e6
        peaks[d] = peak_rss_mb([insole, "info", str(rec), "--json"])[0]
        print(f"insole info --json {d / 3600:4g} h ({size_mb:.0f} MB file): "
              f"peak RSS {peaks[d]:.0f} MB", flush=True)
        if args.compare:
            code = ("import sys; from insole.recordings.loader import load_recording; "
                    "load_recording(sys.argv[1]).info()")
            old = peak_rss_mb([sys.executable, "-c", code, str(rec)])[0]
            print(f"load_recording().info() {d / 3600:4g} h: peak RSS {old:.0f} MB", flush=True)
    first, last = args.durations[0], args.durations[-1]
    print(f"ratio {last / 3600:g} h / {first / 3600:g} h: {peaks[last] / peaks[first]:.2f} "
          "(target <= 1.3)")
    print(f"(this bench's own peak RSS {own_peak_mb():.0f} MB; bench/peak_rss.py)")


if __name__ == "__main__":
    main()
