"""Tests of the recording container (insole.recordings.container) on real files and a subprocess."""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insole.errors import InsoleError, RecordingError
from insole.recordings.container import (
    Block,
    Damage,
    RecordingWriter,
    iter_blocks,
    read_header,
    read_raw_recording,
)

REPO = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).with_name("helpers_recording_writer.py")


def make_header(**changes):
    header = {
        "source": "sim",
        "streams": [
            {"stream_id": 0, "transport": "sim", "label": "left"},
            {"stream_id": 1, "transport": "sim", "label": "right"},
        ],
        "devices": [
            {"device_id": 0x3F2A, "side": "left", "sample_rate_hz": 200.0, "n_sensors": 16,
             "adc_bits": 12, "layout": {"name": "16-fsr-v1"}, "calibration": {"a": [1.0, 2.0]}},
            {"device_id": 0x3F2B, "side": "right", "sample_rate_hz": 200.0, "n_sensors": 16,
             "adc_bits": 12, "layout": {}, "calibration": {}},
        ],
        "notes": "test run, ünïcode ok",
        "extra": {"runner": "r1"},
    }
    header.update(changes)
    return header


class FakeClock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def chunks_of(stream):
    return list(stream.iter_chunks())


def assert_one_line(err, path):
    msg = str(err)
    assert "\n" not in msg
    assert str(path) in msg
    assert ";" in msg  # what is wrong; what to do


def block(kind, stream_id, chunks, *, lengths=None):
    """Encode one block independently of the writer, following recordings/FORMAT.md."""
    lengths = [len(c) for _, c in chunks] if lengths is None else lengths
    table = b"".join(struct.pack("<dI", t, n) for (t, _), n in zip(chunks, lengths, strict=True))
    payload = b"".join(c for _, c in chunks)
    fields = struct.pack("<BBHI", kind, stream_id, len(chunks), len(payload))
    crc = zlib.crc32(fields + table + payload)
    return b"IBLK" + fields + struct.pack("<I", crc) + table + payload


def data_start(raw: bytes) -> int:
    (header_len,) = struct.unpack_from("<I", raw, 12)
    return 16 + header_len + 4


# ---------------------------------------------------------------------------------------------
# Round trip and writer behaviour
# ---------------------------------------------------------------------------------------------


def test_round_trip_chunks_events_header(tmp_path):
    path = tmp_path / "rec.insrec"
    clock = FakeClock()
    written = {0: [], 1: []}
    with RecordingWriter(path, make_header(), flush_interval_s=0.5, clock=clock) as writer:
        assert writer.start_clock_s == 1000.0
        for i in range(200):
            clock.t = 1000.0 + i * 0.03
            sid = i % 2
            data = bytes([i % 256]) * (1 + i % 7) + b"\x00"
            if i % 3 == 0:
                writer.write_chunk(sid, data, host_time_s=i * 0.03 + 0.001)
                written[sid].append((i * 0.03 + 0.001, data))
            else:
                writer.write_chunk(sid, data)
                written[sid].append((clock.t - 1000.0, data))
            if i == 50:
                writer.write_event("disconnect", stream_id=1, reason="link lost")
                offset_at_disconnect = sum(len(c) for _, c in written[1])
            if i == 120:
                writer.write_event("note", text="hill", host_time_s=3.25)
        header = writer.header
    rec = read_raw_recording(path)
    assert rec.damage is None
    assert rec.damages == []
    assert rec.header == header
    assert read_header(path) == header
    assert header["format_version"] == 1
    assert header["software"]["name"] == "insole"
    assert rec.start_time.utcoffset() is not None
    for sid in (0, 1):
        got = chunks_of(rec.streams[sid])
        assert [c for _, c in got] == [c for _, c in written[sid]]
        np.testing.assert_allclose([t for t, _ in got], [t for t, _ in written[sid]], atol=1e-9)
        assert rec.streams[sid].data == b"".join(c for _, c in written[sid])
        assert rec.streams[sid].chunk_end.dtype == np.int64
        assert rec.streams[sid].chunk_time_s.dtype == np.float64
    assert rec.events == [
        {"event": "disconnect", "stream_id": 1, "reason": "link lost",
         "host_time_s": pytest.approx(50 * 0.03), "stream_offset": offset_at_disconnect},
        {"event": "note", "stream_id": 255, "text": "hill", "host_time_s": 3.25},
    ]
    assert rec.n_blocks > 10  # flushed repeatedly, not only at close
    assert rec.file_size == path.stat().st_size
    assert rec.duration_s == pytest.approx(199 * 0.03)


