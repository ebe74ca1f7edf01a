"""Fixtures for reader tests.

BLE: ``ble_link`` is bumble's in-process virtual link with a central for bleak
(`insole.sources.devices.ble_insole.VirtualBleLink`); ``ble_capture`` runs a reader against the
emulated insoles on it until every byte they notified has arrived, decoding as a consumer must
(one decoder per stream, a 0x00 after each reconnect).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from firmware_protocol import Frame, StreamDecoder
from insole.sources.readers.base import Chunk, Reader, ReaderEvent

if TYPE_CHECKING:
    from insole.sources.devices.ble_insole import VirtualBleLink


@dataclass
class BleCapture:
    """What a consumer got from a BLE reader, per stream id."""

    decoders: dict[int, StreamDecoder] = field(default_factory=dict)
    frames: dict[int, list[Frame]] = field(default_factory=dict)
    chunks: dict[int, list[Chunk]] = field(default_factory=dict)
    events: list[ReaderEvent] = field(default_factory=list)
    link_stats: dict[int, dict[str, object]] = field(default_factory=dict)
    complete: bool = False

    def events_of(self, stream_id: int) -> list[ReaderEvent]:
        return [e for e in self.events if e.stream_id == stream_id and e.kind != "battery"]

    def bytes_of(self, stream_id: int) -> int:
        return sum(len(c.data) for c in self.chunks.get(stream_id, []))


@pytest.fixture
def ble_link() -> Iterator[VirtualBleLink]:
    """bumble's virtual link in its own thread; add insoles with ``add_insole_pair``."""
    pytest.importorskip("bleak", reason="BLE tests need bleak (pip install 'insole[ble]')")
    pytest.importorskip("bumble", reason="BLE tests need bumble (the emulated insoles)")
    from insole.sources.devices.ble_insole import VirtualBleLink

    link = VirtualBleLink()
    try:
        yield link
    finally:
        link.close()


@pytest.fixture
def ble_capture(ble_link: VirtualBleLink) -> Callable[..., BleCapture]:
    """Run a started-here reader until the emulated insoles finished and all bytes arrived."""

    def run(reader: Reader, timeout_s: float = 30.0) -> BleCapture:
        cap = BleCapture()
        insoles = {int(i.side): i for i in ble_link.insoles}

        def feed(item: Chunk | ReaderEvent) -> None:
            sid = item.stream_id
            dec = cap.decoders.setdefault(sid, StreamDecoder())
            if isinstance(item, Chunk):
                cap.chunks.setdefault(sid, []).append(item)
                cap.frames.setdefault(sid, []).extend(dec.feed(item.data))
                return
            cap.events.append(item)
            # The loop of docs/readers.md, the same for every reader.
            if item.detail.get("flush_decoder"):
                cap.frames.setdefault(sid, []).extend(dec.flush_partial())

        def done() -> bool:
            return all(
                i.stats.finished and cap.bytes_of(sid) >= i.stats.bytes_notified
                for sid, i in insoles.items()
            )

        deadline = time.monotonic() + timeout_s
        with reader:
            while time.monotonic() < deadline and not done():
                for item in reader.read(timeout_s=0.05):
                    feed(item)
            cap.complete = done()
            cap.link_stats = reader.link_stats() if hasattr(reader, "link_stats") else {}
        for item in reader.read(timeout_s=None):  # the events of stopping
            feed(item)
        return cap

    return run
