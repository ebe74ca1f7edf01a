"""Validate the contact detector on public gait recordings and print the figures.

Reads ``../shared/data`` relative to the repository root (see that folder's README.md):

- gaitndd (PhysioNet, footswitches, 300 Hz): left heel strikes vs the ``.ts`` annotations;
- Fukuchi et al. 2017 RBDS running force plate (300 Hz): counts, contact and flight times, and
  agreement with an offline 20 N reference threshold (the usual force-plate gold standard);
- gaitpdb (PhysioNet, force insoles, 100 Hz): left vs right contact counts per file;
- a synthetic insole signal with known true contact instants: threshold crossing vs
  extrapolation to the swing level.

Usage::

    python bench/events_validation.py            # defaults
    python bench/events_validation.py --compare  # also: extrapolation on/off, on_fraction
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from insole.core.events import PLATE_UNDER_BOTH_FEET, Contacts, detect_contacts  # noqa: E402
from insole.sources.importers.physionet import (  # noqa: E402
    read_gaitndd,
    read_gaitndd_annotations,
    read_gaitpdb,
)
from insole.sources.importers.table import read_table  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
GAITNDD_RECORDS = ("control1", "hunt1", "park1")
GAITNDD_FROM_S = 22.0
MATCH_TOLERANCE_S = 0.050
#: A single force plate under a runner: the gap between contacts is the flight (~0.1 s), not a
#: foot's swing, so the swing gate is off and only the refractory period bridges chatter.
FORCE_PLATE_OPTIONS = dict(PLATE_UNDER_BOTH_FEET)  # as the analysis runs such a plate
FUKUCHI_FILE = "running_forceplate/RBDS001runT25forces.txt"
FUKUCHI_RATE_HZ = 300.0


def match_events(
    detected_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Match each reference event to the nearest unused detection within the tolerance.

    Returns the indices (into detected_s, reference_s) of the matched pairs.
    """
    det_idx, ref_idx = [], []
    used = np.zeros(detected_s.size, dtype=bool)
    for r, t in enumerate(reference_s):
        if detected_s.size == 0:
            break
        order = np.argsort(np.abs(detected_s - t))
        for d in order[:3]:
            if abs(detected_s[d] - t) > tolerance_s:
                break
            if not used[d]:
                used[d] = True
                det_idx.append(int(d))
                ref_idx.append(r)
                break
    return np.array(det_idx, dtype=int), np.array(ref_idx, dtype=int)


def gaitndd_figures(record: str, **options: object) -> dict[str, float]:
    """Left heel strikes of one gaitndd record vs its annotations."""
    left, right, fs, _ = read_gaitndd(DATA / "gaitndd" / record)
    ann = read_gaitndd_annotations(DATA / "gaitndd" / record)
    reference = ann["elapsed_s"]
    contacts = detect_contacts(left, sampling_rate_hz=fs, **options)  # type: ignore[arg-type]
    right_contacts = detect_contacts(right, sampling_rate_hz=fs, **options)  # type: ignore[arg-type]
    end_s = reference[-1] + 0.5
    ref = reference[(reference >= GAITNDD_FROM_S) & (reference <= end_s)]
    hs = contacts.heel_strike_s
    det = hs[(hs >= GAITNDD_FROM_S - MATCH_TOLERANCE_S) & (hs <= end_s)]
    d, r = match_events(det, ref, MATCH_TOLERANCE_S)
    offsets = det[d] - ref[r]
    # Toe-off of each annotated stride: stride start + left stance.
    ref_to = reference - ann["left_stride_s"] + ann["left_stance_s"]
    ref_to = ref_to[(ref_to >= GAITNDD_FROM_S) & (ref_to <= end_s)]
    to = contacts.toe_off_s
    d_to, r_to = match_events(to, ref_to, MATCH_TOLERANCE_S)
    to_offsets = to[d_to] - ref_to[r_to]
    # Strides: left annotations vs right contacts over the annotated span (count only).
    span = (reference[0] - ann["left_stride_s"][0], reference[-1])
    n_right = int(
        np.sum(
            (right_contacts.heel_strike_s >= span[0]) & (right_contacts.heel_strike_s <= span[1])
        )
    )
    return {
        "n_annotations": float(ref.size),
        "n_detected": float(det.size),
        "share_matched": d.size / ref.size,
        "share_detections_matched": d.size / max(det.size, 1),
        "median_offset_ms": 1000 * float(np.median(offsets)) if offsets.size else np.nan,
        "mae_ms": 1000 * float(np.mean(np.abs(offsets))) if offsets.size else np.nan,
        "p95_abs_ms": 1000 * float(np.percentile(np.abs(offsets), 95)) if offsets.size else np.nan,
        "to_share_matched": d_to.size / max(ref_to.size, 1),
        "to_median_offset_ms": 1000 * float(np.median(to_offsets)) if to_offsets.size else np.nan,
        "to_mae_ms": 1000 * float(np.mean(np.abs(to_offsets))) if to_offsets.size else np.nan,
        "n_right_in_span": float(n_right),
        "n_strides_in_span": float(reference.size + 1),
    }


