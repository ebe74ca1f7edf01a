"""A damaged file header costs no data block when the header can still be read.

A 20 s simulated recording's file header is damaged four ways: a changed letter or digit in
the header JSON that keeps it a valid header (read as it is, with a warning that its values
could be wrong), one flipped bit (repaired by the header CRC, whether or not the JSON still
parses), a corrupt length field (repaired from the first block), and a JSON that no longer
parses (refused in one line, exit 2). ``info``, ``analyze``, ``replay``, ``report`` and the
``file:`` source read the first three past the damage with one warning line and exit 0, and
``--strict`` refuses them (recordings/FORMAT.md §4.1, step 0).
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from insole.cli import main
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.errors import InsoleError, RecordingError
from insole.recordings.container import BlockReader, read_header, read_raw_recording

HEAD = 16  # the header JSON starts here (recordings/FORMAT.md §1.1)


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20 s two-insole simulated recording, undamaged."""
    path = tmp_path_factory.mktemp("header_damage") / "intact.insrec"
    simulate_to_file(SimulationRequest(duration_s=20.0, seed=0), path)
    return path


def _json_len(data: bytes | bytearray) -> int:
    return int(struct.unpack_from("<I", data, 12)[0])


def _at(data: bytearray, text: bytes, skip: int = 0) -> int:
    """File offset of ``text`` (plus ``skip``) in the header JSON."""
    found = bytes(data[HEAD:HEAD + _json_len(data)]).find(text)
    assert found >= 0, text
    return HEAD + found + skip


def _letter(data: bytearray) -> None:
    """``"ble-left"`` -> ``"ble-loft"``: two bits of one byte, the JSON still a valid header."""
    i = _at(data, b'"ble-left"', 6)
    assert data[i] == ord("e")
    data[i] = ord("o")


def _digit(data: bytearray) -> None:
    """The first ``"sample_rate_hz": 200.0`` -> ``100.0`` (two bits of one byte)."""
    i = _at(data, b'"sample_rate_hz": 200.0', len(b'"sample_rate_hz": '))
    assert data[i] == ord("2")
    data[i] = ord("1")


def _bit_in_value(data: bytearray) -> None:
    """One flipped bit: ``200.0`` -> ``300.0``, still valid JSON."""
    data[_at(data, b'"sample_rate_hz": 200.0', len(b'"sample_rate_hz": '))] ^= 0x01


def _bit_breaking_json(data: bytearray) -> None:
    """One flipped bit: the quote before ``source`` becomes ``#``, the JSON no longer parses."""
    data[_at(data, b'"source"')] ^= 0x01


def _bit_in_crc(data: bytearray) -> None:
    """One flipped bit in the stored header CRC; the JSON is intact."""
    data[HEAD + _json_len(data) + 2] ^= 0x40


def _implausible_length(data: bytearray) -> None:
    data[12:16] = struct.pack("<I", 2**31)


def _short_length(data: bytearray) -> None:
    data[12:16] = struct.pack("<I", _json_len(data) - 100)


def _broken_json(data: bytearray) -> None:
    """Eight bits of one byte: the JSON is no longer UTF-8."""
    data[_at(data, b'"source"')] ^= 0xFF


AS_READ: dict[str, Callable[[bytearray], None]] = {"letter": _letter, "digit": _digit}
REPAIRED: dict[str, Callable[[bytearray], None]] = {
    "bit-in-value": _bit_in_value,
    "bit-breaking-json": _bit_breaking_json,
    "bit-in-crc": _bit_in_crc,
    "implausible-length": _implausible_length,
    "short-length": _short_length,
}


def _damaged(intact: Path, tmp_path: Path, damage: Callable[[bytearray], None]) -> Path:
    data = bytearray(intact.read_bytes())
    damage(data)
    path = tmp_path / f"{damage.__name__.strip('_')}.insrec"
    path.write_bytes(bytes(data))
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _one_line(err: str, command: str, kind: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"insole {command}: {kind}: "), lines[0]
    return lines[0]


