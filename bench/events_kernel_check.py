"""Check that the compiled contact detector gives exactly the results of a reference copy.

The reference is a copy of ``insole/core/events.py`` from before the port to compiled kernels
(``cp insole/core/events.py /tmp/events_ref.py`` on the old tree), imported from the path given;
the script exits cleanly (status 0, one line) when it is absent. Both detectors run on:

- the simulated hour (``/tmp/hour.insrec``, made by ``bench/analyze_speed.py``; skipped if
  absent): both insoles as the pipeline feeds them (chunks recorded from
  ``SessionAnalysis().run``, lost frames as NaN), and as whole arrays (read, decode, calibrate
  as ``bench/analyze_speed.py`` does);
- every record ``bench/validate.py`` uses in ``../shared/data``: gaitpdb (both feet), gaitndd
  (both feet), the running force plate;
- fresh simulations with frame loss and burst loss (running and walking), fed as the pipeline
  feeds them;
- the real records with random runs of lost samples (NaN) injected;
- random chunkings (1 to 40 samples) of the real records and of the simulations.

For every case it compares the contacts (count, and the largest difference of every `Contact`
field, None against a value counted as a mismatch), the early heel strikes
(`ContactDetector.pop_heel_strikes` after every chunk, in order) and the counters
``cut_at_start_``, ``cut_at_end_`` and ``retracted_heel_strikes_``.

Run: .venv/bin/python bench/events_kernel_check.py [/tmp/events_ref.py] [--quick]
Exit status 1 if any count differs or any time differs by more than 1e-9 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from insole.core import events as new_events  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
HOUR = Path("/tmp/hour.insrec")
FIELDS = [f.name for f in fields(new_events.Contact)]
TOLERANCE_S = 1e-9
#: Non-default detector options also compared (the low-pass filter, the threshold crossings
#: without extrapolation, the force-plate gates of tests/test_events_realdata.py, others).
OPTION_SETS: list[dict[str, Any]] = [
    {"lowpass_hz": 20.0},
    {"extrapolate": False},
    {"min_swing_s": 0.0, "refractory_s": 0.05},
    {"on_fraction": 0.15, "n_level_contacts": 3, "max_contact_s": 1.5, "split_factor": 1.3},
]

Feeds = list[np.ndarray]


def load_reference(path: Path) -> ModuleType | None:
    """Import the reference detector module from ``path`` (None if absent)."""
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("insole_events_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(module: ModuleType, feeds: Feeds, fs: float, **options: Any) -> dict[str, Any]:
    """Feed ``feeds`` to a fresh detector of ``module``; return contacts, early, counters."""
    det = module.ContactDetector(sampling_rate_hz=fs, **options)
    contacts: list[Any] = []
    early: list[float] = []
    for chunk in feeds:
        contacts += det.feed(chunk)
        early += det.pop_heel_strikes()
    levels = det.levels_n_
    contacts += det.finish()
    early += det.pop_heel_strikes()
    return {
        "contacts": contacts,
        "early": early,
        "counters": (det.cut_at_start_, det.cut_at_end_, det.retracted_heel_strikes_),
        "levels": levels,
    }


#: Rare paths of the reference detector whose use is counted (method, what counts as taken).
RARE_PATHS = {
    "_match_edge": "placed a heel strike by matching recent edges (lost samples)",
    "_emit_pieces": "re-cut a long contact at valleys",
    "_check_stuck": "emitted at a stuck-contact check (standing, or re-cut)",
    "_released": "moved a heel strike after a released touch",
    "_scuff": "dropped a scuff before the real contact",
    "_early_heel_strike": "announced early heel strikes (calls)",
    "_impact_peak": "found an impact peak",
}


def count_rare_paths(module: ModuleType) -> dict[str, int]:
    """Wrap the reference detector's rare paths to count how often they are taken."""
    counts = dict.fromkeys(RARE_PATHS, 0)
    cls = module.ContactDetector
    for name in RARE_PATHS:
        original = getattr(cls, name)

        def wrapper(self: Any, *a: Any, _name: str = name, _f: Any = original) -> Any:
            result = _f(self, *a)
            if result not in (None, False, []):
                counts[_name] += 1
            elif _name == "_early_heel_strike":
                counts[_name] += 1
            return result

        setattr(cls, name, wrapper)
    return counts


