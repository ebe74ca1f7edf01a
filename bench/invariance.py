"""Does the detector hold on signals it was not looked at with? `bench/validate.py` again, with
the detector's input changed in ways a new insole, runner or dataset changes it.

The references stay those of the unchanged signals (`bench/validate.py`); only what
``detect_contacts`` sees is changed:

gain
    Every value times a factor (0.5, 3): a lighter or heavier runner, another sensor
    sensitivity, counts instead of newtons. The detector has no threshold in absolute units, so
    every figure must stay the same.
offset
    A constant added (20 % of the 5-95 % range), for the signals without a true zero only
    (gaitndd footswitches: a supply or amplifier offset). Signals in newtons (gaitpdb, the plate)
    keep their zero: the pipeline passes it as ``unloaded_level``, moved with the offset here.
residual
    A constant of 5 % of the range added to every signal, the detector told nothing (its
    ``unloaded_level`` stays 0 N): an insole whose unloaded sensors keep a residual load (a
    tight shoe, a sensor offset), so its swing rests there instead of at 0 N. For the
    footswitches (no true zero) it is one more offset.
drift
    A creep from 0 to 10 % of the range over the record, the detector told nothing: a sensor
    whose baseline drifts.
rate
    Resampled (linear interpolation) to 100, 200 and 500 Hz: other insoles' sampling rates.
    Timing may change by the interpolation, within a sample or two of the new rate.
noise
    White Gaussian noise of 1 % and 2 % of the 5-95 % range added (cheap FSR insoles). Counts
    should hold; timing against the noise-free references moves later, because light first
    touches below 3 noise SD can no longer be told from the swing (so would any onset rule).

Printed: one line per dataset and change, with the lowest match rate over records (feet),
how many records are under 98 % and under 97 %, the highest extras, the median of the records'
median timing errors, the largest |left - right| count difference and, for counts, steps lost
or invented (at 250 ms) over all records. gain and offset print ``identical`` when every figure
of every record equals the unchanged run's.

Run: .venv/bin/python bench/invariance.py [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validate  # noqa: E402  (bench/ is not a package)

#: Seed of the added noise (any fixed one: the figures are for one draw).
NOISE_SEED = 1

CHANGES: list[tuple[str, dict[str, float]]] = [
    ("unchanged", {}),
    ("gain x0.5", {"gain": 0.5}),
    ("gain x3", {"gain": 3.0}),
    ("offset +20 %", {"offset": 0.2}),
    ("residual 5 %", {"residual": 0.05}),
    ("drift 10 %", {"drift": 0.1}),
    ("rate 100 Hz", {"rate": 100.0}),
    ("rate 200 Hz", {"rate": 200.0}),
    ("rate 500 Hz", {"rate": 500.0}),
    ("noise 1 %", {"noise": 0.01}),
    ("noise 2 %", {"noise": 0.02}),
]


def changed_detector(
    detect: Callable[..., Any], change: dict[str, float]
) -> Callable[..., Any]:
    """``detect`` (``detect_contacts``' signature) run on the changed signal."""

    def run(x: Any, *, sampling_rate_hz: float, **options: Any) -> Any:
        y = np.asarray(x, dtype=np.float64)
        fs = float(sampling_rate_hz)
        p5, p95 = np.nanpercentile(y, [5, 95])
        span = float(p95 - p5)
        gain = change.get("gain", 1.0)
        shift = change.get("offset", 0.0) * span
        y = y * gain + shift
        if options.get("unloaded_level") is not None:
            options["unloaded_level"] = options["unloaded_level"] * gain + shift
        # Not told to the detector: a residual load, a drifting baseline.
        y = y + change.get("residual", 0.0) * span * gain
        if change.get("drift"):
            y = y + np.linspace(0.0, change["drift"] * span * gain, y.size)
        if change.get("noise"):
            rng = np.random.default_rng(NOISE_SEED)
            y = y + rng.normal(0.0, change["noise"] * span * gain, y.size)
        if change.get("rate"):
            t = np.arange(y.size) / fs
            fs = change["rate"]
            y = np.interp(np.arange(0.0, t[-1], 1.0 / fs), t, y)  # NaN (invalid) stays NaN
        return detect(y, sampling_rate_hz=fs, **options)

    return run


@contextmanager
def detector_changed(change: dict[str, float]) -> Iterator[None]:
    """Make `bench/validate.py` run the detector on changed signals."""
    original = validate.detect_contacts
    validate.detect_contacts = changed_detector(original, change)
    try:
        yield
    finally:
        validate.detect_contacts = original


def figures(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Everything the rows report, floats rounded to 1e-9: what ``identical`` compares."""
    return [
        tuple(round(v, 9) if isinstance(v, float) else v for _, v in sorted(r.items()))
        for r in rows
    ]


def summary(name: str, rows: list[dict[str, Any]], same: bool | None) -> str:
    """One line of figures over a dataset's rows."""
    pct = np.array([r["pct_matched"] for r in rows])
    extras = np.array([r["pct_extras"] for r in rows])
    timing = np.array([r["median_ms"] for r in rows])
    lr = [abs(r["lr_diff"]) for r in rows if r.get("lr_diff") is not None]
    lost = sum(r["lost"] for r in rows)
    invented = sum(r["invented"] for r in rows)
    worst = min(rows, key=lambda r: r["pct_matched"])
    tag = "" if same is None else ("  identical" if same else "  CHANGED")
    return (
        f"  {name:13s} lowest {pct.min():5.1f} % ({worst['record']} {worst['side']}), "
        f"<98 %: {int((pct < 98).sum()):2d}, <97 %: {int((pct < 97).sum()):2d}, "
        f"extras max {extras.max():4.1f} %, timing {np.nanmedian(timing):+5.1f} ms, "
        f"|L-R| max {max(lr) if lr else 0}, lost/invented {lost}/{invented}{tag}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the figures of every change."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=validate.DATA, metavar="DIR",
                        help="data folder as for bench/validate.py (default: ../shared/data)")
    args = parser.parse_args(argv)
    datasets = ["gaitpdb", "gaitndd", "forceplate"]
    if not args.data.is_dir():
        print(f"validation data not found: {args.data}: put the shared data beside the clone "
              "(../shared/data) or pass --data DIR", file=sys.stderr)
        return 2
    base = validate.run(datasets, args.data)
    if not base:
        print(f"no records in {args.data}", file=sys.stderr)
        return 2
    results = {"unchanged": base}
    for name, change in CHANGES[1:]:
        with detector_changed(change):
            results[name] = validate.run(datasets, args.data)
    for dataset in base:
        print(f"{dataset}:")
        for name, change in CHANGES:
            if dataset != "gaitndd" and "offset" in change:
                continue  # force in N keeps its zero (see the module docstring)
            same = None
            if "gain" in change or "offset" in change:
                same = figures(results[name][dataset]) == figures(base[dataset])
            print(summary(name, results[name][dataset], same))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
