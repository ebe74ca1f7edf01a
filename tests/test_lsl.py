"""Lab Streaming Layer publishing (``--lsl``) and the XDF round trip, on loopback only.

Network safety: liblsl's default configuration resolves streams by multicast across the site.
This module writes the loopback-only configuration (`insole.live.lsl.LOOPBACK_CONFIG`) and points
``LSLAPICFG`` at it *before* ``pylsl`` is imported; if ``pylsl`` was already imported under
another configuration, every test that would touch the network is skipped instead.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from insole.live.lsl import LOOPBACK_CONFIG, SideClock, write_loopback_config

_CFG_DIR = Path(tempfile.mkdtemp(prefix="insole-lsl-"))
atexit.register(shutil.rmtree, _CFG_DIR, ignore_errors=True)
_CFG = write_loopback_config(_CFG_DIR / "lsl_api.cfg", log_level=-3)
_SAFE = "pylsl" not in sys.modules or os.environ.get("LSLAPICFG") == str(_CFG)
if _SAFE:
    os.environ["LSLAPICFG"] = str(_CFG)

try:
    import pylsl
except ImportError:  # the 'formats' extra is not installed: only the error path is tested
    pylsl = None
needs_loopback = pytest.mark.skipif(
    pylsl is None or not _SAFE,
    reason="needs pylsl, imported after LSLAPICFG pointed at the loopback config")

from insole.cli import main  # noqa: E402
from insole.live.lsl import LslPublisher, realtime_source  # noqa: E402
from insole.live.runtime import LiveRuntime  # noqa: E402
from insole.session.analysis import SessionAnalysis  # noqa: E402
from insole.sources.importers.xdf import import_xdf  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "helpers_xdf_writer", Path(__file__).with_name("helpers_xdf_writer.py"))
assert _spec is not None
assert _spec.loader is not None
xdf_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(xdf_writer)

SIM = "sim:?seed=3&duration=30&speed=10"


def test_loopback_config_is_in_force() -> None:
    if _SAFE:
        assert os.environ["LSLAPICFG"] == str(_CFG)
    text = _CFG.read_text()
    for line in ("IPv6 = disable", "ResolveScope = machine", "MachineAddresses = {127.0.0.1}",
                 "KnownPeers = {127.0.0.1}", "ListenAddress = 127.0.0.1"):
        assert line in text
        assert line in LOOPBACK_CONFIG


def _own_sockets() -> list[tuple[str, str]]:
    """``(protocol, local address)`` of this process's sockets, from /proc (Linux)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = []
    for proto in ("tcp", "udp", "tcp6", "udp6"):
        try:
            lines = Path(f"/proc/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        out += [(proto, ln.split()[1]) for ln in lines if ln.split()[9] in inodes]
    return out


@needs_loopback
@pytest.mark.skipif(not Path("/proc/net/udp").exists(), reason="needs Linux /proc")
def test_outlet_discovery_stays_on_loopback() -> None:
    """With the config in force the multicast responder listens on 127.0.0.1 only, no IPv6."""
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo("probe", "Test", 1, 10, "float32", "probe"))
    try:
        socks = _own_sockets()
    finally:
        del outlet
    responder = [addr for proto, addr in socks if proto == "udp" and addr.endswith(":40BB")]
    assert set(responder) == {"0100007F:40BB"}  # 127.0.0.1:16571 (liblsl's multicast port)
    assert not [s for s in socks if s[0].endswith("6")]


def _drain(inlet: Any, *, string: bool = False) -> tuple[list[Any], list[float]]:
    rows: list[Any] = []
    stamps: list[float] = []
    idle = 0
    while idle < 3:
        data, ts = inlet.pull_chunk(timeout=0.2, max_samples=4096)
        if ts:
            rows += data
            stamps += ts
            idle = 0
        else:
            idle += 1
    return rows, stamps


