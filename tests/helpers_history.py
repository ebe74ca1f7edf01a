"""Training histories for tests: simulated runs saved into a real SQLite history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pytest

from insole.cli import main
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.session.history import HistoryDB
from insole.session.rules import SessionPoint


def simulated_run(folder: Path, name: str, start: str, *, seconds: float, seed: int = 40,
                  mass_kg: float = 70.0, asymmetry_pct: float = 0.0) -> Path:
    """``folder/name.insrec``: a simulated run starting at ``start`` (ISO 8601 with offset)."""
    rec = folder / f"{name}.insrec"
    simulate_to_file(
        SimulationRequest(duration_s=seconds, seed=seed, body_mass_kg=mass_kg,
                          asymmetry_pct=asymmetry_pct, start=datetime.fromisoformat(start)),
        rec,
    )
    return rec


def saved_history(db: Path, runs: Iterable[tuple[str, int]], *, seconds: float = 20.0) -> Path:
    """``db`` with one simulated run per ``(start, seed)`` saved (``insole analyze --save``)."""
    for i, (start, seed) in enumerate(runs):
        rec = simulated_run(db.parent, f"{db.stem}-run{i}", start, seconds=seconds, seed=seed)
        assert main(["analyze", str(rec), "--save", "--db", str(db), "--quiet"]) == 0
    return db


def cli_out(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run ``insole ARGS`` (it must succeed); return what it printed on stdout."""
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def session_points(db: Path) -> list[SessionPoint]:
    """Every session of the history as the rules see it, oldest first."""
    with HistoryDB(db, readonly=True) as h:
        return [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id)
                for s in h.sessions()]
