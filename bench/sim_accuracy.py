"""Heel-strike accuracy and strike classification against the simulator's ground truth.

For each strike pattern, with and without 2 % frame loss, simulates a run, analyses it with
`SessionAnalysis` (the pipeline fed once) and compares the detected heel strikes with the truth:
share found within one sample (5 ms at 200 Hz), extra steps (detections more than 50 ms from any
true contact), strike-class agreement, and the timing error; and for each matched step the
numbers a runner reads against the truth's: peak force and heel peak (% of the truth),
contact time (ms; valid toe-offs) and strike index (% of foot length), median error and the
95th percentile of its magnitude. The truth holds only contacts wholly inside the recording: a
last step after its last contact (cut by the end of the recording, and reported with a flagged
toe-off) is counted apart.

Run: .venv/bin/python bench/sim_accuracy.py [--duration S] [--seed N]
     .venv/bin/python bench/sim_accuracy.py --seeds 1-10   # worst and mean over seeds
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.session.analysis import SessionAnalysis


def evaluate(req: SimulationRequest, tmp: Path) -> str:
    """One line of figures for one simulated run (see :func:`measure`)."""
    m = measure(req, tmp)
    return (
        f"{req.gait:4s} {req.strike:9s} loss {req.loss:4.2f}: {m['n']} true steps, "
        f"{m['within_pct']:6.2f} % within 1 sample, {m['extra']} extra, "
        f"{m['cut_at_end']} after the truth's last contact, "
        f"strike class {m['class_pct']:5.1f} %, "
        f"error median {m['median_ms']:+.2f} ms, "
        f"p95 |e| {m['p95_ms']:.2f} ms\n    per step: {feature_text(m)}"
    )


def measure(req: SimulationRequest, tmp: Path) -> dict[str, float]:
    """Simulate ``req``, analyse it and compare the heel strikes with the truth."""
    path = tmp / "run.insrec"
    simulate_to_file(req, path, truth_path=tmp / "truth.csv")
    rows = SessionAnalysis().run(path).steps_
    with open(tmp / "truth.csv", encoding="utf-8") as f:
        truth = list(csv.DictReader(f))
    n = within = cls = 0
    errors = []
    # What a runner reads per step, against the truth (matched steps, valid toe-offs):
    # peak and heel peak [% of the truth], contact time [ms], strike index [% of foot length].
    feat: dict[str, list[float]] = {"peak": [], "heel": [], "contact": [], "index": []}
    extra = cut = 0
    for side in ("left", "right"):
        mine = [t for t in truth if t["side"] == side]
        last = max((float(t["heel_strike_s"]) for t in mine), default=float("-inf"))
        # The truth holds only contacts wholly inside the recording: the side's last step, when
        # it comes after the truth's last contact, is one that the end of the recording cut (or
        # ended within a sample of its true end); it is no extra detection.
        det = [r for r in rows if r["side"] == side]
        if det and det[-1]["heel_strike_s"] > last + 0.05:
            det.pop()
            cut += 1
        t_det = np.array([r["heel_strike_s"] for r in det])
        used = set()
        for t in mine:
            n += 1
            if not len(t_det):
                continue
            i = int(np.argmin(np.abs(t_det - float(t["heel_strike_s"]))))
            e = t_det[i] - float(t["heel_strike_s"])
            if abs(e) <= 0.05:
                used.add(i)
                errors.append(e)
                d = det[i]
                feat["peak"].append(100 * (d["peak_force_n"] / float(t["peak_force_n"]) - 1))
                feat["heel"].append(100 * (d["heel_peak_n"] / float(t["heel_peak_n"]) - 1))
                feat["index"].append(d["strike_index_pct"] - float(t["strike_index_pct"]))
                if d["toe_off_valid"]:
                    feat["contact"].append(1000 * (d["contact_s"] - float(t["contact_s"])))
            if abs(e) <= 1.0 / req.sample_rate_hz + 1e-9:
                within += 1
                cls += det[i]["strike_pattern"] == t["strike_pattern"]
        extra += len(t_det) - len(used)
    e_ms = 1000 * np.array(errors)
    return {
        "n": n,
        "within_pct": 100 * within / n,
        "within_10ms_pct": 100 * int(np.count_nonzero(np.abs(e_ms) <= 10.0)) / n,
        "matched_pct": 100 * len(errors) / n,  # within 50 ms
        "extra": extra,
        "extra_pct": 100 * extra / n,
        "cut_at_end": cut,
        "class_pct": 100 * cls / max(within, 1),
        "median_ms": float(np.median(e_ms)),
        "p95_ms": float(np.percentile(np.abs(e_ms), 95)),
        # NaN where a step has no value (a strike index with samples lost at the contact).
        **{f"{k}_median": float(np.nanmedian(v)) for k, v in feat.items()},
        **{f"{k}_p95": float(np.nanpercentile(np.abs(v), 95)) for k, v in feat.items()},
        "index_missing": int(np.count_nonzero(np.isnan(feat["index"]))),
    }


def feature_text(m: dict[str, float]) -> str:
    """The per-step figures against the truth: median error and p95 of |error|."""
    return (
        f"peak force {m['peak_median']:+.1f} % (p95 |e| {m['peak_p95']:.1f} %), "
        f"heel peak {m['heel_median']:+.1f} % ({m['heel_p95']:.1f} %), "
        f"contact time {m['contact_median']:+.1f} ms ({m['contact_p95']:.1f} ms), "
        f"strike index {m['index_median']:+.1f} % of foot length ({m['index_p95']:.1f})"
        + (f", {m['index_missing']:.0f} steps without one" if m.get("index_missing") else "")
    )


def seed_range(text: str) -> list[int]:
    """Parse ``A-B`` (inclusive) or a single seed."""
    try:
        lo, _, hi = text.partition("-")
        seeds = list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A-B or N, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
    return seeds


def over_seeds(seeds: list[int], duration_s: float, tmp: Path) -> None:
    """Print the worst and mean figures of each configuration over ``seeds``."""
    print(f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]}), {duration_s:.0f} s runs, 200 Hz, noise on")
    for strike in ("rearfoot", "midfoot", "forefoot", "mixed"):
        for loss in (0.0, 0.02):
            ms = [
                measure(
                    SimulationRequest(duration_s=duration_s, seed=s, strike=strike, loss=loss),
                    tmp,
                )
                for s in seeds
            ]
            within = [m["within_pct"] for m in ms]
            extra = max(m["extra_pct"] for m in ms)
            # Worst seed per figure: the median error farthest from 0, the largest p95.
            names = ("peak", "heel", "contact", "index")
            worst = {f"{k}_median": max((m[f"{k}_median"] for m in ms), key=abs) for k in names}
            worst |= {f"{k}_p95": max(m[f"{k}_p95"] for m in ms) for k in names}
            print(
                f"run  {strike:9s} loss {loss:4.2f}: within 1 sample worst {min(within):6.2f} %, "
                f"mean {np.mean(within):6.2f} %; extra worst {extra:.2f} %"
                f"; strike class worst {min(m['class_pct'] for m in ms):5.1f} %"
                f"\n    per step, worst seed: {feature_text(worst)}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--seeds", type=seed_range, help="A-B: worst and mean over these seeds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.seeds:
            over_seeds(args.seeds, args.duration, Path(tmp))
            return
        for strike in ("rearfoot", "midfoot", "forefoot", "mixed"):
            for loss in (0.0, 0.02):
                req = SimulationRequest(
                    duration_s=args.duration, seed=args.seed, strike=strike, loss=loss
                )
                print(evaluate(req, Path(tmp)), flush=True)
        walk = SimulationRequest(duration_s=args.duration, seed=args.seed, gait="walk")
        print(evaluate(walk, Path(tmp)))


if __name__ == "__main__":
    main()