def reference_threshold_contacts(
    force_n: np.ndarray,
    fs: float,
    threshold_n: float = 20.0,
    min_gap_s: float = 0.02,
    min_contact_s: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Offline gold-standard style contacts: force above a fixed threshold (20 N).

    Crossings are interpolated linearly; gaps shorter than ``min_gap_s`` are closed and
    contacts shorter than ``min_contact_s`` dropped (the noise handling any offline analysis
    needs). Contacts touching the ends of the record are dropped.
    """
    above = force_n > threshold_n
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    ups = edges[~above[edges]] + 1  # first sample above
    downs = edges[above[edges]] + 1  # first sample below
    if downs.size and ups.size and downs[0] < ups[0]:
        downs = downs[1:]
    n = min(ups.size, downs.size)
    ups, downs = ups[:n], downs[:n]
    keep_up, keep_down = [ups[0]], []
    for u, dn_prev in zip(ups[1:], downs[:-1], strict=True):
        if (u - dn_prev) / fs < min_gap_s:
            continue
        keep_down.append(dn_prev)
        keep_up.append(u)
    keep_down.append(downs[-1])
    ups, downs = np.array(keep_up), np.array(keep_down)
    ok = (downs - ups) / fs >= min_contact_s
    ups, downs = ups[ok], downs[ok]

    def cross(i: np.ndarray) -> np.ndarray:
        x0, x1 = force_n[i - 1], force_n[i]
        return (i - 1 + (threshold_n - x0) / (x1 - x0)) / fs

    return cross(ups), cross(downs)


def fukuchi_figures(**options: object) -> dict[str, float]:
    """Running force plate: counts, contact/flight times, agreement with a 20 N reference."""
    (fy,), fs = read_table(DATA / FUKUCHI_FILE, columns=["Fy"], sampling_rate_hz=FUKUCHI_RATE_HZ)
    assert fs is not None
    merged = {**options, **FORCE_PLATE_OPTIONS}
    c = detect_contacts(fy, sampling_rate_hz=fs, **merged)  # type: ignore[arg-type]
    ref_on, ref_off = reference_threshold_contacts(fy, fs)
    d, r = match_events(c.heel_strike_s, ref_on, 0.05)
    hs_err = c.heel_strike_s[d] - ref_on[r]
    to_err = c.toe_off_s[d] - ref_off[r]
    n_impact = int(np.sum(np.isfinite(c.impact_peak_n)))
    return {
        "n_contacts": float(len(c)),
        "n_reference": float(ref_on.size),
        "n_matched": float(d.size),
        "contact_s_median": float(np.median(c.contact_s)),
        "contact_s_min": float(np.min(c.contact_s)),
        "contact_s_max": float(np.max(c.contact_s)),
        "flight_s_median": float(np.median(c.swing_s)),
        "flight_s_min": float(np.min(c.swing_s)),
        "flight_s_max": float(np.max(c.swing_s)),
        "hs_median_ms": 1000 * float(np.median(hs_err)),
        "hs_mae_ms": 1000 * float(np.mean(np.abs(hs_err))),
        "to_median_ms": 1000 * float(np.median(to_err)),
        "to_mae_ms": 1000 * float(np.mean(np.abs(to_err))),
        "n_impact_peaks": float(n_impact),
    }


def gaitpdb_figures(**options: object) -> list[tuple[str, int, int]]:
    """Left and right contact counts of every gaitpdb file present."""
    rows = []
    for path in sorted((DATA / "gaitpdb").glob("*_*.txt")):
        _, left, right, fs = read_gaitpdb(path)
        n_left = len(detect_contacts(left.sum(axis=1), sampling_rate_hz=fs, **options))  # type: ignore[arg-type]
        n_right = len(detect_contacts(right.sum(axis=1), sampling_rate_hz=fs, **options))  # type: ignore[arg-type]
        rows.append((path.stem, n_left, n_right))
    return rows


def _contact_shape(phase: np.ndarray, rearfoot: bool) -> np.ndarray:
    """Vertical force over one contact (phase 0-1) in body-weight multiples of the peak.

    Active peak: sin(pi phase)^1.5. Rearfoot strikes add an impact transient at 10 % of the
    contact (about 27 ms into a 0.27 s contact) with a dip of about 20 % after it.
    """
    active = np.sin(np.pi * phase) ** 1.5
    if not rearfoot:
        return active
    ramp = np.sin(np.pi * phase) / np.sin(np.pi * 0.1)  # keeps the force 0 at both ends
    return active + 0.45 * np.exp(-0.5 * ((phase - 0.1) / 0.035) ** 2) * ramp


def synthetic_insole(
    fs: float = 200.0, duration_s: float = 120.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A running insole signal with known true contact instants and impact peaks.

    Each contact (0.25-0.30 s, stride 0.68-0.74 s) has the shape of :func:`_contact_shape`;
    every other contact is a rearfoot strike with an impact transient.
    The force passes through an FSR-like response (compressive power law), a slow gain drift,
    a residual swing load of 17 N and white noise (4 N). Returns (force_n, true_on_s,
    true_off_s, true_impact_s) with NaN impact times for the forefoot strikes.
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    force = np.zeros(n)
    on, off, impact = [], [], []
    t0 = 0.4
    step = 0
    while t0 < duration_s - 1.0:
        contact = rng.uniform(0.25, 0.30)
        stride = rng.uniform(0.68, 0.74)
        m = (t >= t0) & (t <= t0 + contact)
        phase = (t[m] - t0) / contact
        bw = 2.5 * 700.0 * rng.uniform(0.9, 1.1)
        curve = _contact_shape(phase, step % 2 == 0) * bw
        if step % 2 == 0:  # rearfoot strike: the impact peak is the first local maximum
            fine = np.linspace(0.0, 0.35, 3501)
            first_max = int(np.flatnonzero(np.diff(_contact_shape(fine, True)) < 0)[0])
            impact.append(t0 + contact * fine[first_max])
        else:
            impact.append(np.nan)
        force[m] = curve
        on.append(t0)
        off.append(t0 + contact)
        t0 += stride
        step += 1
    sensed = 2600.0 * (1 - np.exp(-((force / 2600.0) ** 0.85)))  # FSR-like compression
    sensed *= 1 + 0.05 * np.sin(2 * np.pi * t / 60)  # slow gain drift
    sensed += 17.0 + rng.normal(0, 4.0, n)  # residual swing load + noise
    return sensed, np.array(on), np.array(off), np.array(impact)


def synthetic_figures(**options: object) -> dict[str, float]:
    """Timing errors against the synthetic signal's true contact instants."""
    fs = 200.0
    x, on, off, impact = synthetic_insole(fs)
    c: Contacts = detect_contacts(x, sampling_rate_hz=fs, **options)  # type: ignore[arg-type]
    d, r = match_events(c.heel_strike_s, on, 0.05)
    hs_err = c.heel_strike_s[d] - on[r]
    to_err = c.toe_off_s[d] - off[r]
    has_true = np.isfinite(impact[r])
    has_found = np.isfinite(c.impact_peak_s[d])
    impact_err = c.impact_peak_s[d][has_true & has_found] - impact[r][has_true & has_found]
    return {
        "n_true": float(on.size),
        "n_detected": float(len(c)),
        "hs_median_ms": 1000 * float(np.median(hs_err)),
        "hs_mae_ms": 1000 * float(np.mean(np.abs(hs_err))),
        "to_median_ms": 1000 * float(np.median(to_err)),
        "to_mae_ms": 1000 * float(np.mean(np.abs(to_err))),
        "n_impact_true": float(np.sum(has_true)),
        "n_impact_hit": float(np.sum(has_true & has_found)),
        "n_impact_false": float(np.sum(~has_true & has_found)),
        "impact_median_ms": 1000 * float(np.median(impact_err)) if impact_err.size else np.nan,
    }


def simulator_figures(gait: str, strike: str, **options: object) -> dict[str, float] | None:
    """Timing errors against the project's gait simulator (``insole.sources.sim``), if present.

    The detector sees what the pipeline will see: ADC counts converted with the insole's FSR
    calibration and summed over the sensors (so FSR hysteresis and noise are included).
    """
    try:
        from insole.sources.sim.gait import GaitConfig, counts_to_force, simulate_gait
    except ImportError:
        return None
    fs = 200.0
    sim = simulate_gait(
        GaitConfig(duration_s=120.0, gait=gait, strike=strike, sample_rate_hz=fs, seed=11)  # type: ignore[arg-type]
    )
    hs_err, to_err, n_true, n_found, impact_after = [], [], 0, 0, []
    for side in ("left", "right"):
        ins = sim[side]
        force = counts_to_force(ins.counts, ins.calibration, dtype=np.float64).sum(axis=1)
        c = detect_contacts(force, sampling_rate_hz=fs, **options)  # type: ignore[arg-type]
        truth = sim.truth.for_side(side)
        d, r = match_events(c.heel_strike_s, truth.heel_strike_s, 0.05)
        hs_err.append(c.heel_strike_s[d] - truth.heel_strike_s[r])
        to_err.append(c.toe_off_s[d] - truth.toe_off_s[r])
        impact_after.append(c.impact_peak_s[d] - truth.heel_strike_s[r])
        n_true += len(truth)
        n_found += d.size
    hs, to = np.concatenate(hs_err), np.concatenate(to_err)
    after = np.concatenate(impact_after)
    found = np.isfinite(after)
    return {
        "n_true": float(n_true),
        "n_matched": float(n_found),
        "hs_median_ms": 1000 * float(np.median(hs)),
        "hs_mae_ms": 1000 * float(np.mean(np.abs(hs))),
        "to_median_ms": 1000 * float(np.median(to)),
        "to_mae_ms": 1000 * float(np.mean(np.abs(to))),
        "impact_share": float(np.mean(found)),
        "impact_after_ms": 1000 * float(np.median(after[found])) if found.any() else np.nan,
    }


def print_all(**options: object) -> None:
    label = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"
    print(f"\n=== {label} ===")
    if (DATA / "gaitndd").is_dir():
        print("gaitndd left heel strikes vs .ts annotations (after 22 s, match within 50 ms)")
        header = ("record", "ann", "det", "matched", "det.ok", "median", "MAE", "p95")
        print("  {:9} {:>4} {:>4} {:>8} {:>7} {:>7} {:>6} {:>6}  right/strides".format(*header))
        for record in GAITNDD_RECORDS:
            f = gaitndd_figures(record, **options)
            print(
                f"  {record:9} {f['n_annotations']:4.0f} {f['n_detected']:4.0f} "
                f"{100 * f['share_matched']:7.1f}% {100 * f['share_detections_matched']:6.1f}% "
                f"{f['median_offset_ms']:+6.1f}ms {f['mae_ms']:5.1f} {f['p95_abs_ms']:5.1f}  "
                f"{f['n_right_in_span']:.0f}/{f['n_strides_in_span']:.0f}"
            )
    if (DATA / FUKUCHI_FILE).is_file():
        f = fukuchi_figures(**options)
        print(f"Fukuchi RBDS001 running 2.5 m/s, force plate Fy ({FORCE_PLATE_OPTIONS})")
        print(
            f"  contacts {f['n_contacts']:.0f} (20 N reference {f['n_reference']:.0f}, matched "
            f"{f['n_matched']:.0f}); contact {f['contact_s_median']:.3f} s "
            f"[{f['contact_s_min']:.3f}-{f['contact_s_max']:.3f}]; flight "
            f"{f['flight_s_median']:.3f} s [{f['flight_s_min']:.3f}-{f['flight_s_max']:.3f}]"
        )
        print(
            f"  vs 20 N reference: heel strike median {f['hs_median_ms']:+.1f} ms, MAE "
            f"{f['hs_mae_ms']:.1f} ms; toe-off median {f['to_median_ms']:+.1f} ms, MAE "
            f"{f['to_mae_ms']:.1f} ms; impact peaks {f['n_impact_peaks']:.0f}"
        )
    if (DATA / "gaitpdb").is_dir():
        rows = gaitpdb_figures(**options)
        print("gaitpdb contact counts  " + "  ".join(f"{s}: L {nl} R {nr}" for s, nl, nr in rows))
    for gait, strike in (("run", "rearfoot"), ("run", "forefoot"), ("walk", "rearfoot")):
        g = simulator_figures(gait, strike, **options)
        if g is None:
            break
        print(
            f"insole.sources.sim {gait} {strike} 200 Hz, both feet: matched {g['n_matched']:.0f}/"
            f"{g['n_true']:.0f}; heel strike median {g['hs_median_ms']:+.1f} ms MAE "
            f"{g['hs_mae_ms']:.1f}; toe-off median {g['to_median_ms']:+.1f} ms MAE "
            f"{g['to_mae_ms']:.1f}; impact peak in {100 * g['impact_share']:.0f} % of contacts, "
            f"median {g['impact_after_ms']:.0f} ms after contact"
        )
    f = synthetic_figures(**options)
    print(
        f"synthetic insole 200 Hz (17 N swing load, FSR response): contacts "
        f"{f['n_detected']:.0f}/{f['n_true']:.0f}; heel strike median {f['hs_median_ms']:+.1f} ms "
        f"MAE {f['hs_mae_ms']:.1f}; toe-off median {f['to_median_ms']:+.1f} ms MAE "
        f"{f['to_mae_ms']:.1f}; impact peaks found {f['n_impact_hit']:.0f}/{f['n_impact_true']:.0f}"
        f" (false {f['n_impact_false']:.0f}, median {f['impact_median_ms']:+.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also compare option variants")
    args = parser.parse_args()
    print_all()
    if args.compare:
        print_all(extrapolate=False)
        for frac in (0.05, 0.2):
            print_all(on_fraction=frac)
        print_all(edge_fraction=0.5)
        print_all(lowpass_hz=20.0)


if __name__ == "__main__":
    main()
