"""``insole import xdf``: XDF files (as LabRecorder writes them) back into recordings.

The XDF files are written by ``tests/helpers_xdf_writer.py`` (pyxdf only reads) with stream
descriptions as `insole.live.lsl.LslPublisher` makes them (``docs/lsl.md``); no network is used.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pyxdf")

from insole.cli import main  # noqa: E402
from insole.core.layouts import SensorLayout  # noqa: E402
from insole.core.pipeline import Pipeline  # noqa: E402
from insole.recordings.container import BlockReader  # noqa: E402
from insole.session.analysis import SessionAnalysis  # noqa: E402
from insole.sources.importers import ImportFormatError  # noqa: E402
from insole.sources.importers.xdf import import_xdf, read_xdf  # noqa: E402
from insole.sources.readers.sim import SimFeed  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "helpers_xdf_writer", Path(__file__).parents[1] / "helpers_xdf_writer.py")
assert _spec is not None
assert _spec.loader is not None
xw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(xw)

FS = 200.0
T0_LSL = 5000.0  # LSL time of the first sample
OFFSET_S = 2.5  # clock offset of the insole computer against the recorder


def insole_desc(side: str, device_id: int, layout: SensorLayout, *, unit: str = "kPa",
                with_layout_json: bool = True) -> str:
    """The <desc> content `insole.live.lsl.LslPublisher` writes for an insole stream."""
    chans = "".join(
        f"<channel><label>{layout.region[i]}_{i + 1}</label><unit>{unit}</unit>"
        f"<type>Pressure</type><region>{layout.region[i]}</region><location>"
        f"<X>{layout.x_mm[i]:.3f}</X><Y>{layout.y_mm[i]:.3f}</Y><Z>0</Z></location>"
        f"<area_mm2>{layout.area_mm2[i]:.6g}</area_mm2></channel>"
        for i in range(layout.n_sensors)
    )
    lj = (f"<layout_json>{json.dumps(layout.to_json())}</layout_json>"
          if with_layout_json else "")
    return (f"<channels>{chans}</channels><insole><kind>pressure</kind><side>{side}</side>"
            f"<device_id>{device_id}</device_id>"
            f"<calibrated>{'true' if unit == 'kPa' else 'false'}</calibrated>"
            f"<foot_length_mm>{layout.foot_length_mm:g}</foot_length_mm>{lj}</insole>")


def insole_xml(side: str, device_id: int, layout: SensorLayout, **kw: Any) -> str:
    return xw.stream_header_xml(
        name=f"insole {side}", type="Pressure", channel_count=layout.n_sensors,
        nominal_srate=FS, channel_format="float32", source_id=f"insole-{device_id}-{side}",
        desc_xml=insole_desc(side, device_id, layout, **kw))


EVENTS_XML = xw.stream_header_xml(
    name="insole events", type="Markers", channel_count=1, nominal_srate=0.0,
    channel_format="string", source_id="insole-events:sim:",
    desc_xml="<insole><kind>events</kind></insole>")


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    """12 s of simulated running through the pipeline: what ``--lsl`` would publish."""
    feed = SimFeed(seed=5, duration_s=12.0)
    devices = feed.devices
    pipe = Pipeline({"devices": devices}, emit_samples=True)
    rows: dict[str, list[np.ndarray]] = {"left": [], "right": []}
    steps: list[Any] = []
    heel: list[tuple[str, float]] = []

    def take(update: Any) -> None:
        for side, s in update.samples.items():
            rows[side].append(s.pressure_kpa.astype(np.float32))
        steps.extend(update.steps)
        heel.extend(update.heel_strikes)

    for c in feed:
        take(pipe.feed(c.stream_id, c.data, c.time_s))
    take(pipe.finish())
    layouts = {side.label: side.layout for side in pipe.sides.values()}
    ids = {d["side"]: int(d["device_id"]) for d in devices}
    return {"rows": {k: np.concatenate(v) for k, v in rows.items()}, "steps": steps,
            "heel": heel, "layouts": layouts, "ids": ids}


def write_run(path: Path, published: dict[str, Any], *, eeg: bool = True,
              **desc: Any) -> Path:
    """XDF of the published streams on an insole computer whose clock is OFFSET_S behind."""
    streams = []
    markers = sorted([(t, f"heel_strike/{s}") for s, t in published["heel"]]
                     + [(st.toe_off_s, f"toe_off/{st.side}") for st in published["steps"]])
    for side in ("left", "right"):
        data = published["rows"][side]
        ts = T0_LSL + np.arange(len(data)) / FS
        streams.append({"xml": insole_xml(side, published["ids"][side],
                                          published["layouts"][side], **desc),
                        "time_stamps": ts, "time_series": data,
                        "clock_offsets": [(T0_LSL, OFFSET_S), (T0_LSL + 10, OFFSET_S)]})
    streams.append({"xml": EVENTS_XML, "time_stamps": np.array([T0_LSL + t for t, _ in markers]),
                    "time_series": [[m] for _, m in markers],
                    "clock_offsets": [(T0_LSL, OFFSET_S), (T0_LSL + 10, OFFSET_S)]})
    if eeg:
        n = int(12 * 500)
        streams.append({"xml": xw.stream_header_xml(
            name="EEG amp", type="EEG", channel_count=4, nominal_srate=500.0,
            channel_format="float32", source_id="amp-1"),
            "time_stamps": T0_LSL + OFFSET_S - 1.0 + np.arange(n) / 500.0,
            "time_series": np.zeros((n, 4), np.float32)})
    return xw.write_xdf(path, streams)


def test_round_trip_same_steps_and_metadata(tmp_path: Path, published: dict[str, Any]) -> None:
    xdf = write_run(tmp_path / "lab.xdf", published)
    result = import_xdf(xdf, tmp_path / "lab.insrec")
    assert result.format == "xdf"
    assert result.sample_rate_hz == FS
    records = SessionAnalysis().run(result.path).records_
    for side in ("left", "right"):
        a = [s for s in published["steps"] if s.side == side]
        b = [s for s in records if s.side == side]
        assert len(a) == len(b) > 10
        for x, y in zip(a, b, strict=True):
            assert abs(x.heel_strike_s - y.heel_strike_s) <= 1 / FS
            assert abs(x.toe_off_s - y.toe_off_s) <= 1 / FS
    header = BlockReader(result.path).header
    extra = header["extra"]["import"]
    # Clock offsets applied: the recording's time 0 is on the recorder's clock.
    assert extra["time_origin_lsl_s"] == pytest.approx(T0_LSL + OFFSET_S)
    assert extra["other_streams"] == [{"name": "EEG amp", "type": "EEG", "channel_count": 4,
                                       "nominal_srate": 500.0, "samples": 6000,
                                       "source_id": "amp-1"}]
    n_hs = sum(1 for _ in published["heel"])
    assert extra["marker_counts"]["heel_strike/left"] + extra["marker_counts"][
        "heel_strike/right"] == n_hs
    first_hs = min(t for _, t in published["heel"])
    assert min(t for t, m in extra["markers"] if m.startswith("heel")) == pytest.approx(
        first_hs, abs=1e-6)
    for d in extra["devices"]:
        assert d["layout_source"] == "layout_json"
        # Pressures round trip within one quantisation step.
        assert d["max_abs_error"] <= 0.5 * next(
            x["scale"] for x in result.devices if x["side"] == d["side"]) + 1e-9
    dev = {d["side"]: d for d in header["devices"]}
    assert SensorLayout.from_json(dev["left"]["layout"]) == published["layouts"]["left"]


def test_layout_from_channels_and_uncalibrated(tmp_path: Path,
                                               published: dict[str, Any]) -> None:
    xdf = write_run(tmp_path / "a.xdf", published, eeg=False, with_layout_json=False,
                    unit="a.u.")
    got = read_xdf(xdf)
    assert [s.side for s in got.insoles] == ["left", "right"]
    left = got.insoles[0]
    assert left.layout_source == "channels"
    assert left.unit == "counts"
    np.testing.assert_allclose(left.layout.x_mm, published["layouts"]["left"].x_mm, atol=1e-3)
    np.testing.assert_allclose(
        left.values, published["rows"]["left"] * published["layouts"]["left"].area_mm2 / 1000,
        rtol=1e-4)


def test_stream_without_description_gets_generic_layout(tmp_path: Path) -> None:
    data = np.abs(np.random.default_rng(0).normal(50, 20, (400, 8))).astype(np.float32)
    data[10] = np.nan  # a lost sample
    xml = xw.stream_header_xml(name="insole right", type="Pressure", channel_count=8,
                               nominal_srate=100.0, channel_format="float32")
    xdf = xw.write_xdf(tmp_path / "g.xdf", [{"xml": xml, "time_series": data,
                                             "time_stamps": 10 + np.arange(400) / 100.0}])
    result = import_xdf(xdf, tmp_path / "g.insrec")
    (dev,) = result.devices
    assert dev["side"] == "right"
    assert dev["n_sensors"] == 8
    assert dev["invalid_samples"] == 8
    assert read_xdf(xdf).insoles[0].layout_source == "generic"


def test_cli_import(tmp_path: Path, published: dict[str, Any],
                    capsys: pytest.CaptureFixture[str]) -> None:
    xdf = write_run(tmp_path / "c.xdf", published, eeg=False)
    assert main(["import", "xdf", str(xdf), "--out", str(tmp_path / "c.insrec")]) == 0
    assert "wrote" in capsys.readouterr().out


def _bad_files(tmp: Path, published: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    good = write_run(tmp / "good.xdf", published, eeg=False).read_bytes()
    out: dict[str, tuple[Path, str]] = {}

    def put(name: str, data: bytes, expect: str) -> None:
        p = tmp / f"{name}.xdf"
        p.write_bytes(data)
        out[name] = (p, expect)

    put("magic", b"CSV:" + good[4:], "does not start with 'XDF:'")
    put("empty", b"", "does not start with 'XDF:'")
    put("garbage", b"XDF:" + bytes(range(256)) * 20, "holds no insole stream")
    eeg_only = xw.stream_header_xml(name="EEG", type="EEG", channel_count=2,
                                    nominal_srate=100.0, channel_format="float32")
    p = xw.write_xdf(tmp / "eeg.xdf", [{"xml": eeg_only, "time_stamps": np.arange(5.0),
                                        "time_series": np.zeros((5, 2))}])
    out["eeg_only"] = (p, "streams found: 'EEG' (EEG)")
    layout = published["layouts"]["left"]
    wrong = insole_xml("left", 1, layout).replace("<channel_count>16<", "<channel_count>4<")
    p = xw.write_xdf(tmp / "chan.xdf", [{"xml": wrong, "time_stamps": np.arange(5.0) / FS,
                                         "time_series": np.zeros((5, 4))}])
    out["channels"] = (p, "has 4 channels but its layout 16 sensors")
    noside = xw.stream_header_xml(name="insole middle", type="Pressure", channel_count=4,
                                  nominal_srate=FS, channel_format="float32",
                                  desc_xml="<insole><kind>pressure</kind></insole>")
    p = xw.write_xdf(tmp / "side.xdf", [{"xml": noside, "time_stamps": np.arange(5.0) / FS,
                                         "time_series": np.zeros((5, 4))}])
    out["side"] = (p, "does not say which foot")
    irregular = insole_xml("left", 1, layout).replace("<nominal_srate>200.0000000000<",
                                                      "<nominal_srate>0.0000000000<")
    p = xw.write_xdf(tmp / "rate.xdf", [{"xml": irregular, "time_stamps": np.arange(5.0) / FS,
                                         "time_series": np.zeros((5, 16))}])
    out["rate"] = (p, "no regular sampling rate")
    backwards = xw.write_xdf(tmp / "back.xdf", [{
        "xml": insole_xml("left", 1, layout), "time_stamps": np.array([0.0, 0.01, 0.005]),
        "time_series": np.zeros((3, 16))}])
    out["backwards"] = (backwards, "time does not increase")
    # A header chunk whose XML is cut: pyxdf cannot parse it.
    broken = b"XDF:" + xw.chunk(1, b"<info><version>1.0</version></info>") + xw.chunk(
        2, struct.pack("<I", 1) + b"<info><name>insole left</na")
    put("xml", broken, "cannot be read")
    out["missing"] = (tmp / "nope.xdf", "not found")
    return out


def test_malformed_files_one_line_error(tmp_path: Path, published: dict[str, Any],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for name, (path, expect) in _bad_files(tmp_path, published).items():
        with pytest.raises(ImportFormatError, match=re.escape(expect)):
            import_xdf(path, tmp_path / f"{name}.insrec")
        assert main(["import", "xdf", str(path), "--out", str(tmp_path / "x.insrec")]) == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, (name, lines)
        assert lines[0].startswith("insole import: error:"), (name, lines)
        assert "Traceback" not in captured.err
        assert not captured.out
        assert not (tmp_path / "x.insrec").exists()


def test_truncated_file_imports_what_is_there(tmp_path: Path,
                                              published: dict[str, Any]) -> None:
    data = write_run(tmp_path / "t.xdf", published, eeg=False).read_bytes()
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(data[: len(data) * 2 // 3])  # LabRecorder killed mid-recording
    got = read_xdf(cut)
    n = [len(s.time_s) for s in got.insoles]
    assert 0 < min(n) < len(published["rows"]["left"])
