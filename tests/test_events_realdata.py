"""Contact detection and readers validated on public gait recordings (../shared/data).

Every test skips when its data folder is absent. The measured figures are printed (run with
``-s``); ``python bench/events_validation.py`` prints the same figures as one table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insole.core.events import ContactDetector, detect_contacts
from insole.errors import InsoleError
from insole.sources.importers import ImportFormatError
from insole.sources.importers.physionet import (
    GAITPDB_SENSOR_XY,
    read_gaitndd,
    read_gaitndd_annotations,
    read_gaitpdb,
)
from insole.sources.importers.table import read_table

DATA = Path(__file__).parents[1].parent / "shared" / "data"
GAITNDD = DATA / "gaitndd"
GAITPDB = DATA / "gaitpdb"
FUKUCHI = DATA / "running_forceplate" / "RBDS001runT25forces.txt"
FUKUCHI_RATE_HZ = 300.0  # RBDS: Time is the frame number, 300 Hz
#: One force plate under a runner: the gap between contacts is the flight (~0.1 s), not a
#: foot's swing, so the swing gate is off and the refractory period alone bridges chatter.
FORCE_PLATE_GATES = {"min_swing_s": 0.0, "refractory_s": 0.05}
TOLERANCE_S = 0.050


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def match(detected_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float) -> np.ndarray:
    """Pairs (i_detected, i_reference): each reference event to the nearest unused detection."""
    pairs = []
    used = np.zeros(detected_s.size, dtype=bool)
    for r, t in enumerate(reference_s):
        for d in np.argsort(np.abs(detected_s - t))[:3]:
            if abs(detected_s[d] - t) > tolerance_s:
                break
            if not used[d]:
                used[d] = True
                pairs.append((d, r))
                break
    return np.array(pairs, dtype=int).reshape(-1, 2)


def threshold_reference(
    force_n: np.ndarray, fs: float, threshold_n: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gold-standard style offline contacts: force above a fixed threshold, crossings
    interpolated; gaps under 20 ms closed and contacts under 50 ms dropped (plate noise)."""
    above = force_n > threshold_n
    edges = np.flatnonzero(np.diff(above.astype(np.int8))) + 1
    ups, downs = edges[above[edges]], edges[~above[edges]]
    downs = downs[downs > ups[0]]
    ups = ups[: downs.size]
    keep_up = np.concatenate([[True], (ups[1:] - downs[:-1]) / fs >= 0.020])
    keep_down = np.concatenate([keep_up[1:], [True]])
    ups, downs = ups[keep_up], downs[keep_down]
    long_enough = (downs - ups) / fs >= 0.050
    ups, downs = ups[long_enough], downs[long_enough]

    def crossing(i: np.ndarray) -> np.ndarray:
        x0, x1 = force_n[i - 1], force_n[i]
        return (i - 1 + (threshold_n - x0) / (x1 - x0)) / fs

    return crossing(ups), crossing(downs)


# ---------------------------------------------------------------------------- gaitndd


@pytest.mark.parametrize("record", ["control1", "hunt1", "park1"])
def test_gaitndd_left_heel_strikes_match_the_annotations(record: str) -> None:
    need(GAITNDD / f"{record}.hea")
    left, _, fs, invalid = read_gaitndd(GAITNDD / record)
    ann = read_gaitndd_annotations(GAITNDD / record)
    contacts = detect_contacts(left, sampling_rate_hz=fs)

    # Annotations start about 20 s in: compare after 22 s, up to the last annotated contact.
    end_s = ann["elapsed_s"][-1] + 0.5
    reference = ann["elapsed_s"][ann["elapsed_s"] >= 22.0]
    hs = contacts.heel_strike_s
    detected = hs[(hs >= 22.0 - TOLERANCE_S) & (hs <= end_s)]
    pairs = match(detected, reference, TOLERANCE_S)
    share = pairs.shape[0] / reference.size
    offsets_ms = 1000 * (detected[pairs[:, 0]] - reference[pairs[:, 1]])

    ref_to = ann["elapsed_s"] - ann["left_stride_s"] + ann["left_stance_s"]
    ref_to = ref_to[ref_to >= 22.0]
    to = contacts.toe_off_s
    to_pairs = match(to, ref_to, TOLERANCE_S)
    to_offsets_ms = 1000 * (to[to_pairs[:, 0]] - ref_to[to_pairs[:, 1]])
    print(
        f"\n{record}: {detected.size} left contacts vs {reference.size} annotated after 22 s; "
        f"heel strike matched within 50 ms {100 * share:.1f} %, median offset "
        f"{np.median(offsets_ms):+.1f} ms, MAE {np.mean(np.abs(offsets_ms)):.1f} ms; toe-off "
        f"matched {100 * to_pairs.shape[0] / ref_to.size:.1f} %, median "
        f"{np.median(to_offsets_ms):+.1f} ms; invalid samples {int(invalid.sum())}"
    )
    assert share >= 0.95
    assert abs(detected.size - reference.size) <= 0.03 * reference.size  # no double counting
    assert abs(np.median(offsets_ms)) < 10.0
    assert to_pairs.shape[0] >= 0.9 * ref_to.size