class Report:
    """Largest differences over all cases, per field."""

    def __init__(self) -> None:
        self.max_diff: dict[str, float] = dict.fromkeys(FIELDS + ["early_s", "levels"], 0.0)
        self.mismatch: dict[str, int] = dict.fromkeys(FIELDS, 0)
        self.count_diffs: list[str] = []
        self.cases = 0
        self.contacts = 0
        self.early = 0

    def compare(self, name: str, ref: dict[str, Any], new: dict[str, Any]) -> None:
        """Compare one case's results."""
        self.cases += 1
        a, b = ref["contacts"], new["contacts"]
        self.contacts += len(a)
        self.early += len(ref["early"])
        if len(a) != len(b):
            self.count_diffs.append(f"{name}: {len(a)} reference vs {len(b)} new contacts")
        for ca, cb in zip(a, b, strict=False):
            for f in FIELDS:
                va, vb = getattr(ca, f), getattr(cb, f)
                if va is None or vb is None or isinstance(va, bool):
                    self.mismatch[f] += va != vb
                    continue
                d = abs(va - vb)
                if math.isnan(d):
                    self.mismatch[f] += not (math.isnan(va) and math.isnan(vb))
                    continue
                self.max_diff[f] = max(self.max_diff[f], d)
        ea, eb = ref["early"], new["early"]
        if len(ea) != len(eb):
            self.count_diffs.append(f"{name}: {len(ea)} vs {len(eb)} early heel strikes")
        for ta, tb in zip(ea, eb, strict=False):
            self.max_diff["early_s"] = max(self.max_diff["early_s"], abs(ta - tb))
        if ref["counters"] != new["counters"]:
            self.count_diffs.append(f"{name}: counters {ref['counters']} vs {new['counters']}")
        la, lb = ref["levels"], new["levels"]
        if (la is None) != (lb is None):
            self.count_diffs.append(f"{name}: levels {la} vs {lb}")
        elif la is not None:
            d = max(abs(x - y) for x, y in zip(la, lb, strict=True))
            self.max_diff["levels"] = max(self.max_diff["levels"], d)

    def ok(self) -> bool:
        """True if the counts agree and every time is within the tolerance."""
        times = ["heel_strike_s", "toe_off_s", "impact_peak_s", "early_s"]
        return (
            not self.count_diffs
            and not any(self.mismatch.values())
            and all(self.max_diff[f] <= TOLERANCE_S for f in times)
        )

    def print(self) -> None:
        """Print the summary."""
        print(
            f"{self.cases} cases, {self.contacts} reference contacts, "
            f"{self.early} early heel strikes"
        )
        print("count differences:", len(self.count_diffs))
        for line in self.count_diffs[:20]:
            print("  ", line)
        print("largest |difference| per field (None-vs-value mismatches):")
        for f, d in self.max_diff.items():
            extra = f" ({self.mismatch[f]} mismatches)" if self.mismatch.get(f) else ""
            print(f"  {f:<18} {d:.3g}{extra}")
        print("IDENTICAL (|dt| <= 1e-9 s, same counts)" if self.ok() else "DIFFERENT")


def pipeline_feeds(path: Path) -> list[tuple[str, float, Feeds]]:
    """The chunks each detector of ``SessionAnalysis().run(path)`` is fed, in order."""
    from insole.core import pipeline
    from insole.session.analysis import SessionAnalysis

    recorded: list[tuple[float, Feeds]] = []
    base = pipeline.ContactDetector

    class Recording(base):  # type: ignore[misc,valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._feeds: Feeds = []
            recorded.append((float(kwargs["sampling_rate_hz"]), self._feeds))

        def feed(self, force_n: Any) -> list[Any]:
            self._feeds.append(np.array(force_n, dtype=np.float64))
            return super().feed(force_n)

        def reset(self) -> Any:
            if getattr(self, "_feeds", None):  # a new stream: record it separately
                self._feeds = []
                recorded.append((float(self.sampling_rate_hz), self._feeds))
            return super().reset()

    pipeline.ContactDetector = Recording  # type: ignore[misc]
    try:
        SessionAnalysis(keep_records=False).run(path)
    finally:
        pipeline.ContactDetector = base  # type: ignore[misc]
    return [(f"{path.name}#{i}", fs, feeds) for i, (fs, feeds) in enumerate(recorded) if feeds]


def hour_arrays() -> list[tuple[str, float, Feeds]]:
    """The hour's total force per device, whole (as bench/analyze_speed.py loads it)."""
    from analyze_speed import load

    return [(f"hour-array#{i}", 200.0, [x]) for i, x in enumerate(load(HOUR))]


def real_records() -> list[tuple[str, float, np.ndarray]]:
    """Every signal bench/validate.py uses: (name, sampling rate, force)."""
    from validate import GAITNDD_RECORDS, PLATE_FILE, PLATE_RATE_HZ

    from insole.sources.importers.physionet import read_gaitndd, read_gaitpdb
    from insole.sources.importers.table import read_table

    out = []
    for path in sorted((DATA / "gaitpdb").glob("*_*.txt")):
        _, left, right, fs = read_gaitpdb(path)
        out += [(f"{path.stem}-L", fs, left.sum(axis=1)), (f"{path.stem}-R", fs, right.sum(axis=1))]
    for record in GAITNDD_RECORDS:
        left, right, fs, _ = read_gaitndd(DATA / "gaitndd" / record)
        out += [(f"{record}-L", fs, left), (f"{record}-R", fs, right)]
    (fy,), fs_plate = read_table(PLATE_FILE, columns=["Fy"], sampling_rate_hz=PLATE_RATE_HZ)
    out.append(("RBDS001-plate", float(fs_plate or PLATE_RATE_HZ), fy))
    return [(n, float(f), np.asarray(x, dtype=np.float64)) for n, f, x in out]


