"""Emulated BLE insoles on bumble's in-process virtual link, with faults on demand.

An `EmulatedInsole` is a bumble peripheral with the GATT profile of SPEC §4: the insole service
(data characteristic, notify; control characteristic, write), Battery Service and Device
Information, advertising the insole service UUID and the name ``insole-L-XXXX`` /
``insole-R-XXXX``. On START it streams the wire bytes of one insole made by
`insole.sources.sim.transport.transmit`, each frame at its chunk time on an absolute schedule (no
drift), one frame per notification when the ATT MTU allows (≥ 247), else split into ``MTU - 3``-byte
notifications (20 bytes at MTU 23), as SPEC §4.2 says.

Like firmware, the insole keeps counting frames while nobody listens: frames due while the link
is down (or before the host subscribed again) are not sent and show up as a sequence gap at the
host. The emulator counts them (`EmulatorStats`), so tests can check that a reader's decoder
reports exactly the frames the insole could not deliver.

Faults (`Fault`) are scheduled in stream time: ``disconnect`` drops the link (halfway through
the next frame when that frame spans several notifications, as at MTU 23) and stays silent (not
advertising) for ``outage_s``; ``garbage`` sends a notification that is not valid COBS
(one ``cobs_errors``); ``bad_crc`` and ``short_frame`` replace the next frame by a copy with a
broken CRC (one ``crc_errors``) or by its first 10 bytes (one ``short_frames``), both losing
that frame; ``empty`` sends an empty notification (harmless).

`VirtualBleLink` runs the whole bumble world (a `~bumble.link.LocalLink`, the emulated insoles
and a central for bleak, `insole.sources.devices.bleak_bumble.BumbleCentral`) on one event loop in a
thread of its own, the way an OS Bluetooth stack runs outside the application::

    with VirtualBleLink() as link:
        left, right = link.add_insole_pair(duration_s=5.0)
        reader = BleReader(backend=link.backend)   # the project's unchanged bleak code
        ...

SET_BATCH and SET_RATE (SPEC §4.3) written before START are honoured when the insole knows how
to make its stream again (``restream``; `VirtualBleLink.add_insole_pair` gives it that): START
then streams the same run with ``n`` samples per SAMPLES frame (and the new rate), split into
notifications by the same MTU rule. While streaming, a command asking for the batch and rate
already in force changes nothing (a reader repeats them on every reconnect); one asking for
another value is not applied (``stats.commands_not_applied``): the emulated firmware changes
its framing only between streams. A batch whose frame would exceed 1024 bytes (SPEC §1: over 31
samples with 16 sensors) or a rate outside 20 .. 2000 Hz is ignored, as firmware ignores an
invalid command.

Not modelled: radio timing (LocalLink delivers at once, in order), throughput limits and the
firmware's rate halving at MTU 23 (SPEC §4.2), REQUEST_INFO (recorded in ``stats.commands``,
otherwise ignored), pairing. bumble's virtual controller answers no scan
requests, so flags, service UUID and name go in one extended advertisement (see `EmulatedInsole`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np
from bumble import data_types, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.host import Host
from bumble.link import LocalLink
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService
from bumble.transport.common import AsyncPipeSink

from firmware_protocol import (
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    SERVICE_UUID,
    ProtocolError,
    Side,
    StreamDecoder,
    cobs_decode,
    cobs_encode,
)
from firmware_protocol.commands import Command, Opcode, decode_command_payload
from insole.sources.devices.bleak_bumble import ATT_DEFAULT_MTU, BumbleCentral
from insole.sources.readers.ble import BleBackend
from insole.sources.sim.transport import SimStream, TransportConfig, transmit

__all__ = [
    "EmulatedInsole",
    "EmulatorStats",
    "Fault",
    "VirtualBleLink",
    "simulated_streams",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

FaultKind = Literal["disconnect", "garbage", "bad_crc", "short_frame", "empty"]
_FAULT_KINDS = ("disconnect", "garbage", "bad_crc", "short_frame", "empty")

#: A notification that is not valid COBS: code 0xF0 promises 239 bytes, 15 follow (17 bytes,
#: so it fits every MTU).
GARBAGE_NOTIFICATION = bytes([0xF0, *range(0x31, 0x40)]) + b"\x00"

#: Bytes of a frame kept by a ``short_frame`` fault (less than a header and CRC).
SHORT_FRAME_BYTES = 10

_CENTRAL_ADDRESS = "C0:FF:EE:00:00:01"

#: Sampling rates the emulated firmware accepts with SET_RATE [Hz] (the gait model's range).
RATE_RANGE_HZ = (20, 2000)

#: Makes an insole's stream again with another batch and rate: ``restream(batch, rate_hz)``.
Restream = Callable[[int, int], SimStream]


@dataclass(frozen=True)
class Fault:
    """A fault the emulated insole injects at a time of its stream.

    Attributes
    ----------
    at_s : float
        Stream time [s since START] at which it happens (before the frame due then).
    kind : {"disconnect", "garbage", "bad_crc", "short_frame", "empty"}
        What happens (see the module docstring).
    outage_s : float
        ``disconnect`` only: how long the insole stays silent before advertising again [s].
    """

    at_s: float
    kind: FaultKind
    outage_s: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {_FAULT_KINDS}, got {self.kind!r}")
        if not (self.at_s >= 0 and self.outage_s >= 0):
            raise ValueError(f"at_s and outage_s must be >= 0, got {self.at_s}, {self.outage_s}")


@dataclass
class EmulatorStats:
    """What an emulated insole did, to check a host's accounting against.

    Kept up to date in `EmulatedInsole.stats`.

    Attributes
    ----------
    frames_total : int
        Frames in the insole's stream.
    frames_sent : int
        Frames notified completely and intact.
    frames_unsent : int
        Frames not sent, or only partly: link down, host not subscribed, or STOP.
    frames_cut : int
        Of ``frames_unsent``, frames cut by a disconnect after some of their notifications
        (MTU 23 only); each leaves one bad piece at the host.
    frames_corrupted : int
        Frames replaced by a ``bad_crc`` or ``short_frame`` fault.
    notifications : int
        Data notifications sent (including fault notifications).
    bytes_notified : int
        Data bytes notified.
    garbage_notifications, empty_notifications : int
        Fault notifications sent.
    disconnects : int
        Links dropped by a ``disconnect`` fault.
    connections : int
        Connections accepted.
    mtus : list of int
        ATT MTU of each connection when streaming began on it.
    commands : list of int
        Control opcodes received, in order.
    commands_not_applied : list of int
        Opcodes of valid SET_BATCH / SET_RATE commands that did not change the stream (another
        value while streaming, no ``restream``, or out of the emulator's range).
    batches : list of int
        Samples per SAMPLES frame of each stream started (one entry per START that started one).
    finished : bool
        Whether the stream ran to its end.
    """

    frames_total: int = 0
    frames_sent: int = 0
    frames_unsent: int = 0
    frames_cut: int = 0
    frames_corrupted: int = 0
    notifications: int = 0
    bytes_notified: int = 0
    garbage_notifications: int = 0
    empty_notifications: int = 0
    disconnects: int = 0
    connections: int = 0
    mtus: list[int] = field(default_factory=list)
    commands: list[int] = field(default_factory=list)
    commands_not_applied: list[int] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    finished: bool = False

    @property
    def frames_lost(self) -> int:
        """Frames a host cannot receive: what its decoder's ``lost_frames`` must show."""
        return self.frames_unsent + self.frames_corrupted


def _gait_counts(
    duration_s: float, sample_rate_hz: int, seed: int
) -> dict[Side, np.ndarray]:
    """Counts of both insoles from the gait model, or synthetic ones if it is not available."""
    try:
        from insole.sources.sim.gait import GaitConfig, simulate_gait
    except ImportError:
        n = int(duration_s * sample_rate_hz)
        t = np.arange(n) / sample_rate_hz
        rng = np.random.default_rng(seed)
        out = {}
        for side in (Side.LEFT, Side.RIGHT):
            phase = 0.0 if side == Side.LEFT else np.pi
            load = np.clip(np.sin(2 * np.pi * 1.4 * t + phase), 0, None)[:, None]
            gains = rng.uniform(500, 3500, 16)[None, :]
            noise = rng.normal(0, 8, (n, 16))
            out[side] = np.clip(load * gains + 40 + noise, 0, 4095).astype(np.uint16)
        return out
    sim = simulate_gait(
        GaitConfig(duration_s=duration_s, sample_rate_hz=float(sample_rate_hz), seed=seed)
    )
    return {Side.LEFT: sim.left.counts, Side.RIGHT: sim.right.counts}


def simulated_streams(
    duration_s: float = 5.0,
    sample_rate_hz: int = 200,
    *,
    seed: int = 0,
    config: TransportConfig | None = None,
) -> dict[Side, SimStream]:
    """Wire bytes of a simulated left and right insole, one BLE stream each.

    Parameters
    ----------
    duration_s : float
        Length of the run [s].
    sample_rate_hz : int
        Sampling rate.
    seed : int
        Seed of the gait model.
    config : TransportConfig, optional
        Firmware and link settings (batching, loss, device ids, battery); ``link`` is forced
        to ``"ble"``.

    Returns
    -------
    dict of Side to SimStream
        The bytes and chunk times of each insole.
    """
    cfg = replace(config or TransportConfig(), link="ble")
    streams, _ = transmit(
        _gait_counts(duration_s, sample_rate_hz, seed), sample_rate_hz=sample_rate_hz, config=cfg
    )
    return {Side(s.stream_id): s for s in streams}


class EmulatedInsole:
    """One BLE insole peripheral on a bumble device (create it with `VirtualBleLink`).

    Parameters
    ----------
    device : bumble.device.Device
        Its own device on the link (not powered on yet).
    stream : SimStream
        The insole's wire bytes and chunk times (one frame per chunk).
    side : Side
        Foot; in the advertised name.
    device_id : int
        Device id; in the advertised name and the Device Information serial number.
    battery_pct : int
        Battery Level to report.
    max_mtu : int
        Largest ATT MTU the insole accepts (23: no MTU exchange, 20-byte notifications).
    faults : iterable of Fault
        Faults to inject, in stream time.
    advertising_interval_ms : float
        Advertising interval [ms].
    restream : callable, optional
        ``restream(batch, rate_hz) -> SimStream``: the same run framed with ``batch`` samples
        per SAMPLES frame at ``rate_hz``, for SET_BATCH / SET_RATE before START. None: those
        commands are recorded only.
    """

    def __init__(
        self,
        device: Device,
        stream: SimStream,
        *,
        side: Side,
        device_id: int,
        battery_pct: int = 90,
        max_mtu: int = 247,
        faults: Iterable[Fault] = (),
        advertising_interval_ms: float = 20.0,
        restream: Restream | None = None,
    ) -> None:
        if not ATT_DEFAULT_MTU <= max_mtu <= 517:
            raise ValueError(f"max_mtu must be 23..517 bytes, got {max_mtu}")
        self.device = device
        self.side = Side(side)
        self.device_id = device_id
        self.name = f"insole-{self.side.label[0].upper()}-{device_id:04x}"
        self.address = str(device.random_address.to_string(with_type_qualifier=False))
        self.battery_pct = battery_pct
        self.advertising_interval_ms = advertising_interval_ms
        self._faults = sorted(faults, key=lambda f: f.at_s)
        self._restream = restream
        self.stats = EmulatorStats()
        self._load(stream)
        #: Batch and rate asked for by SET_BATCH / SET_RATE before START.
        self._wanted = (self.batch, self.sample_rate_hz)
        self.started_at: float | None = None
        self._conn: Connection | None = None
        self._subscribed = False
        self._silent_until = 0.0
        self._stream_task: asyncio.Task[None] | None = None
        self._advertise_task: asyncio.Task[None] | None = None
        self._finished: asyncio.Event | None = None
        self._closed = False

        device.gatt_server.max_mtu = max_mtu
        self.data_char = Characteristic(
            DATA_CHAR_UUID,
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            b"",
        )
        self.data_char.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.control_char: Characteristic[bytes] = Characteristic(
            CONTROL_CHAR_UUID,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue[bytes](write=self._on_control),
        )
        self.battery_service = BatteryService(lambda _conn: self.battery_pct)
        device.add_services(
            [
                Service(SERVICE_UUID, [self.data_char, self.control_char]),
                self.battery_service,
                DeviceInformationService(
                    manufacturer_name="insole project",
                    model_number="insole-emulator",
                    serial_number=f"{device_id:04x}",
                    firmware_revision="1.0.0",
                ),
            ]
        )
        # Firmware advertises with legacy PDUs: flags and the 128-bit service UUID (21 of 31
        # bytes) in the advertisement, the name in the scan response. bumble's virtual
        # controller answers no scan requests, so the emulator sends all three in one BLE 5
        # extended advertisement instead; hosts see the same merged advertisement data.
        self.advertising_data = bytes(
            AdvertisingData(
                [
                    data_types.Flags(
                        AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG
                        | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG
                    ),
                    data_types.CompleteListOf128BitServiceUUIDs([UUID(SERVICE_UUID)]),
                    data_types.CompleteLocalName(self.name),
                ]
            )
        )
        self._adv_set: AdvertisingSet | None = None
        device.on(Device.EVENT_CONNECTION, self._on_connection)

    def _load(self, stream: SimStream) -> None:
        """Make ``stream`` the one START sends (one frame per chunk)."""
        #: The wire bytes and chunk times this insole streams.
        self.stream = stream
        self._data = stream.data
        self._chunk_end = np.asarray(stream.chunk_end, np.int64)
        self._chunk_start = np.concatenate(([0], self._chunk_end[:-1]))
        self._chunk_time_s = np.asarray(stream.chunk_time_s, np.float64)
        table = StreamDecoder().feed_table(stream.data)
        frame_of_chunk = np.searchsorted(table.wire_end, self._chunk_end)
        #: Sequence number of the (last) frame of each chunk.
        self.chunk_seq = table.seq[np.minimum(frame_of_chunk, len(table) - 1)]
        #: Host time (``time.monotonic()``) each chunk was notified; NaN if it was not.
        self.sent_time_s = np.full(len(self._chunk_end), np.nan)
        self.stats.frames_total = len(self._chunk_end)
        samples = np.flatnonzero(table.n_samples > 0)
        first = int(samples[0]) if len(samples) else 0
        #: Samples per SAMPLES frame, sampling rate and sensors of the stream START sends.
        self.batch = int(table.n_samples[first]) if len(samples) else 0
        self.sample_rate_hz = int(table.sample_rate_hz[first]) if len(samples) else 0
        self.n_sensors = int(table.n_sensors[first]) if len(samples) else 0

    def _configure(self, cmd: Command) -> None:
        """SET_BATCH / SET_RATE: remember the value for the next START (see module docstring)."""
        assert cmd.value is not None
        batch, rate = self._wanted
        if cmd.opcode is Opcode.SET_BATCH:
            batch = cmd.value
            fits = 18 + 2 * self.n_sensors * batch <= 1024  # SPEC §1 frame limit
        else:
            rate = cmd.value
            fits = RATE_RANGE_HZ[0] <= rate <= RATE_RANGE_HZ[1]
        current = (self.batch, self.sample_rate_hz)
        streaming = self._stream_task is not None
        if not fits or (streaming and (batch, rate) != current) or (
            self._restream is None and (batch, rate) != current
        ):
            self.stats.commands_not_applied.append(int(cmd.opcode))
            logger.debug("%s: %s %d not applied", self.name, cmd.opcode.name, cmd.value)
            return
        self._wanted = (batch, rate)

    def _start(self) -> None:
        """START: stream the run (made again first if SET_BATCH / SET_RATE asked for it)."""
        if self._wanted != (self.batch, self.sample_rate_hz):
            assert self._restream is not None
            self._load(self._restream(*self._wanted))
        self.stats.batches.append(self.batch)
        self.started_at = time.monotonic()
        self._stream_task = asyncio.get_running_loop().create_task(self._stream())

    # -- stack-loop side -----------------------------------------------------------------------

    async def power_on(self) -> None:
        """Power on and start advertising."""
        self._finished = asyncio.Event()
        await self.device.power_on()
        interval = self.advertising_interval_ms
        self._adv_set = await self.device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=True, is_scannable=False, is_legacy=False
                ),
                primary_advertising_interval_min=interval,
                primary_advertising_interval_max=interval,
            ),
            random_address=self.device.random_address,
            advertising_data=self.advertising_data,
            auto_start=False,
        )
        await self._advertise()

    async def _advertise(self) -> None:
        if self._closed or self._conn is not None or self._adv_set is None:
            return
        if time.monotonic() < self._silent_until:
            self._readvertise_later()
            return
        if not self._adv_set.enabled:
            await self._adv_set.start()

    async def _stop_advertising(self) -> None:
        if self._adv_set is not None and self._adv_set.enabled:
            await self._adv_set.stop()

    def _readvertise_later(self) -> None:
        """Advertise again once the current outage is over."""
        if self._advertise_task is not None and not self._advertise_task.done():
            return

        async def run() -> None:
            delay = self._silent_until - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._advertise()

        self._advertise_task = asyncio.get_running_loop().create_task(run())

    def _on_connection(self, connection: Connection) -> None:
        self._conn = connection
        self._subscribed = False
        self.stats.connections += 1
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._conn = None
        self._subscribed = False
        if not self._closed:
            self._readvertise_later()

    def _on_subscription(self, bearer: Any, notify: bool, indicate: bool) -> None:
        if bearer is self._conn:
            self._subscribed = notify

    def _on_control(self, connection: Connection, value: bytes) -> None:
        if not value:
            return
        self.stats.commands.append(value[0])
        try:
            cmd = decode_command_payload(bytes(value))
        except ProtocolError as exc:
            logger.debug("%s: invalid control write %s: %s", self.name, bytes(value).hex(), exc)
            return
        op = cmd.opcode
        if op is Opcode.START and self._stream_task is None:
            # START while streaming changes nothing: the stream (and seq) just goes on.
            self._start()
        elif op is Opcode.STOP and self._stream_task is not None:
            self._stream_task.cancel()
        elif op in (Opcode.SET_BATCH, Opcode.SET_RATE):
            self._configure(cmd)
        elif op not in (Opcode.START, Opcode.STOP):
            logger.debug("%s: control opcode %s is not emulated", self.name, op.name)

    async def _notify(self, payload: bytes) -> None:
        assert self._conn is not None
        await self.device.notify_subscriber(self._conn, self.data_char, payload)
        self.stats.notifications += 1
        self.stats.bytes_notified += len(payload)

    @property
    def _link_up(self) -> bool:
        return self._conn is not None and self._subscribed

    async def _send_frame(self, wire: bytes, drop: Fault | None = None) -> bool:
        """Send one encoded frame; True if every piece of it went out.

        With ``drop``, the link is dropped halfway through the frame's notifications (before
        the frame if it fits one notification), as a disconnect cuts a frame at MTU 23.
        """
        assert self._conn is not None
        size = self._conn.att_mtu - 3
        pieces = [wire[i : i + size] for i in range(0, len(wire), size)]
        cut_at = len(pieces) // 2 if drop is not None else None
        for k, piece in enumerate(pieces):
            if k == cut_at:
                assert drop is not None
                await self._drop(drop.outage_s)
            if not self._link_up:
                if k:
                    self.stats.frames_cut += 1
                return False
            await self._notify(piece)
        return True

    async def _drop(self, outage_s: float) -> None:
        """Drop the link (if up) and stay silent for ``outage_s`` [s]."""
        self._silent_until = time.monotonic() + outage_s
        if self._conn is not None:
            self.stats.disconnects += 1
            with contextlib.suppress(Exception):  # already gone
                await self._conn.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)
        else:
            await self._stop_advertising()
            self._readvertise_later()

    async def _send_fault_notification(self, kind: FaultKind) -> None:
        if not self._link_up:
            return
        if kind == "garbage":
            await self._notify(GARBAGE_NOTIFICATION)
            self.stats.garbage_notifications += 1
        else:
            await self._notify(b"")
            self.stats.empty_notifications += 1

    @staticmethod
    def _corrupt(wire: bytes, kind: FaultKind) -> bytes:
        """The frame in ``wire`` with a broken CRC, or cut to `SHORT_FRAME_BYTES`, re-encoded."""
        frame = bytearray(cobs_decode(wire[:-1]))
        if kind == "bad_crc":
            frame[-1] ^= 0xFF
        else:
            frame = frame[:SHORT_FRAME_BYTES]
        return cobs_encode(bytes(frame)) + b"\x00"

    async def _stream(self) -> None:
        assert self.started_at is not None
        assert self._finished is not None
        t0 = self.started_at
        faults = list(self._faults)
        new_connection = True
        try:
            for i in range(len(self._chunk_end)):
                due = self._chunk_time_s[i]
                delay = t0 + due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                corrupt: FaultKind | None = None
                drop: Fault | None = None
                while faults and faults[0].at_s <= due:
                    fault = faults.pop(0)
                    if fault.kind == "disconnect":
                        drop = fault
                    elif fault.kind in ("bad_crc", "short_frame"):
                        corrupt = fault.kind
                    else:
                        await self._send_fault_notification(fault.kind)
                if drop is not None and not self._link_up:
                    await self._drop(drop.outage_s)
                    drop = None
                if not self._link_up:
                    self.stats.frames_unsent += 1
                    new_connection = True
                    continue
                if new_connection:
                    assert self._conn is not None
                    self.stats.mtus.append(int(self._conn.att_mtu))
                    new_connection = False
                wire = self._data[self._chunk_start[i] : self._chunk_end[i]]
                if corrupt is not None:
                    wire = self._corrupt(wire, corrupt)
                self.sent_time_s[i] = time.monotonic()
                if not await self._send_frame(wire, drop):
                    self.stats.frames_unsent += 1
                    self.sent_time_s[i] = np.nan
                elif corrupt is not None:
                    self.stats.frames_corrupted += 1
                    self.sent_time_s[i] = np.nan
                else:
                    self.stats.frames_sent += 1
            self.stats.finished = True
        except asyncio.CancelledError:  # STOP or shutdown: the rest is not sent
            done = self.stats.frames_sent + self.stats.frames_unsent + self.stats.frames_corrupted
            self.stats.frames_unsent += self.stats.frames_total - done
            raise
        finally:
            self._finished.set()

    async def _set_battery(self, pct: int) -> None:
        self.battery_pct = pct
        await self.device.notify_subscribers(self.battery_service.battery_level_characteristic)

    async def close(self) -> None:
        """Stop streaming and advertising, and power off."""
        self._closed = True
        for task in (self._stream_task, self._advertise_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(Exception):
            await self.device.power_off()


class VirtualBleLink:
    """bumble's in-process radio in a thread of its own: emulated insoles and a bleak central.

    Parameters
    ----------
    central_mtu : int
        ATT MTU the central requests after connecting (see `BumbleCentral`).

    Notes
    -----
    Use it as a context manager (or call `close`). Methods are called from any thread except
    the link's own; they run on the link's loop and wait for the result.
    """

    def __init__(self, *, central_mtu: int = 247) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="bumble-link", daemon=True
        )
        self._thread.start()
        self.insoles: list[EmulatedInsole] = []
        try:
            self._link = self.call(self._make_link())
            self.central = self.call(self._make_central(central_mtu))
        except BaseException:
            self.close()
            raise

    # -- plumbing --------------------------------------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, _T], timeout_s: float = 30.0) -> _T:
        """Run ``coro`` on the link's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    @staticmethod
    async def _make_link() -> LocalLink:
        return LocalLink()

    def _device(self, name: str, address: str) -> Device:
        controller = Controller(name, link=self._link, public_address=address)
        return Device(
            name=name,
            address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )

    async def _make_central(self, mtu: int) -> BumbleCentral:
        device = self._device("insole-host", _CENTRAL_ADDRESS)
        await device.power_on()
        return BumbleCentral(device, asyncio.get_running_loop(), mtu=mtu)

    @property
    def thread(self) -> threading.Thread:
        """The thread running the link's event loop (all bumble devices)."""
        return self._thread

    @property
    def backend(self) -> BleBackend:
        """The bleak backend pair for ``BleReader(backend=...)`` / `.readers.ble.scan`."""
        return self.central.backend()

    # -- insoles ---------------------------------------------------------------------------------

    def add_insole(
        self,
        side: Side,
        stream: SimStream,
        *,
        device_id: int,
        battery_pct: int = 90,
        max_mtu: int = 247,
        faults: Iterable[Fault] = (),
        address: str | None = None,
        restream: Restream | None = None,
    ) -> EmulatedInsole:
        """Add an emulated insole, powered on and advertising.

        Parameters
        ----------
        side : Side
            Foot.
        stream : SimStream
            Its wire bytes (e.g. from `simulated_streams`).
        device_id : int
            Device id; must match the one in ``stream``'s frames.
        battery_pct : int
            Battery Level.
        max_mtu : int
            Largest ATT MTU it accepts (23 for a 20-byte-notification insole).
        faults : iterable of Fault
            Faults to inject.
        address : str, optional
            Static random address; derived from ``device_id`` by default.
        restream : callable, optional
            ``restream(batch, rate_hz) -> SimStream`` for SET_BATCH / SET_RATE (see
            `EmulatedInsole`); None: those commands are recorded only.

        Returns
        -------
        EmulatedInsole
            The insole.
        """
        address = address or f"F0:00:00:00:{device_id >> 8:02X}:{device_id & 0xFF:02X}"

        async def make() -> EmulatedInsole:
            insole = EmulatedInsole(
                self._device(f"insole-{Side(side).label}", address),
                stream,
                side=side,
                device_id=device_id,
                battery_pct=battery_pct,
                max_mtu=max_mtu,
                faults=faults,
                restream=restream,
            )
            await insole.power_on()
            return insole

        insole = self.call(make())
        self.insoles.append(insole)
        return insole

    def add_insole_pair(
        self,
        duration_s: float = 5.0,
        sample_rate_hz: int = 200,
        *,
        seed: int = 0,
        config: TransportConfig | None = None,
        max_mtu: int = 247,
        faults: Mapping[Side, Iterable[Fault]] | None = None,
    ) -> tuple[EmulatedInsole, EmulatedInsole]:
        """Add a left and a right insole streaming a simulated run.

        Parameters
        ----------
        duration_s, sample_rate_hz, seed
            The run, as `simulated_streams`.
        config : TransportConfig, optional
            Firmware settings (batch, device ids, battery, transport faults).
        max_mtu : int
            Largest ATT MTU both insoles accept.
        faults : mapping of Side to iterable of Fault, optional
            Faults per insole.

        Returns
        -------
        tuple of EmulatedInsole
            Left and right.
        """
        cfg = config or TransportConfig()
        streams = simulated_streams(duration_s, sample_rate_hz, seed=seed, config=cfg)
        made: dict[tuple[int, int], dict[Side, SimStream]] = {
            (cfg.batch, sample_rate_hz): streams
        }

        def restream_of(side: Side) -> Restream:
            def restream(batch: int, rate_hz: int) -> SimStream:
                # The same run, seed and faults, framed by the firmware with another batch
                # (and sampled at another rate); both insoles share the work.
                if (batch, rate_hz) not in made:
                    made[batch, rate_hz] = simulated_streams(
                        duration_s, rate_hz, seed=seed, config=replace(cfg, batch=batch)
                    )
                return made[batch, rate_hz][side]

            return restream

        faults = faults or {}
        left, right = (
            self.add_insole(
                side,
                streams[side],
                device_id=cfg.device_ids[int(side)],
                battery_pct=cfg.battery_pct[int(side)],
                max_mtu=max_mtu,
                faults=faults.get(side, ()),
                restream=restream_of(side),
            )
            for side in (Side.LEFT, Side.RIGHT)
        )
        return left, right

    def wait_finished(self, timeout_s: float = 60.0) -> bool:
        """Wait until every insole that was started has finished its stream.

        Returns
        -------
        bool
            True if all finished (or were stopped) in time.
        """

        async def wait() -> None:
            events = [i._finished for i in self.insoles if i._stream_task is not None]
            await asyncio.gather(*(e.wait() for e in events if e is not None))

        try:
            self.call(asyncio.wait_for(wait(), timeout_s), timeout_s + 5.0)
        except TimeoutError:
            return False
        return True

    def drop_link(self, insole: EmulatedInsole, outage_s: float = 0.5) -> None:
        """Drop an insole's link now and keep it silent for ``outage_s`` [s]."""
        self.call(insole._drop(outage_s))

    def set_battery(self, insole: EmulatedInsole, pct: int) -> None:
        """Change an insole's Battery Level and notify subscribers."""
        self.call(insole._set_battery(pct))

    # -- life cycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Power everything off, stop the loop and its thread."""
        if self._loop.is_closed():
            return

        async def shutdown() -> None:
            for insole in self.insoles:
                await insole.close()
            central = getattr(self, "central", None)
            if central is not None:
                with contextlib.suppress(Exception):
                    await central.device.power_off()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.call(shutdown(), 10.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10.0)
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def __enter__(self) -> VirtualBleLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
