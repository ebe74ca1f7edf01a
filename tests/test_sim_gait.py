"""Tests for insole.sources.sim.gait: timing, force shapes, CoP, FSR model, effects, truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from insole.core.layouts import default_layout, single_sensor_layout
from insole.sources.sim.gait import (
    GaitConfig,
    GaitSimulation,
    counts_to_force,
    force_to_counts,
    simulate_gait,
)

SIDES = ("left", "right")


@pytest.fixture(scope="module")
def run_sim() -> GaitSimulation:
    return simulate_gait(GaitConfig(duration_s=90.0, seed=1))


@pytest.fixture(scope="module")
def fine_rearfoot() -> GaitSimulation:
    """Rearfoot running sampled at 2 kHz so curve features are resolved to 0.5 ms."""
    return simulate_gait(GaitConfig(duration_s=30.0, sample_rate_hz=2000.0, seed=2))


@pytest.fixture(scope="module")
def walk_sim() -> GaitSimulation:
    return simulate_gait(GaitConfig(duration_s=90.0, gait="walk", seed=3))


def contact_slices(sim: GaitSimulation, side: str) -> list[slice]:
    """Sample ranges strictly inside each true contact of one foot."""
    fs = sim.sample_rate_hz
    truth = sim.truth.for_side(side)
    return [
        slice(int(np.floor(a * fs)) + 1, int(np.ceil(b * fs)))
        for a, b in zip(truth.heel_strike_s, truth.toe_off_s, strict=True)
    ]


def sensor_cop_pct(sim: GaitSimulation, side: str) -> np.ndarray:
    """Antero-posterior CoP of the true sensor forces, % of foot length."""
    layout = sim.config.layout
    force = sim[side].force_n.astype(np.float64)
    return 100 * (force @ layout.y_mm) / force.sum(axis=1) / layout.foot_length_mm


def first_local_max(x: np.ndarray) -> int | None:
    d = np.diff(x)
    idx = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0))
    return int(idx[0]) + 1 if idx.size else None


# -- determinism and shapes ------------------------------------------------------------------


def test_same_config_gives_identical_output() -> None:
    config = GaitConfig(duration_s=20.0, strike="mixed", fatigue_pct=10, seed=7)
    a, b = simulate_gait(config), simulate_gait(config)
    for side in SIDES:
        np.testing.assert_array_equal(a[side].counts, b[side].counts)
        np.testing.assert_array_equal(a[side].force_n, b[side].force_n)
        assert a[side].calibration == b[side].calibration
    for name in ("heel_strike_s", "toe_off_s", "strike_index_pct", "peak_force_n"):
        np.testing.assert_array_equal(getattr(a.truth, name), getattr(b.truth, name))
    np.testing.assert_array_equal(a.truth.strike_pattern, b.truth.strike_pattern)
    other = simulate_gait(GaitConfig(duration_s=20.0, strike="mixed", fatigue_pct=10, seed=8))
    assert not np.array_equal(a.left.counts, other.left.counts)
    assert not np.array_equal(a.truth.heel_strike_s, other.truth.heel_strike_s)


def test_shapes_dtypes_and_times(run_sim: GaitSimulation) -> None:
    config = run_sim.config
    n = int(config.duration_s * config.sample_rate_hz)
    for side in SIDES:
        sig = run_sim[side]
        assert sig.side == side
        assert sig.counts.shape == (n, 16)
        assert sig.counts.dtype == np.uint16
        assert sig.force_n.shape == (n, 16)
        assert sig.force_n.dtype == np.float32
        np.testing.assert_allclose(sig.time_s, np.arange(n) / config.sample_rate_hz)
        assert int(sig.counts.max()) <= config.adc_max
    with pytest.raises(KeyError):
        run_sim["middle"]


def test_calibration_is_json_and_differs_between_insoles(run_sim: GaitSimulation) -> None:
    cal = run_sim.left.calibration
    assert json.loads(json.dumps(cal)) == cal
    assert cal["model"] == "fsr_divider_v1"
    assert cal["adc_max"] == 4095
    assert len(cal["ref_force_n"]) == len(cal["exponent"]) == 16
    ref_l = np.array(cal["ref_force_n"])
    ref_r = np.array(run_sim.right.calibration["ref_force_n"])
    assert not np.allclose(ref_l, ref_r)
    # Part-to-part spread: each sensor saturates within ±10 % of 600 kPa over its area.
    layout = run_sim.config.layout
    for side in SIDES:
        c = run_sim[side].calibration
        ratio = c["full_scale_ratio"]
        f_sat = np.array(c["ref_force_n"]) * (ratio / (1 - ratio)) ** (1 / np.array(c["exponent"]))
        pressure_kpa = f_sat / layout.area_mm2 * 1e3
        assert np.all((pressure_kpa > 539) & (pressure_kpa < 661))
        assert pressure_kpa.std() > 10  # sensors really differ


# -- timing ----------------------------------------------------------------------------------


def test_running_contact_and_flight_times(run_sim: GaitSimulation) -> None:
    truth = run_sim.truth
    contact = truth.contact_time_s
    assert 0.25 <= contact.mean() <= 0.30
    assert np.all((contact > 0.2) & (contact < 0.35))
    flight = truth.heel_strike_s[1:] - truth.toe_off_s[:-1]
    assert np.all(flight > 0)  # running: no double support
    assert 0.06 <= flight.mean() <= 0.13
    step_s = np.diff(truth.heel_strike_s)
    assert 60 / step_s.mean() == pytest.approx(170.0, rel=0.02)
    cv = step_s.std() / step_s.mean()
    assert 0.01 < cv < 0.05  # a few % step-to-step variability


def test_higher_cadence_shortens_contact() -> None:
    slow = simulate_gait(GaitConfig(duration_s=30.0, cadence_spm=160.0))
    fast = simulate_gait(GaitConfig(duration_s=30.0, cadence_spm=185.0))
    assert fast.truth.contact_time_s.mean() < slow.truth.contact_time_s.mean() - 0.01


def test_walking_stance_and_double_support(walk_sim: GaitSimulation) -> None:
    truth = walk_sim.truth
    assert walk_sim.config.cadence_spm == 110.0
    assert walk_sim.config.speed_mps == 1.3
    left = truth.for_side("left")
    stride_s = np.diff(left.heel_strike_s)
    assert 1.0 <= stride_s.mean() <= 1.3
    stance_pct = 100 * left.contact_time_s[:-1] / stride_s
    assert 57.0 <= stance_pct.mean() <= 65.0
    overlap = truth.toe_off_s[:-1] - truth.heel_strike_s[1:]
    assert np.all(overlap > 0)  # double support at every step


def test_walking_force_has_two_humps(walk_sim: GaitSimulation) -> None:
    bw = walk_sim.config.body_weight_n
    for side in SIDES:
        total = walk_sim[side].force_n.sum(axis=1) / bw
        for sl in contact_slices(walk_sim, side):
            f = total[sl]
            half = f.size // 2
            first, second = f[:half].max(), f[half:].max()
            valley = f[f.size // 3 : 2 * f.size // 3].min()
            assert 1.0 <= first <= 1.35
            assert 0.95 <= second <= 1.35
            assert valley < min(first, second) - 0.15


# -- force shapes ----------------------------------------------------------------------------


def test_rearfoot_impact_peak(fine_rearfoot: GaitSimulation) -> None:
    sim = fine_rearfoot
    bw = sim.config.body_weight_n
    fs = sim.sample_rate_hz
    n_checked = 0
    for side in SIDES:
        total = sim[side].force_n.sum(axis=1) / bw
        for t0 in sim.truth.for_side(side).heel_strike_s:
            start = int(np.ceil(t0 * fs))
            window = total[start : start + int(0.06 * fs)]
            peak = first_local_max(window)
            assert peak is not None
            t_peak_ms = 1000 * ((start + peak) / fs - t0)
            assert 19.5 <= t_peak_ms <= 30.5
            assert 1.5 <= window[peak] <= 2.0
            assert window[peak:].min() < window[peak] - 0.1  # a real peak, then a dip
            n_checked += 1
    assert n_checked > 80


@pytest.mark.parametrize("strike", ["forefoot", "midfoot"])
def test_no_impact_peak_without_heel_strike(strike: str) -> None:
    sim = simulate_gait(GaitConfig(duration_s=20.0, sample_rate_hz=2000.0, strike=strike))
    for side in SIDES:
        total = sim[side].force_n.sum(axis=1).astype(np.float64)
        for sl in contact_slices(sim, side):
            f = total[sl]
            rise = f[: int(np.argmax(f)) + 1]
            # The force rises monotonically to its single (active) peak.
            assert np.all(np.diff(rise) > -1e-3 * f.max())


def test_running_total_force_is_two_to_three_body_weights(run_sim: GaitSimulation) -> None:
    bw = run_sim.config.body_weight_n
    peak_bw = run_sim.truth.peak_force_n / bw
    assert 2.2 <= peak_bw.mean() <= 2.7
    assert np.all((peak_bw > 2.0) & (peak_bw < 3.0))
    # Truth peak is the peak of the sum of sensor forces.
    for side in SIDES:
        total = run_sim[side].force_n.sum(axis=1, dtype=np.float64)
        truth = run_sim.truth.for_side(side)
        for sl, peak in zip(contact_slices(run_sim, side), truth.peak_force_n, strict=True):
            assert total[sl].max() == pytest.approx(peak, rel=1e-6)


def test_momentum_balance(run_sim: GaitSimulation) -> None:
    """Mean vertical force over whole strides is about body weight."""
    bw = run_sim.config.body_weight_n
    fs = run_sim.sample_rate_hz
    total = run_sim.left.force_n.sum(axis=1) + run_sim.right.force_n.sum(axis=1)
    mean_bw = total[int(2 * fs) : int(88 * fs)].mean() / bw
    assert mean_bw == pytest.approx(1.0, abs=0.05)


def test_swing_is_baseline_and_contact_starts_at_truth(run_sim: GaitSimulation) -> None:
    config = run_sim.config
    fs = run_sim.sample_rate_hz
    for side in SIDES:
        total = run_sim[side].force_n.sum(axis=1, dtype=np.float64)
        in_contact = np.zeros(total.size, dtype=bool)
        for sl in contact_slices(run_sim, side):
            in_contact[sl] = True
            assert np.all(total[sl] > config.swing_baseline_n + 1e-3)
        # Everything outside contacts (also the partial ones at the edges) is the baseline.
        edges = slice(int(0.5 * fs), int(89.5 * fs))
        swing = ~in_contact[edges]
        swing_total = total[edges][swing]
        outside = np.abs(swing_total - config.swing_baseline_n) < 1e-3
        # Samples just outside a contact are baseline: only the cut-off edge contacts differ.
        assert outside.mean() > 0.99
        assert np.all(run_sim[side].force_n >= 0)


def test_truth_alternates_sides_and_lies_inside_recording(run_sim: GaitSimulation) -> None:
    truth = run_sim.truth
    assert set(truth.side) == set(SIDES)
    assert np.all(truth.side[1:] != truth.side[:-1])
    assert np.all(np.diff(truth.heel_strike_s) > 0)
    assert truth.heel_strike_s[0] >= 0
    assert truth.toe_off_s[-1] <= run_sim.time_s[-1]
    assert len(truth.for_side("left")) + len(truth.for_side("right")) == len(truth)
    # Truth times are continuous, not rounded to samples.
    frac = (truth.heel_strike_s * run_sim.sample_rate_hz) % 1
    assert np.unique(np.round(frac, 3)).size > 20


# -- strike pattern and centre of pressure ---------------------------------------------------

CLASS_LIMITS = {
    "rearfoot": (0.0, 100 / 3),
    "midfoot": (100 / 3, 200 / 3),
    "forefoot": (200 / 3, 100),
}


@pytest.mark.parametrize("strike", ["rearfoot", "midfoot", "forefoot", "mixed"])
def test_strike_index_matches_pattern(strike: str) -> None:
    sim = simulate_gait(GaitConfig(duration_s=60.0, strike=strike, seed=11))
    truth = sim.truth
    if strike == "mixed":
        assert set(truth.strike_pattern) == {"rearfoot", "midfoot", "forefoot"}
    else:
        assert set(truth.strike_pattern) == {strike}
    for pattern, index in zip(truth.strike_pattern, truth.strike_index_pct, strict=True):
        lo, hi = CLASS_LIMITS[pattern]
        assert lo < index < hi
    # What the insole sees: the CoP of the sensor forces just after contact gives the same class
    # (insole systems reach 90-94 % accuracy; the simulator keeps clear of the limits).
    fs = sim.sample_rate_hz
    hits = []
    for side in SIDES:
        cop = sensor_cop_pct(sim, side)
        part = truth.for_side(side)
        for t0, pattern in zip(part.heel_strike_s, part.strike_pattern, strict=True):
            lo, hi = CLASS_LIMITS[pattern]
            hits.append(lo < cop[int(np.ceil(t0 * fs)) + 1] < hi)
    assert np.mean(hits) >= 0.9


@pytest.mark.parametrize("strike", ["rearfoot", "midfoot", "forefoot"])
def test_cop_moves_forward_during_contact(strike: str) -> None:
    sim = simulate_gait(GaitConfig(duration_s=20.0, strike=strike, seed=5))
    for side in SIDES:
        cop = sensor_cop_pct(sim, side)
        total = sim[side].force_n.sum(axis=1)
        for sl in contact_slices(sim, side):
            loaded = total[sl] > 0.1 * total[sl].max()  # where the swing baseline is negligible
            c = cop[sl][loaded]
            assert c[-1] > 75  # push-off over the forefoot and toes
            assert c[-1] > c.min() + 10
            # Forefoot strikes land near the front already: they drift back, then roll forward.
            if strike != "forefoot":
                assert c[-1] - c[0] > 15
            if strike == "rearfoot":
                assert c[-1] - c[0] > 45
                assert np.all(np.diff(c) > -1.0)  # heel to toe without going back


def test_pronation_shifts_load_medially() -> None:
    def medial_share(pronation: float) -> float:
        sim = simulate_gait(GaitConfig(duration_s=20.0, pronation=pronation))
        layout = sim.config.layout
        force = sim.left.force_n.astype(np.float64)
        return float((force @ (layout.x_mm < 0)).sum() / force.sum())

    supinated, neutral, pronated = medial_share(-1.0), medial_share(0.0), medial_share(1.0)
    assert supinated < neutral - 0.05
    assert pronated > neutral + 0.05


# -- FSR model -------------------------------------------------------------------------------


def loading_branch_mask(sim: GaitSimulation, side: str) -> np.ndarray:
    """Samples where each sensor's force is at its running maximum within the contact."""
    force = sim[side].force_n
    mask = np.zeros(force.shape, dtype=bool)
    for sl in contact_slices(sim, side):
        f = force[sl]
        mask[sl] = f >= np.maximum.accumulate(f, axis=0)
    return mask


