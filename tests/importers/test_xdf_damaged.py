"""Damaged XDF files whose numbers ask pyxdf for unbounded memory: one line, exit 2, quickly.

pyxdf sizes its arrays from counts in the file before reading the bytes they describe; the
files in ``data/`` (a few hundred bytes each, written by hand to the XDF specification) ask
for 8 GB to 1 TB. `insole.sources.importers.xdf` checks the chunk structure first. The importer runs
in a child with an address-space limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyxdf")

from insole.sources.importers import ImportFormatError  # noqa: E402
from insole.sources.importers.xdf import _check_chunks, read_xdf  # noqa: E402

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location(
    "helpers_xdf_writer", Path(__file__).parents[1] / "helpers_xdf_writer.py")
assert _spec is not None
assert _spec.loader is not None
xw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(xw)

DAMAGED = {
    "xdf_sample_count_too_large.xdf": "damaged at byte 478: Samples chunk",
    "xdf_channel_count_too_large.xdf": "damaged at byte 64: stream header declares 2147483648 "
                                       "channels",
    "xdf_chunk_past_end.xdf": "damaged at byte 762: chunk (tag 5) of 1099511627776 bytes runs "
                              "past the end of the file",
}
LIMIT_BYTES = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_file_is_one_line_exit_2_in_bounded_memory_and_time(tmp_path: Path,
                                                                     name: str) -> None:
    out = tmp_path / "x.insrec"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "insole.cli", "import", "xdf", str(DATA / name), "--out",
         str(out)], capture_output=True, text=True, timeout=60, check=False,
        preexec_fn=_limit)
    assert time.monotonic() - t0 < 30
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("insole import: error: XDF file")
    assert DAMAGED[name] in lines[0]
    assert not out.exists()


def _good(path: Path) -> bytes:
    xml = xw.stream_header_xml(name="insole left", type="Pressure", channel_count=16,
                               nominal_srate=100.0, channel_format="float32")
    marks = xw.stream_header_xml(name="insole events", type="Markers", channel_count=1,
                                 nominal_srate=0.0, channel_format="string")
    t = np.arange(120) / 100.0
    xw.write_xdf(path, [
        {"xml": xml, "time_stamps": t, "time_series": np.ones((120, 16)),
         "clock_offsets": [(0.0, 1.0), (1.0, 1.0)]},
        {"xml": marks, "time_stamps": t[::20], "time_series": [["heel_strike/left"]] * 6},
    ], chunk_samples=25)
    return path.read_bytes()


def test_every_cut_of_a_good_file_passes_the_check(tmp_path: Path) -> None:
    """A recording cut anywhere (LabRecorder killed) is not damage: pyxdf reads what is there."""
    data = _good(tmp_path / "good.xdf")
    cut = tmp_path / "cut.xdf"
    for n in range(4, len(data) + 1, 3):
        cut.write_bytes(data[:n])
        _check_chunks(cut)


def test_samples_running_past_their_chunk_are_refused(tmp_path: Path) -> None:
    data = bytearray(_good(tmp_path / "good.xdf"))
    first = data.index(b"\x03\x00\x01\x00\x00\x00")  # tag 3, stream 1: the first Samples chunk
    assert data[first + 6:first + 8] == bytes([1, 25])  # 25 samples
    data[first + 7] = 26
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ImportFormatError, match=r"damaged at byte \d+: the 26 samples of the "
                                                r"Samples chunk run past its end"):
        read_xdf(bad)


def test_timestamps_without_their_flag_still_read(tmp_path: Path) -> None:
    """Samples whose timestamp is left out (flag 0, as the spec allows) are walked one by one."""
    with xw.XdfWriter(tmp_path / "d.xdf") as w:
        w.stream_header(1, xw.stream_header_xml(
            name="insole left", type="Pressure", channel_count=4, nominal_srate=100.0,
            channel_format="int16"))
        rows = b"".join(b"\x00" + np.arange(4, dtype="<i2").tobytes() for _ in range(10))
        w._f.write(xw.chunk(3, b"\x01\x00\x00\x00" + xw.varlen(10) + rows))
    _check_chunks(tmp_path / "d.xdf")
