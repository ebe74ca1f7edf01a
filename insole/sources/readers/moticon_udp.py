"""Live source ``moticon-udp:[HOST:]PORT``: the Moticon OpenGo desktop software's UDP output.

The OpenGo software sends one datagram per sample: whitespace-separated numbers in a column
order set in the software (`insole.core.moticon.DEFAULT_UDP_COLUMNS` is the order public
integrations use: time, then per side acceleration, angular rate, centre of pressure, the 16
pressures and the total force). The reader binds a UDP socket (default 127.0.0.1; give
``0.0.0.0:PORT`` to receive from another computer) and hands out every datagram **as
received** as one `Chunk` of a stream whose transport is ``"moticon-udp"``; the pipeline parses
it with `insole.core.moticon.MoticonDecoder` live, in ``insole record`` and on replay alike.

Options (``?key=value&...``): ``columns`` (comma-separated names,
`insole.core.moticon.parse_columns`), ``time_unit`` (``s`` or ``ms``, default ``s``), ``size``
(insole size for the layout, 1 .. 10; default 5: the stream does not say), ``rate`` (nominal Hz,
default 100), ``idle`` (end the source after this many seconds without a datagram once data came;
default: never).
"""

from __future__ import annotations

import contextlib
import math
import socket
import time
from typing import Any

from insole.core.moticon import (
    DEFAULT_UDP_COLUMNS,
    TRANSPORT,
    moticon_devices,
    parse_columns,
)
from insole.sources.readers.base import Reader, ReaderError, StreamInfo

__all__ = ["MoticonUDPReader", "parse_target"]

#: Largest datagram read [bytes]: 51 numbers of up to ~15 characters fit easily.
MAX_DATAGRAM = 65535
#: Socket receive buffer asked for [bytes]: about 20 s of OpenGo datagrams, so a busy host
#: (or an emulator sending faster than real time) does not overflow it.
RECV_BUFFER = 4 << 20


def parse_target(target: str) -> tuple[str, int]:
    """Split ``[HOST:]PORT``.

    Parameters
    ----------
    target : str
        ``"9999"``, ``"127.0.0.1:9999"`` or ``"0.0.0.0:9999"``.

    Returns
    -------
    (str, int)
        Host (default ``"127.0.0.1"``) and port (0 .. 65535; 0 = any free port).

    Raises
    ------
    ValueError
        If the port is not a whole number in 0 .. 65535.
    """
    host, sep, port = target.rpartition(":")
    if not sep:
        host = ""
    try:
        n = int(port)
    except ValueError:
        n = -1
    if not 0 <= n <= 65535:
        raise ValueError(f"expected [HOST:]PORT with PORT 0..65535, got {target!r}")
    return (host or "127.0.0.1"), n


class MoticonUDPReader(Reader):
    """Receive OpenGo UDP datagrams.

    Parameters
    ----------
    host : str
        Local address to bind (``"127.0.0.1"``; ``"0.0.0.0"`` for all interfaces).
    port : int
        UDP port (OpenGo's default is 9999 in public integrations; 0 = a free port, see
        `port`).
    columns : str or sequence of str, optional
        Datagram column order (default `insole.core.moticon.DEFAULT_UDP_COLUMNS`).
    time_unit : {"s", "ms"}
        Unit of the time column.
    size : int, optional
        Insole size for the layout in the header.
    sampling_rate_hz : float
        Nominal rate (100 Hz).
    idle_s : float, optional
        End after this long without a datagram, once one came.

    Attributes
    ----------
    port : int
        The bound port.
    devices : list of dict
        Header entries of the two insoles (layout, calibration, column order).
    header : dict
        ``streams`` and ``devices`` as a recording header has them (what the live pipeline
        uses to know the stream holds datagrams).

    Raises
    ------
    ReaderError
        If the options are invalid or the port cannot be bound.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9999,
        *,
        columns: str | tuple[str, ...] | None = None,
        time_unit: str = "s",
        size: int | None = None,
        sampling_rate_hz: float = 100.0,
        idle_s: float | None = None,
    ) -> None:
        super().__init__()
        try:
            cols = parse_columns(columns) if columns is not None else DEFAULT_UDP_COLUMNS
            if time_unit not in ("s", "ms"):
                raise ValueError(f"time_unit must be s or ms, got {time_unit!r}")
            self.devices = moticon_devices(size=size, columns=cols, time_unit=time_unit,
                                           sampling_rate_hz=sampling_rate_hz)
        except ValueError as exc:
            raise ReaderError(f"moticon-udp: {exc}") from None
        self.idle_s = idle_s
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ReaderError(
                f"moticon-udp: cannot listen on {host}:{port} ({exc.strerror or exc}); choose "
                "another port or stop the program using it"
            ) from None
        sock.settimeout(0.1)
        self._sock = sock
        self.host = host
        self.port = int(sock.getsockname()[1])
        label = f"moticon-udp {host}:{self.port}"
        self.streams = [StreamInfo(0, TRANSPORT, label)]
        self.header: dict[str, Any] = {
            "streams": [{"stream_id": 0, "transport": TRANSPORT, "label": label}],
            "devices": self.devices,
        }

    def _run(self) -> None:
        last = None
        try:
            while not self._stop.is_set():
                try:
                    data = self._sock.recv(MAX_DATAGRAM)
                except TimeoutError:
                    if (last is not None and self.idle_s is not None
                            and time.monotonic() - last > self.idle_s):
                        return
                    continue
                now = time.monotonic()
                if last is None:
                    self._put_event("connected", 0, sender="udp")
                last = now
                self._put_chunk(0, data, now)
        finally:
            self._sock.close()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop receiving and close the socket (also when never started)."""
        super().stop(timeout_s)
        if self._thread is None:
            self._sock.close()


def open_moticon_udp(target: str, options: dict[str, Any]) -> MoticonUDPReader:
    """Open ``moticon-udp:[HOST:]PORT`` with URL options (called by `open_reader`).

    Parameters
    ----------
    target : str
        ``[HOST:]PORT``.
    options : dict
        ``columns``, ``time_unit``, ``size``, ``rate``, ``idle`` (strings or values).

    Returns
    -------
    MoticonUDPReader
        Bound, not started.

    Raises
    ------
    ReaderError
        For a bad target, an unknown or invalid option, or a port that cannot be bound.
    """
    known = {"columns", "time_unit", "size", "rate", "idle"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ReaderError(f"moticon-udp: unknown option {unknown[0]!r} (known: "
                          f"{', '.join(sorted(known))})")
    try:
        host, port = parse_target(target)
        size = int(options["size"]) if "size" in options else None
        if size is not None and not 1 <= size <= 10:
            raise ValueError(f"size must be 1..10, got {size}")
        rate = float(options.get("rate", 100.0))
        if not (math.isfinite(rate) and 1.0 <= rate <= 10000.0):
            raise ValueError(f"rate must be 1..10000 Hz, got {options['rate']!r}")
        idle = float(options["idle"]) if "idle" in options else None
        if idle is not None and not (math.isfinite(idle) and idle > 0):
            raise ValueError(f"idle must be a positive number of seconds, got {options['idle']!r}")
    except ValueError as exc:
        raise ReaderError(f"moticon-udp:{target}: {exc}") from None
    columns = options.get("columns")
    return MoticonUDPReader(
        host, port, columns=None if columns is None else str(columns),
        time_unit=str(options.get("time_unit", "s")), size=size, sampling_rate_hz=rate,
        idle_s=idle,
    )
