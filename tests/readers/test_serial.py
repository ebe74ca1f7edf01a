"""Serial source through real ptys: in-process reconnects and the emulator in another process."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import tty
from pathlib import Path

import pytest

from firmware_protocol import StreamDecoder
from insole.recordings.container import read_raw_recording
from insole.recordings.loader import load_recording
from insole.sources.readers import Chunk, ReaderError, ReaderEvent, open_reader
from insole.sources.readers.serial import START_COMMAND, SerialReader
from insole.sources.readers.sim import SimFeed

pytest.importorskip("serial")

CLI = [sys.executable, "-m", "insole.cli"]


# -- in-process: the reader against a pty we control -----------------------------------------


class _Pty:
    """A pty published under a stable symlink, like the emulator's."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.plug()

    def plug(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        tmp = self.link.with_suffix(".tmp")
        os.symlink(name, tmp)
        os.replace(tmp, self.link)

    def unplug(self) -> None:
        os.close(self.master)
        self.link.unlink()

    def read_command(self, timeout_s: float = 2.0) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout_s)
        return os.read(self.master, 100) if ready else b""


def _collect(reader: SerialReader, until, timeout_s: float = 5.0) -> list[Chunk | ReaderEvent]:
    items: list[Chunk | ReaderEvent] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items.extend(reader.read(0.05))
        if until(items):
            return items
    raise AssertionError(f"timed out; got {[getattr(i, 'kind', 'chunk') for i in items]}")


def test_reader_survives_unplug_and_the_gap_is_counted(tmp_path: Path) -> None:
    frames = [c.data for c in SimFeed(seed=1, duration_s=2.0, link="serial")]
    pty = _Pty(tmp_path / "port")
    reader = open_reader(f"serial:{pty.link}?baud=115200")
    assert isinstance(reader, SerialReader)
    items: list[Chunk | ReaderEvent] = []
    try:
        reader.start()
        assert pty.read_command() == START_COMMAND  # sent after opening
        os.write(pty.master, b"".join(frames[:20]) + frames[20][:50])  # ... and half a frame
        n_bytes = sum(map(len, frames[:20])) + 50
        items += _collect(reader, lambda it: sum(
            len(c.data) for c in it if isinstance(c, Chunk)) >= n_bytes)
        pty.unplug()
        items += _collect(reader, lambda it: any(
            isinstance(e, ReaderEvent) and e.kind == "reconnecting" and e.detail["attempt"] >= 3
            for e in it))
        pty.plug()
        items += _collect(reader, lambda it: any(
            isinstance(e, ReaderEvent) and e.detail.get("reconnect") for e in it))
        assert pty.read_command() == START_COMMAND
        os.write(pty.master, b"".join(frames[30:40]))
        more = sum(map(len, frames[30:40]))
        items += _collect(reader, lambda it: sum(
            len(c.data) for c in it if isinstance(c, Chunk)) >= more)
    finally:
        reader.stop()
        if os.path.lexists(pty.link):
            pty.unplug()
    kinds = [e.kind for e in items if isinstance(e, ReaderEvent)]
    assert kinds[0] == "connected"
    assert kinds[1] == "disconnected"
    assert kinds[-1] == "connected"
    delays = [e.detail["delay_s"] for e in items if isinstance(e, ReaderEvent)
              and e.kind == "reconnecting"]
    assert delays[:3] == [0.05, 0.1, 0.2]  # exponential backoff
    reconnect = [e for e in items if isinstance(e, ReaderEvent) and e.kind == "connected"][-1]
    assert reconnect.detail["flush_decoder"] is True
    assert "0x00" in reconnect.detail["note"]
    # Decode as a consumer must: one 0x00 at the reconnect.
    dec = StreamDecoder()
    for item in items:
        if isinstance(item, Chunk):
            dec.feed(item.data)
        elif item.detail.get("flush_decoder"):
            dec.flush_partial()
    assert dec.stats.frames == 30
    assert dec.stats.lost_frames == 10  # frames 20 (cut) to 29 (never sent)
    assert dec.stats.discarded_bytes == 50


def test_a_wrong_port_fails_at_start_with_one_line() -> None:
    reader = open_reader("serial:/nonexistent/ttyUSB9")
    with pytest.raises(ReaderError, match="cannot open serial port '/nonexistent/ttyUSB9'"):
        reader.start()
    assert not reader.running


