"""Simulators that stand in for insole hardware.

Lives here: the gait model (`gait`: forces, sensor counts and the truth), the transport
(`transport`: frames, loss and faults on the wire) and what they accept (`limits`). May import:
`firmware_protocol` and `insole.core`.

`insole.sources.sim.gait` models two pressure insoles during running or walking and returns raw ADC
counts together with the ground truth (true forces, contact times, strike pattern). The names
below are imported on first use, so that `insole.sources.sim.limits` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GaitConfig",
    "GaitSimulation",
    "GaitStream",
    "InsoleSignals",
    "StepTruth",
    "counts_to_force",
    "force_to_counts",
    "simulate_gait",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("insole.sources.sim.gait"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
