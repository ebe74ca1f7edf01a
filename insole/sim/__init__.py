"""Simulators that stand in for insole hardware.

`insole.sim.gait` models two pressure insoles during running or walking and returns raw ADC
counts together with the ground truth (true forces, contact times, strike pattern).
"""

from insole.sim.gait import (
    GaitConfig,
    GaitSimulation,
    InsoleSignals,
    StepTruth,
    counts_to_force,
    force_to_counts,
    simulate_gait,
)

__all__ = [
    "GaitConfig",
    "GaitSimulation",
    "InsoleSignals",
    "StepTruth",
    "counts_to_force",
    "force_to_counts",
    "simulate_gait",
]