@pytest.mark.parametrize("kind", ["file", "folder", "missing folder"])
def test_the_emulator_link_never_replaces_a_file(tmp_path: Path, kind: str) -> None:
    # The link is re-pointed with os.replace and removed at the end: a file at that path was
    # lost (a README, a recording). Refused in one line, the file untouched.
    target = tmp_path / "precious.insrec"
    if kind == "file":
        target.write_bytes(b"INSOLREC data")
    elif kind == "folder":
        target.mkdir()
    else:
        target = tmp_path / "no" / "pty"
    proc = subprocess.run([*CLI, "emulate", "serial", "--link", str(target), "--duration", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(target) in proc.stderr
    if kind == "file":
        assert target.read_bytes() == b"INSOLREC data"
    elif kind == "folder":
        assert target.is_dir()
    # The library refuses too (API users).
    from insole.sources.devices.serial_device import EmulatorConfig, SerialDeviceEmulator

    emu = SerialDeviceEmulator(EmulatorConfig(link_path=str(target)))
    with pytest.raises(OSError, match="precious.insrec|does not exist"):
        emu.open()


# -- the emulator in another process, recorded with `insole record` ---------------------------


def _first_line(proc: subprocess.Popen[str], timeout_s: float = 20.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, "the emulator did not print its port"
    return proc.stdout.readline().strip()


def _emulate_and_record(
    tmp_path: Path, *emulator_args: str
) -> tuple[dict, dict, Path]:
    """Run the emulator for its --duration, record it until it ends, stop the recorder by SIGINT.

    Returns the emulator's report, the recorder's JSON summary and the recording path.
    """
    out = tmp_path / "serial.insrec"
    with open(tmp_path / "emulator.err", "w") as emu_err, \
            open(tmp_path / "recorder.err", "w") as rec_err, \
            subprocess.Popen([*CLI, "emulate", "serial", *emulator_args], stdout=subprocess.PIPE,
                             stderr=emu_err, text=True) as emulator:
        try:
            port = _first_line(emulator)
            with subprocess.Popen(
                [*CLI, "record", f"serial:{port}", "--out", str(out), "--json"],
                stdout=subprocess.PIPE, stderr=rec_err, text=True,
            ) as recorder:
                try:
                    emu_out, _ = emulator.communicate(timeout=60)
                    time.sleep(0.3)
                    recorder.send_signal(signal.SIGINT)  # Ctrl-C
                    rec_out, _ = recorder.communicate(timeout=20)
                finally:
                    recorder.kill()
        finally:
            emulator.kill()
    assert emulator.returncode == 0, (tmp_path / "emulator.err").read_text()
    assert recorder.returncode == 0, (tmp_path / "recorder.err").read_text()
    report = json.loads(emu_out.strip().splitlines()[-1])
    summary = json.loads(rec_out.strip().splitlines()[-1])
    assert summary["stopped_by"] == "signal"
    assert "recorded" in (tmp_path / "recorder.err").read_text().splitlines()[-1]
    return report, summary, out


def test_two_insoles_at_200_hz_through_a_pty_lose_nothing(tmp_path: Path) -> None:
    report, summary, out = _emulate_and_record(
        tmp_path, "--rate", "200", "--duration", "10"
    )
    assert report["expected_lost_frames"] == 0
    assert report["undrained_bytes"] == 0
    rec = load_recording(out)
    assert rec.damage is None
    assert rec.frames_lost == 0
    assert rec.counter("crc_errors") == rec.counter("cobs_errors") == 0
    assert summary["frames_lost"] == 0
    assert summary["frames"] == rec.frames == report["frames_written"]
    assert [d.side for d in rec.devices] == ["left", "right"]
    for d in rec.devices:
        assert d.sample_rate_hz == 200
        assert d.n_samples == pytest.approx(2000, abs=12)
        assert d.info is not None
    # The header's devices were learnt from the DEVICE_INFO frames; no calibration on the wire.
    assert [(d["side"], d["n_sensors"], d["calibration"]) for d in rec.header["devices"]] == [
        ("left", 16, {}), ("right", 16, {})]
    assert "calibration" in rec.header["extra"]["recorder"]


def test_injected_loss_garbage_and_unplugs_are_reported_exactly(tmp_path: Path) -> None:
    link = tmp_path / "insole-port"
    report, summary, out = _emulate_and_record(
        tmp_path, "--duration", "9", "--seed", "7", "--loss", "0.02", "--garbage", "60",
        "--unplug-every", "3", "--unplug-for", "0.6", "--link", str(link),
    )
    assert report["frames_dropped"] > 0
    assert report["frames_corrupted"] > 0
    assert report["unplugs"] == 2
    assert report["frames_cut"] == 2  # half a frame written before each unplug
    assert report["frames_not_delivered"] > 0
    assert report["undrained_bytes"] == 0
    # The live decoder of the recorder (0x00 fed at each reconnect) saw exactly what was injected.
    assert summary["frames_lost"] == report["expected_lost_frames"]
    lost_by_side = {d["side"]: d["lost"] for d in summary["devices"]}
    assert lost_by_side == report["lost_by_side"]
    assert summary["reconnects"] == 2
    assert summary["disconnects"] >= 2  # + 1 when the emulator exits
    assert summary["bad_frames"] >= report["frames_corrupted"]
    # The recording holds the events; replaying it with a 0x00 at each reconnect agrees.
    raw = read_raw_recording(out)
    names = [e["event"] for e in raw.events]
    assert names.count("reconnect") == 2
    assert names[:4] == ["disconnect", "reconnect", "disconnect", "reconnect"]
    data = raw.streams[0].data
    dec = StreamDecoder()
    at = 0
    for ev in raw.events:
        if ev["event"] == "reconnect":
            dec.feed(data[at:ev["stream_offset"]])
            dec.flush_partial()
            at = ev["stream_offset"]
    dec.feed(data[at:])
    assert dec.stats.lost_frames == report["expected_lost_frames"]
    assert not os.path.lexists(link)  # the emulator cleaned up its symlink