def test_counts_to_force_inverts_within_noise(run_sim: GaitSimulation) -> None:
    config = run_sim.config
    for side in SIDES:
        sig = run_sim[side]
        ref = np.array(sig.calibration["ref_force_n"])
        estimate = counts_to_force(sig.counts, sig.calibration)
        assert estimate.dtype == np.float32
        force = sig.force_n
        mid = (force > 0.3 * ref) & (force < 3 * ref) & loading_branch_mask(run_sim, side)
        assert mid.sum() > 1000
        error = (estimate - force)[mid]
        assert abs(error.mean()) < 0.5
        assert error.std() < 1.5 * config.noise_n
        assert np.abs(error).max() < 6 * config.noise_n


def test_noise_free_round_trip_is_exact_to_quantisation(run_sim: GaitSimulation) -> None:
    cal = run_sim.left.calibration
    ref = np.array(cal["ref_force_n"])
    force = np.outer(np.linspace(0.3, 3.0, 50), ref)
    back = counts_to_force(force_to_counts(force, cal), cal, dtype=np.float64)
    np.testing.assert_allclose(back, force, rtol=0.01)
    assert force_to_counts(np.zeros((1, 16)), cal).max() == 0


def test_hysteresis_reads_high_while_unloading(run_sim: GaitSimulation) -> None:
    sig = run_sim.left
    noise_n = run_sim.config.noise_n
    estimate = counts_to_force(sig.counts, sig.calibration, dtype=np.float64)
    force = sig.force_n.astype(np.float64)
    peak = np.zeros_like(force)  # each sensor's peak within its contact; 0 outside contacts
    for sl in contact_slices(run_sim, "left"):
        peak[sl] = force[sl].max(axis=0)
    unloading = ~loading_branch_mask(run_sim, "left") & (force > 50) & (peak > 0)
    excess = (estimate - force)[unloading]
    assert unloading.sum() > 1000
    assert excess.mean() > 2.0
    # At most about 10 % of the sensor's contact peak (plus noise and quantisation).
    assert np.all(excess <= 0.1 * peak[unloading] + 6 * noise_n + 1.0)
    relative = excess / peak[unloading]
    assert 0.02 < relative.mean() < 0.1


