"""Run a command as a user without root's rights, to test what permissions refuse.

Tests run as root in CI, and root reads and writes every folder. ``setpriv`` (util-linux)
runs a command as ``nobody`` instead; the test then needs its files where that user can
reach them (a folder of ``tempfile.mkdtemp``'s made world-readable, not pytest's
``tmp_path``, which lies under a folder only root may enter).
"""

from __future__ import annotations

import os
import shutil

import pytest

NOBODY = 65534


def as_other_user(args: list[str]) -> list[str]:
    """`args` run as ``nobody`` when the tests run as root; as they are otherwise."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *args]
