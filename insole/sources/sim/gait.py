"""Physically plausible two-insole gait model: true forces, raw ADC counts and ground truth.

The model builds every foot contact from published running and walking force curves, moves a
centre of pressure (CoP) from heel to toe during the contact, spreads the force over the
insole's sensors around anatomical load centres, and passes each sensor's force through a
force-sensing-resistor (FSR) voltage divider and an ADC. Pure numpy, vectorised over samples
and processed in chunks; one hour of two 16-sensor insoles at 200 Hz takes under 2 s
(``bench/sim_speed.py``). `simulate_gait` returns the whole run; `GaitStream` hands out the same
numbers a few minutes at a time, in memory that does not grow with the duration.

Sources for the numbers (see also docs/domain.md):

- Running vertical force: impact peak 1.5-2 body weights (BW) 20-30 ms after a rearfoot strike,
  active peak about 2.5 BW near mid-stance, no impact peak in forefoot strikes (Cavanagh &
  Lafortune 1980, J Biomech 13:397; Nigg, Biomechanics of Running Shoes, 1986; Lieberman et al.
  2010, Nature 463:531). Two-component shape after Clark, Ryan & Weyand 2017 (J Exp Biol
  220:247).
- Contact 0.25-0.30 s, flight about 0.1 s at 160-185 steps/min (docs/domain.md; Blades et al.
  2023, Sensors 23:2736).
- Vertical impulse per step equals body weight times step time (momentum balance over a
  steady stride), which fixes the active peak for a given contact time.
- Walking: stance about 60 % of a 1.0-1.3 s stride with double support, two force humps of
  1.1-1.2 BW and a mid-stance valley (Perry, Gait Analysis, 1992); stride-time variability
  about 2 % with positive step-to-step correlation (Hausdorff et al. 1995, J Appl Physiol
  78:349).
- Strike index (Cavanagh & Lafortune 1980): CoP at first contact as % of foot length,
  < 33.3 % rearfoot, 33.3-66.7 % midfoot, > 66.7 % forefoot.
- FSRs: power-law conductance with saturation, about 10 % hysteresis, part-to-part spread
  (docs/domain.md "Hardware facts"; Interlink FSR integration guide).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
from scipy.signal import lfilter

from insole.core.layouts import HEEL_REGIONS, SensorLayout, default_layout
from insole.sources.sim.limits import GAIT_LIMITS

__all__ = [
    "FSR_FULL_SCALE_RATIO",
    "FSR_HYSTERESIS",
    "FSR_SATURATION_KPA",
    "GaitBlock",
    "GaitConfig",
    "GaitSimulation",
    "GaitStream",
    "InsoleBlock",
    "InsoleSignals",
    "SIDES",
    "STRIKE_PATTERNS",
    "StepTruth",
    "counts_to_force",
    "force_to_counts",
    "simulate_gait",
]

SIDES: tuple[str, str] = ("left", "right")
STRIKE_PATTERNS: tuple[str, str, str] = ("rearfoot", "midfoot", "forefoot")
STANDARD_GRAVITY = 9.80665

#: Calibration model name written into every calibration dict.
CALIBRATION_MODEL = "fsr_divider_v1"
#: Divider ratio G/(G+G_ref) at which the ADC reaches full scale (the ADC reference is 90 % of
#: the divider supply), so large loads clip at ``adc_max``.
FSR_FULL_SCALE_RATIO = 0.9
#: Pressure at which a sensor saturates [kPa] (pedar: 600 kPa; Moticon OpenGo: 500 kPa).
FSR_SATURATION_KPA = 600.0
#: Hysteresis gain: on unloading a sensor reads ``F + FSR_HYSTERESIS · min(F, F_peak − F)``,
#: i.e. at most ``FSR_HYSTERESIS / 2`` = 10 % of the contact's peak, at half the peak.
FSR_HYSTERESIS = 0.2
#: Part-to-part spread of the FSR reference force (uniform, ±).
FSR_SPREAD = 0.10

# Running force-curve constants.
_ACTIVE_PEAKEDNESS = 2.0  # c in s(1 + c s²)/(1 + c): > 0 makes the active hump narrower than a sine
_ACTIVE_PEAK_FRAC = {"rearfoot": 0.45, "midfoot": 0.43, "forefoot": 0.40}  # time of active peak
_STRIKE_INDEX_RANGE = {  # CoP at contact, fraction of foot length (margins around 1/3 and 2/3)
    "rearfoot": (0.06, 0.26),
    "midfoot": (0.40, 0.60),
    "forefoot": (0.72, 0.85),
}
_MIXED_PROBABILITIES = (0.5, 0.3, 0.2)
# CoP progression knots (fraction of contact time) shared by all patterns.
_COP_KNOTS = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
# Anatomical load centres (fractions of foot length; x + = lateral) and their kernel widths.
# The contact force is shared between the centres so that their combined CoP is the model
# CoP: heel (calcaneal tuberosity), lateral midfoot (arch contact), metatarsal heads, toes.
_HEEL_Y, _MID_Y, _MTH_Y, _TOES_Y = 0.11, 0.42, 0.70, 0.90
_HEEL_X, _MID_X, _TOES_X = 0.015, 0.08, -0.07
_MTH_X_START, _MTH_X_END = 0.05, -0.04  # forefoot load rolls medially towards push-off
_MIDFOOT_SHARE = 0.6  # midfoot share = 0.6 · w_heel · w_mth (≤ 15 %, flat-foot phases)
_SIGMA = {  # (σx, σy) per centre, fraction of foot length
    "heel": (0.055, 0.065),
    "mid": (0.04, 0.08),
    "mth": (0.09, 0.05),
    "toes": (0.06, 0.05),
}


def _seed_rng(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


@dataclass(frozen=True)
class GaitConfig:
    """Parameters of a simulated run or walk with two insoles.

    Parameters
    ----------
    duration_s : float
        Length of the recording [s].
    gait : {"run", "walk"}
        Running (flight phase) or walking (double support).
    cadence_spm : float or None
        Steps per minute, both feet together. None: 170 for running, 110 for walking.
    speed_mps : float or None
        Speed [m/s]; shortens contact and raises peaks. None: 3.0 running, 1.3 walking.
    body_mass_kg : float
        Body mass [kg]; body weight BW = mass · 9.81 m/s².
    strike : {"rearfoot", "midfoot", "forefoot", "mixed"}
        Foot strike pattern; "mixed" draws each step's pattern at random (50/30/20 %).
    pronation : float
        -1 (supinated, lateral load) .. +1 (pronated, medial load); shifts the CoP path
        medially by up to 5 % of foot length, growing over early stance.
    asymmetry_pct : float
        Right foot contact forces are this % higher than the left.
    fatigue_pct : float
        Heel-sensor contact forces rise linearly by this % from start to end of the recording.
    sample_rate_hz : float
        Insole sampling rate [Hz].
    layout : SensorLayout
        Sensor layout of both insoles (default: 16 sensors, 270 mm foot).
    noise_n : float
        Standard deviation of white force noise per sensor before the ADC [N].
    swing_baseline_n : float
        Residual force per foot in swing (shoe and lacing pressure) [N], spread over sensors.
    adc_bits : int
        ADC resolution; counts run 0 .. 2**adc_bits - 1.
    seed : int
        Seed; the same config gives identical arrays.
    stand_s : float
        Standing still before the gait starts [s] (0: the recording is a window of steady
        gait). Each foot carries half the body weight, heel 55 % and forefoot 45 %, and the
        weight sways between the feet (a slow sine of 0.2-0.4 Hz, ±8 % of the half, plus a
        slow random drift): quiet standing moves only a few per cent of body weight between
        the feet (Winter 1995, Gait & Posture 3:193). Each foot unloads over 0.1 s, ending
        ``0.3 s`` before its first contact; the first contact starts within one step after
        ``stand_s``. The stand has no steps in the truth.

    Raises
    ------
    ValueError
        If a parameter is out of its valid range.
    """

    duration_s: float = 60.0
    gait: Literal["run", "walk"] = "run"
    cadence_spm: float | None = None
    speed_mps: float | None = None
    body_mass_kg: float = 70.0
    strike: Literal["rearfoot", "midfoot", "forefoot", "mixed"] = "rearfoot"
    pronation: float = 0.0
    asymmetry_pct: float = 0.0
    fatigue_pct: float = 0.0
    sample_rate_hz: float = 200.0
    layout: SensorLayout = field(default_factory=default_layout)
    noise_n: float = 2.0
    swing_baseline_n: float = 3.0
    adc_bits: int = 12
    seed: int = 0
    stand_s: float = 0.0

    def __post_init__(self) -> None:
        if self.gait not in ("run", "walk"):
            raise ValueError(f"gait must be 'run' or 'walk', got {self.gait!r}")
        if self.strike not in (*STRIKE_PATTERNS, "mixed"):
            raise ValueError(
                f"strike must be one of {[*STRIKE_PATTERNS, 'mixed']}, got {self.strike!r}"
            )
        if self.cadence_spm is None:
            object.__setattr__(self, "cadence_spm", 170.0 if self.gait == "run" else 110.0)
        if self.speed_mps is None:
            object.__setattr__(self, "speed_mps", 3.0 if self.gait == "run" else 1.3)
        for name, (low, high, low_inclusive) in GAIT_LIMITS.items():
            raw = getattr(self, name)
            try:
                value = float(raw)  # type: ignore[arg-type]  # None was resolved above
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, got {raw!r}") from None
            ok_low = value >= low if low_inclusive else value > low
            if not (np.isfinite(value) and ok_low and value <= high):
                bound = "[" if low_inclusive else "("
                raise ValueError(f"{name} must be in {bound}{low:g}, {high:g}], got {value!r}")
        if not isinstance(self.adc_bits, int | np.integer) or not 8 <= self.adc_bits <= 16:
            raise ValueError(f"adc_bits must be an integer in 8 .. 16, got {self.adc_bits!r}")
        if not isinstance(self.layout, SensorLayout):
            raise ValueError(
                "layout must be a SensorLayout (see insole.core.layouts.default_layout)")
        if int(self.duration_s * self.sample_rate_hz) < 2:
            raise ValueError("duration_s · sample_rate_hz must give at least 2 samples")

    @property
    def body_weight_n(self) -> float:
        """Body weight [N]."""
        return self.body_mass_kg * STANDARD_GRAVITY

    @property
    def step_time_s(self) -> float:
        """Mean time from one foot contact to the next (either foot) [s]."""
        return 60.0 / float(self.cadence_spm)  # type: ignore[arg-type]

    @property
    def adc_max(self) -> int:
        """Largest ADC reading, ``2**adc_bits - 1``."""
        return (1 << int(self.adc_bits)) - 1


@dataclass(frozen=True)
class StepTruth:
    """Ground truth, one entry per foot contact that lies wholly inside the recording.

    Attributes
    ----------
    side : numpy.ndarray
        ``"left"`` or ``"right"`` (str array); contacts alternate sides.
    heel_strike_s : numpy.ndarray
        Initial contact [s]: the exact instant the true total force rises above the swing
        baseline (continuous time, not rounded to a sample).
    toe_off_s : numpy.ndarray
        Exact instant the true total force returns to the swing baseline [s].
    strike_pattern : numpy.ndarray
        ``"rearfoot"``, ``"midfoot"`` or ``"forefoot"`` (str array).
    strike_index_pct : numpy.ndarray
        True antero-posterior CoP at contact, % of foot length from the heel. An insole sees a
        CoP pulled towards its sensor positions, so its estimate differs somewhat.
    peak_force_n : numpy.ndarray
        Maximum over the contact's samples of the true total foot force (sum of `force_n`,
        swing baseline included) [N].
    heel_peak_n : numpy.ndarray
        Same for the sum of the heel sensors (regions heel_medial, heel_lateral; a
        "whole_foot" sensor counts as heel); NaN if the layout has no heel sensor [N].
    """

    side: np.ndarray
    heel_strike_s: np.ndarray
    toe_off_s: np.ndarray
    strike_pattern: np.ndarray
    strike_index_pct: np.ndarray
    peak_force_n: np.ndarray
    heel_peak_n: np.ndarray

    def __len__(self) -> int:
        return int(self.heel_strike_s.shape[0])

    @property
    def contact_time_s(self) -> np.ndarray:
        """Contact duration of each step, ``toe_off_s - heel_strike_s`` [s]."""
        return self.toe_off_s - self.heel_strike_s

    def for_side(self, side: str) -> StepTruth:
        """Return the rows of one side.

        Parameters
        ----------
        side : {"left", "right"}
            Which foot.

        Returns
        -------
        StepTruth
            The subset, in time order.
        """
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        return self.rows(self.side == side)

    def rows(self, which: np.ndarray | slice) -> StepTruth:
        """The rows `which` selects (an index array, a mask or a slice)."""
        return StepTruth(**{name: getattr(self, name)[which] for name in _TRUTH_FIELDS})


_TRUTH_FIELDS = (
    "side",
    "heel_strike_s",
    "toe_off_s",
    "strike_pattern",
    "strike_index_pct",
    "peak_force_n",
    "heel_peak_n",
)


@dataclass(frozen=True)
class InsoleSignals:
    """Simulated output of one insole.

    Attributes
    ----------
    side : {"left", "right"}
    time_s : numpy.ndarray
        Ideal sample times ``k / sample_rate_hz`` [s], shape ``(n_samples,)``.
    counts : numpy.ndarray
        Raw ADC readings, uint16, shape ``(n_samples, n_sensors)``.
    force_n : numpy.ndarray
        True force per sensor [N], float32, shape ``(n_samples, n_sensors)``; no noise, no
        hysteresis, swing baseline included.
    calibration : dict
        JSON-able FSR calibration of this insole; see `counts_to_force`.
    """

    side: str
    time_s: np.ndarray
    counts: np.ndarray
    force_n: np.ndarray
    calibration: dict[str, Any]


@dataclass(frozen=True)
class GaitSimulation:
    """Result of `simulate_gait`: both insoles and the step ground truth.

    Attributes
    ----------
    config : GaitConfig
        The configuration simulated.
    left, right : InsoleSignals
        Per-insole signals and calibration; also reachable as ``sim["left"]``.
    truth : StepTruth
        One row per complete contact, sorted by heel strike.
    """

    config: GaitConfig
    left: InsoleSignals
    right: InsoleSignals
    truth: StepTruth

    def __getitem__(self, side: str) -> InsoleSignals:
        if side == "left":
            return self.left
        if side == "right":
            return self.right
        raise KeyError(f"side must be 'left' or 'right', got {side!r}")

    @property
    def sample_rate_hz(self) -> float:
        """Sampling rate [Hz]."""
        return float(self.config.sample_rate_hz)

    @property
    def time_s(self) -> np.ndarray:
        """Ideal sample times [s], shared by both insoles."""
        return self.left.time_s

    @property
    def calibration(self) -> dict[str, dict[str, Any]]:
        """Calibration of each insole, keyed by side."""
        return {"left": self.left.calibration, "right": self.right.calibration}


# --------------------------------------------------------------------------------------------
# FSR model
# --------------------------------------------------------------------------------------------


def _check_calibration(
    calibration: dict[str, Any], n_sensors: int | None
) -> tuple[int, float, np.ndarray, np.ndarray]:
    if not isinstance(calibration, dict):
        raise ValueError("calibration must be a dict as written by simulate_gait")
    if calibration.get("model") != CALIBRATION_MODEL:
        raise ValueError(
            f"calibration model must be {CALIBRATION_MODEL!r}, got {calibration.get('model')!r}"
        )
    try:
        adc_max = int(calibration["adc_max"])
        ratio = float(calibration["full_scale_ratio"])
        ref = np.asarray(calibration["ref_force_n"], dtype=np.float64)
        exponent = np.asarray(calibration["exponent"], dtype=np.float64)
    except KeyError as exc:
        raise ValueError(f"calibration is missing key {exc.args[0]!r}") from None
    if adc_max < 1 or not 0.0 < ratio < 1.0:
        raise ValueError("calibration needs adc_max ≥ 1 and 0 < full_scale_ratio < 1")
    if ref.ndim != 1 or ref.shape != exponent.shape:
        raise ValueError("calibration ref_force_n and exponent must be lists of equal length")
    if np.any(~np.isfinite(ref)) or np.any(ref <= 0) or np.any(exponent <= 0):
        raise ValueError("calibration ref_force_n and exponent must be positive")
    if n_sensors is not None and ref.shape[0] != n_sensors:
        raise ValueError(f"calibration covers {ref.shape[0]} sensors but the data has {n_sensors}")
    return adc_max, ratio, ref, exponent


def force_to_counts(force_n: np.ndarray, calibration: dict[str, Any]) -> np.ndarray:
    """Convert sensor force to ADC counts with the loading-branch FSR model (no noise).

    Parameters
    ----------
    force_n : numpy.ndarray
        Force per sensor [N], shape ``(..., n_sensors)``; negative values count as 0.
    calibration : dict
        Calibration as in `InsoleSignals.calibration`.

    Returns
    -------
    numpy.ndarray
        uint16 counts, same shape, clipped at ``adc_max`` (saturation).

    Raises
    ------
    ValueError
        If the calibration is malformed or does not match the number of sensors.

    Notes
    -----
    ``g = (F / ref_force_n) ** exponent`` (FSR conductance relative to the divider's
    reference resistor), ``counts = min(adc_max, round(adc_max · g / (1 + g) /
    full_scale_ratio))``. See `counts_to_force` for the inverse.
    """
    force = np.asarray(force_n)
    adc_max, ratio, ref, exponent = _check_calibration(calibration, force.shape[-1])
    g = np.power(
        np.maximum(force, 0).astype(np.float32) / ref.astype(np.float32),
        exponent.astype(np.float32),
    )
    scaled = g / (1.0 + g) * np.float32(adc_max / ratio)
    return np.rint(np.minimum(scaled, adc_max)).astype(np.uint16)


def counts_to_force(
    counts: np.ndarray, calibration: dict[str, Any], *, dtype: Any = np.float32
) -> np.ndarray:
    """Convert raw ADC counts to force per sensor, inverting the FSR divider model.

    Parameters
    ----------
    counts : numpy.ndarray
        Raw readings, shape ``(n_samples, n_sensors)`` (or any ``(..., n_sensors)``), integers
        0 .. ``adc_max``.
    calibration : dict
        ``{"model": "fsr_divider_v1", "adc_bits": int, "adc_max": int,
        "full_scale_ratio": float, "ref_force_n": [n_sensors floats],
        "exponent": [n_sensors floats]}``, as in `InsoleSignals.calibration`.
    dtype : numpy dtype, optional
        Output dtype (float32 by default to keep hour-long recordings small).

    Returns
    -------
    numpy.ndarray
        Force [N], same shape as `counts`.

    Raises
    ------
    ValueError
        If the calibration is malformed, does not match `counts`, or a count lies outside
        0 .. ``adc_max``.

    Notes
    -----
    The sensor is an FSR in a voltage divider whose conductance follows a power law,
    ``G = G_ref · (F / ref_force_n) ** exponent``; the ADC reads ``G / (G + G_ref)`` with its
    full scale at ``full_scale_ratio`` of the supply. The inverse is::

        r = counts · full_scale_ratio / adc_max
        F = ref_force_n · (r / (1 − r)) ** (1 / exponent)

    ``counts == adc_max`` means the sensor saturated: the result is the saturation force
    ``ref_force_n · (full_scale_ratio / (1 − full_scale_ratio)) ** (1 / exponent)``, a lower
    bound of the true load. The formula is exact on the loading branch; while a sensor unloads,
    FSR hysteresis makes it read up to about 10 % of the contact's peak too high (see
    `simulate_gait`).
    """
    c = np.asarray(counts)
    adc_max, ratio, ref, exponent = _check_calibration(calibration, c.shape[-1])
    if c.size and (c.min() < 0 or c.max() > adc_max):
        raise ValueError(f"counts must lie within 0 .. adc_max ({adc_max})")
    r = c.astype(np.float64) * (ratio / adc_max)
    return (ref * np.power(r / (1.0 - r), 1.0 / exponent)).astype(dtype)


def _make_calibration(
    layout: SensorLayout, adc_bits: int, rng: np.random.Generator
) -> dict[str, Any]:
    """Draw one insole's per-sensor FSR parameters (part-to-part spread)."""
    exponent = rng.uniform(0.92, 1.08, layout.n_sensors)
    saturation_n = FSR_SATURATION_KPA * 1e-3 * layout.area_mm2  # kPa · mm² · 1e-3 = N
    nominal_ref_n = saturation_n / (FSR_FULL_SCALE_RATIO / (1 - FSR_FULL_SCALE_RATIO)) ** (
        1.0 / exponent
    )
    ref = nominal_ref_n * rng.uniform(1 - FSR_SPREAD, 1 + FSR_SPREAD, layout.n_sensors)
    return {
        "model": CALIBRATION_MODEL,
        "adc_bits": int(adc_bits),
        "adc_max": (1 << int(adc_bits)) - 1,
        "full_scale_ratio": FSR_FULL_SCALE_RATIO,
        "ref_force_n": [round(float(v), 6) for v in ref],
        "exponent": [round(float(v), 6) for v in exponent],
    }