def test_saturation_clips_at_adc_max() -> None:
    config = GaitConfig(duration_s=20.0, body_mass_kg=150.0)
    sim = simulate_gait(config)
    sig = sim.left
    saturated = sig.counts == config.adc_max
    assert saturated.any()
    assert sig.counts.max() == config.adc_max
    estimate = counts_to_force(sig.counts, sig.calibration, dtype=np.float64)
    cal = sig.calibration
    ratio = cal["full_scale_ratio"]
    f_sat = np.array(cal["ref_force_n"]) * (ratio / (1 - ratio)) ** (1 / np.array(cal["exponent"]))
    cols = np.nonzero(saturated)[1]
    np.testing.assert_allclose(estimate[saturated], f_sat[cols], rtol=1e-6)
    # On the loading branch a saturated reading is a lower bound of the true load.
    loading = saturated & loading_branch_mask(sim, "left")
    assert loading.any()
    cols = np.nonzero(loading)[1]
    assert np.all(sig.force_n[loading] > f_sat[cols] - 6 * config.noise_n)
    huge = np.full((1, 16), 1e6)
    assert np.all(force_to_counts(huge, cal) == config.adc_max)


def test_swing_baseline_is_visible_in_counts(run_sim: GaitSimulation) -> None:
    sig = run_sim.left
    total_true = sig.force_n.sum(axis=1)
    swing = np.abs(total_true - run_sim.config.swing_baseline_n) < 1e-3
    measured = counts_to_force(sig.counts, sig.calibration).sum(axis=1)
    assert 0 < np.median(measured[swing]) < 40  # non-zero, small next to ~1600 N peaks


