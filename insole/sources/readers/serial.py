"""Serial source (``serial:PORT``): a reader thread on a pyserial port that survives unplugging.

One thread does blocking reads with a short timeout (no busy polling) and hands every read on
as a `Chunk`, stamped with ``time.monotonic()`` right after the read returned. Framing and
resynchronisation are the decoder's job (it discards bytes up to the next 0x00).

When the port fails (a USB adapter unplugged, the emulator's pty closed), the reader emits
``disconnected``, then tries to reopen the same port name with exponential backoff (50 ms,
doubling, capped at ``backoff_max_s``), emitting ``reconnecting`` before each attempt and
``connected`` (with ``reconnect: True``) once back. **On that event the consumer must feed the
decoder one 0x00** (`StreamDecoder.flush_partial`), so that a frame cut by the unplug is counted
as discarded instead of merging with the first bytes after the reconnect; the frames lost during
the outage show up as a sequence-number gap. Nothing is hidden or filled in.

pyserial is imported only when a serial reader is started.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

from firmware_protocol.commands import MAX_BATCH, Command, Opcode, encode_command
from insole.sources.readers.base import Reader, ReaderError, StreamInfo

__all__ = ["START_COMMAND", "SerialReader", "setup_commands"]

FLUSH_NOTE = (
    "feed the decoder one 0x00 (StreamDecoder.flush_partial()) before the next chunk, so a "
    "frame cut by the disconnect is counted, not merged"
)


#: The START command (opcode 0x01), sent on every (re)connect unless ``send_start=False``.
START_COMMAND = encode_command(Command(Opcode.START))


def setup_commands(*, rate_hz: int | None = None, batch: int | None = None) -> list[Command]:
    """The commands a reader sends before START: SET_RATE and SET_BATCH when asked for.

    Parameters
    ----------
    rate_hz : int, optional
        Sampling rate to ask for (SET_RATE, 1 .. 10000 Hz); None leaves the device's.
    batch : int, optional
        Samples per SAMPLES frame to ask for (SET_BATCH, 1 .. 32); None leaves the device's.

    Returns
    -------
    list of Command
        SET_RATE first (a device may change its batch limits with its rate), then SET_BATCH.

    Raises
    ------
    ReaderError
        If a value is out of its SPEC §4.3 range (the message names the option).
    """
    out = []
    if rate_hz is not None:
        if isinstance(rate_hz, bool) or not 1 <= int(rate_hz) <= 10000:
            raise ReaderError(f"option rate must be 1..10000 Hz (SET_RATE), got {rate_hz!r}")
        out.append(Command(Opcode.SET_RATE, int(rate_hz)))
    if batch is not None:
        if isinstance(batch, bool) or not 1 <= int(batch) <= MAX_BATCH:
            raise ReaderError(
                f"option batch must be 1..{MAX_BATCH} samples per frame (SET_BATCH), got {batch!r}"
            )
        out.append(Command(Opcode.SET_BATCH, int(batch)))
    return out


class SerialReader(Reader):
    """Read the wire protocol from a serial port (the ``serial:`` source).

    Parameters
    ----------
    port : str
        Device name (``/dev/ttyUSB0``, ``COM3``, a pty or a symlink to one) or any pyserial
        URL (``socket://host:port``, ``loop://``, ``rfc2217://…``).
    baudrate : int
        Baud rate (ignored by USB CDC and ptys). Default 1 Mbaud (SPEC §3).
    read_timeout_s : float
        Timeout of each blocking read [s]: bounds how long `stop` waits; on ``socket://``
        ports it also bounds the latency (see Notes).
    read_size : int
        Largest read [bytes].
    backoff_initial_s, backoff_max_s : float
        First reconnect delay and its cap [s]; the delay doubles after each failed attempt.
    send_start : bool
        Send the START command (SPEC §4.3 over serial framing) after every (re)connect.
        Devices already streaming ignore it; the emulator waits for it.
    batch : int, optional
        Samples per SAMPLES frame (1 .. 32): SET_BATCH is sent before START after every
        (re)connect (even with ``send_start=False``). None (default) sends nothing and leaves
        the device's batch; 1 or 2 give the lowest latency (one frame per 5-10 ms at 200 Hz).
    rate_hz : int, optional
        Sampling rate (1 .. 10000 Hz): SET_RATE is sent before SET_BATCH and START. The device
        may round or refuse it; the rate in force is in every SAMPLES frame. None sends nothing.
    stream_id : int
        Stream number of this port.

    Notes
    -----
    Reading: on ports whose ``in_waiting`` is exact (native ports, ptys, ``loop://``) the
    thread blocks in ``read(1)`` until the first byte arrives, then takes everything waiting
    with ``read(in_waiting)``: a chunk per transport delivery, no added latency. On
    ``socket://`` ports (whose ``in_waiting`` reports at most 1) it uses
    ``read(read_size)`` with the timeout, so chunks are at most ``read_timeout_s`` late.

    The first open happens in `start` (a wrong port name fails at once with `ReaderError`);
    later failures lead to reconnect attempts until `stop`.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 1_000_000,
        read_timeout_s: float = 0.05,
        read_size: int = 4096,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 1.0,
        send_start: bool = True,
        batch: int | None = None,
        rate_hz: int | None = None,
        stream_id: int = 0,
    ) -> None:
        super().__init__()
        self.port = port
        self.baudrate = int(baudrate)
        self.read_timeout_s = float(read_timeout_s)
        self.read_size = int(read_size)
        self.backoff_initial_s = float(backoff_initial_s)
        self.backoff_max_s = float(backoff_max_s)
        self.send_start = bool(send_start)
        self.batch = batch
        self.rate_hz = rate_hz
        #: Bytes written after every (re)connect: SET_RATE, SET_BATCH (if asked), START.
        self.hello = b"".join(
            encode_command(c) for c in setup_commands(rate_hz=rate_hz, batch=batch)
        ) + (START_COMMAND if self.send_start else b"")
        self.stream_id = int(stream_id)
        self.streams = [StreamInfo(self.stream_id, "serial", port)]
        self.reconnects = 0
        self._bulk = urlsplit(port).scheme == "socket"
        self._port: Any = None

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> Any:
        """Open the port (and send SET_RATE, SET_BATCH, START); raise ReaderError if it fails."""
        try:
            import serial
        except ModuleNotFoundError:
            raise ReaderError(
                "serial sources need pyserial: pip install 'insole[serial]'"
            ) from None
        try:
            port = serial.serial_for_url(
                self.port, baudrate=self.baudrate, timeout=self.read_timeout_s, write_timeout=1.0
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ReaderError(
                f"cannot open serial port {self.port!r}: {_reason(exc)}; check the port name "
                "(e.g. /dev/ttyUSB0, COM3) or start an emulator with 'insole emulate serial'"
            ) from None
        if self.hello:
            try:
                port.write(self.hello)
            except (serial.SerialException, OSError) as exc:
                port.close()
                raise ReaderError(
                    f"serial port {self.port!r} failed on write: {_reason(exc)}"
                ) from None
        return port

    def start(self) -> SerialReader:
        """Open the port and start the reader thread; return self.

        Raises
        ------
        ReaderError
            If the port cannot be opened (wrong name, busy, no permission).
        """
        if self._thread is not None:
            raise ReaderError("reader already started")
        self._port = self._open()
        self._put_event("connected", self.stream_id, port=self.port, attempt=0, reconnect=False)
        super().start()
        return self

    # -- worker --------------------------------------------------------------------------------

    def _read(self, port: Any) -> bytes:
        fd = getattr(port, "fd", None)
        if isinstance(fd, int) and fd >= 0:
            # POSIX ports: one select + one os.read returns whatever arrived, so bytes read
            # just before the device vanishes are delivered (pyserial's read(n) raises on a
            # disconnect and drops the bytes it had already collected in that call).
            import select

            ready, _, _ = select.select([fd], [], [], self.read_timeout_s)
            if not ready:
                return b""
            got = os.read(fd, self.read_size)
            if not got:
                raise OSError("device disconnected (end of file on the port)")
            return got
        if self._bulk:
            data: bytes = port.read(self.read_size)
            return data
        first: bytes = port.read(1)
        if not first:
            return first
        waiting = port.in_waiting
        if waiting:
            return first + port.read(min(waiting, self.read_size))
        return first

    def _run(self) -> None:
        import serial

        port = self._port
        self._port = None
        sid = self.stream_id
        try:
            while not self._stop.is_set():
                if port is None:
                    port = self._reconnect()
                    if port is None:
                        return
                try:
                    data = self._read(port)
                except (serial.SerialException, OSError) as exc:
                    self._put_event("disconnected", sid, reason=_reason(exc))
                    _close(port)
                    port = None
                    continue
                if data:
                    self._put_chunk(sid, data, time.monotonic())
        finally:
            if port is not None:
                _close(port)

    def _reconnect(self) -> Any:
        """Reopen the port with capped exponential backoff; None once stopped."""
        attempt = 0
        while True:
            attempt += 1
            delay = min(self.backoff_initial_s * 2 ** (attempt - 1), self.backoff_max_s)
            self._put_event("reconnecting", self.stream_id, attempt=attempt, delay_s=delay)
            if self._stop.wait(delay):
                return None
            try:
                port = self._open()
            except ReaderError:
                continue
            self.reconnects += 1
            self._put_event(
                "connected",
                self.stream_id,
                port=self.port,
                attempt=attempt,
                reconnect=True,
                flush_decoder=True,
                note=FLUSH_NOTE,
            )
            return port


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _close(port: Any) -> None:
    try:
        port.close()
    except Exception:  # closing a dead port may fail in many ways; nothing left to do
        pass
