"""`insole record`: writing while streaming, status lines, clean stop on signals."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from insole.cli import main
from insole.commands.devices import add_parsers
from insole.commands.record import record
from insole.recordings.container import read_raw_recording
from insole.recordings.loader import load_recording
from insole.sources.readers import Reader, StreamInfo, open_reader

CLI = [sys.executable, "-m", "insole.cli"]


def test_record_sim_in_process(tmp_path: Path) -> None:
    out = tmp_path / "sim.insrec"
    status = io.StringIO()
    summary = record("sim:?seed=4&rate=200", out, duration_s=1.5, status=status,
                     status_interval_s=0.4)
    assert summary.stopped_by == "duration"
    assert 1.5 <= summary.duration_s < 2.0
    rec = load_recording(out)
    assert rec.frames_lost == 0
    assert rec.frames == summary.frames
    assert [d.side for d in rec.devices] == ["left", "right"]
    # The simulator knows its insoles: layout and calibration go into the header.
    assert all(d["calibration"] and d["layout"] for d in rec.header["devices"])
    assert rec.header["source"] == "sim:?seed=4&rate=200"
    assert [s["transport"] for s in rec.header["streams"]] == ["sim", "sim"]
    lines = status.getvalue().splitlines()
    assert len(lines) >= 3  # plain periodic lines (not a TTY), then the summary
    for word in ("frames", "lost", "L ", "R "):
        assert word in lines[0]
    assert lines[-1].startswith(f"recorded 1.5 s to {out}")


def test_record_replays_a_file_to_an_identical_stream(tmp_path: Path) -> None:
    first = tmp_path / "a.insrec"
    record("sim:?seed=1&duration=3&speed=max&loss=0.05", first)
    second = tmp_path / "b.insrec"
    summary = record(f"file:{first}?speed=max", second)
    assert summary.stopped_by == "end of source"
    a, b = read_raw_recording(first), read_raw_recording(second)
    assert {k: s.data for k, s in a.streams.items()} == {k: s.data for k, s in b.streams.items()}
    assert b.header["devices"] == a.header["devices"]  # a replay knows the recorded devices
    ra, rb = load_recording(first), load_recording(second)
    assert ra.frames_lost == rb.frames_lost == summary.frames_lost > 0


class _SilentAfterOneChunk(Reader):
    """A source that delivers one chunk and then nothing (a device gone quiet)."""

    def __init__(self) -> None:
        super().__init__()
        self.streams = [StreamInfo(0, "serial", "quiet")]

    def _run(self) -> None:
        self._put_chunk(0, b"\x05abcd")
        self._stop.wait()


def test_buffered_bytes_reach_the_file_within_about_a_second_when_idle(tmp_path: Path) -> None:
    out = tmp_path / "quiet.insrec"
    stop = threading.Event()
    worker = threading.Thread(
        target=record, args=(_SilentAfterOneChunk(), out),
        kwargs={"stop": stop, "device_wait_s": 0.1},
    )
    worker.start()
    try:
        deadline = time.monotonic() + 3.0
        data = b""
        while time.monotonic() < deadline and not data:
            time.sleep(0.1)
            if out.exists():
                data = read_raw_recording(out).streams[0].data
        assert data == b"\x05abcd"
        assert time.monotonic() < deadline
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
    header = read_raw_recording(out).header
    assert header["devices"] == []  # no DEVICE_INFO came: nothing invented
    assert "empty dicts" in header["extra"]["recorder"]["calibration"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_recorder_with_the_file_intact(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "run.insrec"
    with subprocess.Popen(
        [*CLI, "record", "sim:?seed=2", "--out", str(out), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:
        try:
            deadline = time.monotonic() + 20
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.5)
            proc.send_signal(sig)
            stdout, stderr = proc.communicate(timeout=20)
        finally:
            proc.kill()
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["stopped_by"] == "signal"
    assert stderr.splitlines()[-1].startswith("recorded ")
    assert "stopped by signal" in stderr.splitlines()[-1]
    rec = load_recording(out)
    assert rec.damage is None
    assert rec.frames == summary["frames"] > 30
    assert rec.frames_lost == 0


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path, capsys) -> None:
    assert main(["record", "nosuch:thing", "--out", str(tmp_path / "x.insrec")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("insole record: error: source 'nosuch:thing': unknown source type")
    assert "\n" not in err
    assert not (tmp_path / "x.insrec").exists()
    assert main(["record", "serial:/nonexistent/tty0", "--out", str(tmp_path / "y.insrec")]) == 2
    err = capsys.readouterr().err
    assert "cannot open serial port" in err or "need pyserial" in err
    assert not (tmp_path / "y.insrec").exists()


def test_add_parsers_plugs_into_a_main_parser() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="insole")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["emulate", "serial", "--rate", "100", "--loss", "0.01",
                              "--garbage", "5", "--unplug-every", "4", "--pause", "3:1.5"])
    assert (args.rate, args.loss, args.garbage, args.unplug_every) == (100, 0.01, 5.0, 4.0)
    assert args.pause == [(3.0, 1.5)]
    args = parser.parse_args(["record", "sim:", "--out", "x.insrec", "--duration", "5"])
    assert (args.source, args.duration) == ("sim:", 5.0)
    args = parser.parse_args(["scan", "--timeout", "2", "--json"])
    assert (args.timeout, args.json) == (2.0, True)
    assert callable(args.func)


def test_open_reader_devices_for_sim() -> None:
    reader = open_reader("sim:?sensors=8&duration=1")
    devices = reader.devices  # type: ignore[attr-defined]
    assert [d["n_sensors"] for d in devices] == [8, 8]