def test_counts_to_force_validates_input(run_sim: GaitSimulation) -> None:
    cal = run_sim.left.calibration
    with pytest.raises(ValueError, match="adc_max"):
        counts_to_force(np.full((2, 16), 5000), cal)
    with pytest.raises(ValueError, match="16 sensors"):
        counts_to_force(np.zeros((2, 8), dtype=np.uint16), cal)
    with pytest.raises(ValueError, match="model"):
        counts_to_force(np.zeros((2, 16), dtype=np.uint16), {**cal, "model": "other"})
    with pytest.raises(ValueError, match="missing key"):
        counts_to_force(np.zeros((2, 16), dtype=np.uint16), {"model": "fsr_divider_v1"})


# -- configured effects ----------------------------------------------------------------------


@pytest.mark.parametrize("asymmetry_pct", [0.0, 10.0])
def test_asymmetry_scales_right_foot(asymmetry_pct: float) -> None:
    sim = simulate_gait(GaitConfig(duration_s=60.0, asymmetry_pct=asymmetry_pct, seed=4))
    left = sim.truth.for_side("left").peak_force_n.mean()
    right = sim.truth.for_side("right").peak_force_n.mean()
    assert right / left == pytest.approx(1 + asymmetry_pct / 100, abs=0.02)


def test_fatigue_raises_heel_peak_linearly() -> None:
    duration_s, fatigue_pct = 300.0, 20.0
    fresh = simulate_gait(GaitConfig(duration_s=duration_s, seed=6))
    tired = simulate_gait(GaitConfig(duration_s=duration_s, fatigue_pct=fatigue_pct, seed=6))
    # Same seed, same steps: each heel peak is scaled by 1 + fatigue · t / duration.
    np.testing.assert_array_equal(fresh.truth.heel_strike_s, tired.truth.heel_strike_s)
    expected = 1 + fatigue_pct / 100 * tired.truth.heel_strike_s / duration_s
    np.testing.assert_allclose(
        tired.truth.heel_peak_n / fresh.truth.heel_peak_n, expected, rtol=2e-3
    )
    # And what an analysis of the run alone sees: a linear rise of about fatigue_pct.
    for sim, pct in ((fresh, 0.0), (tired, fatigue_pct)):
        t = sim.truth.heel_strike_s / duration_s
        slope, intercept = np.polyfit(t, sim.truth.heel_peak_n, 1)
        assert 100 * slope / intercept == pytest.approx(pct, abs=4.0)
    # The measured heel force (from counts) shows it too.
    fs = tired.sample_rate_hz
    layout = tired.config.layout
    heel = layout.indices("heel_medial", "heel_lateral")
    measured = counts_to_force(tired.left.counts, tired.left.calibration)[:, heel].sum(axis=1)
    part = tired.truth.for_side("left")
    peaks = np.array(
        [
            measured[int(a * fs) : int(b * fs) + 1].max()
            for a, b in zip(part.heel_strike_s, part.toe_off_s, strict=True)
        ]
    )
    t = part.heel_strike_s / duration_s
    assert peaks[t > 0.9].mean() / peaks[t < 0.1].mean() == pytest.approx(1.18, abs=0.06)


