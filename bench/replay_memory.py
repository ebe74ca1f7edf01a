"""Peak memory of ``insole replay FILE --no-gui --speed max`` on 10 min, 1 h and 4 h recordings.

The reliability issue's target: the 4-hour replay peaks at most 1.2 x the 10-minute one
(replay streams from disk). Recordings are simulated once (two 16-sensor insoles, 200 Hz,
1 % loss, seed 2) and kept in ``--dir`` (default: the temp folder) for later runs.

Run: .venv/bin/python bench/replay_memory.py [--dir D] [--durations 600 3600 14400]
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
    ap.add_argument("--durations", type=int, nargs="+", default=[600, 3600, 14400])
    args = ap.parse_args()
    insole = str(Path(sys.executable).with_name("insole"))
    peaks = {}
    for d in args.durations:
        rec = args.dir / f"insole-bench-replay-{d}s.insrec"
        simulated(rec, d)
        peaks[d] = peak_rss_mb([insole, "replay", str(rec), "--no-gui", "--speed", "max",
                                "--quiet"])[0]
        print(f"replay --speed max {d / 60:6.0f} min: peak RSS {peaks[d]:.0f} MB", flush=True)
    first, last = args.durations[0], args.durations[-1]
    print(f"ratio {last / 60:.0f} min / {first / 60:.0f} min: {peaks[last] / peaks[first]:.2f} "
          "(target <= 1.2)")
    print(f"(this bench's own peak RSS {own_peak_mb():.0f} MB; bench/peak_rss.py)")


if __name__ == "__main__":
    main()
