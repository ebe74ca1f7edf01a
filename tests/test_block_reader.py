"""The block-wise reader: any read size gives the same blocks, damage and analysis results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insole.commands.replay import iter_replay
from insole.recordings.container import (
    KIND_DATA,
    BlockReader,
    Damage,
    RecordingWriter,
    StreamRun,
    read_raw_recording,
)
from insole.recordings.loader import load_recording
from insole.session.analysis import SessionAnalysis

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def _header() -> dict:
    return {
        "source": "sim",
        "streams": [{"stream_id": 0, "transport": "sim", "label": "a"},
                    {"stream_id": 1, "transport": "sim", "label": "b"}],
        "devices": [],
    }


def _recording(path: Path) -> Path:
    t = [0.0]
    with RecordingWriter(path, _header(), flush_interval_s=0.1, block_bytes=50,
                         clock=lambda: t[0]) as writer:
        for i in range(40):
            t[0] = i * 0.03
            writer.write_chunk(i % 2, bytes([i]) * (5 + i % 7))
            if i == 17:
                writer.write_event("reconnect", stream_id=1)
            if i == 25:
                writer.write_event("note", text="x")
    return path


def _summary(items: list) -> list:
    out = []
    for item in items:
        if isinstance(item, Damage):
            out.append(item)
        else:
            out.append((item.offset, item.kind, item.stream_id, item.stream_offset, item.payload,
                        item.chunk_end.tolist(), item.chunk_time_s.tolist()))
    return out


@pytest.mark.parametrize("read_bytes", [1, 7, 64, 100, 1 << 22])
@pytest.mark.parametrize("salvage", [False, True])
def test_read_size_does_not_change_what_is_read(tmp_path, read_bytes, salvage):
    full = _recording(tmp_path / "r.insrec").read_bytes()
    blocks = list(BlockReader(tmp_path / "r.insrec").blocks())
    target = blocks[5]
    damaged = bytearray(full)
    damaged[target.offset + 20] ^= 0xFF
    cases = {
        "full": full,
        "cut": full[: blocks[-3].offset + 9],
        "corrupt": bytes(damaged),
        "garbage": full[: blocks[4].offset] + b"IBLK\x01\x00\xff\xff" + bytes(30)
        + full[blocks[4].offset:],
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.insrec"
        path.write_bytes(data)
        want = BlockReader(path, salvage=salvage)
        got = BlockReader(path, salvage=salvage, read_bytes=read_bytes)
        assert _summary(list(got.blocks())) == _summary(list(want.blocks())), name
        assert got.damages == want.damages
        assert got.events == want.events
        assert (got.n_blocks, got.stream_bytes) == (want.n_blocks, want.stream_bytes)


def test_blocks_and_runs_rebuild_the_raw_recording(tmp_path):
    path = _recording(tmp_path / "r.insrec")
    raw = read_raw_recording(path)
    reader = BlockReader(path)
    for run_bytes in (1, 30, 1 << 20):
        data: dict[int, bytes] = {}
        ends: dict[int, list[int]] = {}
        events = []
        for item in reader.runs(run_bytes=run_bytes):
            if isinstance(item, StreamRun):
                assert item.stream_offset == len(data.get(item.stream_id, b""))
                data[item.stream_id] = data.get(item.stream_id, b"") + item.data
                ends.setdefault(item.stream_id, []).extend(
                    (item.chunk_end + item.stream_offset).tolist())
            elif isinstance(item, dict):
                events.append(item)
                if "stream_offset" in item:  # an event comes after its stream's bytes
                    assert len(data.get(item["stream_id"], b"")) == item["stream_offset"]
        assert events == raw.events
        for sid, stream in raw.streams.items():
            assert data.get(sid, b"") == stream.data
            assert ends.get(sid, []) == stream.chunk_end.tolist()
    assert reader.complete
    assert reader.duration_s == raw.duration_s
    scanned = BlockReader(path).scan()
    assert scanned.n_blocks == raw.n_blocks
    assert sum(b.kind == KIND_DATA for b in BlockReader(path).blocks(stream_ids=(0,))) == sum(
        b.kind == KIND_DATA and b.stream_id == 0 for b in BlockReader(path).blocks())


@pytest.mark.parametrize("name", ["run_mixed_serial_faults_20s", "walk_20s"])
def test_analysis_from_the_file_equals_analysis_in_memory(name):
    path = RECORDINGS / f"{name}.insrec"
    from_file = SessionAnalysis().run(path)
    in_memory = SessionAnalysis().run(read_raw_recording(path))
    assert from_file.summary_ == in_memory.summary_
    assert len(from_file.steps_) == len(in_memory.steps_)
    for a, b in zip(from_file.steps_, in_memory.steps_, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key


def test_replay_from_the_file_equals_replay_in_memory():
    path = RECORDINGS / "run_mixed_serial_faults_20s.insrec"

    def ticks(source):
        return [(t.time_s, t.last, {s: (d, t.chunk_ends[s].tolist(), t.chunk_times[s].tolist())
                                    for s, d in t.data.items()})
                for t in iter_replay(source, speed=float("inf"))]

    assert ticks(path) == ticks(read_raw_recording(path))


def test_loader_reads_a_cut_file_up_to_the_damage(tmp_path):
    full = (RECORDINGS / "walk_20s.insrec").read_bytes()
    cut = tmp_path / "cut.insrec"
    cut.write_bytes(full[: len(full) - 1000])
    rec = load_recording(cut)
    assert rec.damage is not None
    assert rec.damage.code == "truncated"
    assert rec.file_size == len(full) - 1000
    whole = load_recording(RECORDINGS / "walk_20s.insrec")
    for a, b in zip(rec.devices, whole.devices, strict=True):
        np.testing.assert_array_equal(a.counts, b.counts[: a.n_samples])