# -- layouts and configuration ---------------------------------------------------------------


@pytest.mark.parametrize("layout", [single_sensor_layout(), default_layout(4), default_layout(64)])
def test_other_layouts(layout) -> None:
    sim = simulate_gait(GaitConfig(duration_s=10.0, layout=layout))
    assert sim.left.counts.shape[1] == layout.n_sensors
    bw = sim.config.body_weight_n
    assert 2.0 < (sim.truth.peak_force_n / bw).mean() < 3.0
    if layout.region == ("whole_foot",):
        np.testing.assert_allclose(sim.truth.heel_peak_n, sim.truth.peak_force_n)
    else:
        assert np.all(sim.truth.heel_peak_n < sim.truth.peak_force_n)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gait": "skip"}, "gait"),
        ({"strike": "toe"}, "strike"),
        ({"pronation": 1.5}, "pronation"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"adc_bits": 20}, "adc_bits"),
        ({"sample_rate_hz": -1.0}, "sample_rate_hz"),
        ({"noise_n": -1.0}, "noise_n"),
        ({"cadence_spm": float("nan")}, "cadence_spm"),
        ({"layout": "default16"}, "layout"),
        ({"speed_mps": "fast"}, "speed_mps must be a number"),
    ],
)
def test_config_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GaitConfig(**kwargs)