@pytest.fixture(scope="module")
def lsl_run() -> dict[str, Any]:
    """30 s of simulated running (at 10x) published and received by test inlets."""
    runtime = LiveRuntime(SIM)
    publisher = LslPublisher(source=SIM, realtime=realtime_source(runtime.reader),
                             devices=runtime.header["devices"])
    runtime.publisher = publisher
    sent_hs: list[tuple[str, float]] = []
    publish = publisher.publish

    def spy(update: Any, pipeline: Any, host_time_s: float | None = None) -> None:
        sent_hs.extend(update.heel_strikes)
        publish(update, pipeline, host_time_s)

    publisher.publish = spy  # type: ignore[method-assign]
    ids = {d["side"]: f"insole-{d['device_id']}-{d['side']}" for d in runtime.header["devices"]}
    ids["events"] = f"insole-events:{SIM}"
    inlets: dict[str, Any] = {}
    for key, source_id in ids.items():
        found = pylsl.resolve_byprop("source_id", source_id, 1, 5.0)
        assert found, f"stream {source_id!r} not found on loopback"
        inlets[key] = pylsl.StreamInlet(found[0], max_buflen=120)
        inlets[key].open_stream(timeout=5.0)
    offsets = {k: [(pylsl.local_clock(), inlet.time_correction(timeout=5.0))]
               for k, inlet in inlets.items()}
    t0 = time.monotonic()
    runtime.start()
    try:
        assert runtime.wait_ended(60.0)
    finally:
        runtime.stop()
    wall_s = time.monotonic() - t0
    received = {k: _drain(inlet) for k, inlet in inlets.items()}
    infos = {k: inlet.info(timeout=5.0).as_xml() for k, inlet in inlets.items()}
    for k, inlet in inlets.items():
        offsets[k].append((pylsl.local_clock(), inlet.time_correction(timeout=5.0)))
        inlet.close_stream()
    inlets.clear()
    publisher.close()
    return {"runtime": runtime, "publisher": publisher, "received": received, "infos": infos,
            "offsets": offsets, "sent_hs": sent_hs, "wall_s": wall_s}


@needs_loopback
def test_inlet_receives_every_sample_and_heel_strike(lsl_run: dict[str, Any]) -> None:
    pub: LslPublisher = lsl_run["publisher"]
    received = lsl_run["received"]
    for side in ("left", "right"):
        rows, stamps = received[side]
        sent = pub.samples_pushed[side]
        assert sent >= 30 * 200 * 0.99
        assert len(stamps) >= 0.99 * sent
        ts = np.asarray(stamps)
        assert np.all(np.diff(ts) > 0)
        # Replay faster than real time: a virtual clock exactly one period per sample.
        np.testing.assert_allclose(np.diff(ts), 1 / 200, atol=1e-6)
        assert np.asarray(rows).shape[1] == 16
    markers, stamps = received["events"]
    got = sorted(zip(stamps, (m[0] for m in markers), strict=True))
    hs = [(t, m) for t, m in got if m.startswith("heel_strike/")]
    assert len(hs) == pub.markers_pushed["heel_strike"] == len(lsl_run["sent_hs"])
    for side, t in lsl_run["sent_hs"]:  # every heel strike, at the time of its sample
        want = float(pub.clocks[side].to_lsl(t))
        assert any(abs(tt - want) < 1e-6 and m == f"heel_strike/{side}" for tt, m in hs)
    steps = lsl_run["runtime"].steps
    assert len(hs) >= len(steps) > 70
    assert sum(m.startswith("toe_off/") for _, m in got) == pub.markers_pushed["toe_off"]
    # A heel-strike marker sits on the sample grid of its insole (same clock map).
    left_ts = np.asarray(received["left"][1])
    for t, m in hs:
        if m == "heel_strike/left":
            k = (t - left_ts[0]) * 200
            assert abs(k - round(k)) < 1.0  # interpolated onset: within the grid span
    print(f"\nLSL 30 s sim at 10x in {lsl_run['wall_s']:.2f} s: samples sent/received "
          + ", ".join(f"{s} {pub.samples_pushed[s]}/{len(received[s][1])}"
                      for s in ("left", "right"))
          + f"; heel strikes {len(hs)}/{pub.markers_pushed['heel_strike']}, toe-offs "
          f"{pub.markers_pushed['toe_off']}, steps {len(steps)}")


