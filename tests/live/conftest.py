"""Live-view tests run real Qt widgets offscreen (no display needed)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
