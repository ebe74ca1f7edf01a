"""What the simulator accepts, in one place: ``insole simulate``, ``sim:`` and the emulators.

Plain numbers (this module imports nothing), so that the command line and the source-URL parser
check them without loading the simulator. `insole.sources.sim.gait.GaitConfig` checks
`GAIT_LIMITS`; `insole.sources.sim.transport.TransportConfig` checks `MAX_DRIFT_PPM`.
"""

from __future__ import annotations

__all__ = [
    "GAIT_LIMITS",
    "MAX_DRIFT_PPM",
    "MAX_DURATION_S",
    "MAX_GARBAGE_PER_MIN",
    "MAX_RATE_HZ",
    "MAX_SEED",
    "MAX_SENSORS",
    "MIN_RATE_HZ",
    "MIN_SENSORS",
]

#: Longest simulated run [s]: a week. Longer than an insole's battery lasts; at 200 Hz it is
#: already about half an hour of computing and a 9 GB recording (``insole simulate``, whose
#: memory does not grow with the duration: bench/simulate_memory.py).
MAX_DURATION_S = 7 * 24 * 3600.0

#: Largest seed: seeds are 0 .. 2**32 - 1 (a seed is a number to note down, not a secret).
MAX_SEED = 2**32 - 1

#: Sampling rates of the simulated insoles [Hz]. Insoles run at 100-1000 Hz
#: (firmware_protocol/SPEC.md §1.4); at 10 Hz a contact of 0.2 s still spans two samples.
MIN_RATE_HZ = 10
MAX_RATE_HZ = 2000

#: Sensors per simulated insole (`insole.core.layouts.default_layout`).
MIN_SENSORS = 4
MAX_SENSORS = 64

#: Largest right-vs-left clock drift [ppm]. The Bluetooth Core Specification (v5.2, Vol 6,
#: Part B, §4.2) allows a Low Energy device's sleep clock ±500 ppm and its active clock
#: ±50 ppm, so two insoles' clocks differ by at most 1000 ppm; crystals are within ±20-50 ppm
#: (docs/steps_table.md, which refuses a measured drift above 1000 ppm for the same reason).
MAX_DRIFT_PPM = 1000.0

#: Most garbage insertions per minute per stream: one a second. Each destroys a frame (3 % of
#: them at 200 Hz); a link that bad is already broken, and every resynchronisation path of the
#: decoder is exercised long before.
MAX_GARBAGE_PER_MIN = 60.0

#: Valid range of each numeric `GaitConfig` parameter: (low, high, low included); the high
#: end is included. ``inf`` means no upper bound (the value must still be finite).
GAIT_LIMITS: dict[str, tuple[float, float, bool]] = {
    "duration_s": (0.0, float("inf"), False),
    "cadence_spm": (40.0, 260.0, True),
    "speed_mps": (0.0, 12.0, False),
    "body_mass_kg": (0.0, 400.0, False),
    "pronation": (-1.0, 1.0, True),
    "asymmetry_pct": (-90.0, 900.0, True),
    "fatigue_pct": (-90.0, 900.0, True),
    "sample_rate_hz": (0.0, 10000.0, False),
    "noise_n": (0.0, float("inf"), True),
    "swing_baseline_n": (0.0, float("inf"), True),
    "stand_s": (0.0, float("inf"), True),
}