@needs_loopback
def test_stream_metadata(lsl_run: dict[str, Any]) -> None:
    xml = lsl_run["infos"]["left"]
    for part in ("<name>insole left</name>", "<type>Pressure</type>",
                 "<channel_count>16</channel_count>", "<nominal_srate>200",
                 "<source_id>insole-", "<unit>kPa</unit>", "<label>heel_medial_1</label>",
                 "<location>", "<area_mm2>", "<side>left</side>", "<layout_json>"):
        assert part in xml
    ev = lsl_run["infos"]["events"]
    assert "<type>Markers</type>" in ev
    assert "<channel_format>string</channel_format>" in ev


@needs_loopback
def test_xdf_of_received_streams_imports_to_same_steps(lsl_run: dict[str, Any],
                                                       tmp_path: Path) -> None:
    pytest.importorskip("pyxdf")
    received, infos = lsl_run["received"], lsl_run["infos"]
    streams = []
    for key in ("left", "events", "right"):
        rows, stamps = received[key]
        streams.append({"xml": infos[key], "time_stamps": np.asarray(stamps),
                        "time_series": rows, "clock_offsets": lsl_run["offsets"][key]})
    xdf = xdf_writer.write_xdf(tmp_path / "run.xdf", streams)
    result = import_xdf(xdf, tmp_path / "run.insrec")
    assert result.format == "xdf"
    imported = SessionAnalysis().run(result.path).records_
    original = lsl_run["runtime"].steps
    for side in ("left", "right"):
        a = np.array([s.heel_strike_s for s in original if s.side == side])
        b = np.array([s.heel_strike_s for s in imported if s.side == side])
        assert len(a) == len(b) > 30
        assert np.max(np.abs(a - b)) <= 1 / 200 + 1e-9
        a_to = np.array([s.toe_off_s for s in original if s.side == side])
        b_to = np.array([s.toe_off_s for s in imported if s.side == side])
        assert np.max(np.abs(a_to - b_to)) <= 1 / 200 + 1e-9
        hs_ms, to_ms = np.max(np.abs(a - b)) * 1e3, np.max(np.abs(a_to - b_to)) * 1e3
        print(f"\nXDF round trip {side}: {len(a)} steps; max |diff| heel strike {hs_ms:.4f} ms,"
              f" toe-off {to_ms:.4f} ms")
    from insole.recordings.container import BlockReader

    extra = BlockReader(result.path).header["extra"]["import"]
    assert extra["marker_counts"]["heel_strike/left"] >= 1
    assert sum(extra["marker_counts"].values()) == len(received["events"][1])


# -- clock map -------------------------------------------------------------------------------


def test_side_clock_follows_drift_and_keeps_increasing() -> None:
    rng = np.random.default_rng(1)
    fs, drift_ppm, true_offset = 200.0, 40.0, 1000.0
    clock = SideClock(realtime=True, lsl_minus_host_s=0.0, period_s=1 / fs)
    last = -math.inf
    n = 0
    for k in range(6000):  # 10 minutes at 200 Hz, 20 samples every 0.1 s
        t = (n + np.arange(20)) / fs
        host = true_offset + t[-1] * (1 + drift_ppm * 1e-6) + 0.002 + rng.exponential(0.004)
        if k == 0:
            host += 0.030  # a late first chunk: the map starts 30 ms late
        clock.observe(float(t[-1]), host, from_t=float(t[0]))
        ts = clock.to_lsl(t)
        assert ts[0] > last
        assert np.all(np.diff(ts) > 0)
        last = float(ts[-1])
        n += 20
    assert clock.refits > 50
    t_end = n / fs
    truth = true_offset + t_end * (1 + drift_ppm * 1e-6) + 0.002
    assert abs(float(clock.to_lsl(t_end)) - truth) < 0.001  # slewed in, drift followed
    frozen = SideClock(realtime=False, lsl_minus_host_s=0.5, period_s=1 / fs)
    frozen.observe(1.0, 10.0, from_t=0.0)
    frozen.observe(50.0, 11.0, from_t=1.0)
    assert float(frozen.to_lsl(50.0)) == pytest.approx(10.5 + 49.0)


# -- the commands ----------------------------------------------------------------------------


