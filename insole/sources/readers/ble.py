"""BLE reader: two insoles over bleak, with reconnect, loss accounting and no duplicates.

The insole's GATT profile is in ``firmware_protocol/SPEC.md`` §4: an insole service whose data
characteristic notifies consecutive pieces of the serial byte stream (COBS frames with 0x00
delimiters), a control characteristic taking opcodes (0x01 START, 0x02 STOP, ...), Battery
Service and Device Information. This reader

1. scans for the insole service UUID (`scan`, ``insole scan``) or for named devices;
2. connects to each insole (one connection attempt at a time), lets the stack negotiate a large
   ATT MTU (reads it back where the backend can), subscribes to the data characteristic and
   writes SET_RATE and SET_BATCH (when the ``rate`` / ``batch`` options ask for them), then
   START;
3. hands every notification, unchanged, to the consumer as a `~insole.sources.readers.base.Chunk`
   stamped with ``time.monotonic()``;
4. on an unsolicited disconnect emits ``disconnected``, then ``reconnecting`` with exponential
   backoff until the insole is back, then ``connected`` again with ``flush_decoder: true``.

Duplicate notifications after a reconnect (bleak issue #2002: re-subscribing can leave the old
callback registered, so every notification arrives twice) cannot happen here: every connection
gets a new ``BleakClient`` and its own *generation* number; the notification handler of a
connection drops anything that arrives once its generation has ended (counted as
``stale_notifications``, expected 0), and the old client is unsubscribed and disconnected
before the next one is made.

Nothing is lost silently: the insole keeps counting frames while the link is down, so the
decoder's sequence accounting (``lost_frames``) shows every frame missing after the outage.

All bleak calls run on one asyncio loop in the reader's worker thread. The ``backend`` argument
(a `BleBackend` pair) is passed straight to ``BleakScanner(backend=...)`` and
``BleakClient(backend=...)``; ``None`` selects the platform backend (BlueZ, CoreBluetooth,
WinRT). Tests and the emulator use `insole.sources.devices.bleak_bumble` through the same hook.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from firmware_protocol import CONTROL_CHAR_UUID, DATA_CHAR_UUID, SERVICE_UUID, Side
from firmware_protocol.commands import Command, Opcode, command_payload
from insole.sources.readers.base import Reader, ReaderError, StreamInfo, parse_flag
from insole.sources.readers.serial import setup_commands

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

__all__ = [
    "BleBackend",
    "BleReader",
    "add_scan_arguments",
    "open_ble_reader",
    "parse_insole_name",
    "scan",
    "scan_async",
    "scan_command",
]

_T = TypeVar("_T")

#: Control writes (SPEC §4.3).
START_PAYLOAD = command_payload(Command(Opcode.START))
STOP_PAYLOAD = command_payload(Command(Opcode.STOP))

#: Standard characteristics read on connect (SPEC §4.1).
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_UUIDS = {
    "manufacturer": "00002a29-0000-1000-8000-00805f9b34fb",
    "model": "00002a24-0000-1000-8000-00805f9b34fb",
    "serial": "00002a25-0000-1000-8000-00805f9b34fb",
    "firmware": "00002a26-0000-1000-8000-00805f9b34fb",
}

#: Advertised name of an insole: side letter, then the hex device id (SPEC §4.1).
_NAME_RE = re.compile(r"^insole-([LR])-([0-9a-fA-F]{4})$")

#: Options accepted by `open_ble_reader` (URL query) and their BleReader keyword.
_OPTIONS = {
    "timeout": "scan_timeout_s",
    "connect_timeout": "connect_timeout_s",
    "reconnect": "reconnect",
    "backoff_max": "backoff_max_s",
    "batch": "batch",
    "rate": "rate_hz",
}

#: Integer options and their ranges (SPEC §4.3: SET_BATCH 1 .. 32, SET_RATE 1 .. 10000 Hz).
_INT_OPTIONS = {"batch": (1, 32, "samples per frame"), "rate": (1, 10000, "Hz")}

#: Time allowed for the GATT writes and unsubscribes of a clean shutdown [s].
_SHUTDOWN_OP_S = 1.0


class BleBackend(NamedTuple):
    """The bleak backend types to use instead of the platform's.

    Attributes
    ----------
    scanner : type of bleak.backends.scanner.BaseBleakScanner or None
        Passed as ``BleakScanner(backend=scanner)``.
    client : type of bleak.backends.client.BaseBleakClient or None
        Passed as ``BleakClient(backend=client)``.
    """

    scanner: type[BaseBleakScanner] | None = None
    client: type[BaseBleakClient] | None = None


_PLATFORM = BleBackend()


def _bleak() -> Any:
    """Import bleak, or say how to install it."""
    try:
        import bleak
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ReaderError(
            "BLE needs the 'bleak' package: pip install 'insole[ble]'"
        ) from exc
    return bleak


def _retryable() -> tuple[type[BaseException], ...]:
    """Exceptions after which a connection attempt is worth repeating."""
    from bleak.exc import BleakError

    return (BleakError, TimeoutError, OSError, EOFError)


def parse_insole_name(name: str | None) -> tuple[Side, int] | None:
    """Side and device id from an advertised insole name.

    Parameters
    ----------
    name : str or None
        Advertised local name, e.g. ``"insole-L-3f2a"``.

    Returns
    -------
    tuple of (Side, int) or None
        Side and device id, or None when the name is not an insole name.
    """
    match = _NAME_RE.match(name or "")
    if match is None:
        return None
    return (Side.LEFT if match.group(1) == "L" else Side.RIGHT), int(match.group(2), 16)


# ------------------------------------------------------------------------------------------------
# Scanning
# ------------------------------------------------------------------------------------------------


Found = dict[str, "tuple[BLEDevice, AdvertisementData]"]


async def _scan_insoles(
    timeout_s: float,
    backend: BleBackend,
    *,
    until: Callable[[Found], bool] | None = None,
) -> Found:
    """Scan for the insole service; stop at ``timeout_s`` or as soon as ``until(found)``."""
    bleak = _bleak()
    found: Found = {}
    done = asyncio.Event()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        found[device.address] = (device, adv)
        if until is not None and until(found):
            done.set()

    try:
        async with bleak.BleakScanner(
            on_advertisement, service_uuids=[SERVICE_UUID], backend=backend.scanner
        ):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout_s)
    except _retryable() as exc:
        raise ReaderError(
            f"cannot scan for BLE devices ({type(exc).__name__}: {exc}); is Bluetooth on and "
            "available to this user (Linux: bluetoothd running, user in group 'bluetooth')?"
        ) from exc
    return found


async def _read_battery(client: BleakClient) -> int | None:
    """Battery level [%] from the Battery Service, or None (missing, unknown or failed)."""
    char = client.services.get_characteristic(BATTERY_LEVEL_UUID)
    if char is None:
        return None
    try:
        value = await client.read_gatt_char(char)
    except _retryable():
        return None
    return int(value[0]) if value and value[0] <= 100 else None


async def scan_async(
    timeout_s: float = 5.0, backend: BleBackend | None = None, *, read_battery: bool = True
) -> list[dict[str, Any]]:
    """Find insoles advertising the insole service (SPEC §4.1); coroutine form of `scan`.

    Parameters
    ----------
    timeout_s : float
        How long to scan [s].
    backend : BleBackend, optional
        bleak backend types; None for the platform's.
    read_battery : bool
        Connect briefly to each insole to read its Battery Level (unless the advertisement
        carries Battery Service data).

    Returns
    -------
    list of dict
        One entry per insole, sorted by side and name: ``name``, ``address``, ``side``
        (``"left"``, ``"right"`` or None when the name does not say), ``rssi`` [dBm] and
        ``battery`` [%] or None.

    Raises
    ------
    ReaderError
        If Bluetooth is not available.
    """
    bleak = _bleak()
    backend = backend or _PLATFORM
    found = await _scan_insoles(timeout_s, backend)
    out = []
    for device, adv in found.values():
        name = adv.local_name or device.name
        parsed = parse_insole_name(name)
        battery = None
        service_battery = adv.service_data.get(BATTERY_SERVICE_UUID)
        if service_battery and service_battery[0] <= 100:
            battery = int(service_battery[0])
        elif read_battery:
            with contextlib.suppress(*_retryable()):
                async with bleak.BleakClient(
                    device, timeout=min(10.0, max(timeout_s, 2.0)), backend=backend.client
                ) as client:
                    battery = await _read_battery(client)
        out.append(
            {
                "name": name,
                "address": device.address,
                "side": parsed[0].label if parsed else None,
                "rssi": adv.rssi,
                "battery": battery,
            }
        )
    out.sort(key=lambda d: (d["side"] or "~", d["name"] or "", d["address"]))
    return out


def scan(
    timeout_s: float = 5.0, backend: BleBackend | None = None, *, read_battery: bool = True
) -> list[dict[str, Any]]:
    """Find insoles advertising the insole service (SPEC §4.1).

    Runs `scan_async` on a new event loop; call `scan_async` from code that already runs one.
    Parameters, result and errors as `scan_async`: one dict per insole (``name``, ``address``,
    ``side``, ``rssi``, ``battery``).
    """
    return asyncio.run(scan_async(timeout_s, backend, read_battery=read_battery))


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``insole scan`` (``--timeout``, ``--json``) to ``parser``."""
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="scan time in seconds (5)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def scan_command(args: argparse.Namespace) -> int:
    """Run ``insole scan``: list nearby insoles with name, address, side, RSSI and battery.

    Parameters
    ----------
    args : argparse.Namespace
        ``timeout`` [s] and ``json`` (bool); optionally ``backend`` (a `BleBackend`).

    Returns
    -------
    int
        Exit status: 0, or 2 when Bluetooth is not usable (one line on stderr).
    """
    timeout_s = float(getattr(args, "timeout", 5.0))
    if not timeout_s > 0:
        print(f"insole scan: error: --timeout must be > 0 s, got {timeout_s}", file=sys.stderr)
        return 2
    try:
        found = scan(timeout_s, getattr(args, "backend", None))
    except ReaderError as exc:
        print(f"insole scan: error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print(
            f"no insoles found in {timeout_s:g} s (is the insole on, near, and not connected "
            "to another host?)",
            file=sys.stderr,
        )
        return 0
    print(f"{'name':<16} {'address':<38} {'side':<6} {'rssi':>5} {'battery':>8}")
    for d in found:
        battery = f"{d['battery']} %" if d["battery"] is not None else "?"
        rssi = f"{d['rssi']}" if d["rssi"] is not None else "?"
        print(
            f"{d['name'] or '?':<16} {d['address']:<38} {d['side'] or '?':<6} {rssi:>5} "
            f"{battery:>8}"
        )
    return 0