def _info(capsys: pytest.CaptureFixture[str], path: Path) -> dict:
    status, out, err = _cli(capsys, "info", path, "--json")
    assert status == 0, err
    return json.loads(out)


# --- the JSON still reads: used as read ---------------------------------------------------------


@pytest.mark.parametrize("case", list(AS_READ))
def test_info_reads_every_block_past_a_header_used_as_read(intact, tmp_path, capsys, case):
    whole = _info(capsys, intact)
    path = _damaged(intact, tmp_path, AS_READ[case])
    status, out, err = _cli(capsys, "info", path, "--json")
    assert status == 0, err
    line = _one_line(err, "info", "warning")
    assert "is damaged: header CRC mismatch at offset 16" in line
    assert "could be wrong and are used as read" in line
    assert "calibration, layout" in line
    assert "0 bytes skipped, 0 frames lost in all" in line
    info = json.loads(out)
    assert info["frames"] == whole["frames"] > 0
    assert info["frames_lost"] == 0
    assert info["devices"] == whole["devices"]
    assert info["duration_s"] == whole["duration_s"]
    assert info["damaged_blocks"] == 1
    assert info["bytes_skipped"] == 0
    assert info["bytes_kept"] == _json_len(path.read_bytes())
    assert info["damage"]["offset"] == HEAD
    assert [(d["offset"], d["code"]) for d in info["damages"]] == [(HEAD, "header")]
    status, out, err = _cli(capsys, "info", path)  # the text lists the damage too
    assert status == 0
    assert "damage           at byte 16: header CRC mismatch" in out


@pytest.mark.parametrize("case", list(AS_READ))
def test_analyze_reads_every_block_past_a_header_used_as_read(intact, tmp_path, capsys, case):
    _, out, _ = _cli(capsys, "analyze", intact, "--json")
    whole = json.loads(out)
    path = _damaged(intact, tmp_path, AS_READ[case])
    status, out, err = _cli(capsys, "analyze", path, "--json")
    assert status == 0, err
    assert "used as read" in _one_line(err, "analyze", "warning")
    summary = json.loads(out)
    assert summary["frames"] == whole["frames"]
    assert summary["frames_lost"] == 0
    assert summary["step_count"] == whole["step_count"] > 0
    assert summary["damaged_blocks"] == 1
    assert summary["damages"][0]["code"] == "header"


def test_the_header_is_used_as_read_and_the_blocks_are_all_there(intact, tmp_path):
    path = _damaged(intact, tmp_path, _letter)
    header = read_header(path, salvage=True)
    assert header["streams"][0]["label"] == "ble-loft"  # as read, not guessed
    whole = read_raw_recording(intact)
    rec = read_raw_recording(path, salvage=True)
    assert rec.n_blocks == whole.n_blocks
    assert [d.code for d in rec.damages] == ["header"]
    for sid, stream in whole.streams.items():
        assert rec.streams[sid].data == stream.data
        assert rec.streams[sid].chunk_time_s.tolist() == stream.chunk_time_s.tolist()
    # In bounded memory, pass after pass: the header's damage is the first of each pass.
    reader = BlockReader(path, salvage=True, read_bytes=4096)
    for _ in range(2):
        runs = list(reader.runs(run_bytes=8192))
        assert reader.damages == rec.damages
        assert runs[0] == rec.damages[0]
        assert reader.n_blocks == whole.n_blocks
    # Without salvage the damaged header is refused, as before, saying what reads it.
    for read in (read_raw_recording, read_header, BlockReader):
        with pytest.raises(RecordingError, match="salvage=True reads it") as info:
            read(path)
        assert info.value.offset == HEAD
        assert "\n" not in str(info.value)


