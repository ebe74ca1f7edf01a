"""Project-wide pytest options: hardware tests are opt-in, emulators are the default."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("insole hardware", "tests against real insoles (off by default)")
    group.addoption(
        "--insole-serial",
        metavar="PORT",
        help="run the hardware tests against a real insole receiver on this serial port",
    )
    group.addoption(
        "--insole-ble",
        metavar="ADDR",
        help="run the hardware tests against a real BLE insole (name or address; "
        "'left=ADDR,right=ADDR' for a pair)",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Load (on a fresh clone: compile, about 45 s) the numba kernels once, up front.

    numba caches compiled kernels on disk; without this the first tests that start several
    ``insole`` processes at once (concurrent saves, batch pools) would each compile them in
    parallel on a 2-core machine and run into their timeouts.
    """
    from pathlib import Path

    from insole.session.analysis import SessionAnalysis

    rec = Path(__file__).resolve().parents[1] / "recordings" / "run_rearfoot_20s.insrec"
    if rec.exists():
        SessionAnalysis(keep_records=False).run(rec)