def test_writer_bytes_match_the_documented_layout(tmp_path):
    path = tmp_path / "rec.insrec"
    with RecordingWriter(path, make_header(), clock=FakeClock()) as writer:
        writer.write_chunk(0, b"ab", host_time_s=0.5)
        writer.write_chunk(0, b"cde", host_time_s=0.75)
        writer.flush()
        writer.write_event("gap", stream_id=0, host_time_s=1.0, frames=3)
    raw = path.read_bytes()
    magic, version, reserved, header_len = struct.unpack_from("<8sHHI", raw, 0)
    assert (magic, version, reserved) == (b"INSOLREC", 1, 0)
    header_json = raw[16:16 + header_len]
    assert struct.unpack_from("<I", raw, 16 + header_len)[0] == zlib.crc32(header_json)
    assert json.loads(header_json)["source"] == "sim"
    event = json.dumps({"event": "gap", "stream_id": 0, "frames": 3}).encode()
    expected = (block(1, 0, [(0.5, b"ab"), (0.75, b"cde")])
                + block(2, 0, [(1.0, event)]))
    assert raw[data_start(raw):] == expected


def test_flush_policy_and_maybe_flush(tmp_path):
    path = tmp_path / "rec.insrec"
    clock = FakeClock(0.0)
    writer = RecordingWriter(path, make_header(), flush_interval_s=0.5, clock=clock)
    header_bytes = writer.bytes_written
    assert path.stat().st_size == header_bytes  # header is on disk at once
    assert read_raw_recording(path).n_blocks == 0
    for i in range(10):
        clock.t = i * 0.04  # up to 0.36 s: younger than the interval
        writer.write_chunk(0, b"x" * 10)
    assert writer.blocks_written == 0
    assert path.stat().st_size == header_bytes
    clock.t = 0.5
    writer.write_chunk(1, b"y")  # the oldest chunk is now 0.5 s old
    assert writer.blocks_written == 2
    rec = read_raw_recording(path)  # readable while the writer is open
    assert rec.streams[0].n_chunks == 10
    assert rec.streams[1].n_chunks == 1
    assert rec.damage is None
    # Idle caller: nothing pending -> nothing to do; a chunk that gets old -> maybe_flush writes.
    assert writer.maybe_flush() is False
    writer.write_chunk(0, b"z")
    clock.t = 0.9
    assert writer.maybe_flush() is False
    clock.t = 1.0
    assert writer.maybe_flush() is True
    assert writer.blocks_written == 3
    writer.close()
    writer.close()  # idempotent
    assert writer.closed
    assert writer.maybe_flush() is False


def test_blocks_of_one_flush_are_ordered_by_first_chunk_time(tmp_path):
    path = tmp_path / "rec.insrec"
    with RecordingWriter(path, make_header(), clock=FakeClock()) as writer:
        writer.write_chunk(1, b"late", host_time_s=2.0)
        writer.write_chunk(0, b"early", host_time_s=1.0)
    blocks = list(iter_blocks(path))
    assert [b.stream_id for b in blocks] == [0, 1]


def test_large_buffer_writes_a_block_without_waiting(tmp_path):
    path = tmp_path / "rec.insrec"
    with RecordingWriter(path, make_header(), block_bytes=1000, clock=FakeClock()) as writer:
        writer.write_chunk(0, b"a" * 400)
        writer.write_chunk(0, b"b" * 400)
        assert writer.blocks_written == 0
        writer.write_chunk(0, b"c" * 400)
        assert writer.blocks_written == 1
        writer.write_chunk(1, b"d" * 5000)  # one chunk larger than block_bytes: its own block
        assert writer.blocks_written == 2
    rec = read_raw_recording(path)
    assert rec.streams[0].data == b"a" * 400 + b"b" * 400 + b"c" * 400
    assert rec.streams[1].data == b"d" * 5000


