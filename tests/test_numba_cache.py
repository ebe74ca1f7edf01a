"""Compiled kernels load where numba cannot cache beside the source nor in the user's home.

A service account (or a system-wide install used by a user whose home is read-only) gave
``cannot cache function '_leaf': no locator available`` for every kernel: `insole analyze`
failed. `firmware_protocol.jit.load_numba` then points numba's cache at a folder of the
user's in the temporary folder, created private (0700); one that another user made is not used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers_users import NOBODY, as_other_user  # tests/ is on the path (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]

KERNEL = """
import sys
sys.path.insert(0, {root!r})
from firmware_protocol.jit import load_numba
numba = load_numba()

@numba.njit(cache=True)
def add_one(x):
    return x + 1

print(add_one(41), numba.config.CACHE_DIR)
"""


@pytest.fixture
def read_only_module():
    """A module with a cached kernel in a folder the test user cannot write."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a user that cannot write the project's folders")
    folder = Path(tempfile.mkdtemp(prefix="insole-ro-"))
    (folder / "kernel.py").write_text(KERNEL.format(root=str(ROOT)))
    folder.chmod(0o755)
    (folder / "kernel.py").chmod(0o644)
    yield folder
    shutil.rmtree(folder)


def _run(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["HOME"] = "/nonexistent"  # no user cache folder either
    return subprocess.run(
        as_other_user([sys.executable, "-c", "import kernel"]), capture_output=True,
        text=True, timeout=120, cwd=folder, env={**env, "PYTHONPATH": str(folder)})


def test_kernels_cache_in_a_private_temporary_folder_when_nowhere_else(read_only_module):
    cache = Path(tempfile.gettempdir()) / f"insole-numba-{NOBODY}"
    proc = _run(read_only_module)
    assert proc.returncode == 0, proc.stderr
    value, where = proc.stdout.split()
    assert value == "42"
    assert Path(where) == cache
    st = cache.stat()
    assert st.st_uid == NOBODY
    assert st.st_mode & 0o777 == 0o700
    assert list(cache.rglob("kernel.add_one-*.nbi")), "the kernel was not cached there"


def test_a_temporary_cache_folder_of_another_user_is_not_used(read_only_module, tmp_path):
    cache = Path(tempfile.gettempdir()) / f"insole-numba-{NOBODY}"
    moved = tmp_path / "moved"
    if cache.exists():
        shutil.move(str(cache), moved)
    try:
        cache.mkdir(mode=0o777)  # planted by root, writable by all
        cache.chmod(0o777)
        proc = _run(read_only_module)
        # Nothing is loaded from it: numba has nowhere to cache, as before this fallback.
        assert proc.returncode != 0
        assert "cannot cache function" in proc.stderr
    finally:
        shutil.rmtree(cache)
        if moved.exists():
            shutil.move(str(moved), cache)
