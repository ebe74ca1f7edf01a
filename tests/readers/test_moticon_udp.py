"""``moticon-udp:`` source, its decoder and the loopback emulator, over real UDP sockets.

Datagrams go through real sockets on 127.0.0.1; recordings are real files. The emulator sends
faster than real time (``speed``) where only counting is tested: the reader does not pace.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from firmware_protocol import StreamDecoder
from insole.cli import main
from insole.commands.record import record
from insole.core.moticon import DEFAULT_UDP_COLUMNS, MoticonDecoder, parse_columns
from insole.recordings.container import read_raw_recording
from insole.recordings.loader import load_recording
from insole.session.analysis import SessionAnalysis
from insole.sources.devices.moticon_udp import EmulatorError, MoticonEmulator
from insole.sources.readers import ReaderError, open_reader
from insole.sources.readers.moticon_udp import MoticonUDPReader

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "commercial_exports"
WALK = DATA / "moticon_opengo_walk_230927_102114.txt"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def gram(t: float, p: float = 1.0, n: int = 51) -> bytes:
    values = [f"{t:.2f}"] + [f"{p:g}"] * (n - 1)
    return " ".join(values).encode()


# -- decoder ----------------------------------------------------------------------------------


def test_default_columns_are_the_public_order() -> None:
    assert len(DEFAULT_UDP_COLUMNS) == 51
    assert DEFAULT_UDP_COLUMNS[:9] == ("time", "left_acc_x", "left_acc_y", "left_acc_z",
                                       "left_gyro_x", "left_gyro_y", "left_gyro_z",
                                       "left_cop_x", "left_cop_y")
    assert DEFAULT_UDP_COLUMNS[9] == "left_p1"
    assert DEFAULT_UDP_COLUMNS[25] == "left_force"
    assert DEFAULT_UDP_COLUMNS[26] == "right_acc_x"
    assert DEFAULT_UDP_COLUMNS[-1] == "right_force"


def test_loss_reorder_duplicate_and_bad_datagrams_are_counted() -> None:
    dec = MoticonDecoder()
    out = []
    for t in (0.0, 0.01, 0.04, 0.02, 0.04, 0.05):  # 0.02 and 0.03 lost, 0.02 arrives late
        out += dec.feed(gram(t))
    dec.feed(b"not numbers at all")
    dec.feed(gram(0.06, n=50))
    dec.feed(b"\x00")  # the pipeline's end marker: ignored
    st = dec.stats
    assert st.lost_frames == 1  # 0.03; 0.02 came late
    assert st.out_of_order_frames == 1
    assert st.duplicate_frames == 1
    assert st.malformed_frames == 2
    assert st.frames == 4
    assert st.lost_by_device[(1, 0)] == 1  # (device, Side.LEFT)
    left = [s for s in out if s.side == "left"]
    assert [int(i) for s in left for i in s.index] == [0, 1, 4, 5]
    assert left[0].counts[0, 0] == 4  # 1.0 N/cm² = 4 steps of 0.25


def test_recorded_runs_parse_the_same_in_any_split() -> None:
    grams = [gram(i / 100, p=(i % 7) * 0.25) for i in range(300)]
    one = MoticonDecoder()
    ref = [s for g in grams for s in one.feed(g)]
    data = b"".join(grams)
    ends = np.cumsum([len(g) for g in grams])
    rng = np.random.default_rng(1)
    dec = MoticonDecoder()
    got = []
    pos = 0
    while pos < len(data):
        step = int(rng.integers(1, 900))
        piece = data[pos:pos + step]
        k0 = int(np.searchsorted(ends, pos, side="right"))
        k1 = int(np.searchsorted(ends, pos + len(piece), side="left")) + 1
        got += dec.feed(piece, ends[k0:k1] - pos)
        pos += len(piece)
    cat = {side: np.concatenate([s.counts for s in got if s.side == side]) for side in
           ("left", "right")}
    ref_cat = {side: np.concatenate([s.counts for s in ref if s.side == side]) for side in
               ("left", "right")}
    for side in cat:
        np.testing.assert_array_equal(cat[side], ref_cat[side])
    assert dec.stats.frames == one.stats.frames == 300


def test_columns_option() -> None:
    cols = ("time", "skip", *(f"right_p{i}" for i in range(1, 17)))
    dec = MoticonDecoder(cols, time_unit="ms")
    (part,) = dec.feed(b"1000 7 " + b" ".join([b"2.5"] * 16))
    assert part.side == "right"
    assert part.counts[0, 0] == 10
    for bad, msg in (("time,left_p1", "1 of the 16"), ("time,left_foo", "unknown column"),
                     ("time,time", "given twice"), ("skip", "'time'"), ("time", "no pressures")):
        with pytest.raises(ValueError, match=msg):
            parse_columns(bad)


def test_old_readers_find_no_protocol_frame_in_datagrams() -> None:
    """A reader that does not know the transport decodes nothing from the text (no 0x00)."""
    dec = StreamDecoder()
    table = dec.feed_table(b"".join(gram(i / 100) for i in range(50)))
    assert len(table) == 0


def test_open_reader_errors_are_one_line() -> None:
    for url in ("moticon-udp:", "moticon-udp:70000", "moticon-udp:9999?foo=1",
                "moticon-udp:9999?size=11", "moticon-udp:9999?columns=time,left_p1"):
        with pytest.raises(ReaderError) as info:
            open_reader(url)
        assert "\n" not in str(info.value)
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(ReaderError, match="cannot listen"):
            open_reader(f"moticon-udp:127.0.0.1:{busy.getsockname()[1]}")
    finally:
        busy.close()


# -- real sockets -----------------------------------------------------------------------------


def _record(tmp_path: Path, emulator_kwargs: dict[str, object], name: str = "u.insrec"
            ) -> tuple[dict[str, object], dict[str, object]]:
    reader = open_reader("moticon-udp:0?idle=1.5")
    assert isinstance(reader, MoticonUDPReader)
    emu = MoticonEmulator(port=reader.port, **emulator_kwargs)  # type: ignore[arg-type]
    report: dict[str, object] = {}

    def send() -> None:
        report.update(emu.run())

    sender = threading.Timer(0.3, send)
    sender.start()
    try:
        summary = record(reader, tmp_path / name, duration_s=120.0)
    finally:
        sender.join()
    return summary.as_dict(), report


def test_record_60s_at_100hz_stores_every_sample(tmp_path: Path) -> None:
    summary, report = _record(tmp_path, {"duration_s": 60.0, "speed": 20.0, "seed": 2})
    assert report["datagrams"] == report["sent"] == 6000
    assert summary["stopped_by"] == "end of source"
    assert summary["chunks"] == 6000
    assert summary["frames"] == 6000
    assert summary["frames_lost"] == 0
    assert summary["bad_frames"] == 0
    assert [d["samples"] for d in summary["devices"]] == [6000, 6000]
    raw = read_raw_recording(tmp_path / "u.insrec")
    assert raw.header["streams"][0]["transport"] == "moticon-udp"
    assert raw.streams[0].n_chunks == 6000  # the datagrams as received, one chunk each
    s = SessionAnalysis().run(tmp_path / "u.insrec").summary_
    assert s["frames_lost"] == 0
    assert min(s["steps"].values()) >= 40  # 60 s of simulated walking


def test_injected_loss_is_counted_exactly(tmp_path: Path) -> None:
    summary, report = _record(tmp_path, {"duration_s": 20.0, "speed": 20.0, "loss": 0.05,
                                         "seed": 5})
    assert 0 < int(report["dropped"]) < 2000  # type: ignore[call-overload]
    assert summary["frames"] == report["sent"]
    assert summary["frames_lost"] == report["dropped"]
    assert all(d["lost"] == report["dropped"] for d in summary["devices"])


def test_export_sent_recorded_and_analysed_like_its_import(tmp_path: Path) -> None:
    src = need(WALK)
    summary, report = _record(tmp_path, {"source": src, "speed": 20.0})
    # the export itself misses one row (17.5 s at 100 Hz, 1750 rows): counted as lost
    assert summary["frames"] == report["sent"] == 1750
    assert summary["frames_lost"] == 1
    rec = tmp_path / "u.insrec"
    a = SessionAnalysis().run(rec)
    b = SessionAnalysis(chunk_bytes=1000).run(rec)  # any split of the recorded bytes
    assert [r["heel_strike_s"] for r in a.steps_] == [r["heel_strike_s"] for r in b.steps_]
    assert sum(a.summary_["steps"].values()) >= 15
    # load_recording (insole info, report) parses the datagrams too
    loaded = load_recording(rec)
    assert [d.n_samples for d in loaded.devices] == [1687, 1737]  # rows with each side
    assert loaded.frames_lost == 1
    assert loaded.counter("discarded_bytes") == 0
    # a replayed recording re-recorded keeps its datagram stream
    again = record(f"file:{rec}?speed=max", tmp_path / "again.insrec")
    assert (again.frames, again.frames_lost) == (1750, 1)
    raw = read_raw_recording(tmp_path / "again.insrec")
    assert raw.header["streams"][0]["transport"] == "moticon-udp"
    # the recording is a source for the emulator too: re-sent datagram by datagram
    summary2, report2 = _record(tmp_path, {"source": rec, "speed": 20.0}, name="v.insrec")
    assert report2["sent"] == 1750
    assert summary2["frames_lost"] == 1


def test_emulator_rejects_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="not a file"):
        MoticonEmulator(port=9, source=tmp_path / "nope.txt").run()
    with pytest.raises(EmulatorError, match="--loss"):
        MoticonEmulator(port=9, loss=1.0).run()


def test_live_no_gui_shows_steps(capsys: pytest.CaptureFixture[str]) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    emu = MoticonEmulator(port=port, duration_s=20.0, speed=10.0, seed=4)
    sender = threading.Timer(0.8, emu.run)
    sender.start()
    try:
        rc = main(["live", f"moticon-udp:{port}", "--no-gui", "--exit-after", "4"])
    finally:
        sender.join()
    assert rc == 0
    out = capsys.readouterr().out
    summary = out[out.rindex("session summary"):]
    line = next(ln for ln in summary.splitlines() if ln.strip().startswith("steps"))
    assert int(line.split()[1]) >= 10
    assert "0 frames lost" in summary


def test_imported_recording_sent_again_gives_the_same_steps(tmp_path: Path) -> None:
    from insole.sources.importers.moticon import import_moticon

    src = need(WALK)
    imported = tmp_path / "imported.insrec"
    import_moticon(src, imported)
    reader = open_reader("moticon-udp:0?idle=1.5&size=7")  # the export's insole size
    assert isinstance(reader, MoticonUDPReader)
    emu = MoticonEmulator(port=reader.port, source=imported, speed=20.0)
    sender = threading.Timer(0.3, emu.run)
    sender.start()
    try:
        summary = record(reader, tmp_path / "u.insrec", duration_s=60.0)
    finally:
        sender.join()
    assert summary.frames_lost == 0
    a = SessionAnalysis().run(imported).summary_
    b = SessionAnalysis().run(tmp_path / "u.insrec").summary_
    assert a["steps"] == b["steps"]
    assert a["cadence_spm"] == pytest.approx(b["cadence_spm"], abs=0.1)
    assert a["contact_time_s"] == pytest.approx(b["contact_time_s"], abs=0.011)


def test_a_recording_with_a_damaged_header_is_sent_all_the_same(tmp_path: Path) -> None:
    # The commands read past a damaged header (recordings/FORMAT.md §4.1); so does the emulator.
    rec = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"
    data = bytearray(rec.read_bytes())
    i = data.index(b'"rearfoot"')
    data[i + 1 : i + 3] = b"xx"  # the JSON still reads, its CRC no longer matches
    damaged = tmp_path / "damaged.insrec"
    damaged.write_bytes(bytes(data))
    intact = MoticonEmulator(port=9, source=rec).datagrams()
    assert MoticonEmulator(port=9, source=damaged).datagrams() == intact
