"""``insole info`` in bounded memory: `recording_info` equals ``load_recording(p).info()``.

`recording_info` reads a recording run by run and keeps only totals; every figure it reports
(counters, samples, durations, battery, names, clock fits, damage) must be exactly those of the
loader, which decodes and holds every sample: on simulated recordings (with loss, bursts,
garbage, a serial link), reconnects (cut frames, a frame ended by the reconnect), damaged files,
an empty recording, imported recordings and a ``moticon-udp`` datagram stream. Each case is also
read with tiny runs, so that frames, reconnects and chunks fall across run boundaries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_protocol import (
    DeviceInfoFrame,
    ProtocolError,
    SamplesFrame,
    Side,
    StatusFrame,
    to_wire,
)
from insole.cli import main
from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core.clock import ClockSync
from insole.errors import RecordingError
from insole.recordings import loader
from insole.recordings.container import Block, BlockReader, RecordingWriter, StreamRun
from insole.recordings.loader import load_recording, recording_info

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class _TinyRuns(BlockReader):
    """A reader handing out runs of about 700 bytes (many runs per stream)."""

    def runs(self, **kwargs: Any) -> Iterator[StreamRun | dict[str, Any] | Any]:
        kwargs["run_bytes"] = 700
        return super().runs(**kwargs)


class _Spy:
    """Record what the clock fits are fed and what they give, per `ClockSync` object."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fed: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.fits: list[list[tuple[str, Any]]] = []
        update, clocks_dict = ClockSync.update, loader._clocks_dict

        def spy_update(sync: ClockSync, device_time_us: Any, host_time_s: Any) -> ClockSync:
            key = sync.__dict__.setdefault("_spy_key", len(self.fed))
            self.fed.setdefault(key, []).append(
                (np.array(device_time_us, np.float64), np.array(host_time_s, np.float64)))
            return update(sync, device_time_us, host_time_s)

        def spy_clocks_dict(fits: list[tuple[str, Any]]) -> dict[str, Any]:
            self.fits.append(list(fits))
            return clocks_dict(fits)

        monkeypatch.setattr(ClockSync, "update", spy_update)
        monkeypatch.setattr(loader, "_clocks_dict", spy_clocks_dict)

    def take(self) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, Any]]]:
        """Each insole's samples fed (device µs, host s), in a fixed order, and the fits."""
        fed = sorted(
            (np.concatenate([d for d, _ in calls]).tobytes(),
             np.concatenate([h for _, h in calls]).tobytes())
            for calls in self.fed.values()
        )
        fits = self.fits[-1]
        self.fed, self.fits = {}, []
        return fed, fits


def _same_info(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> dict[str, Any]:
    """Assert that both ways give the same info, with default and tiny runs; return it.

    Beyond the (rounded) dict, the clock fits must be fed exactly the same device and host
    time of every sample, and give exactly the same fits.
    """
    with monkeypatch.context() as m:
        spy = _Spy(m)
        expected = load_recording(path, **kw).info()
        fed, fits = spy.take()
        assert recording_info(path, **kw) == expected
        assert spy.take() == (fed, fits)
        m.setattr(loader, "BlockReader", _TinyRuns)
        assert recording_info(path, **kw) == expected
        assert spy.take() == (fed, fits)
    return expected


# -- simulated recordings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_kw",
    [
        {"duration_s": 20.0, "seed": 0},
        {"duration_s": 20.0, "seed": 2, "loss": 0.05},
        {"duration_s": 20.0, "seed": 3, "burst_loss": 0.02, "drift_ppm": 40.0},
        {"duration_s": 20.0, "seed": 4, "garbage_per_min": 30.0, "link": "serial"},
        {"duration_s": 12.0, "seed": 5, "gait": "walk", "sample_rate_hz": 100, "n_sensors": 8},
    ],
    ids=["clean", "loss", "burst-drift", "garbage-serial", "walk-100hz-8"],
)
def test_simulated_recordings(tmp_path, monkeypatch, request_kw) -> None:
    path = tmp_path / "sim.insrec"
    simulate_to_file(SimulationRequest(**request_kw), path)
    info = _same_info(path, monkeypatch)
    assert len(info["devices"]) == 2
    assert all(d["samples"] > 0 for d in info["devices"])
    assert "right_vs_left" in info["clocks"]
    if request_kw.get("loss"):
        assert info["frames_lost"] > 0