def test_gaitndd_streaming_in_25_ms_chunks_equals_offline() -> None:
    need(GAITNDD / "hunt1.hea")
    left, _, fs, _ = read_gaitndd(GAITNDD / "hunt1")
    offline = detect_contacts(left, sampling_rate_hz=fs).to_list()
    detector = ContactDetector(sampling_rate_hz=fs)
    chunk = round(0.025 * fs)
    streamed = []
    for i in range(0, left.size, chunk):
        streamed += detector.feed(left[i : i + chunk])
    streamed += detector.finish()
    assert streamed == offline
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, left.size, 3000))
    detector = ContactDetector(sampling_rate_hz=fs)
    streamed = [c for part in np.split(left, cuts) for c in detector.feed(part)]
    assert streamed + detector.finish() == offline


# ---------------------------------------------------------------------------- force plate


def test_fukuchi_running_force_plate_every_contact_once() -> None:
    need(FUKUCHI)
    (fy,), fs = read_table(FUKUCHI, columns=["Fy"], sampling_rate_hz=FUKUCHI_RATE_HZ)
    assert fs == FUKUCHI_RATE_HZ
    contacts = detect_contacts(fy, sampling_rate_hz=fs, **FORCE_PLATE_GATES)  # type: ignore[arg-type]
    # The record ends during a contact: that step is kept, its toe-off (the last sample)
    # flagged and left out of contact times.
    valid = contacts.toe_off_valid
    assert valid[:-1].all()
    assert not valid[-1]
    assert contacts.toe_off_index[-1] == pytest.approx(fy.size - 1)
    contact_s, flight_s = contacts.contact_s[valid], contacts.swing_s
    hs_s, to_s = contacts.heel_strike_s[valid], contacts.toe_off_s[valid]
    print(
        f"\nFukuchi RBDS001 2.5 m/s: {len(contacts)} contacts; "
        f"contact {np.median(contact_s):.3f} s "
        f"[{contact_s.min():.3f}-{contact_s.max():.3f}], flight {np.median(flight_s):.3f} s "
        f"[{flight_s.min():.3f}-{flight_s.max():.3f}]; impact peaks "
        f"{int(np.isfinite(contacts.impact_peak_n).sum())} (forefoot striker)"
    )
    assert np.all((contact_s > 0.2) & (contact_s < 0.35))
    assert np.all(flight_s > 0.05)  # running: a flight phase separates every pair of contacts
    assert np.isfinite(contacts.impact_peak_n).sum() <= 2  # RBDSinfo: forefoot strike

    # Gold standard: a 20-50 N threshold, offline. Both ends of that band as references.
    medians = {}
    for threshold_n in (20.0, 50.0):
        ref_on, ref_off = threshold_reference(fy, fs, threshold_n)
        pairs = match(hs_s, ref_on, TOLERANCE_S)
        assert pairs.shape[0] == ref_on.size == hs_s.size  # every whole contact found once
        hs_ms = 1000 * (hs_s[pairs[:, 0]] - ref_on[pairs[:, 1]])
        to_ms = 1000 * (to_s[pairs[:, 0]] - ref_off[pairs[:, 1]])
        medians[threshold_n] = (float(np.median(hs_ms)), float(np.median(to_ms)))
        print(
            f"  vs {threshold_n:.0f} N reference: heel strike median {np.median(hs_ms):+.1f} ms "
            f"(MAE {np.mean(np.abs(hs_ms)):.1f}), toe-off median {np.median(to_ms):+.1f} ms "
            f"(MAE {np.mean(np.abs(to_ms)):.1f})"
        )
    assert abs(medians[20.0][0]) < 3.0
    assert abs(medians[50.0][0]) < 3.0
    # Toe-off lies within the band the 20-50 N gold standard spans (its tail lasts ~11 ms).
    assert medians[20.0][1] < 3.0
    assert medians[50.0][1] > -3.0


