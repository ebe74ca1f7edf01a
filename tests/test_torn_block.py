"""A recording cut short inside a data block keeps the block's whole chunks, and says what it lost.

A process killed mid-write, an interrupted copy or a full disk leaves a file that ends inside a
block. The block's header and chunk table come first, so when they are whole (and plausible)
every chunk that ends before the end of the file is intact bytes as received: salvage keeps
those, and reports the block as a damage with the kept and cut bytes; the block CRC cannot be
checked (the frames' own CRC-16 still is). The frames after an insole's last one are unknown,
so they are not counted as lost; an insole that ends before another one is reported with the
time it ends early (``recordings/FORMAT.md`` §4.1). A file that ends inside a block header or
its chunk table is read as before: the block is skipped.

The recordings are simulated (two BLE insoles, one stream each; one serial stream carrying
both) and cut at many offsets; the oracle for what must be kept is a recording written with
exactly the chunks that lie wholly before the cut.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from insole.cli import main
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.errors import RecordingError
from insole.recordings.container import (
    KIND_DATA,
    TAIL_MIN_S,
    Block,
    BlockReader,
    Damage,
    RecordingWriter,
    read_header,
    read_raw_recording,
)
from insole.recordings.loader import Recording, load_recording, recording_info

HEAD = 16  # block header bytes
ENTRY = 12  # chunk table entry bytes


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s, two BLE insoles: blocks of 64 KiB (about 9 s of one insole) by size only."""
    path = tmp_path_factory.mktemp("torn") / "intact.insrec"
    simulate_to_file(SimulationRequest(duration_s=60.0, seed=5), path)
    return path