@needs_loopback
def test_live_replay_record_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["live", "sim:?seed=1&duration=4&speed=max", "--lsl", "--no-gui"]) == 0
    out = capsys.readouterr().out
    assert "lsl: published left 798 samples, right 798 samples;" in out  # 133 frames of 6
    import insole.live.lsl as lsl

    closed: list[dict[str, Any]] = []
    close = lsl.LslRelay.close

    def spy(self: Any) -> None:
        close(self)
        closed.append(self.publisher.figures())

    monkeypatch.setattr(lsl.LslRelay, "close", spy)
    rec = tmp_path / "r.insrec"
    assert main(["record", "sim:?seed=1&duration=4&speed=max", "--out", str(rec), "--lsl",
                 "--quiet"]) == 0
    assert closed
    assert closed[0]["samples"]["left"] >= 790
    assert closed[0]["markers"]["heel_strike"]
    assert main(["replay", str(rec), "--lsl", "--speed", "max", "--no-gui"]) == 0
    out = capsys.readouterr().out
    assert "lsl: published left 798 samples, right 798 samples;" in out
    assert "session summary" in out


@pytest.mark.parametrize("argv", [
    ["live", "sim:?duration=1", "--lsl", "--no-gui"],
    ["record", "sim:?duration=1", "--out", "{tmp}/x.insrec", "--lsl"],
    ["replay", "{tmp}/missing-is-fine.insrec", "--lsl", "--no-gui"],
])
def test_without_pylsl_one_line_error(argv: list[str], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "replay":
        assert main(["simulate", "--duration", "2", "--out", argv[1]]) == 0
        capsys.readouterr()
    monkeypatch.setitem(sys.modules, "pylsl", None)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "pip install 'insole[formats]'" in err[0], err
    assert not (tmp_path / "x.insrec").exists()


@needs_loopback
def test_streams_made_at_first_samples_when_devices_are_unknown() -> None:
    from insole.core.pipeline import Pipeline
    from insole.sources.readers.sim import SimFeed

    feed = SimFeed(seed=2, duration_s=3.0)
    wrong = [dict(d, n_sensors=8, layout={}, calibration={}) for d in feed.devices]  # stale
    pub = LslPublisher(source="test", realtime=True, devices=wrong[:1])
    try:
        assert set(pub._outlets) == {"left"}
        assert pub._shapes["left"][0] == 8
        pipe = Pipeline({"devices": feed.devices}, emit_samples=True)
        for c in feed:
            pub.publish(pipe.feed(c.stream_id, c.data, c.time_s), pipe, c.time_s)
        pub.publish(pipe.finish(), pipe)
        assert set(pub._outlets) == {"left", "right"}
        assert pub._shapes == {"left": (16, 200.0), "right": (16, 200.0)}  # replaced
        assert pub.samples_pushed == {"left": 600, "right": 600}
        assert pub.markers_pushed["heel_strike"] >= 6
    finally:
        pub.close()


@needs_loopback
def test_a_retracted_heel_strike_is_published_with_the_time_of_its_announcement() -> None:
    from insole.core.pipeline import Pipeline, PipelineUpdate
    from insole.sources.readers.sim import SimFeed

    feed = SimFeed(seed=4, duration_s=3.0)
    pub = LslPublisher(source="retract-test", realtime=True, devices=feed.devices)
    try:
        found = pylsl.resolve_byprop("source_id", "insole-events:retract-test", 1, 5.0)
        assert found
        inlet = pylsl.StreamInlet(found[0], max_buflen=60)
        inlet.open_stream(timeout=5.0)
        pipe = Pipeline({"devices": feed.devices}, emit_samples=True)
        announced: list[tuple[str, float]] = []
        for c in feed:
            update = pipe.feed(c.stream_id, c.data, c.time_s)
            announced += update.heel_strikes
            pub.publish(update, pipe, c.time_s)
        side, t = next(hs for hs in announced if hs[0] == "left")
        pub.publish(PipelineUpdate(retracted_heel_strikes=[(side, t)]), pipe)
        assert pub.markers_pushed["heel_strike_retracted"] == 1
        markers, stamps = _drain(inlet, string=True)
        inlet.close_stream()
        by_marker: dict[str, list[float]] = {}
        for m, ts in zip(markers, stamps, strict=True):
            by_marker.setdefault(m[0], []).append(ts)
        (t_retracted,) = by_marker["heel_strike_retracted/left"]
        assert t_retracted in by_marker["heel_strike/left"]  # the same time: matched exactly
    finally:
        pub.close()
