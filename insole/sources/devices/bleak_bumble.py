"""A bleak backend over a bumble central: the project's bleak code on bumble's Bluetooth stack.

bleak picks a platform backend (BlueZ, CoreBluetooth, WinRT, Android) unless its public
``backend=`` argument names another one. This module is that other one: `BumbleScanner` and
`BumbleClient` implement bleak's backend interfaces (``BaseBleakScanner``, ``BaseBleakClient``)
on a bumble `~bumble.device.Device` acting as the central. Code written against plain
``BleakScanner`` / ``BleakClient`` (`insole.sources.readers.ble`) runs unchanged on it; only the
``backend`` pair differs::

    central = BumbleCentral(device, loop)            # a powered-on bumble Device
    reader = BleReader(backend=central.backend())    # BleBackend(scanner=..., client=...)

The bumble device can sit on bumble's in-process virtual link (`bumble.link.LocalLink`, as the
emulated insoles of `insole.sources.devices.ble_insole` do) or on any bumble transport, e.g. a USB
Bluetooth dongle driven directly by bumble.

Threads. Every device on a bumble link must run on one event loop, the *stack loop*, usually in
a thread of its own; bleak callers run on their own loop. Like a real OS stack (BlueZ over
D-Bus, CoreBluetooth on its dispatch queue) the backend runs each operation on the stack loop
and posts callbacks (advertisements, notifications, disconnections) back to the caller's loop
with ``call_soon_threadsafe``, in the order the stack produced them. When the caller already
runs on the stack loop, operations and callbacks are direct calls.

Errors from bumble are raised as `bleak.exc.BleakError` (connection timeouts as
`TimeoutError`), so callers handle the same exceptions as on the platform backends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble import core, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer

from insole.sources.readers.ble import BleBackend

__all__ = ["ATT_DEFAULT_MTU", "BumbleCentral", "BumbleClient", "BumbleScanner"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: ATT MTU every connection starts with (Bluetooth Core Vol 3 Part F §3.2.8).
ATT_DEFAULT_MTU = 23

_UUID_SIZES = {
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
}
_SERVICE_DATA_SIZES = {
    AdvertisingData.SERVICE_DATA_16_BIT_UUID: 2,
    AdvertisingData.SERVICE_DATA_32_BIT_UUID: 4,
    AdvertisingData.SERVICE_DATA_128_BIT_UUID: 16,
}


def _uuid_str(uuid: core.UUID) -> str:
    """A bumble UUID as bleak spells UUIDs (lower-case, 128-bit form)."""
    return normalize_uuid_str(uuid.to_hex_str("-").lower())


def _address_str(address: hci.Address) -> str:
    """An address as bleak spells it on Linux: ``AA:BB:CC:DD:EE:FF``."""
    return address.to_string(with_type_qualifier=False)


@dataclass(frozen=True)
class _Advert:
    """One advertisement (with its scan response), parsed on the stack loop."""

    address: str
    details: hci.Address
    local_name: str | None
    service_uuids: list[str]
    manufacturer_data: dict[int, bytes]
    service_data: dict[str, bytes]
    tx_power: int | None
    rssi: int

    @classmethod
    def parse(cls, adv: Advertisement) -> _Advert:
        uuids: list[str] = []
        service_data: dict[str, bytes] = {}
        manufacturer: dict[int, bytes] = {}
        names: dict[int, str] = {}
        tx_power = None
        for ad_type, value in adv.data.ad_structures:
            if ad_type in _UUID_SIZES:
                size = _UUID_SIZES[ad_type]
                uuids += [
                    _uuid_str(core.UUID.from_bytes(value[i : i + size]))
                    for i in range(0, len(value) - size + 1, size)
                ]
            elif ad_type in _SERVICE_DATA_SIZES and len(value) >= _SERVICE_DATA_SIZES[ad_type]:
                size = _SERVICE_DATA_SIZES[ad_type]
                service_data[_uuid_str(core.UUID.from_bytes(value[:size]))] = bytes(value[size:])
            elif ad_type == AdvertisingData.MANUFACTURER_SPECIFIC_DATA and len(value) >= 2:
                manufacturer[int.from_bytes(value[:2], "little")] = bytes(value[2:])
            elif ad_type in (
                AdvertisingData.COMPLETE_LOCAL_NAME, AdvertisingData.SHORTENED_LOCAL_NAME
            ):
                names[int(ad_type)] = bytes(value).decode("utf-8", errors="replace")
            elif ad_type == AdvertisingData.TX_POWER_LEVEL and len(value) == 1:
                tx_power = int.from_bytes(value, "little", signed=True)
        name = names.get(int(AdvertisingData.COMPLETE_LOCAL_NAME)) or names.get(
            int(AdvertisingData.SHORTENED_LOCAL_NAME)
        )
        return cls(
            address=_address_str(adv.address),
            details=adv.address,
            local_name=name,
            service_uuids=uuids,
            manufacturer_data=manufacturer,
            service_data=service_data,
            tx_power=tx_power,
            rssi=int(adv.rssi),
        )


class BumbleCentral:
    """A bumble device acting as bleak's central, and the loop it runs on.

    Parameters
    ----------
    device : bumble.device.Device
        A powered-on device on any bumble transport.
    loop : asyncio.AbstractEventLoop
        The stack loop the device runs on.
    mtu : int
        ATT MTU the client requests right after connecting, as OS stacks do on their own
        (BlueZ, CoreBluetooth and WinRT all negotiate a large MTU). 23 requests nothing, like a
        stack without MTU exchange.

    Notes
    -----
    Build the backend pair with `backend` and pass it to `insole.sources.readers.ble.BleReader`.
    Several bleak scanners may run at once (the central scans while any of them is started), and
    connection attempts are serialised, as bumble allows only one pending LE connection.
    """

    def __init__(
        self, device: Device, loop: asyncio.AbstractEventLoop, *, mtu: int = 247
    ) -> None:
        if not ATT_DEFAULT_MTU <= mtu <= 517:
            raise ValueError(f"mtu must be 23..517 bytes, got {mtu}")
        self.device = device
        self.loop = loop
        self.mtu = mtu
        self._scanners: set[BumbleScanner] = set()
        self._connect_lock: asyncio.Lock | None = None
        device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    def backend(self) -> BleBackend:
        """The scanner and client types for ``BleakScanner(backend=...)`` / ``BleakClient``.

        Returns
        -------
        BleBackend
            Subclasses of `BumbleScanner` and `BumbleClient` bound to this central.
        """
        scanner = type("BumbleScanner", (BumbleScanner,), {"central": self})
        client = type("BumbleClient", (BumbleClient,), {"central": self})
        return BleBackend(scanner=scanner, client=client)

    # -- crossing between the caller's loop and the stack loop ------------------------------

    async def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the stack loop and return its result to the calling loop.

        Cancelling the caller cancels the operation on the stack loop.
        """
        if asyncio.get_running_loop() is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def post(self, loop: asyncio.AbstractEventLoop, func: Callable[..., Any], *args: Any) -> None:
        """Call ``func(*args)`` on ``loop`` (at once if that is the stack loop)."""
        if loop is self.loop:
            func(*args)
            return
        try:
            loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # the caller's loop is closed: nobody is listening any more
            logger.debug("dropping a callback for a closed loop: %r", func)

    # -- stack-loop side ---------------------------------------------------------------------

    @property
    def connect_lock(self) -> asyncio.Lock:
        """Lock serialising connection attempts (created on the stack loop)."""
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        return self._connect_lock

    async def _add_scanner(self, scanner: BumbleScanner) -> None:
        first = not self._scanners
        self._scanners.add(scanner)
        if first:
            active = any(s.active for s in self._scanners)
            await self.device.start_scanning(active=active, filter_duplicates=False)

    async def _remove_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.discard(scanner)
        if not self._scanners and self.device.is_scanning:
            await self.device.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        if not self._scanners:
            return
        advert = _Advert.parse(adv)
        for scanner in list(self._scanners):
            if scanner.loop is not None:
                self.post(scanner.loop, scanner._on_advert, advert)


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend on a `BumbleCentral` (use `BumbleCentral.backend`).

    Parameters
    ----------
    detection_callback : callable or None
        Called with ``(BLEDevice, AdvertisementData)`` for every advertisement.
    service_uuids : list of str or None
        Only report devices advertising one of these services.
    scanning_mode : {"active", "passive"}
        Active scanning also asks for scan responses (where names often are).
    **kwargs
        Platform arguments bleak passes to every backend (``bluez``, ``cb``); ignored.
    """

    central: ClassVar[BumbleCentral]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.active = scanning_mode != "passive"
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start scanning."""
        self.seen_devices = {}
        self.loop = asyncio.get_running_loop()
        await self.central.call(self.central._add_scanner(self))

    async def stop(self) -> None:
        """Stop scanning."""
        await self.central.call(self.central._remove_scanner(self))

    def _on_advert(self, advert: _Advert) -> None:
        """Handle one advertisement on the caller's loop, merging it like OS stacks do."""
        previous = self.seen_devices.get(advert.address)
        name = advert.local_name
        uuids = list(advert.service_uuids)
        service_data = dict(advert.service_data)
        manufacturer = dict(advert.manufacturer_data)
        if previous is not None:  # BlueZ and CoreBluetooth keep what earlier packets said
            old = previous[1]
            name = name or old.local_name
            uuids = uuids + [u for u in old.service_uuids if u not in uuids]
            service_data = {**old.service_data, **service_data}
            manufacturer = {**old.manufacturer_data, **manufacturer}
        if not self.is_allowed_uuid(uuids):
            return
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data=manufacturer,
            service_data=service_data,
            service_uuids=uuids,
            tx_power=advert.tx_power,
            rssi=advert.rssi,
            platform_data=(advert,),
        )
        device = self.create_or_update_device(
            advert.address, advert.address, name, advert.details, adv
        )
        self.call_detection_callbacks(device, adv)


