"""Damaged C3D files on which ezc3d would run out of memory or hang: one line, exit 2, quickly.

``c3d_ezc3d_out_of_memory.c3d`` (2 kB, found by ``bench/fuzz_importers.py c3d``) makes ezc3d
reserve over 12 GB and run for more than 30 s; the probe child's address-space limit stops it
in well under a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ezc3d")

from insole.sources.importers import ImportFormatError  # noqa: E402
from insole.sources.importers import c3d as c3d_module  # noqa: E402

DATA = Path(__file__).parent / "data"


def test_out_of_memory_in_ezc3d_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "x.insrec"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "insole.cli", "import", "c3d",
         str(DATA / "c3d_ezc3d_out_of_memory.c3d"), "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert time.monotonic() - t0 < 30
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "the C3D reader (ezc3d) needs more than" in lines[0]
    assert "the file is damaged" in lines[0]
    assert not out.exists()


def test_a_probe_that_does_not_finish_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hang (simulated: the child sleeps) ends at the probe's timeout with one line."""
    monkeypatch.setattr(c3d_module, "_PROBE", "import time; time.sleep(60)")
    monkeypatch.setattr(c3d_module, "_PROBE_BASE_S", 1.0)
    t0 = time.monotonic()
    with pytest.raises(ImportFormatError, match=r"did not finish within 1 s: the file is damaged"):
        c3d_module.read_c3d(DATA / "c3d_ezc3d_out_of_memory.c3d")
    assert time.monotonic() - t0 < 20
