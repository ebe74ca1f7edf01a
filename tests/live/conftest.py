"""Live-view tests run real Qt widgets offscreen (no display needed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Set when this folder is collected, before any test runs: pytest-qt's session-wide QApplication
# is created by the first test that asks for it, before the package fixture below would run, and
# without a display Qt then aborts the process (`./scripts/test tests/live/test_window_view.py`).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="package", autouse=True)
def _qt_offscreen() -> Iterator[None]:
    """Render Qt offscreen while these tests run (set before pytest-qt creates the app)."""
    old = os.environ.get("QT_QPA_PLATFORM")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    yield
    if old is None:
        os.environ.pop("QT_QPA_PLATFORM", None)
    else:
        os.environ["QT_QPA_PLATFORM"] = old


@pytest.fixture
def qt(request: pytest.FixtureRequest) -> Any:
    """pytest-qt's ``qtbot``; the window tests skip without the GUI packages."""
    for module in ("pyqtgraph", "PySide6", "pytestqt"):
        pytest.importorskip(module)
    return request.getfixturevalue("qtbot")