def test_more_chunks_than_a_block_table_holds(tmp_path):
    path = tmp_path / "rec.insrec"
    n = 70_000
    with RecordingWriter(path, make_header(), clock=FakeClock()) as writer:
        for i in range(n):
            writer.write_chunk(0, bytes([i % 251]), host_time_s=i * 1e-4)
    blocks = list(iter_blocks(path))
    assert [len(b.chunk_end) for b in blocks] == [65535, n - 65535]
    stream = read_raw_recording(path).streams[0]
    assert stream.n_chunks == n
    assert stream.data == bytes(i % 251 for i in range(n))
    np.testing.assert_array_equal(stream.chunk_end, np.arange(1, n + 1))


def test_event_follows_the_chunks_buffered_before_it(tmp_path):
    path = tmp_path / "rec.insrec"
    with RecordingWriter(path, make_header(), clock=FakeClock()) as writer:
        writer.write_chunk(0, b"before", host_time_s=1.0)
        writer.write_chunk(1, b"before", host_time_s=1.1)
        writer.write_event("reconnect", stream_id=0, host_time_s=1.2, attempt=2)
        assert writer.blocks_written == 3  # written at once, not buffered
        writer.write_chunk(0, b"after", host_time_s=1.3)
    items = list(iter_blocks(path))
    assert all(isinstance(b, Block) for b in items)
    assert [(b.kind, b.stream_id) for b in items] == [(1, 0), (1, 1), (2, 0), (1, 0)]
    assert items[2].event == {"event": "reconnect", "stream_id": 0, "attempt": 2,
                              "host_time_s": 1.2}
    assert items[0].event is None
    assert items[3].chunks() == [(1.3, b"after")]


def test_event_stream_offset_marks_where_a_reconnect_falls_in_the_bytes(tmp_path):
    path = tmp_path / "rec.insrec"
    clock = FakeClock(0.0)
    with RecordingWriter(path, make_header(), flush_interval_s=0.5, clock=clock) as writer:
        writer.write_chunk(0, b"\x05abcd\x00\x04xy")  # a frame, then half of one
        writer.write_event("disconnect", stream_id=0)
        clock.t = 3.0
        writer.write_event("reconnect", stream_id=0)
        writer.write_chunk(0, b"\x03zz\x00")
        writer.write_chunk(1, b"other")
        writer.write_event("note", text="whole recording")
    rec = read_raw_recording(path)
    assert [(e["event"], e.get("stream_offset")) for e in rec.events] == [
        ("disconnect", 9), ("reconnect", 9), ("note", None)]
    data = rec.streams[0].data
    assert data[:9] == b"\x05abcd\x00\x04xy"
    assert data[9:] == b"\x03zz\x00"


def test_empty_recording(tmp_path):
    path = tmp_path / "rec.insrec"
    RecordingWriter(path, make_header(), clock=FakeClock()).close()
    rec = read_raw_recording(path)
    assert rec.damage is None
    assert rec.n_blocks == 0
    assert rec.events == []
    assert sorted(rec.streams) == [0, 1]
    for stream in rec.streams.values():
        assert stream.n_chunks == 0
        assert stream.data == b""
        assert stream.chunk_end.shape == (0,)
        assert stream.chunk_time_s.shape == (0,)
    assert rec.duration_s == 0.0
    assert list(iter_blocks(path)) == []


def test_exception_inside_with_block_still_writes_the_data(tmp_path):
    path = tmp_path / "rec.insrec"

    def record_then_fail():
        with RecordingWriter(path, make_header()) as writer:
            writer.write_chunk(0, b"kept")
            raise KeyError("boom")

    with pytest.raises(KeyError):
        record_then_fail()
    assert read_raw_recording(path).streams[0].data == b"kept"


def test_writer_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "rec.insrec"
    path.write_bytes(b"precious")
    with pytest.raises(RecordingError, match="already exists") as info:
        RecordingWriter(path, make_header())
    assert_one_line(info.value, path)
    assert path.read_bytes() == b"precious"
    RecordingWriter(path, make_header(), overwrite=True).close()
    assert read_raw_recording(path).damage is None