def test_replay_report_and_the_file_source_read_a_header_used_as_read(intact, tmp_path, capsys):
    from insole.sources.readers import open_reader

    path = _damaged(intact, tmp_path, _letter)
    status, out, err = _cli(capsys, "replay", path, "--no-gui", "--speed", "max")
    assert status == 0, err
    assert "used as read" in _one_line(err, "replay", "warning")
    assert "0 frames lost" in out
    html = tmp_path / "r.html"
    db = ["--db", tmp_path / "none.sqlite3"]
    status, out, err = _cli(capsys, "report", path, "--out", html, *db)
    assert status == 0, err
    assert "used as read" in _one_line(err, "report", "warning")
    assert html.stat().st_size > 0
    reader = open_reader(f"file:{path}?speed=max")
    assert reader.header["streams"][0]["label"] == "ble-loft"
    with pytest.raises(InsoleError, match="strict reading refuses it"):
        open_reader(f"file:{path}?speed=max&strict=1")


@pytest.mark.parametrize("command", ["info", "analyze", "replay", "report"])
def test_strict_refuses_a_damaged_header_in_one_line(intact, tmp_path, capsys, command):
    path = _damaged(intact, tmp_path, _letter)
    extra = {"info": ["--json"], "analyze": ["--json"], "replay": ["--no-gui", "--speed", "max"],
             "report": ["--out", tmp_path / "r.html", "--db", tmp_path / "none.sqlite3"]}
    status, out, err = _cli(capsys, command, path, *extra[command], "--strict")
    assert status == 2
    assert out == ""
    line = _one_line(err, command, "error")
    assert f"{path}: header CRC mismatch at offset 16" in line
    assert "strict reading refuses it" in line


# --- repaired by the CRC -------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(REPAIRED))
def test_header_is_repaired_when_its_crc_says_how(intact, tmp_path, capsys, case):
    whole = _info(capsys, intact)
    path = _damaged(intact, tmp_path, REPAIRED[case])
    status, out, err = _cli(capsys, "info", path, "--json")
    assert status == 0, err
    line = _one_line(err, "info", "warning")
    assert "repaired" in line
    info = json.loads(out)
    assert info["frames"] == whole["frames"]
    assert info["frames_lost"] == 0
    assert [d["code"] for d in info["damages"]] == ["header_repaired"]
    assert info["damages"][0]["offset"] == (12 if case.endswith("length") else HEAD)
    assert read_header(path, salvage=True) == read_header(intact)  # exactly as written
    status, _, err = _cli(capsys, "analyze", path, "--json", "--strict")
    assert status == 2
    assert "strict reading refuses it" in _one_line(err, "analyze", "error")


def test_any_single_flipped_bit_of_the_header_is_repaired(intact, tmp_path):
    data = intact.read_bytes()
    length = _json_len(data)
    expected = read_header(intact)
    path = tmp_path / "bit.insrec"
    for where in random.Random(3).sample(range(HEAD, HEAD + length + 4), 40):
        damaged = bytearray(data)
        damaged[where] ^= 1 << (where % 8)
        path.write_bytes(bytes(damaged))
        reader = BlockReader(path, salvage=True)
        assert reader.header == expected, where
        assert reader.header_damage is not None
        assert reader.header_damage.code == "header_repaired"
        assert f"at byte {where} " in reader.header_damage.reason


# --- the JSON does not read: refused ------------------------------------------------------------


@pytest.mark.parametrize("strict", [[], ["--strict"]])
@pytest.mark.parametrize("command", ["info", "analyze"])
def test_header_json_that_does_not_read_is_refused_in_one_line(
    intact, tmp_path, capsys, command, strict
):
    path = _damaged(intact, tmp_path, _broken_json)
    status, out, err = _cli(capsys, command, path, "--json", *strict)
    assert status == 2
    assert out == ""
    line = _one_line(err, command, "error")
    assert f"{path}: header CRC mismatch and the header is not valid UTF-8 JSON" in line
    assert "corrupt beyond repair" in line