class BumbleClient(BaseBleakClient):
    """bleak client backend on a `BumbleCentral` (use `BumbleCentral.backend`).

    Parameters
    ----------
    address_or_ble_device : BLEDevice or str
        Device from a `BumbleScanner`, or its address (connected to directly, no scan).
    disconnected_callback : callable or None
        Called (on the caller's loop) when the peripheral or the link ends the connection.
    timeout : float
        Connection timeout [s].
    services : set of str, optional
        Accepted for compatibility; all services are discovered.
    **kwargs
        Platform arguments bleak passes to every backend (``bluez``, ``winrt``); ignored.
    """

    central: ClassVar[BumbleCentral]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        if isinstance(address_or_ble_device, BLEDevice):
            details = address_or_ble_device.details
            self._target = (
                details if isinstance(details, hci.Address) else hci.Address(self.address)
            )
            self._name: str | None = address_or_ble_device.name
        else:
            self._target = hci.Address(address_or_ble_device)
            self._name = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = ATT_DEFAULT_MTU
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # -- properties ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Advertised name, or the address."""
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        """ATT MTU of the connection."""
        return self._mtu

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._conn is not None

    # -- connection ------------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover services.

        Raises
        ------
        TimeoutError
            If the peripheral did not accept the connection in time.
        BleakError
            If the connection or the discovery failed.
        """
        self._loop = asyncio.get_running_loop()
        await self.central.call(self._connect_on_stack())

    async def _connect_on_stack(self) -> None:
        device = self.central.device
        async with self.central.connect_lock:
            try:
                conn = await device.connect(self._target, timeout=self._timeout)
            except (TimeoutError, core.TimeoutError) as exc:
                raise TimeoutError(
                    f"no connection to {self.address} within {self._timeout} s"
                ) from exc
            except (core.BaseBumbleError, hci.HCI_Error) as exc:
                raise BleakError(f"could not connect to {self.address}: {exc}") from exc
        self._conn = conn
        self._closing = False
        conn.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(conn)
        self._peer = peer
        try:
            if self.central.mtu > ATT_DEFAULT_MTU:
                self._mtu = await conn.cancel_on_disconnection(peer.request_mtu(self.central.mtu))
            await conn.cancel_on_disconnection(peer.discover_all())
        except (asyncio.CancelledError, core.BaseBumbleError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            await self._disconnect_on_stack()
            raise BleakError(f"service discovery on {self.address} failed: {exc!r}") from None
        self.services = self._collect_services(peer)

    def _collect_services(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            bleak_service = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in service.characteristics:
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    _uuid_str(char.uuid),
                    list(gatt_char_props_to_strs(int(char.properties))),
                    lambda: self._mtu - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in char.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, _uuid_str(desc.type), bleak_char)
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        """Stack loop: the link is gone."""
        solicited = self._closing
        self._conn = None
        self._peer = None
        self._subscribers.clear()
        logger.debug(
            "%s disconnected (reason 0x%02X, solicited=%s)", self.address, reason, solicited
        )
        if self._loop is not None:
            self.central.post(self._loop, self._after_disconnection, solicited)

    def _after_disconnection(self, solicited: bool) -> None:
        """Caller loop: forget the services and tell the owner, after every queued callback."""
        self.services = None
        if not solicited and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        """Disconnect (no disconnected callback: the caller asked for it)."""
        await self.central.call(self._disconnect_on_stack())

    async def _disconnect_on_stack(self) -> None:
        conn = self._conn
        if conn is None:
            return
        self._closing = True
        try:
            await conn.disconnect()
        except (core.BaseBumbleError, hci.HCI_Error) as exc:  # already gone
            logger.debug("disconnect of %s: %s", self.address, exc)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: the insole profile needs no pairing."""
        raise NotImplementedError("pairing is not implemented by the bumble backend")

    async def unpair(self) -> None:
        """Not supported: the insole profile needs no pairing."""
        raise NotImplementedError("pairing is not implemented by the bumble backend")

    # -- GATT operations -------------------------------------------------------------------------

    async def _gatt(self, op: Callable[[Peer], Awaitable[_T]], what: str) -> _T:
        """Run ``op(peer)`` on the stack loop; a disconnection aborts it with `BleakError`."""

        async def run() -> _T:
            conn, peer = self._conn, self._peer
            if conn is None or peer is None:
                raise BleakError(f"{what}: not connected to {self.address}")
            try:
                return await conn.cancel_on_disconnection(op(peer))
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                raise BleakError(f"{what}: {self.address} disconnected") from None
            except core.BaseBumbleError as exc:
                raise BleakError(f"{what} on {self.address} failed: {exc}") from exc

        return await self.central.call(run())

    async def _read(self, handle: int, what: str) -> bytearray:
        """Read the attribute at ``handle``."""
        return bytearray(await self._gatt(lambda p: p.read_value(handle), what))

    async def _write(self, handle: int, data: SizedBuffer, response: bool, what: str) -> None:
        """Write ``data`` to the attribute at ``handle``, with or without response."""
        payload = bytes(data)  # type: ignore[arg-type]
        await self._gatt(lambda p: p.write_value(handle, payload, with_response=response), what)

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value."""
        return await self._read(characteristic.handle, "read")

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value."""
        return await self._read(descriptor.handle, "read descriptor")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value, with or without response."""
        await self._write(characteristic.handle, data, response, "write")

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor value (with response)."""
        await self._write(descriptor.handle, data, True, "write descriptor")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Subscribe; ``callback(bytearray)`` runs on the caller's loop, in arrival order."""
        loop = asyncio.get_running_loop()
        post = self.central.post

        def on_value(value: bytes) -> None:
            post(loop, callback, bytearray(value))

        old = self._subscribers.get(characteristic.handle)
        if old is not None:  # one subscriber per characteristic, as CoreBluetooth and WinRT do
            await self._gatt(lambda p: p.unsubscribe(characteristic.obj, old), "unsubscribe")
        self._subscribers[characteristic.handle] = on_value
        await self._gatt(lambda p: p.subscribe(characteristic.obj, on_value), "subscribe")

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe."""
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(
            lambda p: p.unsubscribe(characteristic.obj, subscriber), "unsubscribe"
        )