def test_writer_into_missing_folder(tmp_path):
    path = tmp_path / "nope" / "rec.insrec"
    with pytest.raises(RecordingError, match="cannot create") as info:
        RecordingWriter(path, make_header())
    assert_one_line(info.value, path)


def _without(key):
    header = make_header()
    del header[key]
    return header


def _device(**changes):
    header = make_header()
    header["devices"][0].update(changes)
    return header


def _stream(**changes):
    header = make_header()
    header["streams"][0].update(changes)
    return header


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (_without("source"), "lacks the required key 'source'"),
        (_without("streams"), "lacks the required key 'streams'"),
        (_without("devices"), "lacks the required key 'devices'"),
        (make_header(source=""), r"header\['source'\]"),
        (make_header(color="red"), "unknown key.*extra"),
        (make_header(start_time="yesterday"), "ISO 8601"),
        (make_header(start_time="2025-05-01T07:30:00"), "UTC offset"),
        (make_header(format_version=2), "format_version"),
        (make_header(software="me"), "software"),
        (make_header(streams={"stream_id": 0}), "must be a list"),
        (_stream(stream_id=255), "0..254"),
        (_stream(stream_id=True), "0..254"),
        (_stream(stream_id=1), "used twice"),
        (_stream(transport=None), "transport"),
        (_device(side="l"), "'left' or 'right'"),
        (_device(sample_rate_hz=0), "sample_rate_hz"),
        (_device(sample_rate_hz=math.nan), "sample_rate_hz"),
        (_device(n_sensors=0), "n_sensors"),
        (_device(adc_bits=24), "adc_bits"),
        (_device(layout=None), "layout"),
        (_device(device_id=0x3F2B, side="right"), "repeats device_id"),
        (make_header(extra={"x": object()}), "not JSON-serialisable"),
        (make_header(extra={"x": math.inf}), "not JSON-serialisable"),
    ],
)
def test_writer_validates_the_header(tmp_path, header, match):
    path = tmp_path / "rec.insrec"
    with pytest.raises(RecordingError, match=match) as info:
        RecordingWriter(path, header)
    assert_one_line(info.value, path)
    assert info.value.offset is None
    assert not path.exists()  # nothing created for a bad header


def test_writer_fills_in_start_time_and_software(tmp_path):
    path = tmp_path / "rec.insrec"
    header = make_header(start_time="2025-05-01T07:30:00.000+02:00")
    with RecordingWriter(path, header) as writer:
        assert writer.header["start_time"] == "2025-05-01T07:30:00.000+02:00"
    assert "software" not in header  # the caller's dict is not modified
    path2 = tmp_path / "rec2.insrec"
    RecordingWriter(path2, make_header(devices=[])).close()
    got = read_header(path2)
    assert got["devices"] == []
    assert got["software"]["name"] == "insole"


def test_write_errors_are_clear(tmp_path):
    path = tmp_path / "rec.insrec"
    writer = RecordingWriter(path, make_header())
    with pytest.raises(RecordingError, match="stream_id 7 is not declared") as info:
        writer.write_chunk(7, b"x")
    assert_one_line(info.value, path)
    with pytest.raises(RecordingError, match="finite"):
        writer.write_chunk(0, b"x", host_time_s=math.nan)
    with pytest.raises(RecordingError, match="not declared"):
        writer.write_event("gap", stream_id=9)
    with pytest.raises(RecordingError, match="non-empty string"):
        writer.write_event("")
    with pytest.raises(RecordingError, match="not JSON-serialisable"):
        writer.write_event("note", text=b"bytes")
    with pytest.raises(RecordingError, match="reserved"):
        writer.write_event("note", stream_offset=3)
    writer.write_chunk(0, b"")  # empty chunks are ignored
    writer.close()
    with pytest.raises(RecordingError, match="closed"):
        writer.write_chunk(0, b"x")
    with pytest.raises(RecordingError, match="closed"):
        writer.flush()
    assert read_raw_recording(path).streams[0].n_chunks == 0


# ---------------------------------------------------------------------------------------------
# Crash safety and damage
# ---------------------------------------------------------------------------------------------