# --------------------------------------------------------------------------------------------
# Step sequence
# --------------------------------------------------------------------------------------------


@dataclass
class _Steps:
    """Per-step model parameters (internal), all arrays of length n_steps."""

    side: np.ndarray  # 0 left, 1 right
    onset_s: np.ndarray
    contact_s: np.ndarray
    pattern: np.ndarray  # index into STRIKE_PATTERNS
    strike_frac: np.ndarray  # CoP y / L at contact
    cop_y: np.ndarray  # (n_steps, len(_COP_KNOTS)) CoP y / L at the knots
    cop_x_offset: np.ndarray  # ML jitter, fraction of L
    scale: np.ndarray  # force multiplier (step jitter × asymmetry)
    heel_gain: np.ndarray  # fatigue multiplier on heel sensors
    # running shape
    active_bw: np.ndarray
    gamma: np.ndarray
    impact_bw: np.ndarray
    impact_rise_s: np.ndarray
    impact_fall_s: np.ndarray
    # walking shape: a1 sin(πu) + a2 sin(2πu) + a3 sin(3πu)
    walk_a: np.ndarray  # (n_steps, 3)

    def select(self, idx: np.ndarray | slice) -> _Steps:
        """The steps at `idx` (an index array, a mask or a slice)."""
        return _Steps(**{f.name: getattr(self, f.name)[idx] for f in fields(_Steps)})

    @staticmethod
    def concat(parts: list[_Steps]) -> _Steps:
        """The steps of `parts`, one after the other."""
        return _Steps(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                         for f in fields(_Steps)})

    def __len__(self) -> int:
        return int(self.onset_s.shape[0])