# ---------------------------------------------------------------------------- gaitpdb


def gaitpdb_files() -> list[Path]:
    return sorted(GAITPDB.glob("*_*.txt")) if GAITPDB.is_dir() else []


@pytest.mark.parametrize("path", gaitpdb_files() or [GAITPDB / "absent"], ids=lambda p: p.stem)
def test_gaitpdb_left_and_right_counts_agree(path: Path) -> None:
    need(path)
    _, left, right, fs = read_gaitpdb(path)
    n_left = len(detect_contacts(left.sum(axis=1), sampling_rate_hz=fs))
    n_right = len(detect_contacts(right.sum(axis=1), sampling_rate_hz=fs))
    print(f"\n{path.stem}: left {n_left} contacts, right {n_right}")
    assert n_left > 10
    assert abs(n_left - n_right) <= 2


# ---------------------------------------------------------------------------- readers


def test_read_gaitpdb_shapes_positions_and_totals() -> None:
    path = need(GAITPDB / "GaCo13_10.txt")
    time_s, left, right, fs = read_gaitpdb(path)
    raw = np.loadtxt(path)
    assert fs == 100.0
    assert left.shape == right.shape == (raw.shape[0], 8)
    np.testing.assert_allclose(time_s, raw[:, 0])
    np.testing.assert_allclose(left.sum(axis=1), raw[:, 17], atol=0.02)
    np.testing.assert_allclose(right.sum(axis=1), raw[:, 18], atol=0.02)
    assert GAITPDB_SENSOR_XY.shape == (2, 8, 2)
    assert GAITPDB_SENSOR_XY[0, 0, 1] < GAITPDB_SENSOR_XY[0, 7, 1]  # heel behind hallux
    np.testing.assert_array_equal(GAITPDB_SENSOR_XY[1, :, 0], -GAITPDB_SENSOR_XY[0, :, 0])


def test_read_gaitndd_signals_and_annotations() -> None:
    need(GAITNDD / "control1.hea")
    left, right, fs, invalid = read_gaitndd(GAITNDD / "control1")
    assert fs == 300.0
    assert left.shape == right.shape == (90000,)
    assert invalid.shape == (90000, 2)
    assert not invalid.any()
    ann = read_gaitndd_annotations(GAITNDD / "control1.ts")
    assert len(ann) == 13
    assert np.all(np.diff(ann["elapsed_s"]) > 0)
    np.testing.assert_allclose(
        ann["left_stance_s"] + ann["left_swing_s"], ann["left_stride_s"], atol=0.002
    )


def test_read_table_formats_and_rate_inference(tmp_path: Path) -> None:
    csv_path = tmp_path / "export.csv"
    csv_path.write_text('"time_s","Fz"\n0.00,1.5\n0.01,2.5\n0.02,\n0.03,4\n')
    (t, fz), fs = read_table(csv_path, columns=["time_s", "fz"], time_column="time_s")
    assert fs == pytest.approx(100.0)
    np.testing.assert_allclose(fz, [1.5, 2.5, np.nan, 4.0])
    np.testing.assert_allclose(t, [0.0, 0.01, 0.02, 0.03])
    ws = tmp_path / "plate.txt"
    ws.write_text("Time  Fy\n1  10\n2  20\n")
    (fy,), fs = read_table(ws, columns=["Fy"])
    assert fs is None
    np.testing.assert_allclose(fy, [10.0, 20.0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("Time\tFy\n", "header line and data lines"),
        ("Time\tFx\n1\t2\n", "no column 'Fy'"),
        ("Time\tFy\n1\tabc\n", "not a number"),
    ],
)
def test_read_table_errors_are_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.txt"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ImportFormatError, match=message) as info:
        read_table(path, columns=["Fy"], sampling_rate_hz=300.0)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, InsoleError)
    assert "\n" not in str(info.value)
    assert info.value.path == path


def test_physionet_readers_reject_malformed_input(tmp_path: Path) -> None:
    bad = tmp_path / "GaXx01_01.txt"
    bad.write_text("0.0 1 2 3\n")
    with pytest.raises(ImportFormatError, match="19 columns"):
        read_gaitpdb(bad)
    with pytest.raises(ImportFormatError, match="not found"):
        read_gaitndd(tmp_path / "nothing")
    with pytest.raises(ImportFormatError, match="not found"):
        read_gaitndd_annotations(tmp_path / "nothing")