def test_config_defaults_depend_on_gait() -> None:
    run = GaitConfig()
    walk = GaitConfig(gait="walk")
    assert (run.cadence_spm, run.speed_mps) == (170.0, 3.0)
    assert (walk.cadence_spm, walk.speed_mps) == (110.0, 1.3)
    assert GaitConfig(gait="walk", cadence_spm=120.0).cadence_spm == 120.0
    assert GaitConfig() == GaitConfig()
    assert hash(GaitConfig()) == hash(GaitConfig())


def test_a_stand_before_the_gait_carries_half_the_weight_each_and_has_no_steps() -> None:
    sim = simulate_gait(GaitConfig(duration_s=30.0, stand_s=12.0, seed=3))
    t = sim.time_s
    bw = sim.config.body_weight_n
    assert sim.truth.heel_strike_s.min() >= 12.0
    still = t < 11.0  # both feet on the ground, before either lifts for its first step
    left = sim.left.force_n[still].sum(axis=1)
    right = sim.right.force_n[still].sum(axis=1)
    base = sim.config.swing_baseline_n
    # Together they carry the body weight; the weight sways between them by a few per cent.
    np.testing.assert_allclose(left + right - 2 * base, bw, rtol=1e-4)
    share = (left - base) / bw
    assert 0.4 < share.min() < 0.5 < share.max() < 0.6
    # Each foot unloads before its first contact: swing level just before it.
    for side in SIDES:
        first = sim.truth.for_side(side).heel_strike_s.min()
        before = (t > first - 0.2) & (t < first)
        assert sim[side].force_n[before].sum(axis=1).max() < base + 1.0
    # Without a stand the same seed gives steady gait from the first sample.
    steady = simulate_gait(GaitConfig(duration_s=30.0, seed=3))
    assert steady.truth.heel_strike_s.min() < 1.0
    with pytest.raises(ValueError, match="stand_s"):
        GaitConfig(stand_s=-1.0)