def test_sigkill_leaves_a_readable_recording(tmp_path):
    path = tmp_path / "killed.insrec"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), str(path), "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", f"helper did not start: {line!r}"
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, stderr

    rec = read_raw_recording(path)
    assert rec.header["notes"] == "SIGKILL test"
    stream = rec.streams[0]
    chunks = chunks_of(stream)
    counters = []
    for _, data in chunks:
        magic, counter = struct.unpack_from("<4sI", data)
        assert magic == b"CNT!"
        assert len(data) == 8 + counter % 40
        counters.append(counter)
    assert counters == list(range(len(counters)))  # consecutive from the start, no gap
    assert stream.chunk_time_s[-1] - stream.chunk_time_s[0] >= 1.0
    assert np.all(np.diff(stream.chunk_time_s) > 0)
    if rec.damage is not None:  # the kill fell inside a write: a torn last block
        assert rec.damage.code == "truncated"
        assert rec.damage.offset + rec.damage.bytes_after == rec.file_size


def _small_recording(tmp_path):
    path = tmp_path / "small.insrec"
    clock = FakeClock(0.0)
    with RecordingWriter(path, make_header(), flush_interval_s=0.1, clock=clock) as writer:
        for i in range(12):
            clock.t = i * 0.05
            writer.write_chunk(i % 2, bytes([i]) * (3 + i))
            if i == 5:
                writer.write_event("pause", host_time_s=clock.t)
    return path


def test_truncation_at_every_byte_offset(tmp_path):
    full_path = _small_recording(tmp_path)
    full = full_path.read_bytes()
    start = data_start(full)
    blocks = list(iter_blocks(full_path))
    ends = [b.offset + 16 + 12 * len(b.chunk_end) + len(b.payload) for b in blocks]
    assert ends[-1] == len(full)
    assert len(blocks) >= 5
    full_rec = read_raw_recording(full_path)
    cut_path = tmp_path / "cut.insrec"
    for cut in range(len(full)):
        cut_path.write_bytes(full[:cut])
        if cut < start:
            with pytest.raises(RecordingError) as info:
                read_raw_recording(cut_path)
            assert_one_line(info.value, cut_path)
            continue
        rec = read_raw_recording(cut_path)
        complete = [b for b, end in zip(blocks, ends, strict=True) if end <= cut]
        assert rec.n_blocks == len(complete)
        boundaries = [start, *ends]
        if cut in boundaries:
            assert rec.damage is None
        else:
            broken = blocks[len(complete)]
            assert rec.damage == Damage(broken.offset, rec.damage.reason, cut - broken.offset,
                                        "truncated")
            assert "truncated" in rec.damage.reason
        for sid, stream in rec.streams.items():
            n = sum(len(b.chunk_end) for b in complete if b.kind == 1 and b.stream_id == sid)
            assert chunks_of(stream) == chunks_of(full_rec.streams[sid])[:n]
        n_events = sum(b.kind == 2 for b in complete)
        assert rec.events == full_rec.events[:n_events]


def test_corrupt_byte_in_the_middle(tmp_path):
    full_path = _small_recording(tmp_path)
    full = bytearray(full_path.read_bytes())
    blocks = list(iter_blocks(full_path))
    target = blocks[2]
    full[target.offset + 16 + 5] ^= 0x40  # a byte of its chunk table
    path = tmp_path / "corrupt.insrec"
    path.write_bytes(bytes(full))

    rec = read_raw_recording(path)
    assert rec.n_blocks == 2
    assert rec.damage.offset == target.offset
    assert rec.damage.code == "crc"
    assert "CRC" in rec.damage.reason
    assert rec.damage.bytes_after == len(full) - target.offset

    # Salvage keeps the bytes of a block whose CRC fails but whose structure is intact (its
    # chunk lengths add up): the frames inside carry their own CRC.
    salvaged = read_raw_recording(path, salvage=True)
    assert salvaged.n_blocks == len(blocks)
    assert salvaged.damage.offset == target.offset
    assert salvaged.damage.code == "crc"
    assert salvaged.damage.bytes_after == 0
    assert salvaged.damage.bytes_kept == len(target.payload)
    assert salvaged.skipped_bytes == 0
    full_rec = read_raw_recording(full_path)
    for sid, stream in salvaged.streams.items():
        assert stream.data == full_rec.streams[sid].data
        assert stream.chunk_end.tolist() == full_rec.streams[sid].chunk_end.tolist()

    items = list(iter_blocks(path, salvage=True))
    assert [type(i).__name__ for i in items].count("Damage") == 1
    assert isinstance(items[2], Damage)


