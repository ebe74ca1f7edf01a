"""Peak memory of ``insole simulate`` for 1 h and 4 h runs (and any other durations).

``insole simulate`` writes the recording block by block (`insole.commands.simulate`), so its
peak RSS should not grow with the duration. Each run is a fresh child process (bench/peak_rss.py)
with the ``--truth`` table, 1 % random loss, 2 % burst loss and garbage (2/min), so that every
fault path is exercised.

Run: .venv/bin/python bench/simulate_memory.py [--durations 3600 14400] [--link ble]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from peak_rss import peak_rss_mb  # bench/ is on the path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--durations", type=float, nargs="+", default=[3600.0, 14400.0],
                    help="simulated seconds of each run (default 1 h and 4 h)")
    ap.add_argument("--link", choices=["ble", "serial"], default="ble")
    args = ap.parse_args()
    insole = str(Path(sys.executable).with_name("insole"))
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for duration in args.durations:
            out, truth = Path(tmp) / "sim.insrec", Path(tmp) / "sim.csv"
            cmd = [insole, "simulate", "--duration", f"{duration:g}", "--seed", "2",
                   "--loss", "0.01", "--burst-loss", "0.02", "--garbage", "2",
                   "--link", args.link, "--out", str(out), "--truth", str(truth), "--quiet"]
            peak, wall = peak_rss_mb(cmd)
            peaks.append(peak)
            print(f"insole simulate --duration {duration:g} ({duration / 3600:g} h, "
                  f"{args.link}): peak RSS {peak:.0f} MB, {wall:.1f} s, "
                  f"{out.stat().st_size / 1e6:.0f} MB written", flush=True)
    if len(peaks) > 1:
        hours = (args.durations[-1] - args.durations[0]) / 3600
        print(f"growth: {(peaks[-1] - peaks[0]) / hours:+.1f} MB per simulated hour")


if __name__ == "__main__":
    main()