# ------------------------------------------------------------------------------------------------
# Reader
# ------------------------------------------------------------------------------------------------


@dataclass
class _Link:
    """State of one insole's connection, owned by the reader loop."""

    stream_id: int
    target: str | None  # name or address the user gave; None when discovered
    side: Side | None
    device: BLEDevice | None = None
    name: str | None = None
    address: str | None = None
    generation: int = 0  # bumped when a connection starts and when it ends
    client: BleakClient | None = None
    connected_at: float | None = None
    connections: int = 0
    notifications: int = 0
    bytes: int = 0
    stale_notifications: int = 0
    conn_notifications: int = 0
    conn_bytes: int = 0
    mtu: int | None = None
    device_info: dict[str, str] | None = None

    def matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        if self.address is not None:
            return device.address.lower() == self.address.lower()
        key = (self.target or "").lower()
        return key in (device.address.lower(), (adv.local_name or device.name or "").lower())

    @property
    def label(self) -> str:
        return self.name or self.target or self.address or f"stream {self.stream_id}"


class _LinkLost(Exception):
    """The connection of a link ended (internal control flow)."""


class BleReader(Reader):
    """Stream two insoles (or any number) over BLE, reconnecting on its own.

    Parameters
    ----------
    targets : sequence of str
        Insoles by advertised name or address. Empty (and no ``left``/``right``): discover
        insoles by the service UUID and use one left and one right one.
    left, right : str, optional
        Name or address of the left / right insole.
    scan_timeout_s : float
        How long the first scan may take to find every insole [s].
    connect_timeout_s : float
        Timeout of one connection attempt [s].
    reconnect : bool
        Reconnect after an unsolicited disconnect (default). If False, the reader ends when
        the last insole is lost.
    backoff_s : float
        First delay between reconnection attempts [s]; it doubles (with ±20 % jitter) up to
        ``backoff_max_s``.
    backoff_max_s : float
        Longest delay between reconnection attempts [s].
    batch : int, optional
        Samples per SAMPLES frame (1 .. 32): SET_BATCH is written before START on every
        (re)connect. None (default) writes nothing and leaves the insole's batch; 1 or 2 give
        the lowest latency (a frame every 5-10 ms at 200 Hz; with 16 sensors and 2 samples 84
        wire bytes: one notification at MTU 247, five 20-byte ones at MTU 23).
    rate_hz : int, optional
        Sampling rate (1 .. 10000 Hz): SET_RATE is written before SET_BATCH and START. The
        insole may round or refuse it; the rate in force is in every SAMPLES frame.
    backend : BleBackend, optional
        bleak backend types passed straight to ``BleakScanner`` and ``BleakClient``; None for
        the platform's (BlueZ, CoreBluetooth, WinRT).

    Notes
    -----
    Stream ids are 0 for the left insole and 1 for the right one (when the side is known from
    the ``left``/``right`` keys or the advertised name ``insole-L-…``/``insole-R-…``), else the
    next free id. Events (`~insole.sources.readers.base.ReaderEvent`):

    ``connected``
        ``name``, ``address``, ``side``, ``mtu`` (None if the backend cannot tell),
        ``generation`` (1 for the first connection), ``reconnect`` and ``flush_decoder`` (also
        as ``flush_partial``, its older name); on a reconnect ``flush_decoder`` is true, as for
        every reader (docs/readers.md): **feed the stream's decoder one 0x00 byte**
        (``StreamDecoder.flush_partial()``) before its next chunk, so that a frame cut by the
        disconnect is counted as discarded and never merged with new bytes (SPEC §4.2). The
        first connection also carries the Device Information strings (``manufacturer``,
        ``model``, ``serial``, ``firmware``) the insole offers.
    ``battery``
        ``battery_pct`` read after connecting and on Battery Level notifications.
    ``disconnected``
        ``reason``, ``generation``, ``notifications``, ``bytes`` and ``connected_s`` of the
        connection that ended, ``stale_notifications`` so far (must be 0).
    ``reconnecting``
        ``attempt`` (1, 2, ...), ``delay_s`` before it, ``reason`` of the last failure.

    The frames the insole could not send while disconnected are not in any chunk: the decoder
    counts them from the sequence numbers (``lost_frames``).
    """

    def __init__(
        self,
        targets: Sequence[str] = (),
        *,
        left: str | None = None,
        right: str | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 15.0,
        reconnect: bool = True,
        backoff_s: float = 0.1,
        backoff_max_s: float = 5.0,
        batch: int | None = None,
        rate_hz: int | None = None,
        backend: BleBackend | None = None,
    ) -> None:
        super().__init__()
        #: Control writes before START on every (re)connect (SET_RATE, SET_BATCH).
        self._setup_payloads = [
            command_payload(c) for c in setup_commands(rate_hz=rate_hz, batch=batch)
        ]
        self.batch = batch
        self.rate_hz = rate_hz
        for name, value in (
            ("scan_timeout_s", scan_timeout_s),
            ("connect_timeout_s", connect_timeout_s),
            ("backoff_s", backoff_s),
            ("backoff_max_s", backoff_max_s),
        ):
            if not value > 0:
                raise ReaderError(f"{name} must be > 0 s, got {value}")
        if isinstance(targets, str):
            targets = [targets]
        if (left or right) and targets:
            raise ReaderError(
                "name the insoles either as a list or as left=/right=, not both "
                "(e.g. ble:left=AA:BB:CC:DD:EE:01,right=AA:BB:CC:DD:EE:02)"
            )
        self._scan_timeout_s = scan_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._reconnect = reconnect
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._backend = backend or _PLATFORM
        self._discover = not (targets or left or right)
        self._links = self._plan_links(list(targets), left, right)
        self.streams = [
            StreamInfo(link.stream_id, "ble", link.label) for link in self._links
        ]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._connect_lock: asyncio.Lock | None = None

    # -- set-up --------------------------------------------------------------------------------

    @staticmethod
    def _plan_links(targets: list[str], left: str | None, right: str | None) -> list[_Link]:
        if not (targets or left or right):  # discovery: the usual pair
            return [_Link(0, None, Side.LEFT), _Link(1, None, Side.RIGHT)]
        named: list[tuple[str, Side | None]] = []
        if left or right:
            named += [(t, s) for t, s in ((left, Side.LEFT), (right, Side.RIGHT)) if t]
        else:
            for t in targets:
                parsed = parse_insole_name(t)
                named.append((t, parsed[0] if parsed else None))
        reserved = {int(side) for _, side in named if side is not None}
        taken: set[int] = set()
        links: list[_Link] = []
        for target, side in named:
            if any(link.target and link.target.lower() == target.lower() for link in links):
                raise ReaderError(f"insole {target!r} is named twice")
            if side is not None and int(side) not in taken:
                sid = int(side)
            else:  # side unknown (or a second insole of one side): the lowest free id
                sid = min(set(range(255)) - taken - reserved)
            taken.add(sid)
            links.append(_Link(sid, target, side))
        return links

    # -- caller side ---------------------------------------------------------------------------

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop streaming (STOP, unsubscribe, disconnect), end the worker, re-raise its error."""
        self._stop.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stopping.set)
        super().stop(timeout_s)

    def link_stats(self) -> dict[int, dict[str, Any]]:
        """Counters per stream id: connections, notifications, bytes, stale notifications, MTU.

        Returns
        -------
        dict of int to dict
            ``name``, ``address``, ``connections``, ``notifications``, ``bytes``,
            ``stale_notifications`` and ``mtu`` per stream.
        """
        return {
            link.stream_id: {
                "name": link.name,
                "address": link.address,
                "connections": link.connections,
                "notifications": link.notifications + link.conn_notifications,
                "bytes": link.bytes + link.conn_bytes,
                "stale_notifications": link.stale_notifications,
                "mtu": link.mtu,
            }
            for link in self._links
        }

    # -- worker --------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._connect_lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        if self._stop.is_set():
            return
        await self._find_insoles()
        if self._stopping.is_set():
            return
        tasks = [
            asyncio.create_task(self._supervise(link), name=f"ble-{link.label}")
            for link in self._links
        ]
        try:
            # Supervisors end on stop, or (reconnect=False) when their insole is lost; the
            # first error ends all of them.
            pending: set[asyncio.Task[None]] = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()
        finally:
            self._stopping.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _until_stopped(self, aw: Awaitable[_T], timeout_s: float | None = None) -> _T | None:
        """Await ``aw`` unless stop is requested or ``timeout_s`` passes first (then None)."""
        assert self._stopping is not None
        task = asyncio.ensure_future(aw)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.done() and not task.cancelled():
            return task.result()
        return None

    async def _find_insoles(self) -> None:
        """First scan: find every named insole, or a left and a right one by service UUID."""
        links = self._links

        def complete(found: Found) -> bool:
            if self._discover:
                sides = {parse_insole_name(a.local_name or d.name) for d, a in found.values()}
                got = {p[0] for p in sides if p is not None}
                return got >= {Side.LEFT, Side.RIGHT}
            return all(any(link.matches(d, a) for d, a in found.values()) for link in links)

        found = await self._until_stopped(
            _scan_insoles(self._scan_timeout_s, self._backend, until=complete)
        )
        if found is None:  # stopped while scanning
            return
        if self._discover:
            self._assign_discovered(found)
        else:
            missing = []
            for link in links:
                hits = [(d, a) for d, a in found.values() if link.matches(d, a)]
                if not hits:
                    missing.append(link.target)
                    continue
                device, adv = hits[0]
                self._bind(link, device, adv)
            if missing:
                raise ReaderError(
                    f"no insole {', '.join(repr(m) for m in missing)} found advertising the "
                    f"insole service within {self._scan_timeout_s:g} s; is it on and in range? "
                    "'insole scan' lists the insoles in range"
                )

    def _assign_discovered(self, found: Found) -> None:
        by_side: dict[Side, list[tuple[BLEDevice, AdvertisementData]]] = {}
        others = []
        for device, adv in found.values():
            parsed = parse_insole_name(adv.local_name or device.name)
            if parsed is None:
                others.append(adv.local_name or device.address)
            else:
                by_side.setdefault(parsed[0], []).append((device, adv))
        if not by_side:
            extra = f" (devices without an insole name: {others})" if others else ""
            raise ReaderError(
                f"no insoles found advertising the insole service within "
                f"{self._scan_timeout_s:g} s{extra}; is the insole on, in range and not "
                "connected to another host?"
            )
        for side, hits in by_side.items():
            if len(hits) > 1:
                names = sorted(a.local_name or d.address for d, a in hits)
                raise ReaderError(
                    f"{len(hits)} {side.label} insoles in range ({', '.join(names)}); name the "
                    "pair, e.g. ble:left=NAME_OR_ADDRESS,right=NAME_OR_ADDRESS"
                )
        self._links = [link for link in self._links if link.side in by_side]
        for link in self._links:
            assert link.side is not None
            device, adv = by_side[link.side][0]
            self._bind(link, device, adv)

    def _bind(self, link: _Link, device: BLEDevice, adv: AdvertisementData) -> None:
        link.device = device
        link.address = device.address
        link.name = adv.local_name or device.name
        parsed = parse_insole_name(link.name)
        if link.side is None and parsed is not None:
            link.side = parsed[0]
        self.streams = [StreamInfo(li.stream_id, "ble", li.label) for li in self._links]

    # -- one insole ----------------------------------------------------------------------------

    async def _supervise(self, link: _Link) -> None:
        """Connect, stream until the link is lost, reconnect with backoff; until stopped."""
        assert self._stopping is not None
        attempt = 0
        reason = ""
        while not self._stopping.is_set():
            if attempt:
                delay = min(self._backoff_max_s, self._backoff_s * 2 ** (attempt - 1))
                delay *= random.uniform(0.8, 1.2)
                self._put_event(
                    "reconnecting", link.stream_id, attempt=attempt, delay_s=round(delay, 3),
                    reason=reason,
                )
                await self._until_stopped(asyncio.sleep(delay))
                if self._stopping.is_set():
                    break
            try:
                # Stopping cancels a connection attempt in progress.
                lost = await self._until_stopped(self._connect(link))
            except ReaderError:
                raise
            except _retryable() as exc:
                attempt += 1
                reason = f"{type(exc).__name__}: {exc}"
                await self._release(link)
                continue
            if lost is None:
                break
            attempt = 0
            await self._until_stopped(lost.wait())
            reason = "stopped" if self._stopping.is_set() else "link lost"
            await self._release(link, reason=reason)
            if not self._reconnect:
                break
            attempt = 1
            reason = "link lost"
        await self._release(link, reason="stopped")

    async def _connect(self, link: _Link) -> asyncio.Event:
        """Make one connection: connect, subscribe, START; return the event set on loss."""
        bleak = _bleak()
        assert self._connect_lock is not None
        reconnect = link.connections > 0
        device = link.device
        if reconnect or device is None:
            # Scan again for a fresh device object: OS stacks may have dropped the old one.
            device = await bleak.BleakScanner.find_device_by_address(
                link.address, timeout=min(self._scan_timeout_s, 5.0),
                backend=self._backend.scanner,
            )
            if device is None:
                raise TimeoutError(f"{link.label} is not advertising")
            link.device = device
        link.generation += 1
        generation = link.generation
        lost = asyncio.Event()

        def on_disconnect(_client: BleakClient) -> None:
            if link.generation == generation:
                lost.set()

        def on_data(_char: Any, data: bytearray) -> None:
            if link.generation != generation:  # an old connection's subscription (#2002)
                link.stale_notifications += 1
                return
            link.conn_notifications += 1
            link.conn_bytes += len(data)
            self._put_chunk(link.stream_id, bytes(data))

        def on_battery(_char: Any, data: bytearray) -> None:
            if link.generation == generation and data and data[0] <= 100:
                self._put_event("battery", link.stream_id, battery_pct=int(data[0]))

        client = bleak.BleakClient(
            device,
            disconnected_callback=on_disconnect,
            timeout=self._connect_timeout_s,
            backend=self._backend.client,
        )
        link.client = client
        link.conn_notifications = link.conn_bytes = 0
        async with self._connect_lock:  # one connection attempt at a time (BlueZ, bumble)
            await client.connect()
        link.mtu = await self._negotiate_mtu(client)
        data_char = client.services.get_characteristic(DATA_CHAR_UUID)
        control_char = client.services.get_characteristic(CONTROL_CHAR_UUID)
        if data_char is None or control_char is None:
            await self._release(link)
            raise ReaderError(
                f"{link.label} ({client.address}) has no insole data/control characteristic; "
                "is it an insole with protocol v1 firmware?"
            )
        if link.device_info is None:
            link.device_info = await self._read_device_info(client)
        await client.start_notify(data_char, on_data)
        for payload in self._setup_payloads:  # SET_RATE, SET_BATCH: before START (SPEC §4.3)
            await client.write_gatt_char(control_char, payload, response=True)
        await client.write_gatt_char(control_char, START_PAYLOAD, response=True)
        link.connections += 1
        link.connected_at = time.monotonic()
        self._put_event(
            "connected",
            link.stream_id,
            name=link.name,
            address=client.address,
            side=link.side.label if link.side is not None else None,
            mtu=link.mtu,
            generation=link.connections,
            reconnect=reconnect,
            flush_decoder=reconnect,  # the key every reader sets (docs/readers.md)
            flush_partial=reconnect,  # its older name here, kept for existing code
            **(link.device_info if not reconnect else {}),
        )
        battery = await _read_battery(client)
        if battery is not None:
            self._put_event("battery", link.stream_id, battery_pct=battery)
        battery_char = client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if battery_char is not None and "notify" in battery_char.properties:
            with contextlib.suppress(*_retryable()):
                await client.start_notify(battery_char, on_battery)
        if not client.is_connected:
            lost.set()
        return lost

    async def _release(self, link: _Link, *, reason: str | None = None) -> None:
        """End the link's connection: invalidate its handlers, unsubscribe, disconnect."""
        client, link.client = link.client, None
        link.generation += 1  # from here on, the old connection's callbacks are ignored
        was_connected = link.connected_at is not None
        link.notifications += link.conn_notifications
        link.bytes += link.conn_bytes
        if client is not None and client.is_connected:
            stopping = reason == "stopped"
            with contextlib.suppress(*_retryable(), ValueError):
                if stopping:
                    await asyncio.wait_for(
                        client.write_gatt_char(CONTROL_CHAR_UUID, STOP_PAYLOAD, True),
                        _SHUTDOWN_OP_S,
                    )
                await asyncio.wait_for(client.stop_notify(DATA_CHAR_UUID), _SHUTDOWN_OP_S)
            with contextlib.suppress(*_retryable()):
                await asyncio.wait_for(client.disconnect(), _SHUTDOWN_OP_S)
        if was_connected and reason is not None:
            assert link.connected_at is not None
            self._put_event(
                "disconnected",
                link.stream_id,
                reason=reason,
                generation=link.connections,
                notifications=link.conn_notifications,
                bytes=link.conn_bytes,
                connected_s=round(time.monotonic() - link.connected_at, 3),
                stale_notifications=link.stale_notifications,
            )
        link.connected_at = None
        link.conn_notifications = link.conn_bytes = 0

    @staticmethod
    async def _negotiate_mtu(client: BleakClient) -> int | None:
        """The connection's ATT MTU, after making the stack report it where needed.

        OS stacks exchange the MTU themselves when connecting (BlueZ, CoreBluetooth and WinRT
        all ask for more than 247); the bumble backend does it in ``connect``. BlueZ reports
        the value only after ``AcquireNotify``/``AcquireWrite``, which bleak wraps in a private
        helper; if that fails the MTU is unknown (None), which changes nothing for reading.
        """
        from bleak.backends import BleakBackend

        if client.backend_id == BleakBackend.BLUEZ_DBUS:
            acquire = getattr(getattr(client, "_backend", None), "_acquire_mtu", None)
            if acquire is None:
                return None
            try:
                await acquire()
            except Exception:  # a private bleak helper: any failure only means "unknown"
                return None
        return int(client.mtu_size)

    @staticmethod
    async def _read_device_info(client: BleakClient) -> dict[str, str]:
        """Device Information strings the insole offers (SPEC §4.1)."""
        info = {}
        for key, uuid in DEVICE_INFO_UUIDS.items():
            char = client.services.get_characteristic(uuid)
            if char is None:
                continue
            with contextlib.suppress(*_retryable()):
                raw = await client.read_gatt_char(char)
                info[key] = bytes(raw).decode("utf-8", errors="replace")
        return info