def test_header_fields_of_a_block_are_covered_by_its_crc(tmp_path):
    full_path = _small_recording(tmp_path)
    full = bytearray(full_path.read_bytes())
    target = list(iter_blocks(full_path))[1]
    full[target.offset + 5] ^= 0x01  # its stream_id
    path = tmp_path / "corrupt.insrec"
    path.write_bytes(bytes(full))
    rec = read_raw_recording(path)
    assert rec.damage.offset == target.offset
    assert rec.damage.code == "crc"


def test_garbage_between_blocks_and_salvage(tmp_path):
    full_path = _small_recording(tmp_path)
    full = full_path.read_bytes()
    blocks = list(iter_blocks(full_path))
    cut = blocks[3].offset
    garbage = b"IBLK" + b"\x01\x00\xff\xff" + bytes(range(40))  # fake magic, absurd length
    path = tmp_path / "garbage.insrec"
    path.write_bytes(full[:cut] + garbage + full[cut:])
    rec = read_raw_recording(path)
    assert rec.n_blocks == 3
    assert rec.damage.offset == cut
    salvaged = read_raw_recording(path, salvage=True)
    assert salvaged.n_blocks == len(blocks)
    assert salvaged.damage == Damage(cut, salvaged.damage.reason, len(garbage),
                                     salvaged.damage.code)
    assert salvaged.damage.code in {"crc", "malformed", "truncated"}
    full_rec = read_raw_recording(full_path)
    for sid in full_rec.streams:
        assert chunks_of(salvaged.streams[sid]) == chunks_of(full_rec.streams[sid])
    assert salvaged.events == full_rec.events

    # Trailing zeros (e.g. a file system that extended the file before a power loss).
    zero_path = tmp_path / "zeros.insrec"
    zero_path.write_bytes(full + bytes(100))
    rec = read_raw_recording(zero_path, salvage=True)
    assert rec.damage == Damage(len(full), rec.damage.reason, 100, "bad_magic")
    assert rec.n_blocks == len(blocks)


def test_block_whose_lengths_do_not_add_up_stops_reading(tmp_path):
    full_path = _small_recording(tmp_path)
    full = full_path.read_bytes()
    bad = block(1, 0, [(9.0, b"abc"), (9.1, b"de")], lengths=[1, 1])  # valid CRC, bad table
    path = tmp_path / "bad.insrec"
    path.write_bytes(full + bad + block(1, 1, [(9.2, b"ok")]))
    rec = read_raw_recording(path)
    assert rec.damage.offset == len(full)
    assert rec.damage.code == "malformed"
    assert rec.n_blocks == len(list(iter_blocks(full_path)))
    rec = read_raw_recording(path, salvage=True)
    assert chunks_of(rec.streams[1])[-1] == (9.2, b"ok")


def test_unknown_block_kinds_and_streams_are_tolerated(tmp_path):
    full_path = _small_recording(tmp_path)
    full = full_path.read_bytes()
    path = tmp_path / "future.insrec"
    path.write_bytes(full + block(77, 0, [(9.0, b"future")]) + block(1, 9, [(9.1, b"new")]))
    rec = read_raw_recording(path)
    assert rec.damage is None
    assert rec.unknown_blocks == 1
    assert chunks_of(rec.streams[9]) == [(9.1, b"new")]


# ---------------------------------------------------------------------------------------------
# Files that are not readable recordings
# ---------------------------------------------------------------------------------------------


def _valid_bytes(tmp_path):
    path = tmp_path / "valid.insrec"
    RecordingWriter(path, make_header()).close()
    return path.read_bytes()


def _with_version(raw):
    return raw[:8] + struct.pack("<H", 2) + raw[10:]


def _with_bad_header_crc(raw):
    return raw[:20] + bytes([raw[20] ^ 1]) + raw[21:]


def _with_header(raw, header_json: bytes):
    return (raw[:12] + struct.pack("<I", len(header_json)) + header_json
            + struct.pack("<I", zlib.crc32(header_json)))


