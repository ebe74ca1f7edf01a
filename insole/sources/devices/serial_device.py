"""A serial insole receiver on a pty: two simulated insoles in the wire protocol, with faults.

`SerialDeviceEmulator` creates a pseudo-terminal pair (``os.openpty``) and plays a receiver
dongle that carries both insoles on one serial stream (SPEC §3): it writes the bytes of
`insole.sources.readers.sim.SimFeed` to the pty master on an absolute real-time schedule, so any
serial reader (``serial:/dev/pts/N``) sees what a USB device would send.

Faults, each counted exactly in `EmulatorReport`:

- frame loss and garbage bytes (injected by `insole.sources.sim.transport.transmit`);
- link pauses (nothing arrives, then the backlog at once);
- unplug/replug: the pty is closed and a new one created after ``unplug_for_s``. A pty's path
  cannot be kept across that, so the emulator publishes a **stable symlink** (``link_path``)
  that is re-pointed atomically to each new pty; readers open the symlink path and simply
  reopen it after the unplug. Before unplugging, the emulator waits (up to 1 s) until the host
  has read what was written, then, by default, writes the first half of the next frame and
  unplugs: that frame is cut, which the host must count (0x00 fed to the decoder on reconnect),
  never merge. Frames due while unplugged are not delivered. The insoles keep counting, so the
  gap shows in the sequence numbers.

Host side: the emulator waits for the START command (SPEC §4.3 with serial framing, sent by
`insole.sources.readers.serial.SerialReader` after every open) before streaming, and again after
every replug or after the host closed the port (seen as POLLHUP on the master); frames due meanwhile
are counted as not delivered. So every frame loss the host can see is one the emulator reports:
``expected_lost_frames = dropped + corrupted + not_delivered + cut`` equals the decoder's
``lost_frames`` (as long as the host reads until the emulator ends).

SET_BATCH and SET_RATE (SPEC §4.3) received before the stream starts are honoured: the
readers send them just before START (``serial:PORT?batch=1``), so the stream then carries
``n`` samples per SAMPLES frame (at the new rate). The stream starts at the first START; after
that, a command asking for the batch and rate in force changes nothing (a reader repeats them
after every replug) and one asking for another value is not applied (counted in
``EmulatorReport.commands_not_applied``): the emulated receiver changes its framing only before
its stream. A batch whose frame would exceed 1024 bytes (SPEC §1) or a rate outside 20 .. 2000
Hz is ignored the same way, as firmware ignores an invalid command.

With ``stamp_send_time`` every intact frame's ``timestamp_us`` is replaced by the host's
monotonic clock [µs, mod 2**32] just before it is written, so a consumer on the same machine can
measure the latency from the write to its decoded samples (``bench/latency_serial.py``).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import json
import os
import select
import sys
import tempfile
import termios
import threading
import time
import tty
from dataclasses import dataclass, field
from typing import Literal, TextIO

from firmware_protocol import ProtocolError
from firmware_protocol.commands import Command, Opcode, decode_command
from insole.sources.readers.base import CountReport
from insole.sources.readers.sim import FeedChunk, SimFeed, restamp_frame

__all__ = ["EmulatorConfig", "EmulatorReport", "SerialDeviceEmulator"]

_SIDES = ("left", "right")


def check_link_path(path: str | os.PathLike[str]) -> None:
    """Refuse a ``link_path`` that would replace anything but a symlink (the emulator's own).

    The link is re-pointed with ``os.replace`` and removed at the end, so a file or folder at
    that path would be lost.

    Raises
    ------
    FileExistsError
        If ``path`` exists and is not a symlink.
    FileNotFoundError
        If its folder does not exist.
    """
    p = os.fspath(path)
    if os.path.lexists(p) and not os.path.islink(p):
        kind = "a folder" if os.path.isdir(p) else "a file"
        raise FileExistsError(
            f"{p}: is {kind}, not a symlink; the emulator's link would replace it and remove "
            "it at the end: choose a new path for --link (e.g. ./insole-pty)"
        )
    folder = os.path.dirname(p) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{p}: its folder {folder} does not exist; create it or choose "
                                "another --link path")


@dataclass(frozen=True)
class EmulatorConfig:
    """What the emulated serial device streams and which faults it injects.

    Attributes
    ----------
    rate_hz, n_sensors, batch, seed, gait, cadence_spm
        Simulated insoles (see `insole.sources.readers.sim.SimFeed`).
    loss, burst_loss, garbage_per_min, drift_ppm, clock_offset_s
        Link and clock faults (see `insole.sources.sim.transport.TransportConfig`).
    pauses : tuple of (start_s, duration_s)
        Link stalls, on the stream's time axis.
    unplug_every_s : float or None
        Unplug the device this often [s] (None: never).
    unplug_for_s : float
        How long it stays unplugged [s].
    cut_frame_on_unplug : bool
        Write half a frame just before each unplug.
    duration_s : float or None
        Stream length [s] (None: until stopped).
    link_path : str or None
        Stable symlink to the current pty. Default: none, unless unplugging is on (then
        ``$TMPDIR/insole-serial-<pid>``).
    wait_for_start : bool
        Stream only after the host sent START (and again after each replug).
    stamp_send_time : bool
        Replace each frame's device time by the monotonic clock at writing (latency bench).
    """

    rate_hz: int = 200
    n_sensors: int = 16
    batch: int = 6
    seed: int = 0
    gait: Literal["run", "walk"] = "run"
    cadence_spm: float | None = None
    loss: float = 0.0
    burst_loss: float = 0.0
    garbage_per_min: float = 0.0
    drift_ppm: float = 0.0
    clock_offset_s: float = 0.0
    pauses: tuple[tuple[float, float], ...] = ()
    unplug_every_s: float | None = None
    unplug_for_s: float = 1.0
    cut_frame_on_unplug: bool = True
    duration_s: float | None = None
    link_path: str | None = None
    wait_for_start: bool = True
    stamp_send_time: bool = False


@dataclass
class EmulatorReport(CountReport):
    """What the emulator did, exactly.

    Attributes
    ----------
    port : str
        Path the host should open.
    stream_s : float
        Stream time covered [s].
    frames_written : int
        Frames written whole (destroyed frames included, they are bytes on the wire too).
    bytes_written : int
        Bytes written.
    frames_sent : int
        Frames the simulated insoles produced in the segments generated so far (the feed
        works 60 s ahead at most).
    frames_dropped, frames_corrupted : int
        Injected loss and garbage (from the feed, same segments). After a stop before the
        end of a segment they include faults in frames that were never due.
    frames_not_delivered : int
        Intact frames due while unplugged or while no host had sent START.
    frames_cut : int
        Frames cut in half at an unplug (or by a host that stopped reading for 1 s).
    unplugs : int
        Unplug/replug cycles.
    undrained_bytes : int
        Bytes still unread by the host when the pty was closed (lost in the pty, not
        counted above; 0 when the host keeps reading).
    lost_by_side : dict of str to int
        Expected lost frames per side.
    expected_lost_frames : int
        ``frames_dropped + frames_corrupted + frames_not_delivered + frames_cut``: what a
        decoder that saw the whole stream reports as ``lost_frames``.
    commands : dict of str to int
        Host commands received, by name.
    commands_not_applied : int
        Valid SET_BATCH / SET_RATE commands that did not change the stream (see the module
        docstring).
    batch, rate_hz : int
        Samples per SAMPLES frame and sampling rate of the stream (after SET_BATCH / SET_RATE).
    """

    port: str = ""
    stream_s: float = 0.0
    frames_written: int = 0
    bytes_written: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    frames_corrupted: int = 0
    frames_not_delivered: int = 0
    frames_cut: int = 0
    unplugs: int = 0
    undrained_bytes: int = 0
    lost_by_side: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SIDES, 0))
    expected_lost_frames: int = 0
    commands: dict[str, int] = field(default_factory=dict)
    commands_not_applied: int = 0
    batch: int = 0
    rate_hz: int = 0


class SerialDeviceEmulator:
    """A pty serial device streaming two simulated insoles (``insole emulate serial``).

    Parameters
    ----------
    config : EmulatorConfig
        Stream and faults.
    log : text stream or None
        Where to print what happens (unplugs, replugs); None for silence.

    Examples
    --------
    >>> with SerialDeviceEmulator(EmulatorConfig(duration_s=10)) as emu:  # doctest: +SKIP
    ...     print(emu.path)  # open serial:<path> in another process
    ...     report = emu.run()
    """

    def __init__(self, config: EmulatorConfig | None = None, *, log: TextIO | None = None) -> None:
        self.config = cfg = config or EmulatorConfig()
        self.log = log
        link = cfg.link_path
        if link is None and cfg.unplug_every_s:
            link = os.path.join(tempfile.gettempdir(), f"insole-serial-{os.getpid()}")
        self.link_path = link
        self.report = EmulatorReport()
        self.feed = self._make_feed(cfg.batch, cfg.rate_hz)
        self._streaming = False  # the stream has started: framing is fixed
        self._master: int | None = None
        self._slave_name = ""
        self._started = False  # START received since the host opened the port
        self._host_open = False
        self._cmd_buf = bytearray()
        self._ever_opened = False

    def _make_feed(self, batch: int, rate_hz: int) -> SimFeed:
        """The simulated insoles' byte stream with ``batch`` samples per frame at ``rate_hz``."""
        cfg = self.config
        feed = SimFeed(
            rate_hz=rate_hz,
            n_sensors=cfg.n_sensors,
            batch=batch,
            link="serial",
            seed=cfg.seed,
            gait=cfg.gait,
            cadence_spm=cfg.cadence_spm,
            loss=cfg.loss,
            burst_loss=cfg.burst_loss,
            garbage_per_min=cfg.garbage_per_min,
            drift_ppm=cfg.drift_ppm,
            clock_offset_s=cfg.clock_offset_s,
            pauses=cfg.pauses,
            duration_s=cfg.duration_s,
        )
        self.report.batch, self.report.rate_hz = batch, rate_hz
        return feed

    # -- pty -------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The path a host opens: the symlink if there is one, else the pty's slave."""
        if not self._slave_name and self._master is None:
            raise RuntimeError("the emulator is not open; call open() first")
        return self.link_path or self._slave_name

    def open(self) -> str:
        """Create the pty (and the symlink); return the path to open.

        Raises
        ------
        OSError
            If ``link_path`` is a file or folder (`check_link_path`), or its folder is missing.
        """
        if self.link_path:
            check_link_path(self.link_path)
        self._create_pty()
        self.report.port = self.path
        return self.path

    def _create_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no newline translation: a clean byte pipe
        self._slave_name = os.ttyname(slave)
        os.close(slave)  # only the host holds the slave: its close shows as POLLHUP
        os.set_blocking(master, False)
        self._master = master
        self._host_open = False
        self._started = False
        self._cmd_buf.clear()
        if self.link_path:
            tmp = f"{self.link_path}.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self._slave_name, tmp)
            os.replace(tmp, self.link_path)  # atomic: the path always exists or points right

    def _close_pty(self) -> None:
        if self._master is not None:
            os.close(self._master)
            self._master = None
        if self.link_path and os.path.islink(self.link_path):  # never a file put there since
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.link_path)
        self._host_open = self._started = False

    def close(self) -> None:
        """Close the pty and remove the symlink."""
        self._close_pty()

    def __enter__(self) -> SerialDeviceEmulator:
        if self._master is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- host side -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether written bytes reach a host now."""
        return (
            self._master is not None
            and self._host_open
            and (self._started or not self.config.wait_for_start)
        )

    def _service(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for host commands and watch the host open/close the port."""
        timeout_s = max(0.0, min(timeout_s, 0.1))
        if self._master is None or timeout_s < 0.002:
            # poll() sleeps in whole milliseconds (rounded up); the last stretch before a
            # frame is due is slept with nanosecond resolution to keep the schedule exact.
            time.sleep(timeout_s)
            return
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        events = poller.poll(0)
        hup = any(ev & select.POLLHUP for _, ev in events)
        if hup:
            if self._host_open:
                self._say("host closed the port")
            self._host_open = self._started = False
            time.sleep(timeout_s)  # POLLHUP is level-triggered: poll would not sleep
            return
        if not self._host_open:
            self._host_open = self._ever_opened = True
        if not events:
            events = poller.poll(timeout_s * 1000.0)
        if any(ev & select.POLLIN for _, ev in events):
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                return
            except OSError:  # EIO: the host closed between poll and read
                return
            self._commands(data)

    def _commands(self, data: bytes) -> None:
        self._cmd_buf += data
        while b"\x00" in self._cmd_buf:
            piece, _, rest = bytes(self._cmd_buf).partition(b"\x00")
            self._cmd_buf[:] = rest
            cmd: Command | None = None
            try:
                cmd = decode_command(piece)
                name = cmd.opcode.name.lower()
            except ProtocolError:
                name = "invalid"  # bad COBS or CRC, unknown opcode, bad argument: counted
            self.report.commands[name] = self.report.commands.get(name, 0) + 1
            if cmd is not None and cmd.opcode in (Opcode.SET_BATCH, Opcode.SET_RATE):
                self._configure(cmd)
            if name == "start":
                if not self._started:
                    self._say("START received: streaming")
                self._started = True
            elif name == "stop":
                self._started = False
                self._say("STOP received: not streaming")
            # request_info: not emulated (counted only)

    def _configure(self, cmd: Command) -> None:
        """SET_BATCH / SET_RATE: reframe the stream if it has not started (module docstring)."""
        assert cmd.value is not None
        r = self.report
        batch, rate = r.batch, r.rate_hz
        if cmd.opcode is Opcode.SET_BATCH:
            batch = cmd.value
            fits = 18 + 2 * self.config.n_sensors * batch <= 1024  # SPEC §1 frame limit
        else:
            rate = cmd.value
            fits = 20 <= rate <= 2000
        if (batch, rate) == (r.batch, r.rate_hz):
            return
        why = "out of range" if not fits else "the stream has started" if self._streaming else ""
        if not why:
            try:
                self.feed = self._make_feed(batch, rate)
            except ValueError as exc:  # e.g. duration_s shorter than two frames
                why = str(exc)
            else:
                self._say(f"{cmd.opcode.name} {cmd.value}: {batch} samples per frame at {rate} Hz")
                return
        r.commands_not_applied += 1
        self._say(f"{cmd.opcode.name} {cmd.value} not applied ({why})")

    def _write_all(self, data: bytes, timeout_s: float = 1.0) -> int:
        """Write ``data`` to the master, waiting up to ``timeout_s`` for room; bytes written."""
        assert self._master is not None
        done = 0
        deadline = time.monotonic() + timeout_s
        while done < len(data):
            try:
                done += os.write(self._master, data[done:])
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                select.select([], [self._master], [], min(left, 0.05))
            except OSError:
                break
        self.report.bytes_written += done
        return done

    def _drain(self, timeout_s: float = 1.0) -> int:
        """Wait until the host has read everything written; return the bytes left unread."""
        if not self._slave_name or self._master is None or not self._host_open:
            return 0
        try:
            fd = os.open(self._slave_name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return 0
        try:
            buf = array.array("i", [0])
            deadline = time.monotonic() + timeout_s
            # Bytes written to the master reach the slave's queue through the kernel's flip
            # buffer a little later, so an empty queue counts only once it stays empty.
            empty_checks = 0
            while True:
                time.sleep(0.01)
                fcntl.ioctl(fd, termios.TIOCINQ, buf, True)
                empty_checks = empty_checks + 1 if buf[0] == 0 else 0
                if empty_checks >= 3 or time.monotonic() > deadline:
                    return int(buf[0])
        finally:
            os.close(fd)

    # -- accounting ------------------------------------------------------------------------

    def _lost(self, chunk: FeedChunk, what: Literal["not_delivered", "cut"]) -> None:
        if chunk.side is None:  # a frame destroyed by garbage: already counted as corrupted
            return
        r = self.report
        if what == "cut":
            r.frames_cut += 1
        else:
            r.frames_not_delivered += 1
        r.lost_by_side[_SIDES[chunk.side]] += 1

    def _finish_report(self) -> EmulatorReport:
        r = self.report
        fr = self.feed.report
        r.frames_sent = fr.frames_sent
        r.frames_dropped = fr.frames_dropped
        r.frames_corrupted = fr.frames_corrupted
        extra = {s: r.lost_by_side.get(s, 0) for s in _SIDES}
        r.lost_by_side = {
            s: extra[s] + fr.dropped_by_side.get(s, 0) + fr.corrupted_by_side.get(s, 0)
            for s in _SIDES
        }
        r.expected_lost_frames = (
            r.frames_dropped + r.frames_corrupted + r.frames_not_delivered + r.frames_cut
        )
        return r

    def _say(self, text: str) -> None:
        if self.log is not None:
            print(f"insole emulate serial: {text}", file=self.log, flush=True)

    # -- main loop -------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event | None = None,
    ) -> EmulatorReport:
        """Stream until the feed ends (``duration_s``) or ``stop`` is set.

        Parameters
        ----------
        stop : threading.Event, optional
            Set it (e.g. from a signal handler) to end the stream early.

        Returns
        -------
        EmulatorReport
            What was written and every fault injected.
        """
        cfg = self.config
        stop = stop or threading.Event()
        if self._master is None:
            self.open()
        if cfg.wait_for_start:
            self._say(f"waiting for a host on {self.path} (START command)")
            while not self.connected and not stop.is_set():
                self._service(0.1)
            if stop.is_set():
                self._close_pty()
                return self._finish_report()
        t0 = time.monotonic()
        every = cfg.unplug_every_s
        next_unplug = t0 + every if every else None
        replug_at: float | None = None
        end_s = cfg.duration_s
        pending_cut: FeedChunk | None = None
        self._streaming = True
        for chunk in self.feed:
            due = t0 + chunk.time_s
            while not stop.is_set():
                now = time.monotonic()
                if now >= due:
                    break
                self._service(due - now)
            if stop.is_set():
                break
            self.report.stream_s = chunk.time_s
            now = time.monotonic()
            if replug_at is not None and now >= replug_at:
                self._create_pty()
                replug_at = None
                self._say(f"replugged: {self.path} -> {self._slave_name}")
            if (
                next_unplug is not None
                and replug_at is None
                and now >= next_unplug
                and (end_s is None or chunk.time_s + cfg.unplug_for_s + 1.0 < end_s)
            ):
                pending_cut = chunk if cfg.cut_frame_on_unplug and self.connected else None
                self._unplug(pending_cut)
                replug_at = now + cfg.unplug_for_s
                next_unplug = now + max(every or 0.0, cfg.unplug_for_s + 0.5)
                if pending_cut is not None:
                    continue
            if not self.connected:
                self._lost(chunk, "not_delivered")
                continue
            data = chunk.data
            if cfg.stamp_send_time:
                data = restamp_frame(data, timestamp_us=int(time.monotonic() * 1e6)) or data
            written = self._write_all(data)
            if written == len(data):
                self.report.frames_written += 1
            elif written:
                self._lost(chunk, "cut")
            else:
                self._lost(chunk, "not_delivered")
        self.report.undrained_bytes += self._drain()
        self._close_pty()
        return self._finish_report()

    def _unplug(self, cut: FeedChunk | None) -> None:
        if cut is not None and self.connected:
            self._write_all(cut.data[: max(1, len(cut.data) // 2)])
            self._lost(cut, "cut")
        self.report.undrained_bytes += self._drain()
        self._close_pty()
        self.report.unplugs += 1
        self._say(f"unplugged ({self.report.unplugs})")


def run_cli(config: EmulatorConfig, *, stop: threading.Event, out: TextIO = sys.stdout,
            err: TextIO = sys.stderr, report_path: str | None = None) -> int:
    """Run the emulator as ``insole emulate serial`` does: path first, JSON report last.

    Parameters
    ----------
    config : EmulatorConfig
        Stream and faults.
    stop : threading.Event
        Set by the caller's signal handlers to stop.
    out, err : text streams
        stdout gets the port path (first line) and the report JSON (last line); stderr the
        human-readable log.
    report_path : str, optional
        Also write the report JSON to this file.

    Returns
    -------
    int
        Exit status 0.
    """
    with SerialDeviceEmulator(config, log=err) as emu:
        print(emu.path, file=out, flush=True)
        extra = f", symlink to {emu._slave_name}" if emu.link_path else ""
        print(
            f"insole emulate serial: 2 insoles x {config.n_sensors} sensors at "
            f"{config.rate_hz} Hz on {emu.path}{extra}; open it with "
            f"'insole record serial:{emu.path} --out FILE' (Ctrl-C to stop)",
            file=err, flush=True,
        )
        report = emu.run(stop)
    text = json.dumps(report.as_dict())
    if report_path:
        with open(report_path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text, file=out, flush=True)
    print(
        f"insole emulate serial: streamed {report.stream_s:.1f} s, {report.frames_written} "
        f"frames written, {report.expected_lost_frames} a host should count lost "
        f"({report.frames_dropped} dropped and {report.frames_corrupted} garbage on purpose, "
        f"{report.frames_not_delivered} not delivered while unplugged or not started, "
        f"{report.frames_cut} cut), "
        f"{report.unplugs} unplugs",
        file=err, flush=True,
    )
    return 0
