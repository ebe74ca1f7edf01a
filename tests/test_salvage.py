"""Salvage by default: every command reads past damage in a recording and says so in one line.

A 60 s simulated recording is damaged three ways — one flipped bit in the middle of the file, a
4 KB region of zeros in the middle, one flipped bit in the second block — and ``insole info``,
``analyze`` and ``replay`` must recover at least 95 % of the frames of the intact file, report
exactly the frames lost (received + lost == the intact file's frames, per device), print one
warning line on stderr and exit 0; with ``--strict`` they refuse the file in one line, exit 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from insole.cli import main
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.recordings.container import BlockReader, read_raw_recording
from insole.recordings.loader import load_recording

ZONE = 4096


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60 s two-insole simulated recording, undamaged."""
    path = tmp_path_factory.mktemp("salvage") / "intact.insrec"
    simulate_to_file(SimulationRequest(duration_s=60.0, seed=0), path)
    return path


def _flip_middle(data: bytearray, path: Path) -> None:
    data[len(data) // 2] ^= 0x10


def _zero_middle(data: bytearray, path: Path) -> None:
    mid = len(data) // 2 - ZONE // 2
    data[mid:mid + ZONE] = bytes(ZONE)


def _flip_second_block(data: bytearray, path: Path) -> None:
    second = list(BlockReader(path).blocks())[1]
    payload_start = second.offset + 16 + 12 * len(second.chunk_end)
    data[payload_start + len(second.payload) // 2] ^= 0x04


DAMAGE: dict[str, Callable[[bytearray, Path], None]] = {
    "bit-middle": _flip_middle,
    "zeros-4k-middle": _zero_middle,
    "bit-second-block": _flip_second_block,
}


def _damaged(intact: Path, tmp_path: Path, case: str) -> Path:
    data = bytearray(intact.read_bytes())
    DAMAGE[case](data, intact)
    out = tmp_path / f"{case}.insrec"
    out.write_bytes(bytes(data))
    return out


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _intact_frames(intact: Path) -> dict[str, int]:
    rec = load_recording(intact, salvage=False)
    assert rec.damage is None
    assert rec.frames_lost == 0
    return {d.side: d.frames for d in rec.devices}


def _one_warning(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"insole {command}: warning: "), line
    assert "is damaged" in line
    assert re.search(r"offset \d+", line), line
    assert re.search(r"\d+ bytes skipped", line), line
    assert "Traceback" not in err
    return line


@pytest.mark.parametrize("case", list(DAMAGE))
def test_info_recovers_the_frames_and_counts_those_lost(intact, tmp_path, capsys, case) -> None:
    expected = _intact_frames(intact)
    path = _damaged(intact, tmp_path, case)
    status, out, err = _cli(capsys, "info", path, "--json")
    assert status == 0, err
    _one_warning(err, "info")
    info = json.loads(out)
    got = {d["side"]: (d["frames"], d["frames_lost"]) for d in info["devices"]}
    assert set(got) == set(expected)
    for side, total in expected.items():
        received, lost = got[side]
        assert received + lost == total, (side, got[side], total)
    assert info["frames"] >= 0.95 * sum(expected.values())
    assert info["frames_lost"] == sum(lost for _, lost in got.values())
    assert info["frames_lost"] >= 1  # the corrupt frame is counted, not hidden
    assert info["damaged_blocks"] == 1
    assert info["damage"]["offset"] == info["damages"][0]["offset"]
    assert info["duration_s"] == pytest.approx(60.0, abs=0.1)  # recovered to the end


@pytest.mark.parametrize("case", list(DAMAGE))
def test_analyze_recovers_the_frames_and_counts_those_lost(
    intact, tmp_path, capsys, case
) -> None:
    expected = sum(_intact_frames(intact).values())
    path = _damaged(intact, tmp_path, case)
    status, out, err = _cli(capsys, "analyze", path, "--json")
    assert status == 0, err
    _one_warning(err, "analyze")
    summary = json.loads(out)
    assert summary["frames"] + summary["frames_lost"] == expected
    assert summary["frames"] >= 0.95 * expected
    assert summary["damaged_blocks"] == 1
    assert summary["duration_s"] == pytest.approx(60.0, abs=0.1)
    status, out, _ = _cli(capsys, "analyze", intact, "--json")
    assert summary["step_count"] >= 0.95 * json.loads(out)["step_count"]


@pytest.mark.parametrize("case", list(DAMAGE))
def test_replay_recovers_the_frames_and_counts_those_lost(
    intact, tmp_path, capsys, case
) -> None:
    expected = sum(_intact_frames(intact).values())
    path = _damaged(intact, tmp_path, case)
    status, out, err = _cli(capsys, "replay", path, "--no-gui", "--speed", "max")
    assert status == 0, err
    warning = _one_warning(err, "replay")
    quality = re.search(r"data quality\s+([\d,]+) frames received, ([\d,]+) frames? lost", out)
    assert quality is not None, out
    received, lost = (int(quality[i].replace(",", "")) for i in (1, 2))
    assert received + lost == expected
    assert received >= 0.95 * expected
    assert f"{lost} frames lost in all" in warning
    assert "damage " in out  # the summary names the damage too


@pytest.mark.parametrize("command", ["info", "analyze", "replay"])
@pytest.mark.parametrize("case", list(DAMAGE))
def test_strict_refuses_a_damaged_file_in_one_line(intact, tmp_path, capsys, case, command):
    path = _damaged(intact, tmp_path, case)
    extra = ["--no-gui", "--speed", "max"] if command == "replay" else ["--json"]
    status, out, err = _cli(capsys, command, path, *extra, "--strict")
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"insole {command}: error: ")
    assert "strict reading refuses it" in lines[0]
    assert str(path) in lines[0]


@pytest.mark.parametrize("command", ["info", "analyze", "replay"])
def test_intact_file_gives_no_warning_even_when_strict(intact, capsys, command) -> None:
    extra = ["--no-gui", "--speed", "max"] if command == "replay" else []
    for strict in ([], ["--strict"]):
        status, _, err = _cli(capsys, command, intact, *extra, *strict)
        assert status == 0
        assert err == ""


def test_kept_block_keeps_every_byte_and_chunk(intact, tmp_path) -> None:
    path = _damaged(intact, tmp_path, "bit-second-block")
    whole = read_raw_recording(intact)
    stopped = read_raw_recording(path)
    assert stopped.damage is not None
    assert stopped.damage.code == "crc"
    assert stopped.n_blocks == 1  # without salvage reading stops at the second block
    salvaged = read_raw_recording(path, salvage=True)
    assert salvaged.n_blocks == whole.n_blocks
    assert len(salvaged.damages) == 1
    damage = salvaged.damages[0]
    assert damage.code == "crc"
    assert damage.kept
    assert damage.bytes_after == 0
    assert damage.bytes_kept == len(list(BlockReader(intact).blocks())[1].payload)
    for sid, stream in whole.streams.items():
        got = salvaged.streams[sid]
        assert len(got.data) == len(stream.data)
        assert sum(a != b for a, b in zip(got.data, stream.data, strict=True)) == (
            1 if sid == list(BlockReader(intact).blocks())[1].stream_id else 0)
        assert got.chunk_end.tolist() == stream.chunk_end.tolist()
        assert got.chunk_time_s.tolist() == stream.chunk_time_s.tolist()


@pytest.mark.parametrize(("where", "mask"), [(0, 0x01), (5, 0x01), (6, 0x02), (9, 0x10)])
def test_corrupt_block_header_is_repaired_by_its_crc(intact, tmp_path, where, mask) -> None:
    """Magic, stream id, chunk count, payload length: the CRC tells the right value."""
    data = bytearray(intact.read_bytes())
    target = list(BlockReader(intact).blocks())[4]
    data[target.offset + where] ^= mask
    path = tmp_path / "header.insrec"
    path.write_bytes(bytes(data))
    rec = load_recording(path)
    assert len(rec.damages) == 1
    assert "repaired" in rec.damages[0].reason
    assert rec.damages[0].bytes_after == 0
    assert rec.frames == load_recording(intact).frames
    assert rec.frames_lost == 0


def test_unreadable_block_is_skipped_and_its_frames_counted_lost(intact, tmp_path, capsys):
    """A block whose header and chunk table are gone: resume at the next block."""
    data = bytearray(intact.read_bytes())
    target = list(BlockReader(intact).blocks())[6]
    data[target.offset:target.offset + 16 + 12 * len(target.chunk_end) + 8] = bytes(
        16 + 12 * len(target.chunk_end) + 8)
    path = tmp_path / "gone.insrec"
    path.write_bytes(bytes(data))
    expected = _intact_frames(intact)
    status, out, err = _cli(capsys, "info", path, "--json")
    assert status == 0
    line = _one_warning(err, "info")
    info = json.loads(out)
    skipped = 16 + 12 * len(target.chunk_end) + len(target.payload)
    assert f"{skipped} bytes skipped" in line
    assert info["damages"][0]["bytes_skipped"] == skipped
    for d in info["devices"]:
        assert d["frames"] + d["frames_lost"] == expected[d["side"]]
    assert info["frames_lost"] > 0


@pytest.mark.parametrize("case", list(DAMAGE))
def test_report_reads_past_damage_with_a_warning_and_strict_refuses(
    intact, tmp_path, capsys, case
) -> None:
    path = _damaged(intact, tmp_path, case)
    html = tmp_path / "r.html"
    db = ["--db", str(tmp_path / "none.sqlite3")]
    status, out, err = _cli(capsys, "report", path, "--out", str(html), *db)
    assert status == 0
    assert html.exists()
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("insole report: warning: ")
    status, out, err = _cli(capsys, "report", path, "--out", str(tmp_path / "s.html"), *db,
                            "--strict")
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "strict reading refuses it" in err


def test_file_source_strict_option(intact, tmp_path) -> None:
    """``file:PATH?strict=1`` refuses a damaged recording; by default it is read past."""
    from insole.errors import InsoleError
    from insole.sources.readers import open_reader

    path = _damaged(intact, tmp_path, "bit-middle")
    with pytest.raises(InsoleError, match="strict"):
        open_reader(f"file:{path}?speed=max&strict=1")
    reader = open_reader(f"file:{path}?speed=max")
    assert reader is not None
    assert open_reader(f"file:{intact}?strict=1") is not None