@pytest.mark.parametrize(
    ("make", "match", "offset"),
    [
        (lambda raw: b"", "empty", 0),
        (lambda raw: b"PK\x03\x04" + raw[4:], "not an insole recording", 0),
        (lambda raw: b"INSOL", "inside the file header", 5),
        (lambda raw: raw[:30], "truncated", 30),
        (_with_version, "format version 2 is not supported", 8),
        (_with_bad_header_crc, "header CRC mismatch", 16),
        (lambda raw: _with_header(raw, b"{not json"), "not valid UTF-8 JSON", 16),
        (lambda raw: _with_header(raw, b'{"format_version": 1}'), "lacks the required key",
         16),
        (lambda raw: raw[:12] + struct.pack("<I", 2**31) + raw[16:], "implausible", 12),
    ],
)
def test_unreadable_files_raise_one_line_errors(tmp_path, make, match, offset):
    path = tmp_path / "bad.insrec"
    path.write_bytes(make(_valid_bytes(tmp_path)))
    for reader in (read_raw_recording, read_header, iter_blocks):
        with pytest.raises(RecordingError, match=match) as info:
            reader(path)
        assert_one_line(info.value, path)
        assert info.value.offset == offset
        assert info.value.path == str(path)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, InsoleError)


def test_missing_file_and_folder(tmp_path):
    for reader in (read_raw_recording, read_header, iter_blocks):
        with pytest.raises(RecordingError, match="no such recording") as info:
            reader(tmp_path / "missing.insrec")
        assert_one_line(info.value, tmp_path / "missing.insrec")
        with pytest.raises(RecordingError, match="folder") as info:
            reader(tmp_path)
        assert_one_line(info.value, tmp_path)


# ---------------------------------------------------------------------------------------------
# Property test
# ---------------------------------------------------------------------------------------------

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("chunk"), st.sampled_from([0, 1]), st.binary(min_size=1, max_size=300),
                  st.floats(0, 0.3), st.booleans()),
        st.tuples(st.just("event"), st.sampled_from(["gap", "note", "pause"]),
                  st.sampled_from([0, 1, 255]), st.floats(0, 0.3), st.booleans()),
        st.tuples(st.just("idle"), st.floats(0, 2.0)),
    ),
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(ops=_ops, flush_interval_s=st.sampled_from([0.01, 0.1, 0.5, 5.0]),
       block_bytes=st.sampled_from([1, 100, 1000, 65536]))
def test_random_chunks_round_trip(ops, flush_interval_s, block_bytes):
    clock = FakeClock(50.0)
    expected = {0: [], 1: []}
    events = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.insrec"
        with RecordingWriter(path, make_header(), flush_interval_s=flush_interval_s,
                             block_bytes=block_bytes, clock=clock) as writer:
            for op in ops:
                if op[0] == "idle":
                    clock.t += op[1]
                    writer.maybe_flush()
                    continue
                if op[0] == "chunk":
                    _, sid, data, dt, explicit = op
                else:
                    _, name, sid, dt, explicit = op
                clock.t += dt
                t = clock.t - 50.0 + (0.123 if explicit else 0.0)
                when = t if explicit else None
                if op[0] == "chunk":
                    writer.write_chunk(sid, data, host_time_s=when)
                    expected[sid].append((t, data))
                else:
                    writer.write_event(name, stream_id=sid, host_time_s=when, n=len(events))
                    events.append({"event": name, "stream_id": sid, "n": len(events),
                                   "host_time_s": t})
                    if sid != 255:
                        events[-1]["stream_offset"] = sum(len(c) for _, c in expected[sid])
        rec = read_raw_recording(path)
        assert rec.damage is None
        for sid in (0, 1):
            got = chunks_of(rec.streams[sid])
            assert [c for _, c in got] == [c for _, c in expected[sid]]
            np.testing.assert_allclose([t for t, _ in got], [t for t, _ in expected[sid]],
                                       rtol=0, atol=1e-9)
            np.testing.assert_array_equal(
                rec.streams[sid].chunk_end, np.cumsum([len(c) for _, c in expected[sid]]))
        assert len(rec.events) == len(events)
        for got_event, want in zip(rec.events, events, strict=True):
            assert got_event == {**want, "host_time_s": pytest.approx(want["host_time_s"])}