@pytest.fixture(scope="module")
def live_like(intact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same chunks as a live recorder writes them: a block per stream every 0.5 s."""
    raw = read_raw_recording(intact)
    chunks = sorted((float(t), sid, bytes(d)) for sid, s in raw.streams.items()
                    for t, d in s.iter_chunks())
    path = tmp_path_factory.mktemp("torn") / "live.insrec"
    now = [0.0]
    with RecordingWriter(path, raw.header, clock=lambda: now[0]) as writer:
        for t, sid, data in chunks:
            now[0] = t
            writer.write_chunk(sid, data, host_time_s=t)
    return path


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s, both insoles in one serial stream (chunks are reads that split frames)."""
    path = tmp_path_factory.mktemp("torn") / "serial.insrec"
    simulate_to_file(SimulationRequest(duration_s=60.0, seed=6, link="serial"), path)
    return path


def _blocks(path: Path) -> list[Block]:
    return [b for b in BlockReader(path).blocks() if isinstance(b, Block)]


def _payload_start(block: Block) -> int:
    return block.offset + HEAD + ENTRY * len(block.chunk_end)


def _end(block: Block) -> int:
    return _payload_start(block) + len(block.payload)


def _cut(path: Path, n: int, out: Path) -> Path:
    out.write_bytes(path.read_bytes()[:n])
    return out


def _whole_chunks(path: Path, cut: int) -> dict[int, list[tuple[float, bytes]]]:
    """Every stream's chunks that lie wholly before file offset ``cut``, in stream order."""
    out: dict[int, list[tuple[float, bytes]]] = {}
    for b in _blocks(path):
        if b.kind != KIND_DATA:
            continue
        start = _payload_start(b)
        for (t, data), end in zip(b.chunks(), b.chunk_end.tolist(), strict=True):
            if start + end <= cut:
                out.setdefault(b.stream_id, []).append((t, data))
    return out


def _oracle(path: Path, cut: int, out: Path) -> Path:
    """A valid recording of exactly the chunks of `path` that end before offset ``cut``."""
    with RecordingWriter(out, read_header(path), clock=lambda: 0.0) as writer:
        for sid, chunks in _whole_chunks(path, cut).items():
            for t, data in chunks:
                writer.write_chunk(sid, data, host_time_s=t)
    return out


def _chunks(path: Path, **kw: bool) -> dict[int, list[tuple[float, bytes]]]:
    raw = read_raw_recording(path, **kw)
    return {sid: list(s.iter_chunks()) for sid, s in raw.streams.items() if s.n_chunks}


def _same_devices(got: Recording, want: Recording) -> None:
    assert [(d.side, d.device_id) for d in got.devices] == [
        (d.side, d.device_id) for d in want.devices]
    for a, b in zip(got.devices, want.devices, strict=True):
        np.testing.assert_array_equal(a.counts, b.counts)
        np.testing.assert_array_equal(a.host_time_s, b.host_time_s)
        np.testing.assert_array_equal(a.device_time_s, b.device_time_s)
        assert (a.frames, a.frames_lost) == (b.frames, b.frames_lost)


def _tail_expected(rec: Recording) -> dict[str, float]:
    """Per side, how long before the other insole's last sample its last sample comes [s]."""
    last = {d.side: float(d.host_time_s[-1]) for d in rec.devices}
    latest = max(last.values())
    return {side: latest - t for side, t in last.items() if latest - t >= TAIL_MIN_S}


def _one_warning(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"insole {command}: warning: "), lines[0]
    assert "Traceback" not in err
    return lines[0]


# -- the file ends inside a block's payload: its whole chunks are kept ----------------------------

# (block, where in its payload): the second block, one in the middle, the last one; just past
# the first chunk, one byte further, in the middle of a chunk, one byte before the block's end.
CUTS = [(which, where) for which in (1, 7, -1)
        for where in ("first-chunk", "first-chunk+1", "mid-chunk", "end-1")]


def _offset(block: Block, where: str) -> int:
    ends = block.chunk_end.tolist()
    rel = {"first-chunk": ends[0], "first-chunk+1": ends[0] + 1,
           "mid-chunk": ends[len(ends) // 2] - 7, "end-1": len(block.payload) - 1}[where]
    return _payload_start(block) + rel


@pytest.mark.parametrize(("which", "where"), CUTS)
def test_cut_in_a_payload_keeps_the_frames_before_it(intact, tmp_path, which, where) -> None:
    block = _blocks(intact)[which]
    cut = _offset(block, where)
    path = _cut(intact, cut, tmp_path / "cut.insrec")
    expected = _whole_chunks(intact, cut)
    kept = sum(len(d) for t, d in expected[block.stream_id]) - sum(
        len(b.payload) for b in _blocks(intact)
        if b.stream_id == block.stream_id and _end(b) <= cut)
    assert kept > 0

    # The container: the chunks (bytes and host times) wholly before the cut, one damage.
    assert _chunks(path, salvage=True) == expected
    reader = BlockReader(path, salvage=True).scan()
    (damage,) = reader.damages
    assert damage.code == "truncated"
    assert damage.offset == block.offset
    assert damage.kept
    assert damage.bytes_kept == kept
    assert damage.bytes_after == cut - _payload_start(block) - kept  # the cut chunk's bytes
    assert f"truncated block at offset {block.offset}" in damage.reason
    assert f"kept the {len([e for e in block.chunk_end if _payload_start(block) + e <= cut])} "\
        f"of its {len(block.chunk_end)} chunks of stream {block.stream_id}" in damage.reason
    assert "unchecked by the block CRC" in damage.reason

    # Decoded: the samples of the intact file up to the cut, exactly those of the kept bytes.
    rec = load_recording(path)
    _same_devices(rec, load_recording(_oracle(intact, cut, tmp_path / "oracle.insrec")))
    whole = load_recording(intact)
    for got, full in zip(rec.devices, whole.devices, strict=True):
        if got.n_samples:  # (an insole of whose frames only DEVICE_INFO was kept has none)
            np.testing.assert_array_equal(got.counts, full.counts[:got.n_samples])
        np.testing.assert_array_equal(got.host_time_s, full.host_time_s[:got.n_samples])
    assert rec.frames_lost == 0  # nothing is invented for the frames after the cut
    before = load_recording(_oracle(intact, block.offset, tmp_path / "before.insrec"))
    assert rec.frames > before.frames  # the torn block's whole frames are read

    # Without salvage, and strictly, the file is read as before: up to the torn block.
    stopped = read_raw_recording(path)
    assert stopped.damage == Damage(block.offset, stopped.damage.reason, cut - block.offset,
                                    "truncated")
    assert _chunks(path) == _whole_chunks(intact, block.offset)
    with pytest.raises(RecordingError, match="strict reading refuses it"):
        BlockReader(path, strict=True).scan()


def test_every_cut_in_a_payload_keeps_exactly_the_whole_chunks(intact, tmp_path) -> None:
    """Many offsets through one block: at, before and after every tenth chunk's end."""
    block = _blocks(intact)[5]
    start = _payload_start(block)
    ends = block.chunk_end.tolist()
    offsets = sorted(  # (at `start + ends[-1]` the file ends after the block: intact)
        {start + e + d for e in ends[::10] + [ends[-1] - 1] for d in (-1, 0, 1)
         if e + d < ends[-1]})
    path = tmp_path / "cut.insrec"
    for cut in offsets:
        _cut(intact, cut, path)
        expected = _whole_chunks(intact, cut)
        assert _chunks(path, salvage=True) == expected, cut
        (damage,) = BlockReader(path, salvage=True).scan().damages
        n_kept = sum(start + e <= cut for e in ends)
        assert damage.bytes_kept == (ends[n_kept - 1] if n_kept else 0), cut
        assert damage.bytes_after == (cut - start - ends[n_kept - 1] if n_kept
                                      else cut - block.offset), cut


@pytest.mark.parametrize("read_bytes", [1, 7, 100, 5000, 1 << 22])
def test_read_size_does_not_change_what_is_kept(intact, tmp_path, read_bytes) -> None:
    block = _blocks(intact)[-2]
    path = _cut(intact, _offset(block, "mid-chunk"), tmp_path / "cut.insrec")

    def items(reader: BlockReader) -> list:
        return [i if isinstance(i, Damage) else
                (i.offset, i.stream_id, i.stream_offset, bytes(i.payload), i.chunk_end.tolist(),
                 i.chunk_time_s.tolist()) for i in reader.blocks()]

    want = BlockReader(path, salvage=True)
    got = BlockReader(path, salvage=True, read_bytes=read_bytes)
    assert items(got) == items(want)
    assert got.damages == want.damages
    assert got.damages[-1].kept
    assert got.damages[-1].missing_tail  # the other insole's stream runs on for seconds


@pytest.mark.parametrize("gone_is", ["just-before", "same-stream"])
def test_a_torn_block_after_a_damaged_region_is_kept_too(intact, tmp_path, gone_is) -> None:
    """A block whose header and table are gone, before the torn one.

    Just before it (the other stream's): resynchronising finds no valid block to the end of
    the file, and resumes at the torn one. Of the same stream: the frames of the skipped block
    now lie between frames read, so the decoder counts them lost, where without the torn
    block they would be a silent tail.
    """
    blocks = _blocks(intact)
    torn = blocks[-2]
    gone = blocks[-3] if gone_is == "just-before" else next(
        b for b in reversed(blocks[:-2]) if b.stream_id == torn.stream_id)
    assert (gone.stream_id == torn.stream_id) == (gone_is == "same-stream")
    cut = _offset(torn, "mid-chunk")
    data = bytearray(intact.read_bytes()[:cut])
    n = HEAD + ENTRY * len(gone.chunk_end) + 8
    data[gone.offset:gone.offset + n] = bytes(n)  # its header and chunk table are gone
    path = tmp_path / "both.insrec"
    path.write_bytes(bytes(data))
    skipped, kept = BlockReader(path, salvage=True).scan().damages
    assert (skipped.offset, skipped.bytes_after, skipped.bytes_kept) == (
        gone.offset, _end(gone) - gone.offset, 0)
    assert (kept.offset, kept.code) == (torn.offset, "truncated")
    assert kept.kept
    expected = _whole_chunks(intact, cut)
    lost = set(gone.chunks())
    expected[gone.stream_id] = [c for c in expected[gone.stream_id] if c not in lost]
    assert _chunks(path, salvage=True) == expected
    rec = load_recording(path)
    side = "left" if gone.stream_id == 0 else "right"
    lost_frames = {d.side: d.frames_lost for d in rec.devices}
    if gone_is == "same-stream":  # one BLE notification, one frame, per chunk
        assert lost_frames == {side: len(gone.chunk_end), ("right" if side == "left" else
                                                           "left"): 0}
    else:
        assert rec.frames_lost == 0


def test_two_insoles_in_one_stream_end_together(serial, tmp_path) -> None:
    """Serial: both insoles are cut at the same byte; nothing runs on past either of them."""
    block = _blocks(serial)[-3]
    cut = _offset(block, "mid-chunk")
    path = _cut(serial, cut, tmp_path / "cut.insrec")
    (damage,) = BlockReader(path, salvage=True).scan().damages
    assert damage.kept
    assert damage.missing_tail == ()
    assert "the recording was cut" not in damage.reason
    rec = load_recording(path)
    _same_devices(rec, load_recording(_oracle(serial, cut, tmp_path / "oracle.insrec")))
    assert len(rec.devices) == 2
    assert _tail_expected(rec) == {}


# -- the file ends inside a block header or its chunk table: the block is skipped, as before -----

HEAD_CUTS = {
    "magic": 2,
    "header": 9,
    "header-end": HEAD - 1,
    "table-start": HEAD,
    "table-end-1": "table-1",
    "table-end": "table",  # the table whole, not one byte of the payload
    "first-chunk": "chunk",  # the table whole, the first chunk not: nothing whole to keep
}


@pytest.mark.parametrize("where", list(HEAD_CUTS))
def test_cut_in_a_block_header_or_table_skips_the_block(intact, tmp_path, where) -> None:
    blocks = _blocks(intact)
    index = 9  # (the other stream's block before it runs 9 s further)
    block = blocks[index]
    table_end = _payload_start(block)
    rel = HEAD_CUTS[where]
    cut = block.offset + rel if isinstance(rel, int) else {
        "table-1": table_end - 1, "table": table_end, "chunk": table_end + 5}[rel]
    path = _cut(intact, cut, tmp_path / "cut.insrec")
    stopped = read_raw_recording(path)  # without salvage: unchanged, the reference

    raw = read_raw_recording(path, salvage=True)
    assert raw.n_blocks == index
    assert _chunks(path, salvage=True) == _whole_chunks(intact, block.offset)
    (damage,) = raw.damages
    assert (damage.offset, damage.code, damage.bytes_after, damage.bytes_kept) == (
        block.offset, "truncated", cut - block.offset, 0)
    assert damage.reason.startswith(stopped.damage.reason)

    # What the cut took is reported all the same: one insole ends seconds before the other.
    rec = load_recording(path)
    tails = {t.side: t.ends_before_s for t in damage.missing_tail}
    assert tails, damage.reason
    assert tails.keys() == _tail_expected(rec).keys()
    for side, s in _tail_expected(rec).items():
        assert tails[side] == pytest.approx(s, abs=0.05)
    assert damage.reason.endswith(": the recording was cut")
    assert rec.frames_lost == 0


# -- the commands: one warning line, the cut named, the same figures in info and analyze ---------


def test_info_and_analyze_report_the_cut(live_like, tmp_path, capsys) -> None:
    """A live recording (a block every 0.5 s) killed while writing a block of its last flush."""
    blocks = _blocks(live_like)
    block = blocks[-4]
    cut = _offset(block, "mid-chunk")
    path = _cut(live_like, cut, tmp_path / "killed.insrec")
    oracle = load_recording(_oracle(live_like, cut, tmp_path / "oracle.insrec"))
    short = _tail_expected(oracle)
    assert len(short) == 1
    ((side, early_s),) = short.items()
    other = "left" if side == "right" else "right"

    assert main(["info", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    line = _one_warning(err, "info")
    info = json.loads(out)
    assert info == recording_info(path) == load_recording(path).info()
    assert {d["side"]: d["samples"] for d in info["devices"]} == {
        d.side: d.n_samples for d in oracle.devices}
    assert info["frames_lost"] == 0
    assert info["damaged_blocks"] == 1
    (damage,) = info["damages"]
    assert damage["code"] == "truncated"
    assert damage["bytes_kept"] > 0
    (tail,) = damage["missing_tail"]
    assert (tail["side"], tail["before"]) == (side, other)
    assert tail["ends_before_s"] == pytest.approx(early_s, abs=0.05)
    assert 0 < tail["ends_before_s"] < 1.5  # what a recorder that writes every 0.5 s can lose
    said = f"{side} ends {tail['ends_before_s']:.1f} s before {other}: the recording was cut"
    assert said in line
    assert re.search(rf"offset {block.offset}\b", line)
    assert f"; {damage['bytes_skipped']} bytes skipped, 0 frames lost in all" in line

    assert main(["analyze", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert _one_warning(err, "analyze") == line.replace("insole info:", "insole analyze:", 1)
    summary = json.loads(out)
    assert summary["damages"] == info["damages"]
    assert summary["frames_lost"] == 0

    for command in ("info", "analyze"):
        assert main([command, str(path)]) == 0
        out, err = capsys.readouterr()
        _one_warning(err, command)
        assert said in out  # the damage line of the text output names the cut too


def test_intact_and_block_boundary_cuts_report_nothing_new(intact, tmp_path) -> None:
    """A file that ends between two blocks is a valid recording: nothing to report."""
    blocks = _blocks(intact)
    path = _cut(intact, _end(blocks[6]), tmp_path / "boundary.insrec")
    for p in (intact, path):
        reader = BlockReader(p, salvage=True).scan()
        assert reader.damages == []
    torn = _cut(intact, _offset(blocks[7], "mid-chunk"), tmp_path / "torn.insrec")
    (damage,) = BlockReader(torn, salvage=True).scan().damages
    assert set(damage.as_dict()) == {"offset", "code", "reason", "bytes_skipped", "bytes_kept",
                                     "missing_tail"}
