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


def _cut_at_reconnects(path: Path) -> Path:
    """The example run with four frames cut by a disconnect, each followed by a reconnect."""
    raw = read_raw_recording(RECORDINGS / "run_rearfoot_20s.insrec")
    chunks = sorted(
        (float(t), sid, bytes(d))
        for sid, s in raw.streams.items() for t, d in s.iter_chunks()
    )
    cuts = {len(chunks) * k // 5 for k in range(1, 5)}
    with RecordingWriter(path, raw.header) as writer:
        for i, (t, sid, data) in enumerate(chunks):
            if i in cuts and len(data) > 8:
                writer.write_chunk(sid, data[: len(data) // 2], host_time_s=t)  # cut mid-frame
                writer.write_event("reconnect", stream_id=sid, host_time_s=t + 0.3)
            else:
                writer.write_chunk(sid, data, host_time_s=t)
    return path


def test_replay_counts_the_frames_cut_at_a_reconnect_as_analysis_does(tmp_path, capsys):
    # Invariant 1 (docs/architecture.md): a recording replayed at full speed gives the steps
    # and counts of its offline analysis; the replay too ends a frame cut by a disconnect with
    # the reconnect's 0x00 (SPEC §4.2), else the cut frame swallows the next one.
    import json
    import re

    from insole.cli import main

    path = _cut_at_reconnects(tmp_path / "cut.insrec")
    assert main(["analyze", str(path), "--json"]) == 0
    analysed = json.loads(capsys.readouterr().out)
    assert main(["replay", str(path), "--speed", "max", "--no-gui"]) == 0
    out = capsys.readouterr().out
    (lost,) = re.findall(r"([\d,]+) frames lost", out.split("session summary")[-1])
    assert analysed["frames_lost"] >= 4
    assert int(lost.replace(",", "")) == analysed["frames_lost"]
    assert f"steps            {analysed['step_count']:,} " in out

    def fed(source):  # what a replay hands the pipeline, stream by stream
        got: dict[int, bytes] = {}
        for t in iter_replay(source, speed=float("inf")):
            for s, d in t.data.items():
                got[s] = got.get(s, b"") + bytes(d)
        return got

    from_file, in_memory = fed(path), fed(read_raw_recording(path))
    assert from_file == in_memory
    raw = read_raw_recording(path)
    assert from_file == {s: b"".join(raw.stream_pieces(s)) for s in raw.streams}