# ------------------------------------------------------------------------------------------------
# URL
# ------------------------------------------------------------------------------------------------


def _option_value(key: str, value: Any) -> Any:
    if key == "reconnect":
        flag = parse_flag(value)
        if flag is None:
            raise ReaderError(f"ble option reconnect must be true or false, got {value!r}")
        return flag
    if key in _INT_OPTIONS:
        lo, hi, unit = _INT_OPTIONS[key]
        try:
            whole = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            whole = None
        if whole is None or not lo <= whole <= hi:
            raise ReaderError(f"ble option {key} must be a whole number {lo}..{hi} ({unit}), "
                              f"got {value!r}")
        return whole
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReaderError(f"ble option {key} must be a number of seconds, got {value!r}") from None
    if not number > 0:
        raise ReaderError(f"ble option {key} must be > 0 s, got {value!r}")
    return number


def open_ble_reader(
    url_rest: str, options: Mapping[str, Any] | None = None, *, backend: BleBackend | None = None
) -> BleReader:
    """Make a `BleReader` from the part of a source URL after ``ble:``.

    Parameters
    ----------
    url_rest : str
        ``""`` (discover a left and a right insole by the service UUID),
        ``"NAME_OR_ADDRESS[,NAME_OR_ADDRESS]"`` or ``"left=NAME_OR_ADDRESS,right=..."``
        (either key may be left out).
    options : mapping, optional
        ``left``, ``right`` (as in ``ble:?left=…&right=…``), ``timeout`` (first scan) [s],
        ``connect_timeout`` [s], ``reconnect`` (true/false), ``backoff_max`` [s], ``batch``
        (SET_BATCH 1 .. 32 samples per frame before START), ``rate`` (SET_RATE [Hz]); values may
        be strings, as parsed from a URL query. ``backend`` is accepted here too.
    backend : BleBackend, optional
        bleak backend types (tests, emulation); None for the platform's.

    Returns
    -------
    BleReader
        Not started.

    Raises
    ------
    ReaderError
        If the URL or an option is not usable; the message shows the accepted forms.

    Examples
    --------
    >>> open_ble_reader("left=insole-L-3f2a,right=insole-R-3f2b", {"timeout": "20"})
    ... # doctest: +SKIP
    """
    options = dict(options or {})
    backend = options.pop("backend", None) or backend
    sides: dict[str, str] = {}
    for key in ("left", "right"):
        if key in options:
            value = str(options.pop(key)).strip()
            if not value:
                raise ReaderError(f"ble option {key}= needs a name or address")
            sides[key] = value
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if key not in _OPTIONS:
            raise ReaderError(
                f"unknown ble option {key!r}; accepted: left, right, "
                f"{', '.join(sorted(_OPTIONS))}"
            )
        kwargs[_OPTIONS[key]] = _option_value(key, value)
    parts = [p.strip() for p in url_rest.split(",") if p.strip()]
    keyed = [p for p in parts if "=" in p]
    if keyed and len(keyed) != len(parts):
        raise ReaderError(
            f"ble:{url_rest}: use either ble:NAME_OR_ADDRESS[,...] or "
            "ble:left=NAME_OR_ADDRESS,right=NAME_OR_ADDRESS, not a mix"
        )
    for part in keyed:
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key not in ("left", "right") or not value.strip():
            raise ReaderError(
                f"ble:{url_rest}: expected left=NAME_OR_ADDRESS and/or "
                f"right=NAME_OR_ADDRESS, got {part!r}"
            )
        if key in sides:
            raise ReaderError(f"ble:{url_rest}: {key}= given twice")
        sides[key] = value.strip()
    if sides and not keyed and parts:
        raise ReaderError(
            f"ble:{url_rest}: name the insoles either in the URL or with left=/right=, not both"
        )
    if sides:
        return BleReader(
            left=sides.get("left"), right=sides.get("right"), backend=backend, **kwargs
        )
    return BleReader(parts, backend=backend, **kwargs)
