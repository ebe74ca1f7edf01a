"""The project's heel strikes against Moticon's own step events in an OpenGo export.

Imports the export (`insole.sources.importers.moticon.import_moticon`), analyses the recording with
`SessionAnalysis` (the pipeline as ``insole analyze`` runs it, detector untuned) and compares,
per side, the detected heel strikes with the vendor's heel-strike events (``left steps[]`` /
``right steps[]``: 11 / 21). Times are put on the export's time axis (each insole's clock starts
at its first sample in the file).

Figures (issue 14 done-when): every vendor heel strike matched within 30 ms; within the span
the vendor marked (its first to its last event on that side) the project's heel strikes equal
the vendor's count ±1 (the vendor leaves the first and last steps unmarked); the median
timing difference (project − vendor) and its spread.

Run: .venv/bin/python bench/moticon_events.py [EXPORT] [--json]
     (default EXPORT: ../shared/data/commercial_exports/moticon_opengo_walk_230927_102114.txt)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from insole.session.analysis import SessionAnalysis
from insole.sources.importers.moticon import import_moticon, read_moticon

DEFAULT = (Path(__file__).resolve().parents[2] / "shared" / "data" / "commercial_exports"
           / "moticon_opengo_walk_230927_102114.txt")
#: Largest accepted |project − vendor| heel-strike difference [s] (issue 14: 30 ms at 100 Hz).
MATCH_S = 0.030


def compare(export: Path) -> dict[str, Any]:
    """Compare detected and vendor heel strikes of one export.

    Parameters
    ----------
    export : Path
        OpenGo text export with ``left steps[]`` / ``right steps[]`` columns.

    Returns
    -------
    dict
        Per side: vendor and project counts in the vendor's span, matches, differences [ms];
        overall: median and mean |difference|, ``passed``.
    """
    data = read_moticon(export)
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "moticon.insrec"
        import_moticon(export, rec)
        analysis = SessionAnalysis().run(rec)
    out: dict[str, Any] = {"export": export.name, "sides": {}}
    all_diff: list[float] = []
    passed = True
    for side in ("left", "right"):
        vendor_hs = np.array([t for t, ev in data.events
                              if ev.get("side") == side and ev.get("kind") == "heel_strike"])
        marked = np.array([t for t, ev in data.events if ev.get("side") == side
                           and ev.get("kind") in ("heel_strike", "toe_off")])
        if vendor_hs.size == 0:
            continue
        first = float(data.sides[side].time_s[0])
        ours = np.array(sorted(r.heel_strike_s + first for r in analysis.records_
                               if r.side == side))
        span = (float(marked.min()), float(marked.max()))
        in_span = ours[(ours >= span[0] - MATCH_S) & (ours <= span[1] + MATCH_S)]
        diffs = []
        for t in vendor_hs:
            k = int(np.argmin(np.abs(ours - t))) if ours.size else -1
            diffs.append(float(ours[k] - t) if k >= 0 else float("nan"))
        d = np.array(diffs)
        matched = int(np.sum(np.abs(d) <= MATCH_S))
        count_ok = abs(len(in_span) - len(vendor_hs)) <= 1
        passed &= matched == len(vendor_hs) and count_ok
        all_diff += d[np.isfinite(d)].tolist()
        out["sides"][side] = {
            "vendor_heel_strikes": len(vendor_hs),
            "project_heel_strikes_in_span": len(in_span),
            "project_heel_strikes_total": len(ours),
            "span_s": [round(span[0], 3), round(span[1], 3)],
            "matched_within_30ms": matched,
            "count_within_1": count_ok,
            "diff_ms": [round(x * 1e3, 1) for x in d.tolist()],
        }
    diff_ms = np.array(all_diff) * 1e3
    out["n_compared"] = int(diff_ms.size)
    out["median_diff_ms"] = round(float(np.median(diff_ms)), 1) if diff_ms.size else None
    out["median_abs_diff_ms"] = (round(float(np.median(np.abs(diff_ms))), 1) if diff_ms.size
                                 else None)
    out["max_abs_diff_ms"] = round(float(np.max(np.abs(diff_ms))), 1) if diff_ms.size else None
    out["passed"] = bool(passed and diff_ms.size)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the comparison; exit 1 when a done-when figure fails, 2 without data."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if not args.export.is_file():
        print(f"moticon_events: {args.export} not found (shared data absent)", file=sys.stderr)
        return 2
    res = compare(args.export)
    if not res["n_compared"]:
        print(f"moticon_events: {args.export} has no vendor heel-strike events "
              "('left steps[]' / 'right steps[]' codes 11 / 21)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{res['export']}: project heel strikes vs Moticon step events")
        for side, s in res["sides"].items():
            print(f"  {side:5s} vendor {s['vendor_heel_strikes']:2d}, project "
                  f"{s['project_heel_strikes_in_span']:2d} in the vendor's span "
                  f"{s['span_s'][0]:.2f}-{s['span_s'][1]:.2f} s "
                  f"({s['project_heel_strikes_total']} in the file); matched within 30 ms "
                  f"{s['matched_within_30ms']}/{s['vendor_heel_strikes']}; differences ms "
                  f"{s['diff_ms']}")
        print(f"  median difference (project - vendor) {res['median_diff_ms']:+.1f} ms, median "
              f"|difference| {res['median_abs_diff_ms']:.1f} ms, max {res['max_abs_diff_ms']:.1f}"
              f" ms over {res['n_compared']} heel strikes: "
              f"{'PASS' if res['passed'] else 'FAIL'}")
    return 0 if res["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
