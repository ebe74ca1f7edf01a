"""Steps kept under frame loss on real records: the detector with lost frames vs without.

Lost frames are injected into the real signals of ``../shared/data`` (the 19 gaitpdb walks, each
foot's total force, 100 Hz; the running force plate RBDS001, 300 Hz) as the wire loses them:
whole frames of ``FRAME_SAMPLES`` samples become NaN, at random (``--loss``) or in bursts
(``--burst-loss``, geometric lengths of mean ``--burst-len`` frames, the simulator's model:
``insole.sources.sim.transport``). The detector's contacts on the lossy signal are compared
with its contacts on the same signal without loss (the reference here is the detector itself:
this measures what loss costs, not the detector's accuracy, which ``bench/validate.py`` does):

- *lost* / *invented*: heel strikes without a partner within 250 ms (a quarter of a walking
  stride: a count error, not a timing one);
- *1 smp*: the share of heel strikes within one sample of the loss-free one;
- *|count|*: the sum over signals of |steps with loss - steps without|;
- *CT>50*: contacts reported with a valid toe-off whose contact time is more than 50 ms off the
  loss-free one (a contact time that should have been flagged).

Usage::

    python bench/loss_steps.py                      # 1 % burst loss and 2 % random loss
    python bench/loss_steps.py --burst-loss 0.02 --seeds 1-5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from insole.core.events import (  # noqa: E402
    PLATE_UNDER_BOTH_FEET,
    ContactOptions,
    detect_contacts,
)
from insole.sources.importers.physionet import read_gaitpdb  # noqa: E402
from insole.sources.importers.table import read_table  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from validate import match_events  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
#: Samples per frame, as the simulator and the emulated insoles send them (6 samples a frame).
FRAME_SAMPLES = 6
COUNT_TOLERANCE_S = 0.25
CT_TOLERANCE_S = 0.05


def lose_frames(
    x: np.ndarray, rng: np.random.Generator, loss: float, burst_loss: float, burst_len: float
) -> np.ndarray:
    """``x`` with whole frames set to NaN, at random and in bursts (never the first or last)."""
    n_frames = len(x) // FRAME_SAMPLES
    dropped = rng.random(n_frames) < loss
    if burst_loss > 0:
        n_bursts = rng.poisson(burst_loss * n_frames / burst_len)
        starts = rng.integers(0, n_frames, n_bursts)
        lens = rng.geometric(1.0 / burst_len, n_bursts)
        for s0, ln in zip(starts, lens, strict=True):
            dropped[s0 : s0 + ln] = True
    dropped[0] = dropped[-1] = False
    out = x.astype(np.float64).copy()
    rows = np.repeat(np.flatnonzero(dropped) * FRAME_SAMPLES, FRAME_SAMPLES)
    out[rows + np.tile(np.arange(FRAME_SAMPLES), int(dropped.sum()))] = np.nan
    return out


def compare(clean: object, lossy: object, fs: float) -> dict[str, float]:
    """Count and timing of the lossy detection against the loss-free one."""
    hs0, hs1 = clean.heel_strike_s, lossy.heel_strike_s  # type: ignore[attr-defined]
    i1, i0 = match_events(hs1, hs0, COUNT_TOLERANCE_S)  # loss-free as the reference
    err = np.abs(hs1[i1] - hs0[i0])
    ct0 = clean.contact_s[i0]  # type: ignore[attr-defined]
    ct1 = lossy.contact_s[i1]  # type: ignore[attr-defined]
    valid = clean.toe_off_valid[i0] & lossy.toe_off_valid[i1]  # type: ignore[attr-defined]
    return {
        "n": float(len(hs0)),
        "lost": float(len(hs0) - len(i0)),
        "invented": float(len(hs1) - len(i1)),
        "one_sample": float(np.sum(err <= 1.0 / fs + 1e-9)),
        "ct_off": float(np.sum(valid & (np.abs(ct1 - ct0) > CT_TOLERANCE_S))),
        "count_off": float(abs(len(hs1) - len(hs0))),
    }


def signals(data: Path) -> list[tuple[str, np.ndarray, float]]:
    """(name, total force [N], sampling rate) of every gaitpdb foot and the running plate."""
    out = []
    for path in sorted((data / "gaitpdb").glob("*_*.txt")):
        _, left, right, fs = read_gaitpdb(path)
        for side, sensors in (("L", left), ("R", right)):
            out.append((f"gaitpdb {path.stem} {side}", sensors.sum(axis=1), fs))
    plate = data / "running_forceplate" / "RBDS001runT25forces.txt"
    if plate.is_file():
        (fy,), fs = read_table(plate, columns=["Fy"], sampling_rate_hz=300.0)
        out.append(("plate RBDS001", np.asarray(fy, np.float64), float(fs)))
    return out


def _seeds(text: str) -> list[int]:
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="data folder (default ../shared/data)")
    ap.add_argument("--seeds", type=_seeds, default=_seeds("1-3"), help="seeds, e.g. 1-3")
    ap.add_argument("--loss", type=float, default=None, help="random frame loss (0-1)")
    ap.add_argument("--burst-loss", type=float, default=None, help="burst frame loss (0-1)")
    ap.add_argument("--burst-len", type=float, default=8.0, help="mean burst [frames]")
    args = ap.parse_args(argv)
    if not (args.data / "gaitpdb").is_dir():
        print(f"error: no gaitpdb/ in {args.data}: pass --data with the shared data folder",
              file=sys.stderr)
        return 2
    if args.loss is None and args.burst_loss is None:
        conditions = [(0.0, 0.01), (0.02, 0.0)]
    else:
        conditions = [(args.loss or 0.0, args.burst_loss or 0.0)]
    t0 = time.perf_counter()
    sigs = signals(args.data)
    print(f"{len(sigs)} signals (gaitpdb feet, the running plate); frames of {FRAME_SAMPLES} "
          f"samples; seeds {args.seeds[0]}-{args.seeds[-1]}; vs the same detector without loss")
    print(f"{'condition':28s} {'set':8s} {'steps':>6s} {'lost':>5s} {'inv':>5s} "
          f"{'1 smp':>7s} {'|count|':>7s} {'CT>50':>6s}")
    for loss, burst in conditions:
        totals: dict[str, dict[str, float]] = {}
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            for name, x, fs in sigs:
                # Force in N; the plate under both feet as the analysis runs it.
                opts: ContactOptions = {"unloaded_level": 0.0}
                if name.startswith("plate"):
                    opts.update(PLATE_UNDER_BOTH_FEET)
                clean = detect_contacts(x, sampling_rate_hz=fs, **opts)
                lossy = detect_contacts(
                    lose_frames(x, rng, loss, burst, args.burst_len), sampling_rate_hz=fs, **opts
                )
                row = compare(clean, lossy, fs)
                key = name.split()[0]
                acc = totals.setdefault(key, dict.fromkeys(row, 0.0))
                for k, v in row.items():
                    acc[k] += v
        label = f"loss={loss:g} burst={burst:g}/{args.burst_len:g}"
        for key, acc in totals.items():
            print(f"{label:28s} {key:8s} {acc['n']:6.0f} {acc['lost']:5.0f} "
                  f"{acc['invented']:5.0f} {100 * acc['one_sample'] / acc['n']:6.2f}% "
                  f"{acc['count_off']:7.0f} {acc['ct_off']:6.0f}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
