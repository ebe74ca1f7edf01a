"""Simulators that stand in for insole hardware.

Lives here: the gait model (`gait`: forces, sensor counts and the truth) and the transport
(`transport`: frames, loss and faults on the wire). May import: `firmware_protocol` and
`insole.core`.

`insole.sources.sim.gait` models two pressure insoles during running or walking and returns raw ADC
counts together with the ground truth (true forces, contact times, strike pattern).
"""

from insole.sources.sim.gait import (
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
