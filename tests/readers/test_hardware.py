"""Real devices, only when asked: ``pytest --insole-serial=PORT`` / ``--insole-ble=ADDR``.

Everything else runs against the emulators (pty serial insole, bumble BLE insole).
"""

from __future__ import annotations

import time

import pytest

from firmware_protocol import SamplesFrame, StreamDecoder
from insole.sources.readers import open_reader
from insole.sources.readers.base import Chunk


def _stream_for(url: str, seconds: float) -> tuple[dict[int, StreamDecoder], list]:
    decoders: dict[int, StreamDecoder] = {}
    frames = []
    reader = open_reader(url)
    with reader:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for item in reader.read(0.1):
                if isinstance(item, Chunk):
                    dec = decoders.setdefault(item.stream_id, StreamDecoder())
                    frames += dec.feed(item.data)
    return decoders, frames


def _check(decoders: dict[int, StreamDecoder], frames: list) -> None:
    samples = [f for f in frames if isinstance(f, SamplesFrame)]
    assert samples, "no SAMPLES frames arrived"
    assert {f.side for f in samples}, "no side reported"
    for dec in decoders.values():
        assert dec.stats.crc_errors + dec.stats.cobs_errors <= 2  # a cut frame at start is fine


def test_real_serial_insoles_stream_valid_frames(request: pytest.FixtureRequest) -> None:
    port = request.config.getoption("--insole-serial")
    if not port:
        pytest.skip("hardware test: pass --insole-serial=PORT to run it")
    _check(*_stream_for(f"serial:{port}", 5.0))


def test_real_ble_insoles_stream_valid_frames(request: pytest.FixtureRequest) -> None:
    addr = request.config.getoption("--insole-ble")
    if not addr:
        pytest.skip("hardware test: pass --insole-ble=ADDR to run it")
    _check(*_stream_for(f"ble:{addr}", 10.0))