# --- in blocks: GaitStream and the step sequence give simulate_gait's numbers --------------


def test_step_sequence_drawn_in_blocks_is_the_one_drawn_at_once() -> None:
    from dataclasses import fields

    from insole.sources.sim.gait import _make_steps, _seed_rng, _Steps, _StepSource

    for config in (GaitConfig(duration_s=900.0, seed=4, strike="mixed"),
                   GaitConfig(duration_s=600.0, seed=5, gait="walk", stand_s=20.0)):
        whole = _make_steps(config, _seed_rng(np.random.SeedSequence(1)))
        source = _StepSource(config, _seed_rng(np.random.SeedSequence(1)))
        sizes = np.random.default_rng(0)
        parts = []
        while source.pos < source.n_steps:
            parts.append(source.take(int(sizes.integers(0, 40))))
        blocks = _Steps.concat(parts)
        for f in fields(_Steps):
            assert np.array_equal(getattr(blocks, f.name), getattr(whole, f.name)), f.name


@pytest.mark.parametrize("config", [
    GaitConfig(duration_s=1000.0, seed=6, strike="mixed", fatigue_pct=30.0),
    GaitConfig(duration_s=700.0, seed=7, gait="walk", stand_s=25.0, pronation=0.4,
               asymmetry_pct=8.0),
], ids=["run", "walk-stand"])
def test_gait_stream_hands_out_simulate_gait_in_blocks(config: GaitConfig) -> None:
    from insole.sources.sim.gait import GaitStream

    sim = simulate_gait(config)
    stream = GaitStream(config)
    assert stream.calibration == sim.calibration
    for side in SIDES:
        blocks = list(stream.insole(side))
        assert len(blocks) >= 3  # a block holds at most 256 contacts of the foot
        assert all(len(b.truth) <= 256 for b in blocks)
        assert [b.start for b in blocks] == list(
            np.cumsum([0] + [b.counts.shape[0] for b in blocks[:-1]]))
        assert np.array_equal(np.concatenate([b.counts for b in blocks]), sim[side].counts)
        assert np.array_equal(np.concatenate([b.force_n for b in blocks]), sim[side].force_n)
    blocks = list(stream.blocks())
    assert len(blocks) >= 3
    assert max(b.left.shape[0] for b in blocks) < stream.n_samples / 2
    assert np.array_equal(np.concatenate([b.left for b in blocks]), sim.left.counts)
    assert np.array_equal(np.concatenate([b.right for b in blocks]), sim.right.counts)
    for name in ("side", "heel_strike_s", "toe_off_s", "strike_pattern", "strike_index_pct",
                 "peak_force_n", "heel_peak_n"):
        got = np.concatenate([getattr(b.truth, name) for b in blocks])
        want = getattr(sim.truth, name)
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), name