#: Step-to-step correlation of the step times (AR(1) coefficient) and their spread.
_STEP_PHI = 0.6
_STEP_CV = 0.02
#: Values drawn at a time when `_StepSource` skips through or replays a random stream.
_DRAW_BLOCK = 1 << 16


def _n_steps(config: GaitConfig) -> int:
    """Steps drawn for a run: from 4 steps before the start to 10 % past the end, and 8 more."""
    step_mean = config.step_time_s
    lead_s = 4 * step_mean
    return int(np.ceil((config.duration_s + lead_s) / step_mean * 1.1)) + 8


def _rng_copy(rng: np.random.Generator) -> np.random.Generator:
    """A generator in the same state as `rng`, which goes its own way from here."""
    bits = type(rng.bit_generator)()
    bits.state = rng.bit_generator.state
    return np.random.Generator(bits)


def _active_shape(u: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Running active force shape, 0 at u = 0 and 1, peak 1 at ``u = 0.5 ** (1 / gamma)``."""
    s = np.sin(np.pi * np.power(np.clip(u, 0.0, 1.0), gamma))
    return s * (1.0 + _ACTIVE_PEAKEDNESS * s * s) / (1.0 + _ACTIVE_PEAKEDNESS)


def _impact_shape(tau: np.ndarray, rise: np.ndarray, fall: np.ndarray) -> np.ndarray:
    """Impact transient: raised-cosine rise over `rise` s to 1, raised-cosine fall over `fall`."""
    up = np.sin(0.5 * np.pi * np.clip(tau / rise, 0.0, 1.0)) ** 2
    down = np.cos(0.5 * np.pi * np.clip((tau - rise) / fall, 0.0, 1.0)) ** 2
    return np.where(tau < rise, up, down)


def _shape_mean(gamma: float) -> float:
    u = (np.arange(4000) + 0.5) / 4000
    return float(_active_shape(u, np.full_like(u, gamma)).mean())


class _StepSource:
    """The step sequence of a run and each step's force and CoP parameters, `take` n at a time.

    The sequence is drawn from one generator, one random quantity after the other, each for
    every step of the run at once (step times, contact times, ..., medio-lateral jitter): that
    fixes the numbers. To hand them out a block at a time in memory bounded independently of
    the duration, the constructor skips through the generator once, keeping a copy of it at the
    start of each quantity; each copy then draws its quantity block by block. numpy's
    `Generator` gives the same numbers drawn in blocks as drawn at once (each value takes the
    next bits of the stream), and the AR(1) filter of the step times and the sum that places
    the steps run on across blocks, so the steps are exactly those of drawing all at once
    (`_make_steps`). Each block also gets its true strike index (the CoP of the load centres at
    contact) as ``strike_frac``.

    Parameters
    ----------
    config : GaitConfig
        The run.
    rng : numpy.random.Generator
        The generator of the step sequence (consumed).
    """

    def __init__(self, config: GaitConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.n_steps = n = _n_steps(config)
        self.pos = 0  # index of the next step `take` returns
        self._run = config.gait == "run"
        self._step_mean = step_mean = config.step_time_s
        lead_s = 4 * step_mean
        self._lead_s = lead_s

        def fork(draw: Any) -> np.random.Generator:
            """A copy of `rng` for one quantity; `rng` skips past its n values."""
            copy = _rng_copy(rng)
            for done in range(0, n, _DRAW_BLOCK):
                draw(rng, min(_DRAW_BLOCK, n - done))
            return copy

        def normal(g: np.random.Generator, k: int) -> np.ndarray:
            return g.standard_normal(k)

        # The draws in the order of the one generator (see `take` for what each is).
        self._white = fork(normal)  # step-time fluctuations (AR(1) innovations)
        self._onset0 = -lead_s + rng.uniform(0, step_mean)  # start in steady gait (cut off)
        self._first_side = int(rng.integers(2))
        self._contact = fork(normal)
        self._pattern = (
            fork(lambda g, k: g.choice(3, size=k, p=_MIXED_PROBABILITIES))
            if config.strike == "mixed" else None
        )
        lo = np.array([_STRIKE_INDEX_RANGE[p][0] for p in STRIKE_PATTERNS])
        hi = np.array([_STRIKE_INDEX_RANGE[p][1] for p in STRIKE_PATTERNS])
        if not self._run:  # walkers land further back on the heel
            lo[0], hi[0] = 0.04, 0.16
        self._lo, self._hi = lo, hi
        # A runner has a habitual strike index per pattern (drawn once per run, away from the
        # range ends), scattered from step to step by 2.5 % of foot length.
        self._habitual = rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo))
        self._y0 = fork(normal)
        self._y_end = fork(normal)
        self._jitter = fork(normal)
        self._rise = fork(normal)
        self._fall = fork(normal)
        self._impact_peak = fork(normal)
        self._impact_mid = fork(lambda g, k: g.uniform(0.15, 0.4, k))
        self._hump = fork(normal)
        self._cop_x = fork(normal)
        self._shape_mean = np.array(
            [
                _shape_mean(float(g))
                for g in np.log(0.5) / np.log(
                    np.array([_ACTIVE_PEAK_FRAC[p] for p in STRIKE_PATTERNS]))
            ]
        )
        # Step times: drawn ahead of the steps handed out (a step's walking contact needs the
        # next step's time); the AR(1) filter's state; the running sum of step times.
        self._step_s = np.empty(0)
        self._drawn = 0
        self._zi: np.ndarray | None = None
        self._sum = 0.0

    def _draw_step_times(self) -> None:
        """Append the next block of step times to ``self._step_s``."""
        k = min(_DRAW_BLOCK, self.n_steps - self._drawn)
        white = self._white.standard_normal(k)
        b, a = [np.sqrt(1 - _STEP_PHI**2)], [1.0, -_STEP_PHI]
        if self._zi is None:  # unit-variance AR(1) series; its first value is the innovation
            ar, self._zi = lfilter(b, a, white, zi=np.zeros(1))
            ar[0] = white[0]
        else:
            ar, self._zi = lfilter(b, a, white, zi=self._zi)
        self._drawn += k
        # Step times: ~2 % CV with positive correlation between consecutive steps.
        self._step_s = np.concatenate([self._step_s, self._step_mean * (1 + _STEP_CV * ar)])

    def take(self, m: int) -> _Steps:
        """The next `m` steps (fewer at the end of the run, none after it)."""
        config = self.config
        run = self._run
        speed = float(config.speed_mps)  # type: ignore[arg-type]
        step_mean = self._step_mean
        i0 = self.pos
        i1 = min(i0 + max(int(m), 0), self.n_steps)
        n = i1 - i0
        last = i1 == self.n_steps
        while self._step_s.size < n + (0 if last else 1):
            self._draw_step_times()
        step_s = self._step_s[:n]
        if last:
            next_same = np.concatenate([step_s[:-1] + step_s[1:], [2 * step_mean]])[:n]
        else:
            next_same = step_s + self._step_s[1:n + 1]
        # Onsets: the running sum of the step times, continued across blocks.
        placed = np.cumsum(np.concatenate([[self._sum], step_s[:-1]]))[:n]
        if n:
            self._sum = placed[-1] + step_s[-1]
        self._step_s = self._step_s[n:]
        self.pos = i1
        onset = self._onset0 + placed
        if config.stand_s > 0:  # the gait starts from standing: no step before stand_s
            onset += self._lead_s + float(config.stand_s)
        side = (np.arange(i0, i1) + self._first_side) % 2

        if run:
            duty = np.clip(0.75 - 0.05 * (speed - 3.0), 0.55, 0.9)
            contact = duty * step_mean * (1 + 0.025 * self._contact.standard_normal(n))
            contact = np.minimum(contact, 0.95 * step_s)  # keep a flight phase
        else:
            stance_frac = np.clip(0.62 - 0.04 * (speed - 1.3), 0.55, 0.68)
            contact = stance_frac * 2 * step_mean * (
                1 + 0.02 * self._contact.standard_normal(n))
            contact = np.minimum(contact, 0.9 * next_same)

        if self._pattern is not None:
            pattern = self._pattern.choice(3, size=n, p=_MIXED_PROBABILITIES)
        else:
            pattern = np.full(n, STRIKE_PATTERNS.index(config.strike))
        lo, hi = self._lo, self._hi
        y0 = np.clip(self._habitual[pattern] + 0.025 * self._y0.standard_normal(n),
                     lo[pattern], hi[pattern])
        y_end = 0.90 + 0.015 * self._y_end.standard_normal(n)
        # CoP y at _COP_KNOTS (0, .1, .25, .5, .75, 1) for each pattern.
        cop_y = np.empty((n, _COP_KNOTS.size))
        cop_y[:, 0] = y0
        cop_y[:, -1] = y_end
        rear, mid, fore = pattern == 0, pattern == 1, pattern == 2
        if run:
            cop_y[rear, 1:5] = np.column_stack(
                [
                    y0[rear] + 0.04,
                    np.maximum(y0[rear] + 0.08, 0.48),
                    np.full(rear.sum(), 0.69),
                    np.full(rear.sum(), 0.74),
                ]
            )
        else:  # walking: a slower heel-to-toe roll-over
            cop_y[rear, 1:5] = np.column_stack(
                [
                    y0[rear] + 0.05,
                    np.maximum(y0[rear] + 0.1, 0.38),
                    np.full(rear.sum(), 0.62),
                    np.full(rear.sum(), 0.74),
                ]
            )
        cop_y[mid, 1:5] = np.column_stack(
            [y0[mid] + 0.02, (y0[mid] + 0.70) / 2, np.full(mid.sum(), 0.70),
             np.full(mid.sum(), 0.75)]
        )
        # Forefoot strikers: the CoP drifts back while the heel lowers (light heel contact
        # around mid-stance), then rolls forward to the toes.
        cop_y[fore, 1:5] = np.column_stack(
            [y0[fore] - 0.03, y0[fore] - 0.08, np.full(fore.sum(), 0.66),
             np.full(fore.sum(), 0.76)]
        )
        cop_y[:, -1] = np.maximum(cop_y[:, -1], cop_y[:, -2] + 0.05)

        # step-to-step force
        jitter = np.clip(1 + 0.03 * self._jitter.standard_normal(n), 0.9, 1.1)
        scale = jitter * np.where(side == 1, 1 + config.asymmetry_pct / 100, 1.0)
        progress = np.clip(onset / config.duration_s, 0.0, 1.0)
        heel_gain = 1 + config.fatigue_pct / 100 * progress

        # Running force components, in body weights (see simulate_gait Notes).
        peak_frac = np.array([_ACTIVE_PEAK_FRAC[p] for p in STRIKE_PATTERNS])[pattern]
        gamma = np.log(0.5) / np.log(peak_frac)
        shape_mean = self._shape_mean[pattern]
        rise = np.clip(0.0205 + 0.0015 * self._rise.standard_normal(n), 0.019, 0.024)
        fall = np.clip(0.028 + 0.0025 * self._fall.standard_normal(n), 0.022, 0.034)
        impulse_bw_s = step_s  # momentum: ∫F dt over a contact = BW · step time
        active_at_peak = _active_shape(rise / contact, gamma)
        impact_area = (rise + fall) / 2
        # Rearfoot: choose the impact amplitude so that F(rise) hits the drawn impact peak.
        # (Divided by the step jitter, which multiplies the whole curve later.)
        impact_peak = (
            np.clip(1.65 + 0.1 * (speed - 3.0) + 0.08 * self._impact_peak.standard_normal(n),
                    1.5, 1.9) / jitter
        )
        active_rear = (impulse_bw_s - impact_peak * impact_area) / (
            contact * shape_mean - active_at_peak * impact_area
        )
        impact_rear = np.maximum(impact_peak - active_rear * active_at_peak, 0.2)
        impact_mid = self._impact_mid.uniform(0.15, 0.4, n)
        impact_bw = np.select([rear, mid], [impact_rear, impact_mid], 0.0)
        active_bw = (impulse_bw_s - impact_bw * impact_area) / (contact * shape_mean)

        # Walking: two humps of ~1.1-1.2 BW, valley ~0.75 BW, first hump slightly higher.
        hump = np.clip(1.12 + 0.15 * (speed - 1.3), 1.0, 1.4) * (
            1 + 0.02 * self._hump.standard_normal(n)
        )
        valley = np.clip(0.75 - 0.2 * (speed - 1.3), 0.45, 0.9) * np.ones(n)
        a1 = (hump / np.sqrt(0.5) + valley) / 2
        a3 = (hump / np.sqrt(0.5) - valley) / 2
        walk_a = np.column_stack([a1, np.full(n, 0.03), a3])

        steps = _Steps(
            side=side,
            onset_s=onset,
            contact_s=contact,
            pattern=pattern,
            strike_frac=y0,
            cop_y=cop_y,
            cop_x_offset=0.008 * self._cop_x.standard_normal(n),
            scale=scale,
            heel_gain=heel_gain,
            active_bw=active_bw,
            gamma=gamma,
            impact_bw=impact_bw,
            impact_rise_s=rise,
            impact_fall_s=fall,
            walk_a=walk_a,
        )
        # True strike index: the CoP of the load centres at the instant of contact.
        _, cy0, share0 = _load_centres(steps, np.arange(n), np.zeros(n), 0.0)
        steps.strike_frac = (share0 * cy0).sum(axis=1)
        return steps


def _make_steps(config: GaitConfig, rng: np.random.Generator) -> _Steps:
    """Draw the whole step sequence of a run at once (`_StepSource`)."""
    source = _StepSource(config, rng)
    return source.take(source.n_steps)


# --------------------------------------------------------------------------------------------
# Per-insole signals
# --------------------------------------------------------------------------------------------


def _contact_force_bw(
    steps: _Steps, j: np.ndarray, tau: np.ndarray, u: np.ndarray, run: bool
) -> np.ndarray:
    """Total contact force in body weights for contact samples (step index j, time tau)."""
    if run:
        force = steps.active_bw[j] * _active_shape(u, steps.gamma[j])
        has_impact = steps.impact_bw[j] > 0
        if np.any(has_impact):
            force += steps.impact_bw[j] * _impact_shape(
                tau, steps.impact_rise_s[j], steps.impact_fall_s[j]
            )
    else:
        a = steps.walk_a[j]
        pu = np.pi * u
        force = a[:, 0] * np.sin(pu) + a[:, 1] * np.sin(2 * pu) + a[:, 2] * np.sin(3 * pu)
    return np.maximum(force, 0.0) * steps.scale[j]


def _load_centres(
    steps: _Steps, j: np.ndarray, u: np.ndarray, pronation: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (x / L, y / L) and force shares of the load centres for contact samples.

    Returns ``cx, cy, share``, each of shape ``(n, 4)`` for heel, midfoot, metatarsal heads
    and toes; ``share`` sums to one per row and ``(share * cy).sum(axis=1)`` is the CoP.
    """
    k = np.clip(np.searchsorted(_COP_KNOTS, u, side="right") - 1, 0, _COP_KNOTS.size - 2)
    frac = (u - _COP_KNOTS[k]) / (_COP_KNOTS[k + 1] - _COP_KNOTS[k])
    y = steps.cop_y[j, k] * (1 - frac) + steps.cop_y[j, k + 1] * frac
    rear_half = y < _MTH_Y
    w_mth = np.clip((y - _HEEL_Y) / (_MTH_Y - _HEEL_Y), 0.0, 1.0)
    w_toes = np.clip((y - _MTH_Y) / (_TOES_Y - _MTH_Y), 0.0, 1.0)
    heel = np.where(rear_half, 1 - w_mth, 0.0)
    mth = np.where(rear_half, w_mth, 1 - w_toes)
    toes = np.where(rear_half, 0.0, w_toes)
    mid = _MIDFOOT_SHARE * heel * mth  # arch contact while heel and forefoot are both loaded
    share = np.column_stack([heel * (1 - mid), mid, mth * (1 - mid), toes])

    n = u.size
    cy = np.empty((n, 4))
    cy[:, 0] = np.minimum(y, _HEEL_Y)  # the heel centre follows a CoP behind it
    cy[:, 1] = _MID_Y
    cy[:, 2] = _MTH_Y
    cy[:, 3] = np.maximum(y, _TOES_Y)
    early = np.clip(u / 0.3, 0.0, 1.0)
    # Pronation moves the load medially (negative x), growing over early stance.
    shift = steps.cop_x_offset[j] - pronation * 0.05 * (0.3 + 0.7 * early)
    cx = np.empty((n, 4))
    cx[:, 0] = _HEEL_X + shift
    cx[:, 1] = _MID_X + shift
    cx[:, 2] = _MTH_X_START + (_MTH_X_END - _MTH_X_START) * u + shift
    cx[:, 2] += np.where(steps.pattern[j] == 2, 0.04 * (1 - early), 0.0)  # lateral forefoot landing
    cx[:, 3] = _TOES_X + shift
    return cx, cy, share


_CHUNK_STEPS = 256  # steps of one foot processed together (bounds temporary memory)


def _spread_over_sensors(
    layout: SensorLayout, cx: np.ndarray, cy: np.ndarray, share: np.ndarray, force: np.ndarray
) -> np.ndarray:
    """Distribute each sample's total force over the sensors around the load centres.

    Each centre's share goes to the sensors with weights ``area · exp(−½ (Δx/σx)² −
    ½ (Δy/σy)²)`` normalised to one, so the sensor forces of a sample sum to `force`.
    """
    foot_length = layout.foot_length_mm
    sx = (layout.x_mm / foot_length).astype(np.float32)[None, :]
    sy = (layout.y_mm / foot_length).astype(np.float32)[None, :]
    log_area = np.log(layout.area_mm2).astype(np.float32)[None, :]
    out = np.zeros((force.size, layout.n_sensors), dtype=np.float32)
    for b, name in enumerate(("heel", "mid", "mth", "toes")):
        active = np.flatnonzero(share[:, b] > 1e-6)
        if active.size == 0:
            continue
        sigma_x, sigma_y = _SIGMA[name]
        dx = (sx - cx[active, b].astype(np.float32)[:, None]) / np.float32(sigma_x)
        dy = (sy - cy[active, b].astype(np.float32)[:, None]) / np.float32(sigma_y)
        logits = log_area - 0.5 * (dx * dx + dy * dy)
        logits -= logits.max(axis=1, keepdims=True)
        kernel = np.exp(logits, out=logits)
        kernel *= (share[active, b] * force[active]).astype(np.float32)[:, None] / kernel.sum(
            axis=1, keepdims=True
        )
        out[active] += kernel
    return out


def _hysteresis_excess(
    loaded: np.ndarray,
    segment: np.ndarray,
    *,
    first: int | None = None,
    scale: float | None = None,
    peak: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unloading-branch excess ``FSR_HYSTERESIS · min(F, F_peak_so_far − F)`` per contact.

    `loaded` holds the contact samples ``(n, n_sensors)`` in time order, `segment` the
    (non-decreasing) contact number of each row; the running peak restarts at every contact
    (each contact's rows are shifted by ``(segment - first) · scale``, above every earlier
    contact's). The rows may come in several calls: give each the `first` segment and the
    `scale` (largest force + 1) of all of them and the `peak` the previous call returned.

    Returns
    -------
    excess : numpy.ndarray
        float32, like `loaded`.
    peak : numpy.ndarray
        The running (shifted) peak after the last row, for the next call.
    """
    f64 = loaded.astype(np.float64)
    if loaded.shape[0] == 0:
        return np.zeros_like(loaded), peak if peak is not None else np.full(loaded.shape[1],
                                                                             -np.inf)
    first = int(segment[0]) if first is None else first
    scale = float(f64.max()) + 1.0 if scale is None else scale
    offset = ((segment - first).astype(np.float64) * scale)[:, None]
    shifted = np.maximum.accumulate(f64 + offset, axis=0)
    if peak is not None:
        shifted = np.maximum(shifted, peak)
    running_peak = shifted - offset
    excess = FSR_HYSTERESIS * np.minimum(f64, running_peak - f64)
    return np.maximum(excess, 0.0).astype(np.float32), shifted[-1]


#: Standing (``GaitConfig.stand_s``): a foot unloads over `_UNLOAD_S`, ending `_LIFT_LEAD_S`
#: before its first contact; heel and forefoot shares of its load.
_LIFT_LEAD_S = 0.3
_UNLOAD_S = 0.1
_STAND_SHARE = (0.55, 0.0, 0.45, 0.0)


def _stand_sway(rng: np.random.Generator) -> np.ndarray:
    """Sway of a stand: rows (amplitude, frequency [Hz], phase) of the sines it sums.

    One sine of 0.2-0.4 Hz and ±8 % of the half body weight, and two slow ones (0.03-0.1 Hz,
    ±3 %) for drift: a function of time, so the chunks of `_insole_blocks` join seamlessly.
    """
    amp = np.array([0.08, 0.03, 0.03])
    freq = np.concatenate([rng.uniform(0.2, 0.4, 1), rng.uniform(0.03, 0.1, 2)])
    phase = rng.uniform(0.0, 2 * np.pi, 3)
    return np.column_stack([amp, freq, phase])


def _standing_force(
    config: GaitConfig, sway: np.ndarray, side_code: int, t: np.ndarray, lift_s: float
) -> np.ndarray:
    """Sensor forces of one foot standing at times ``t`` (all before ``lift_s``)."""
    wave = (sway[:, 0] * np.sin(2 * np.pi * sway[:, 1] * t[:, None] + sway[:, 2])).sum(axis=1)
    sign = 1.0 if side_code == 0 else -1.0  # weight leaves one foot for the other
    ramp = np.clip((lift_s - t) / _UNLOAD_S, 0.0, 1.0)
    load = 0.5 * config.body_weight_n * (1.0 + sign * wave) * 0.5 * (1 - np.cos(np.pi * ramp))
    shape = (t.size, len(_STAND_SHARE))  # the same centres and shares at every sample
    share = np.broadcast_to(np.asarray(_STAND_SHARE), shape)
    cy = np.broadcast_to(np.array([_HEEL_Y, _MID_Y, _MTH_Y, _TOES_Y]), shape)
    cx = np.broadcast_to(np.array([_HEEL_X, _MID_X, _MTH_X_START, _TOES_X]), shape)
    return _spread_over_sensors(config.layout, cx, cy, share, load)


#: Steps drawn from the `_StepSource` at a time for one foot (both feet's steps are drawn).
_STEP_BLOCK = 512


class _OwnSteps:
    """One foot's steps, by their number among that foot's steps, drawn as they are needed.

    Holds a window of them: `window` forgets the steps before the one it starts at.
    """

    def __init__(self, source: _StepSource, side_code: int) -> None:
        self._source = source
        self._side = side_code
        self._lo = 0  # own number of the first step held
        self._steps = source.take(0)  # the steps held ...
        self._index = np.empty(0, np.int64)  # ... and their index in the whole sequence

    def _fill(self, hi: int | None) -> None:
        """Hold the steps up to own number `hi` (None: to the end), as far as the run has them."""
        parts, index = [self._steps], [self._index]
        have = self._lo + len(self._steps)
        while (hi is None or have < hi) and self._source.pos < self._source.n_steps:
            first = self._source.pos
            block = self._source.take(_STEP_BLOCK)
            mine = np.flatnonzero(block.side == self._side)
            parts.append(block.select(mine))
            index.append(first + mine)
            have += mine.size
        if len(parts) > 1:
            self._steps = _Steps.concat(parts)
            self._index = np.concatenate(index)

    @property
    def n_steps(self) -> int:
        """Steps of the run, both feet together."""
        return self._source.n_steps

    def onset(self, i: int) -> float | None:
        """Onset of own step `i` [s], or None if the run has fewer steps of this foot."""
        self._fill(i + 1)
        at = i - self._lo
        return float(self._steps.onset_s[at]) if at < len(self._steps) else None

    def window(self, lo: int, hi: int | None) -> tuple[_Steps, np.ndarray]:
        """Own steps `lo` .. `hi` - 1 (None: to the end) and their index in the whole sequence.

        Steps before `lo` are forgotten.
        """
        self._fill(hi)
        cut = lo - self._lo
        self._steps, self._index = self._steps.select(slice(cut, None)), self._index[cut:]
        self._lo = lo
        end = None if hi is None else hi - lo
        return self._steps.select(slice(0, end)), self._index[:end]


@dataclass(frozen=True)
class InsoleBlock:
    """A stretch of one insole's signals, from `GaitStream.insole`.

    Attributes
    ----------
    side : {"left", "right"}
    start : int
        Index of its first sample.
    counts : numpy.ndarray
        Raw ADC readings, uint16, shape ``(n, n_sensors)`` (`InsoleSignals.counts`).
    force_n : numpy.ndarray
        True force per sensor [N], float32, same shape (`InsoleSignals.force_n`).
    truth : StepTruth
        The complete contacts of this foot that the block is the last to hold, in order.
    step_index : numpy.ndarray
        Their index in the sequence of both feet's steps.
    steps_before : int
        Every step of this foot with a lower index than this has been handed out, with this
        block or an earlier one (if it is complete).
    """

    side: str
    start: int
    counts: np.ndarray
    force_n: np.ndarray
    truth: StepTruth
    step_index: np.ndarray
    steps_before: int


@dataclass(frozen=True)
class GaitBlock:
    """A stretch of both insoles' counts, from `GaitStream.blocks`.

    `left` and `right` cover the same samples; each block starts where the previous one ended.

    Attributes
    ----------
    start : int
        Index of its first sample.
    left, right : numpy.ndarray
        Raw ADC readings of each insole, uint16, shape ``(n, n_sensors)``.
    truth : StepTruth
        The steps whose truth is final now (complete contacts), in order of heel strike.
    """

    start: int
    left: np.ndarray
    right: np.ndarray
    truth: StepTruth


def _truth_rows(
    steps: _Steps, peak_total: np.ndarray, peak_heel: np.ndarray, t_last: float
) -> tuple[StepTruth, np.ndarray]:
    """The truth rows of the complete contacts among `steps`, and which rows those are."""
    end_s = steps.onset_s + steps.contact_s
    complete = np.flatnonzero((steps.onset_s >= 0.0) & (end_s <= t_last))
    truth = StepTruth(
        side=np.array(SIDES)[steps.side[complete]],
        heel_strike_s=steps.onset_s[complete],
        toe_off_s=end_s[complete],
        strike_pattern=np.array(STRIKE_PATTERNS)[steps.pattern[complete]],
        strike_index_pct=100.0 * steps.strike_frac[complete],
        peak_force_n=peak_total[complete],
        heel_peak_n=peak_heel[complete],
    )
    return truth, complete


def _join_truth(parts: list[tuple[np.ndarray, StepTruth]]) -> tuple[np.ndarray, StepTruth]:
    """Truth rows of several blocks in order of their step index, and those indices."""
    empty = StepTruth(side=np.array(SIDES)[:0], heel_strike_s=np.empty(0),
                      toe_off_s=np.empty(0), strike_pattern=np.array(STRIKE_PATTERNS)[:0],
                      strike_index_pct=np.empty(0), peak_force_n=np.empty(0),
                      heel_peak_n=np.empty(0))
    index = np.concatenate([np.empty(0, np.int64)] + [i for i, _ in parts])
    order = np.argsort(index, kind="stable")
    truth = StepTruth(**{
        name: np.concatenate([getattr(empty, name)] + [getattr(t, name) for _, t in parts])[order]
        for name in _TRUTH_FIELDS
    })
    return index[order], truth


def _insole_blocks(
    config: GaitConfig, side_code: int, seeds: list[np.random.SeedSequence]
) -> Iterator[InsoleBlock]:
    """Simulate one insole, a block of `_CHUNK_STEPS` of its contacts at a time.

    The blocks' boundaries fall on this foot's contact onsets, so no contact is split; each
    block draws the sensor noise of its samples in turn, so the signals do not depend on how
    the caller consumes them. `seeds` are the six seeds of `simulate_gait`.
    """
    layout = config.layout
    n_samples, n_sensors = int(config.duration_s * config.sample_rate_hz), layout.n_sensors
    fs = float(config.sample_rate_hz)
    t_last = (n_samples - 1) / fs  # the last sample's time
    rng_insole, rng_noise = _seed_rng(seeds[1 + side_code]), _seed_rng(seeds[3 + side_code])
    # The sixth seed (the stand's sway) leaves the other five, and so every run without a
    # stand, as they were.
    sway = _stand_sway(_seed_rng(seeds[5])) if config.stand_s > 0 else None
    own = _OwnSteps(_StepSource(config, _seed_rng(seeds[0])), side_code)
    calibration = _make_calibration(layout, int(config.adc_bits), rng_insole)
    baseline_w = layout.area_mm2 * rng_insole.uniform(0.5, 1.5, n_sensors)
    baseline = (config.swing_baseline_n * baseline_w / baseline_w.sum()).astype(np.float32)
    heel_cols = layout.indices(*HEEL_REGIONS)
    if layout.region == ("whole_foot",):
        heel_cols = np.array([0])
    run = config.gait == "run"
    pronation = float(config.pronation)
    # Standing before the gait (``stand_s``): until this foot lifts for its first contact.
    first_onset = own.onset(0)
    lift_s = first_onset - _LIFT_LEAD_S if sway is not None and first_onset is not None else (
        -np.inf)

    # Block g holds the samples from the onset of own step g·_CHUNK_STEPS to that of the next
    # block's first step (blocks that would be empty are skipped); its window of steps starts
    # one step earlier and ends one step later, so that every sample finds the step it is in.
    a, group = 0, 0
    while a < n_samples:
        b, end_group = n_samples, None
        g = group + 1
        while (onset_g := own.onset(g * _CHUNK_STEPS)) is not None:
            edge = int(np.clip(np.ceil(onset_g * fs), 0, n_samples))
            if edge > a:
                b, end_group = edge, g
                break
            g += 1
        lo = max(0, group * _CHUNK_STEPS - 1)
        steps, index = own.window(
            lo, None if end_group is None else end_group * _CHUNK_STEPS + 1)
        onset, contact = steps.onset_s, steps.contact_s
        n = b - a
        t = np.arange(a, b, dtype=np.float64) / fs
        k = np.searchsorted(onset, t, side="right") - 1
        kk = np.maximum(k, 0)
        tau = t - onset[kk]
        rows = np.flatnonzero((k >= 0) & (tau < contact[kk]))
        j = k[rows]  # the step of each contact sample, numbered in the window
        # The samples are worked through `part` at a time (bounding the temporaries); every
        # step is row by row, but for the hysteresis, which takes the block's largest force.
        part = max(1024, (1 << 20) // n_sensors)
        parts = [(s0, min(s0 + part, n)) for s0 in range(0, n, part)]
        row_edges = np.searchsorted(rows, [s0 for s0, _ in parts] + [n])
        chunk = np.empty((n, n_sensors), dtype=np.float32)
        chunk[:] = baseline
        largest = -np.inf
        for (s0, s1), r0, r1 in zip(parts, row_edges[:-1], row_edges[1:], strict=True):
            r, jr = rows[r0:r1], j[r0:r1]
            tau_c = tau[r]
            u = tau_c / steps.contact_s[jr]
            force_total = _contact_force_bw(steps, jr, tau_c, u, run) * config.body_weight_n
            cx, cy, share = _load_centres(steps, jr, u, pronation)
            contact_force = _spread_over_sensors(layout, cx, cy, share, force_total)
            if heel_cols.size and np.any(steps.heel_gain[jr] != 1.0):
                contact_force[:, heel_cols] *= steps.heel_gain[jr].astype(np.float32)[:, None]
            chunk[r] += contact_force
            if sway is not None and t[s0] < lift_s:  # standing before the gait
                standing = s0 + np.flatnonzero(t[s0:s1] < lift_s)
                chunk[standing] += _standing_force(config, sway, side_code, t[standing], lift_s)
            if r.size:
                largest = max(largest, float(chunk[r].max()))

        # What the sensor feels: true force + hysteresis on unloading + white noise.
        counts = np.empty((n, n_sensors), dtype=np.uint16)
        peak_total = np.full(len(steps), np.nan)
        peak_heel = np.full(len(steps), np.nan)
        running: np.ndarray | None = None
        for (s0, s1), r0, r1 in zip(parts, row_edges[:-1], row_edges[1:], strict=True):
            r, jr = rows[r0:r1], j[r0:r1]
            sensed = chunk[s0:s1].copy()
            if r.size:
                excess, running = _hysteresis_excess(chunk[r], jr, first=int(j[0]),
                                                     scale=largest + 1.0, peak=running)
                sensed[r - s0] += excess
                step_ids, starts = np.unique(jr, return_index=True)
                total = chunk[r].sum(axis=1, dtype=np.float64)
                peak_total[step_ids] = np.fmax(peak_total[step_ids],
                                               np.maximum.reduceat(total, starts))
                if heel_cols.size:
                    heel = chunk[r][:, heel_cols].sum(axis=1, dtype=np.float64)
                    peak_heel[step_ids] = np.fmax(peak_heel[step_ids],
                                                  np.maximum.reduceat(heel, starts))
            if config.noise_n > 0:
                noise = rng_noise.standard_normal(sensed.shape, dtype=np.float32)
                sensed += noise * np.float32(config.noise_n)
            counts[s0:s1] = force_to_counts(sensed, calibration)
        # The steps of this block's groups: the block holds all their contact samples.
        mine = slice(group * _CHUNK_STEPS - lo,
                     None if end_group is None else end_group * _CHUNK_STEPS - lo)
        truth, complete = _truth_rows(steps.select(mine), peak_total[mine], peak_heel[mine],
                                      t_last)
        yield InsoleBlock(
            side=SIDES[side_code],
            start=a,
            counts=counts,
            force_n=chunk,
            truth=truth,
            step_index=index[mine][complete],
            steps_before=(own.n_steps if end_group is None
                          else int(index[end_group * _CHUNK_STEPS - lo])),
        )
        a = b
        if end_group is not None:
            group = end_group


class GaitStream:
    """`simulate_gait` a block at a time, in memory bounded independently of the duration.

    The same numbers as `simulate_gait` with the same configuration (which is built on it),
    handed out in stretches of a few minutes: a week-long run needs no more memory than a
    minute-long one.

    Parameters
    ----------
    config : GaitConfig, optional
        What to simulate (default ``GaitConfig()``).

    Attributes
    ----------
    config : GaitConfig
    n_samples : int
        Samples per insole.
    calibration : dict
        FSR calibration of each insole, keyed by side (`InsoleSignals.calibration`).

    Examples
    --------
    >>> stream = GaitStream(GaitConfig(duration_s=600.0, seed=1))
    >>> blocks = list(stream.blocks())
    >>> steps = sum(len(b.truth) for b in blocks)
    >>> len(blocks) > 1, steps == len(simulate_gait(stream.config).truth)
    (True, True)
    """

    def __init__(self, config: GaitConfig | None = None) -> None:
        self.config = config if config is not None else GaitConfig()
        self.n_samples = int(self.config.duration_s * self.config.sample_rate_hz)
        self._seeds = np.random.SeedSequence(int(self.config.seed)).spawn(6)
        self.calibration = {
            side: _make_calibration(self.config.layout, int(self.config.adc_bits),
                                    _seed_rng(self._seeds[1 + code]))
            for code, side in enumerate(SIDES)
        }

    def insole(self, side: str) -> Iterator[InsoleBlock]:
        """One insole's signals, block after block (each call starts from the beginning).

        Parameters
        ----------
        side : {"left", "right"}
            Which insole.

        Returns
        -------
        iterator of InsoleBlock
            Consecutive blocks, together covering every sample; each holds up to
            256 of this foot's contacts.
        """
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        return _insole_blocks(self.config, SIDES.index(side), self._seeds)

    def blocks(self) -> Iterator[GaitBlock]:
        """Both insoles' counts, block after block, with the truth of the steps they complete.

        Returns
        -------
        iterator of GaitBlock
            Consecutive blocks, together covering every sample. The truth of a step comes
            with the first block after which both feet's signals up to it are out, so the
            rows of all blocks together are `simulate_gait`'s truth, in order.
        """
        feet = [self.insole(side) for side in SIDES]
        pending: list[list[np.ndarray]] = [[], []]
        have = [0, 0]  # samples simulated, per insole
        before = [0, 0]  # `InsoleBlock.steps_before`, per insole
        rows: list[tuple[np.ndarray, StepTruth]] = []
        start = 0
        while start < self.n_samples:
            behind = 0 if have[0] <= have[1] else 1
            block = next(feet[behind])
            pending[behind].append(block.counts)
            have[behind] += block.counts.shape[0]
            before[behind] = block.steps_before
            rows.append((block.step_index, block.truth))
            stop = min(have)
            if stop == start:
                continue
            out = []
            for side in (0, 1):
                joined = np.concatenate(pending[side]) if len(pending[side]) > 1 else (
                    pending[side][0])
                cut = stop - (have[side] - joined.shape[0])
                out.append(joined[:cut])
                pending[side] = [joined[cut:]] if cut < joined.shape[0] else []
            index, truth = _join_truth(rows)
            final = len(index) if stop == self.n_samples else int(
                np.searchsorted(index, min(before)))
            rows = [(index[final:], truth.rows(slice(final, None)))]
            yield GaitBlock(start, out[0], out[1], truth.rows(slice(0, final)))
            start = stop


def simulate_gait(config: GaitConfig | None = None) -> GaitSimulation:
    """Simulate two pressure insoles during running or walking.

    Parameters
    ----------
    config : GaitConfig, optional
        What to simulate; defaults to ``GaitConfig()`` (60 s of rearfoot running).

    Returns
    -------
    GaitSimulation
        Raw counts, true forces and calibration per insole, and the step ground truth.

    Notes
    -----
    **Timing.** Contacts alternate between the feet. Step times vary by about 2 % with
    positive step-to-step correlation (AR(1), φ = 0.6). Running contact time is a duty factor
    of the step time, ``0.75 − 0.05 (v − 3 m/s)``, giving 0.26 s contact and 0.09 s flight at
    170 steps/min and 3 m/s; walking stance is ``0.62 − 0.04 (v − 1.3 m/s)`` of the stride
    (double support about 10 % of the stride per side). The recording is a window cut from
    steady gait: contacts cut by its start or end are in the signals but not in the truth.

    **Force.** Running: an active hump ``A(u) = s (1 + c s²) / (1 + c)``, ``s = sin(π u^γ)``,
    c = 2, with ``u`` the fraction of contact and γ placing the peak at 40-45 % of contact;
    rearfoot strikes add an impact transient (raised-cosine rise over 19-24 ms, fall over
    22-34 ms) scaled so that the force reaches a drawn impact peak of 1.5-1.9 BW, which puts
    the local impact maximum 20-30 ms after contact; midfoot strikes get a small 0.15-0.4 BW
    transient that leaves no separate peak, forefoot strikes none. The active amplitude follows
    from momentum balance, ∫F dt = BW · step time, which gives about 2.4 BW at 3 m/s and
    2.6 BW at 4.5 m/s. Walking: ``a1 sin(πu) + a2 sin(2πu) + a3 sin(3πu)`` with humps of
    about 1.1-1.2 BW (higher when faster) and a valley of about 0.75 BW. Each step's force
    varies by 3 % (SD); right-foot forces are scaled by ``1 + asymmetry_pct / 100``, and the
    forces on the heel sensors by ``1 + fatigue_pct / 100 · t_contact / duration_s``. Heel
    strike and toe-off in the truth are the model's exact contact start and end, where the
    total force leaves and rejoins the swing baseline.

    **Centre of pressure and sensors.** The CoP starts at the step's strike index: a habitual
    value per pattern drawn once per run (rearfoot 11-21 %, midfoot 45-55 %, forefoot
    75-82 % of foot length; walking heel strikes 7-13 %) plus 2.5 % scatter per step, kept
    within 6-26 %, 40-60 % and 72-85 %, clear of the class limits at 33.3 and 66.7 %. It
    moves along piecewise-linear knots to about 90 % at toe-off; forefoot strikes first drift
    back while the heel lowers. The force is shared between anatomical load centres (heel
    11 %, lateral midfoot 42 %, metatarsal heads 70 %, toes 90 % of foot length) so that their
    combined CoP is the model CoP, with a midfoot share of up to 15 % while heel and forefoot
    are both loaded (a flat-foot landing loads heel and metatarsal heads, not the arch); the
    truth's strike index is the combined CoP at contact, within 2 % of foot length of the
    drawn value. Medially-laterally the load runs along the lateral heel and midfoot and rolls
    medially over the metatarsal heads towards the hallux, all shifted medially by
    ``0.05 L · pronation``. Each centre's force is spread over the sensors with weights
    ``area · exp(−½ (Δx/σx)² − ½ (Δy/σy)²)`` normalised to one, so the sensor forces sum
    exactly to the total force.

    **Sensor readings.** Each sensor gets a share of the swing baseline. What it senses is the true
    force plus FSR hysteresis on unloading (``+0.2 · min(F, F_peak − F)``, at most 10 % of the
    contact's peak), plus white noise of `noise_n` N; the FSR divider model of
    `force_to_counts` with per-sensor reference forces (saturation at 600 kPa over the
    sensor area, ±10 % part-to-part) and exponents (0.92-1.08) turns it into counts quantised
    to `adc_bits`. Negative sensed forces read as 0 counts. Not modelled: FSR drift and creep,
    temperature, crosstalk, device clocks (sample times are ideal).
    """
    if config is None:
        config = GaitConfig()
    stream = GaitStream(config)
    n_samples, n_sensors = stream.n_samples, config.layout.n_sensors
    time_s = np.arange(n_samples, dtype=np.float64) / float(config.sample_rate_hz)
    time_s.setflags(write=False)
    signals = {}
    rows = []
    for side in SIDES:
        force_n = np.empty((n_samples, n_sensors), dtype=np.float32)
        counts = np.empty((n_samples, n_sensors), dtype=np.uint16)
        for block in stream.insole(side):
            force_n[block.start : block.start + block.counts.shape[0]] = block.force_n
            counts[block.start : block.start + block.counts.shape[0]] = block.counts
            rows.append((block.step_index, block.truth))
        signals[side] = InsoleSignals(
            side=side, time_s=time_s, counts=counts, force_n=force_n,
            calibration=stream.calibration[side],
        )
    _, truth = _join_truth(rows)
    return GaitSimulation(config=config, left=signals["left"], right=signals["right"], truth=truth)
