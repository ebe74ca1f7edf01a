"""Compiled kernels load where numba cannot cache beside the source nor in the user's home.

A service account (or a system-wide install used by a user whose home is read-only) gave
``cannot cache function '_leaf': no locator available`` for every kernel: `insole analyze`
failed. `firmware_protocol.jit.load_numba` then points numba's cache at a folder of the
user's in the temporary folder, created private (0700); one that another user made is not used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
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



GATHER = """
import json, sys
import numpy as np
sys.path.insert(0, {root!r})
from insole.core.calibration import _gather_kernel

def loaded():
    return [m for m in ("numba.np.linalg", "numba.np.arraymath", "scipy.linalg")
            if m in sys.modules]

kernel = _gather_kernel()
counts = (np.arange(24, dtype=np.uint16).reshape(6, 4) * 7) % 30
flat = np.arange(100, dtype=np.float64) * 0.5
row = np.array([0, 25, 50, 75], np.int64)
out = np.zeros((6, 4))
kernel(counts, flat, row, 20, out)
hits = sum(kernel.stats.cache_hits.values())
print(json.dumps({{"modules": loaded(), "hits": hits, "out": out.tolist()}}))
"""


def _gather(cache_dir: Path) -> dict:
    """Run `Calibrator`'s compiled gather in a new process with its cache in ``cache_dir``."""
    proc = subprocess.run(
        [sys.executable, "-c", GATHER.format(root=str(ROOT))], capture_output=True, text=True,
        timeout=300, env={**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_kernel_read_from_the_cache_loads_none_of_numbas_registries(tmp_path):
    """The lean cache load (`firmware_protocol.jit`): compiled once, read without registries.

    Compiling needs numba's implementations (its registries, e.g. ``numba.np.linalg``), loaded
    without scipy.linalg; a process that reads the kernel from the cache needs none of them
    (0.1-0.2 s of every analysis process) and computes the same values.
    """
    counts = (np.arange(24, dtype=np.uint16).reshape(6, 4) * 7) % 30
    expected = (np.minimum(counts, 20) + np.array([0, 25, 50, 75])) * 0.5
    first = _gather(tmp_path)
    assert first["hits"] == 0  # compiled
    assert "numba.np.linalg" in first["modules"]
    assert "scipy.linalg" not in first["modules"]
    np.testing.assert_array_equal(first["out"], expected)
    second = _gather(tmp_path)
    assert second["hits"] == 1  # read from the cache
    assert second["modules"] == []
    np.testing.assert_array_equal(second["out"], expected)


def test_other_packages_kernels_load_as_numba_loads_them(tmp_path):
    """A kernel of another package read from the cache gets numba's own load (registries)."""
    folder = tmp_path / "mod"
    folder.mkdir()
    (folder / "kernel.py").write_text(KERNEL.format(root=str(ROOT)))
    code = "import sys, kernel; print('numba.np.linalg' in sys.modules)"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(folder)}
    for _ in range(2):  # compile, then read from the cache
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300, env=env, cwd=folder)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split()[-1] == "True"
    assert list((tmp_path / "cache").rglob("kernel.add_one-*.nbi"))