def test_cli_info_prints_the_loader_info(tmp_path, capsys) -> None:
    path = tmp_path / "sim.insrec"
    simulate_to_file(SimulationRequest(duration_s=10.0, seed=1, loss=0.02), path)
    assert main(["info", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == load_recording(path).info()
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "frames lost" in text
    assert "right clock vs left clock" in text


# -- reconnects ---------------------------------------------------------------------------------


#: The device clock starts 5 s before it wraps at 2**32 µs.
T0_US = (1 << 32) - 5_000_000


def _frame(seq: int, *, device: int = 7, side: Side = Side.LEFT, n_sensors: int = 4) -> bytes:
    counts = np.full((6, n_sensors), 100 + seq % 1000, np.uint16)
    ts = (T0_US + seq * 30_000 + device * 1_000) % (1 << 32)
    return to_wire(SamplesFrame(device, side, seq % 65536, ts, 200, counts))


def _header(n_streams: int = 1) -> dict[str, Any]:
    return {
        "source": "test",
        "streams": [{"stream_id": i, "transport": "ble", "label": f"s{i}"}
                    for i in range(n_streams)],
        "devices": [],
    }


def test_reconnect_ends_a_cut_frame(tmp_path, monkeypatch) -> None:
    path = tmp_path / "cut.insrec"
    with RecordingWriter(path, _header()) as w:
        w.write_chunk(0, _frame(0) + _frame(1), host_time_s=0.1)
        w.write_chunk(0, _frame(2)[:9], host_time_s=0.2)  # the link drops mid-frame
        w.write_event("disconnect", stream_id=0, host_time_s=0.25)
        w.write_event("reconnect", stream_id=0, host_time_s=0.9)
        w.write_chunk(0, _frame(5) + _frame(6), host_time_s=1.0)
    info = _same_info(path, monkeypatch)
    assert info["frames_lost"] == 3
    assert info["events"] == 2


def test_frames_ended_by_a_reconnect_or_the_end_of_the_file(tmp_path, monkeypatch) -> None:
    """A whole frame whose delimiter never came: the reconnect's (or the end's) 0x00 ends it
    and it takes the host time of the stream's next chunk (or its last one)."""
    path = tmp_path / "nodelim.insrec"
    t = 0.0
    with RecordingWriter(path, _header(2), block_bytes=512) as w:
        for cycle in range(6):
            for seq in range(cycle * 120, cycle * 120 + 100):
                t += 0.03
                if seq % 10:
                    w.write_chunk(0, _frame(seq), host_time_s=t)
                else:  # the delimiter comes in the next chunk: that one completes the frame
                    w.write_chunk(0, _frame(seq)[:-1], host_time_s=t)
                    w.write_chunk(0, b"\x00", host_time_s=t + 0.01)
                w.write_chunk(1, _frame(seq, device=8, side=Side.RIGHT), host_time_s=t + 0.004)
            t += 0.03
            w.write_chunk(0, _frame(cycle * 120 + 100)[:-1], host_time_s=t)  # no delimiter
            w.write_event("reconnect", stream_id=0, host_time_s=t + 0.5)
            t += 2.0
        w.write_chunk(0, _frame(9999)[:-1], host_time_s=t)  # the file ends without it too
    info = _same_info(path, monkeypatch)
    assert info["devices"][0]["frames"] == 6 * 101 + 1
    assert info["events"] == 6


def test_sensor_count_change_is_refused_the_same_way(tmp_path) -> None:
    path = tmp_path / "sensors.insrec"
    with RecordingWriter(path, _header()) as w:
        w.write_chunk(0, _frame(0) + _frame(1), host_time_s=0.1)
        w.write_chunk(0, _frame(2, n_sensors=8), host_time_s=0.2)
    with pytest.raises(ProtocolError) as loaded:
        load_recording(path)
    with pytest.raises(ProtocolError) as streamed:
        recording_info(path)
    assert str(streamed.value) == str(loaded.value)


def test_device_info_and_battery(tmp_path, monkeypatch) -> None:
    """The last DEVICE_INFO names the insole; the last plausible STATUS gives the battery."""
    path = tmp_path / "status.insrec"

    def info_frame(seq: int, name: str) -> bytes:
        return to_wire(DeviceInfoFrame(7, Side.LEFT, seq, seq * 30_000, (1, 2, 3), 1, 4, 12,
                                       200, name))

    with RecordingWriter(path, _header(), block_bytes=256) as w:
        w.write_chunk(0, info_frame(0, "first-name"), host_time_s=0.0)
        for seq in range(1, 400):
            t = 0.03 * seq
            if seq % 50 == 0:
                battery = 255 if seq == 350 else 100 - seq // 50  # 255: not reported
                frame = StatusFrame(7, Side.LEFT, seq, seq * 30_000, battery, 0, 0)
                w.write_chunk(0, to_wire(frame), host_time_s=t)
            elif seq == 222:
                w.write_chunk(0, info_frame(seq, "left-one"), host_time_s=t)
            else:
                w.write_chunk(0, _frame(seq), host_time_s=t)
    info = _same_info(path, monkeypatch)
    assert info["devices"][0]["name"] == "left-one"
    assert info["devices"][0]["battery_pct"] == 100 - 300 // 50


# -- damage, empty, strict ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("info") / "intact.insrec"
    simulate_to_file(SimulationRequest(duration_s=30.0, seed=0, loss=0.01), path)
    return path


def _damage(intact: Path, tmp_path: Path, case: str) -> Path:
    data = bytearray(intact.read_bytes())
    blocks = [b for b in BlockReader(intact).blocks() if isinstance(b, Block)]
    if case == "bit-middle":
        data[len(data) // 2] ^= 0x10
    elif case == "zeros-4k-middle":
        mid = len(data) // 2 - 2048
        data[mid:mid + 4096] = bytes(4096)
    elif case == "bit-second-block":
        b = blocks[1]
        data[b.offset + 16 + 12 * len(b.chunk_end) + len(b.payload) // 2] ^= 0x04
    elif case == "block-gone":
        b = blocks[6]
        n = 16 + 12 * len(b.chunk_end) + 8
        data[b.offset:b.offset + n] = bytes(n)
    elif case == "two-places":
        data[len(data) // 3] ^= 0x01
        data[2 * len(data) // 3] ^= 0x80
    elif case == "truncated":
        del data[len(data) - 1000:]
    out = tmp_path / f"{case}.insrec"
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize(
    "case",
    ["bit-middle", "zeros-4k-middle", "bit-second-block", "block-gone", "two-places", "truncated"],
)
def test_damaged_files(intact, tmp_path, monkeypatch, capsys, case) -> None:
    path = _damage(intact, tmp_path, case)
    info = _same_info(path, monkeypatch)
    assert info["damaged_blocks"] >= 1
    _same_info(path, monkeypatch, salvage=False)
    with pytest.raises(RecordingError) as loaded:
        load_recording(path, strict=True)
    with pytest.raises(RecordingError) as streamed:
        recording_info(path, strict=True)
    assert str(streamed.value) == str(loaded.value)
    assert main(["info", str(path), "--json", "--strict"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert main(["info", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == info
    assert "is damaged" in err


def test_empty_recordings(tmp_path, monkeypatch) -> None:
    empty = tmp_path / "empty.insrec"
    RecordingWriter(empty, _header(2)).close()
    info = _same_info(empty, monkeypatch)
    assert info["devices"] == []
    assert info["sample_rate_hz"] is None
    events = tmp_path / "events.insrec"
    with RecordingWriter(events, _header()) as w:
        w.write_event("note", host_time_s=1.0, text="nothing else")
        w.write_event("reconnect", stream_id=0, host_time_s=2.0)
        w.write_chunk(0, b"\x01\x02garbage", host_time_s=3.0)
    assert _same_info(events, monkeypatch)["discarded_bytes"] > 0


# -- imported and datagram recordings ------------------------------------------------------------


def test_imported_force_plate(tmp_path, monkeypatch, capsys) -> None:
    t = np.arange(3000) / 300.0
    phase = np.mod(t, 0.36)
    fz = np.where(phase < 0.25, 1500.0 * np.sin(np.pi * phase / 0.25), 0.0) + 2.0
    table = tmp_path / "plate.txt"
    rows = "".join(f"{a:.5f}\t{b:.3f}\n" for a, b in zip(t, fz, strict=True))
    table.write_text("time\tFz\n" + rows)
    rec = tmp_path / "plate.insrec"
    assert main(["import", "table", str(table), "--column", "Fz", "--rate", "300",
                 "--side", "both", "--out", str(rec)]) == 0
    capsys.readouterr()
    info = _same_info(rec, monkeypatch)
    assert main(["info", str(rec), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {**info, "plate_under_both_feet": True}


@pytest.mark.skipif(not (SHARED_DATA / "gaitpdb").is_dir(), reason="../shared/data absent")
def test_imported_gaitpdb_walk(tmp_path, monkeypatch) -> None:
    from insole.api import import_file

    source = SHARED_DATA / "gaitpdb" / "GaCo01_01.txt"
    if not source.is_file():
        pytest.skip(f"{source} absent")
    rec = tmp_path / "walk.insrec"
    import_file("gaitpdb", source, rec)
    info = _same_info(rec, monkeypatch)
    assert info["sides"] == ["left", "right"]


def test_moticon_datagram_recording(tmp_path, monkeypatch) -> None:
    from insole.core.moticon import moticon_devices
    from insole.sources.devices.moticon_udp import MoticonEmulator

    grams = MoticonEmulator(port=0, duration_s=20.0, seed=3).datagrams()
    rng = np.random.default_rng(1)
    path = tmp_path / "udp.insrec"
    header = {
        "source": "moticon-udp:test",
        "streams": [{"stream_id": 0, "transport": "moticon-udp", "label": "udp"}],
        "devices": moticon_devices(),
    }
    with RecordingWriter(path, header, block_bytes=4096) as w:
        held = None
        for i, (t, data) in enumerate(grams):
            if 0 < i < len(grams) - 1 and rng.random() < 0.03:
                continue  # lost
            if i == 500:
                held = data  # arrives late
                continue
            w.write_chunk(0, data, host_time_s=t + 0.002)
            if i == 503 and held is not None:
                w.write_chunk(0, held, host_time_s=t + 0.003)
            if i == 800:
                w.write_chunk(0, data, host_time_s=t + 0.003)  # duplicate
                w.write_chunk(0, b"not a datagram", host_time_s=t + 0.003)
                w.write_event("reconnect", stream_id=0, host_time_s=t + 0.004)
    info = _same_info(path, monkeypatch)
    assert info["sides"] == ["left", "right"]
    assert info["frames_lost"] > 0
    assert info["duplicate_frames"] == 1
