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