def with_loss(x: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """``x`` with random runs of 1-12 samples set to NaN (about ``fraction`` of them)."""
    y = x.copy()
    n_runs = int(fraction * x.size / 6)
    for start in rng.integers(0, x.size, n_runs):
        y[start : start + int(rng.integers(1, 13))] = np.nan
    return y


def random_chunks(x: np.ndarray, rng: np.random.Generator, most: int = 40) -> Feeds:
    """``x`` split at random, 1 to ``most`` samples per chunk."""
    cuts = np.cumsum(rng.integers(1, most + 1, x.size // 2 + 1))
    return np.split(x, cuts[cuts < x.size])


def simulations(tmp: Path, quick: bool) -> list[tuple[str, float, Feeds]]:
    """Fresh simulations with loss, as the pipeline feeds them."""
    from insole.commands.simulate import SimulationRequest, simulate_to_file

    duration = 120.0 if quick else 600.0
    requests = [
        SimulationRequest(duration_s=duration, seed=11, loss=0.05),
        SimulationRequest(duration_s=duration, seed=12, loss=0.02, burst_loss=0.01),
        SimulationRequest(duration_s=duration, seed=13, gait="walk", loss=0.03, strike="mixed"),
        SimulationRequest(duration_s=duration, seed=14, strike="forefoot", loss=0.10),
    ]
    out = []
    for i, request in enumerate(requests):
        path = tmp / f"sim{i}.insrec"
        simulate_to_file(request, path)
        out += pipeline_feeds(path)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference", nargs="?", type=Path, default=Path("/tmp/events_ref.py"))
    ap.add_argument("--quick", action="store_true", help="shorter simulations, fewer chunkings")
    args = ap.parse_args(argv)
    ref = load_reference(args.reference)
    # The reference warns on all-NaN stretches (np.nanmax); the results are what count here.
    warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
    if ref is None:
        print(f"skipped: no reference detector at {args.reference}")
        return 0
    report = Report()
    rare = count_rare_paths(ref)
    rng = np.random.default_rng(0)
    timings = {"reference": 0.0, "new": 0.0}

    def check(name: str, fs: float, feeds: Feeds, **options: Any) -> None:
        t = time.perf_counter()
        a = run(ref, feeds, fs, **options)
        timings["reference"] += time.perf_counter() - t
        t = time.perf_counter()
        b = run(new_events, feeds, fs, **options)
        timings["new"] += time.perf_counter() - t
        report.compare(name, a, b)

    def section(title: str, cases: Iterable[tuple[str, float, Feeds]]) -> None:
        before = report.cases, report.contacts, len(report.count_diffs)
        for name, fs, feeds in cases:
            check(name, fs, feeds)
        print(
            f"{title}: {report.cases - before[0]} cases, {report.contacts - before[1]} contacts, "
            f"{len(report.count_diffs) - before[2]} count differences"
        )

    if HOUR.exists():
        section("hour, as the pipeline feeds it", pipeline_feeds(HOUR))
        section("hour, whole arrays", hour_arrays())
    else:
        print(f"hour: {HOUR} absent (make it with bench/analyze_speed.py); skipped")
    records = real_records()
    section("real records, whole", ((n, fs, [x]) for n, fs, x in records))
    n_chunkings = 1 if args.quick else 3
    section(
        "real records, random chunkings",
        (
            (f"{n}/chunks{k}", fs, random_chunks(x, rng))
            for n, fs, x in records
            for k in range(n_chunkings)
        ),
    )
    section(
        "real records with lost samples (NaN runs)",
        (
            (f"{n}/loss{frac}", fs, chunker(with_loss(x, rng, frac)))
            for n, fs, x in records
            for frac, chunker in (
                (0.01, lambda y: [y]),
                (0.05, lambda y: random_chunks(y, rng)),
            )
        ),
    )
    before = report.cases, len(report.count_diffs)
    for i, (name, fs, x) in enumerate(records):
        if i % 3:
            continue
        for options in OPTION_SETS:
            check(f"{name}/{options}", fs, random_chunks(x, rng), **options)
    print(
        f"every third real record with other options {OPTION_SETS}: "
        f"{report.cases - before[0]} cases, {len(report.count_diffs) - before[1]} count differences"
    )
    with tempfile.TemporaryDirectory() as tmp:
        sims = simulations(Path(tmp), args.quick)
    section("simulations with loss, as the pipeline feeds them", sims)
    chunked: list[tuple[str, float, Feeds]] = []
    for name, fs, feeds in sims:
        x = np.concatenate(feeds)
        chunked.append((f"{name}/chunks", fs, random_chunks(x, rng)))
        chunked.append((f"{name}/per-sample", fs, random_chunks(x, rng, most=1)))
    section("simulations, random chunkings and one sample at a time", chunked)
    print(f"detector time: reference {timings['reference']:.1f} s, new {timings['new']:.1f} s")
    print("rare paths taken by the reference (times):")
    for name, what in RARE_PATHS.items():
        print(f"  {rare[name]:>7}  {what}")
    report.print()
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
