"""Targets of the contact detector on public recordings, via ``bench/validate.py``.

The data tests skip when ``../shared/data`` is absent; the synthetic sanity tests of the
references always run. ``python bench/validate.py`` prints the same figures as tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from helpers_bench import load_bench  # tests/ is on the path (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"




@pytest.fixture(scope="module")
def validate() -> ModuleType:
    return load_bench("validate")


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")


@pytest.fixture(scope="module")
def gaitndd(validate: ModuleType) -> list[dict[str, Any]]:
    _need(validate.GAITNDD_DIR)
    pytest.importorskip("wfdb")
    return validate.gaitndd_rows()


@pytest.fixture(scope="module")
def gaitpdb(validate: ModuleType) -> list[dict[str, Any]]:
    _need(validate.GAITPDB_DIR)
    return validate.gaitpdb_rows()


@pytest.fixture(scope="module")
def plate(validate: ModuleType) -> dict[str, Any]:
    _need(validate.PLATE_FILE)
    return validate.forceplate_row()


def _failing(rows: list[dict[str, Any]], ok: Any) -> list[str]:
    return [f"{r['record']} {r['side']}: {validate_summary(r)}" for r in rows if not ok(r)]


def validate_summary(row: dict[str, Any]) -> str:
    keys = (
        "n_ref",
        "n_det",
        "pct_matched",
        "median_ms",
        "p90_abs_ms",
        "extras",
        "lost",
        "invented",
        "lr_diff",
    )
    return ", ".join(
        f"{k}={row[k]:.1f}" if isinstance(row[k], float) else f"{k}={row[k]}"
        for k in keys
        if k in row
    )


# --- targets -----------------------------------------------------------------------------------
# The targets ("Core v2", done-when) are asserted where the detector meets them
# (left/right counts, every gaitpdb foot, running force plate). Where it does not yet (gaitndd
# hunt5, als4, als5 extras: see docs/events.md "Validation"), the tests guard
# the figures reached so far, so that a change that loses ground fails; the targets are in
# the messages.


def test_gaitndd_left_heel_strikes_match_annotations(gaitndd: list[dict[str, Any]]) -> None:
    assert len(gaitndd) == 11
    high = [r for r in gaitndd if r["pct_matched"] >= 98.0]
    # Target: >= 98 % in at least 10 of 11 records, >= 95 % in all.
    assert len(high) >= 9, _failing(gaitndd, lambda r: r["pct_matched"] >= 98.0)
    assert all(r["pct_matched"] >= 95.0 for r in gaitndd), _failing(
        gaitndd, lambda r: r["pct_matched"] >= 95.0
    )


def test_gaitndd_extras(gaitndd: list[dict[str, Any]]) -> None:
    # Target: <= 1 % extras in every record.
    assert sum(r["pct_extras"] <= 1.0 for r in gaitndd) >= 8, _failing(
        gaitndd, lambda r: r["pct_extras"] <= 1.0
    )
    assert all(r["pct_extras"] <= 2.0 for r in gaitndd), _failing(
        gaitndd, lambda r: r["pct_extras"] <= 2.0
    )
    # The figures of 2026-12-07 (docs/events.md): 14 annotated steps of 2,687 more than 50 ms
    # from a heel strike, 10 heel strikes of 2,683 more than 50 ms from an annotated step.
    assert sum(r["misses"] for r in gaitndd) <= 14
    assert sum(r["extras"] for r in gaitndd) <= 10


def test_gaitndd_extras_are_timing_not_count(gaitndd: list[dict[str, Any]]) -> None:
    # The extras at 50 ms are steps timed further away, not steps invented: at a quarter of a
    # stride (COUNT_TOLERANCE_S) no record has a detection without its annotated step, and
    # only hunt5's two partial unloads (to 36-37 % of the range) are lost.
    assert all(r["invented"] == 0 for r in gaitndd), _failing(gaitndd, lambda r: r["invented"] == 0)
    assert sum(r["lost"] for r in gaitndd) <= 2, _failing(gaitndd, lambda r: r["lost"] == 0)
    assert all(r["lost"] <= r["misses"] and r["invented"] <= r["extras"] for r in gaitndd)


def test_gaitpdb_feet_match_noise_floor_onsets(gaitpdb: list[dict[str, Any]]) -> None:
    assert len(gaitpdb) == 38
    # Target: >= 97 % on every foot.
    assert all(r["pct_matched"] >= 97.0 for r in gaitpdb), _failing(
        gaitpdb, lambda r: r["pct_matched"] >= 97.0
    )


def test_gaitpdb_left_right_counts_agree(gaitpdb: list[dict[str, Any]]) -> None:
    assert all(abs(r["lr_diff"]) <= 2 for r in gaitpdb), _failing(
        gaitpdb, lambda r: abs(r["lr_diff"]) <= 2
    )


def test_forceplate_onsets_contact_times(plate: dict[str, Any]) -> None:
    summary = validate_summary(plate)
    assert plate["pct_matched"] >= 98.0, summary
    assert plate["median_abs_ms"] <= 3.0, summary
    assert abs(plate["contact_diff_ms"]) <= 10.0, (
        f"contact time {plate['contact_det_ms']:.1f} ms vs plate {plate['contact_ref_ms']:.1f}"
    )


@pytest.mark.parametrize("faster", [1.25, 1.5])
def test_forceplate_faster_cadence_short_flights(
    validate: ModuleType, tmp_path: Path, faster: float
) -> None:
    """The running plate replayed 1.25 and 1.5 times faster: flights of 59-83 ms (other runners).

    RBDS001's flights last 84-104 ms at 50 N; a jogger's are 35-100 ms (`PLATE_UNDER_BOTH_FEET`).
    With a foot's 0.1 s bridge the first contacts merged (92.2 and 87.0 % within 10 ms).
    """
    _need(validate.PLATE_FILE)
    (fy,), fs = validate.read_table(
        validate.PLATE_FILE, columns=["Fy"], sampling_rate_hz=validate.PLATE_RATE_HZ
    )
    t = np.arange(fy.size) / fs
    squeezed = np.interp(np.arange(0, t[-1] / faster, 1 / fs) * faster, t, fy)
    path = tmp_path / "RBDS901runT45forces.txt"
    path.write_text("Time\tFy\n" + "".join(
        f"{i + 1}\t{v:.2f}\n" for i, v in enumerate(squeezed)))
    row = validate.forceplate_row(path)
    flight_s = np.diff(validate.plate_reference(squeezed, fs)["onset_s"]) - (
        row["contact_ref_ms"] / 1000)
    assert flight_s.min() < 0.084  # shorter than any of RBDS001's
    summary = validate_summary(row)
    assert row["n_ref"] == 77
    assert row["pct_matched"] >= 98.0, summary
    assert row["median_abs_ms"] <= 3.0, summary
    assert abs(row["contact_diff_ms"]) <= 10.0, summary


def test_gaitpdb_residual_load_in_swing(validate: ModuleType, tmp_path: Path) -> None:
    """Insoles whose unloaded sensors keep 5 N each (40 N a foot): the figures of the originals.

    JuPt13_01 and GaPt03_01, whose light first touches need the swing's own level as the air
    (docs/events.md step 2): measured from 0 N they gave 91.8 / 89.9 and 96.2 / 98.7 %.
    """
    _need(validate.GAITPDB_DIR)
    folder = tmp_path / "gaitpdb"
    folder.mkdir()
    for name in ("JuPt13_01", "GaPt03_01"):
        table = np.loadtxt(validate.GAITPDB_DIR / f"{name}.txt")
        table[:, 1:17] += 5.0
        table[:, 17] = table[:, 1:9].sum(axis=1)
        table[:, 18] = table[:, 9:17].sum(axis=1)
        np.savetxt(folder / f"{name}.txt", table, fmt="%.6g", delimiter="\t")
    shifted = {(r["record"], r["side"]): r for r in validate.gaitpdb_rows(folder)}
    original = {(r["record"], r["side"]): r for r in validate.gaitpdb_rows()}
    assert len(shifted) == 4
    for key, row in shifted.items():
        assert row["pct_matched"] >= 97.0, (key, validate_summary(row))
        assert row["pct_matched"] == pytest.approx(original[key]["pct_matched"], abs=0.8), key
        assert row["n_det"] == original[key]["n_det"], key


# --- sanity of the references themselves -----------------------------------------------------


def test_forceplate_reference_finds_every_contact(validate: ModuleType) -> None:
    _need(validate.PLATE_FILE)
    (fy,), fs = validate.read_table(
        validate.PLATE_FILE, columns=["Fy"], sampling_rate_hz=validate.PLATE_RATE_HZ
    )
    ref = validate.plate_reference(fy, fs)
    assert ref["onset_s"].size == 77
    assert ref["threshold_n"] == pytest.approx(50.0)
    contact_s = ref["toe_off_s"] - ref["onset_s"]
    assert np.all((contact_s > 0.2) & (contact_s < 0.35))  # running at 2.5 m/s
    flight_s = ref["onset_s"][1:] - ref["toe_off_s"][:-1]
    assert np.all(flight_s > 0.0)


def test_gaitpdb_reference_left_right_counts_similar(gaitpdb: list[dict[str, Any]]) -> None:
    assert all(abs(r["ref_lr_diff"]) <= 2 for r in gaitpdb)
    for r in gaitpdb:
        assert r["n_ref"] >= 40, r["record"]


def test_gaitndd_reference_contacts_follow_annotations(validate: ModuleType) -> None:
    """The noise-floor segmentation finds the annotated strides (within 100 ms)."""
    _need(validate.GAITNDD_DIR)
    pytest.importorskip("wfdb")
    for record in validate.GAITNDD_RECORDS:
        base = validate.GAITNDD_DIR / record
        left, _, fs, _ = validate.read_gaitndd(base)
        marks = validate.read_gaitndd_annotations(base)["elapsed_s"]
        onsets = validate.noise_floor_events(left, fs)["onset_s"]
        row = validate.compare(onsets, marks, 0.1)
        assert row["pct_matched"] >= 93.0, record
        reference, replaced = validate.gaitndd_references(left, fs, marks)
        assert np.all(reference <= marks)
        assert np.all(marks - reference <= validate.TWO_PHASE_MAX_LEAD_S)
        if record.startswith("control"):
            assert replaced.mean() < 0.2, record  # mostly single-phase strikes


def test_noise_floor_of_a_short_swing_stays_at_the_swing(validate: ModuleType) -> None:
    """A swing whose middle holds the push-off's tail and the next rise keeps a low floor.

    gaitpdb GaCo14_10, left foot, the contact at 117.84 s: the 0.9 s "swing" before it begins
    on the previous push-off (down from 270 N) and ends on the rise. The plain SD of its middle
    half put the "noise floor" at 300 N, 42 % of the range; the robust SD keeps it at the
    range floor (2 % of the range) above the zero swing.
    """
    path = validate.GAITPDB_DIR / "GaCo14_10.txt"
    _need(path)
    _, left, _, fs = validate.read_gaitpdb(path)
    x = left.sum(axis=1)
    onsets = validate.noise_floor_events(x, fs)["onset_s"]
    near = onsets[np.abs(onsets - 117.8) < 0.2]
    assert near.size == 1
    p5, p95 = np.nanpercentile(x, [5.0, 95.0])
    i = int(near[0] * fs)
    assert x[i] <= 0.02 * (p95 - p5) < x[i + 1]  # the first sample of the rise


def _synthetic(
    fs: float, seed: int, swing_level: float, noise_sd: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trapezoid contacts (60 ms rise, 100 ms fall, 600-900 N) on a noisy swing level.

    The onsets and toe-offs fall between samples. Returns (signal, onsets_s, toe_offs_s).
    """
    rng = np.random.default_rng(seed)
    duration = 60.0
    n = int(duration * fs)
    t = np.arange(n) / fs
    x = np.full(n, swing_level)
    onsets, offs = [], []
    t0 = 1.0 + rng.uniform(0, 1 / fs)
    while t0 < duration - 2.0:
        contact = rng.uniform(0.55, 0.65)
        shape = np.clip(np.minimum((t - t0) / 0.06, (t0 + contact - t) / 0.10), 0.0, 1.0)
        x += rng.uniform(600, 900) * shape
        onsets.append(t0)
        offs.append(t0 + contact)
        t0 += contact + rng.uniform(0.4, 0.5)
    x += rng.normal(0.0, noise_sd, n)
    return x, np.array(onsets), np.array(offs)


@pytest.mark.parametrize(("fs", "swing_level", "noise_sd"), [(100.0, 0.0, 1.0), (300.0, 17.0, 3.0)])
def test_noise_floor_reference_on_synthetic_signal(
    validate: ModuleType, fs: float, swing_level: float, noise_sd: float
) -> None:
    x, onsets, offs = _synthetic(fs, 3, swing_level, noise_sd)
    ref = validate.noise_floor_events(x, fs)
    row = validate.compare(ref["onset_s"], onsets, 1.0 / fs)
    # The first contact has no swing measured before it, the last none after it.
    assert row["pct_matched"] >= 100.0 * (onsets.size - 1) / onsets.size
    assert row["extras"] == 0
    err = ref["onset_s"][row["det_idx"]] - onsets[row["ref_idx"]]
    assert np.all(np.abs(err) <= 1.0 / fs)
    to_row = validate.compare(ref["toe_off_s"], offs, 1.0 / fs)
    assert to_row["pct_matched"] >= 100.0 * (offs.size - 2) / offs.size


def test_match_events_nearest_unused(validate: ModuleType) -> None:
    det = np.array([1.00, 1.02, 2.00, 5.0])
    ref = np.array([1.01, 1.015, 2.04, 3.0])
    d, r = validate.match_events(det, ref, 0.05)
    assert list(zip(d.tolist(), r.tolist(), strict=True)) == [(0, 0), (1, 1), (2, 2)]


def test_main_json(validate: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    _need(validate.PLATE_FILE)
    assert validate.main(["--dataset", "forceplate", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["forceplate"][0]["n_ref"] == 77


def test_data_option_runs_every_record_of_another_folder(
    validate: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--data DIR`` runs the records found there (e.g. more records of the same datasets)."""
    _need(validate.GAITNDD_DIR)
    _need(validate.GAITPDB_DIR)
    _need(validate.PLATE_FILE)
    pytest.importorskip("wfdb")
    for sub in ("gaitndd", "gaitpdb", "running_forceplate"):
        (tmp_path / sub).mkdir()
    for ext in ("hea", "let", "rit", "ts"):
        name = f"park4.{ext}"
        (tmp_path / "gaitndd" / name).write_bytes((validate.GAITNDD_DIR / name).read_bytes())
    # A record without its annotations is not one the harness can judge: it is passed over.
    (tmp_path / "gaitndd" / "hunt9.hea").write_bytes(b"")
    (tmp_path / "gaitpdb" / "SiPt22_01.txt").write_bytes(
        (validate.GAITPDB_DIR / "SiPt22_01.txt").read_bytes()
    )
    plate = validate.PLATE_FILE.read_bytes()
    for name in ("RBDS001runT25forces.txt", "RBDS099runT35forces.txt"):
        (tmp_path / "running_forceplate" / name).write_bytes(plate)
    assert validate.main(["--data", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert [r["record"] for r in figures["gaitndd"]] == ["park4"]
    assert [(r["record"], r["side"]) for r in figures["gaitpdb"]] == [
        ("SiPt22_01", "L"), ("SiPt22_01", "R")
    ]
    assert [r["record"] for r in figures["forceplate"]] == ["RBDS001runT25", "RBDS099runT35"]
    assert "skipped" not in figures
    shared = {r["record"]: r for r in validate.gaitndd_rows()}
    assert figures["gaitndd"][0]["pct_matched"] == shared["park4"]["pct_matched"]


def test_a_record_that_cannot_be_judged_is_skipped_and_said(
    validate: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One truncated or degenerate record of a whole dataset does not stop the run."""
    _need(validate.GAITPDB_DIR)
    _need(validate.PLATE_FILE)
    for sub in ("gaitpdb", "running_forceplate"):
        (tmp_path / sub).mkdir()
    walk = (validate.GAITPDB_DIR / "SiPt22_01.txt").read_text().splitlines()
    (tmp_path / "gaitpdb" / "SiPt22_01.txt").write_text("\n".join(walk) + "\n")
    (tmp_path / "gaitpdb" / "GaCo99_01.txt").write_text("\n".join(walk[:50]) + "\n")  # 0.5 s
    plate = tmp_path / "running_forceplate"
    (plate / "RBDS001runT25forces.txt").write_bytes(validate.PLATE_FILE.read_bytes())
    (plate / "RBDS098runT25forces.txt").write_text("Time\tFx\tFy\n")  # no data
    assert validate.main(["--data", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert {r["record"] for r in figures["gaitpdb"]} == {"SiPt22_01"}
    assert [r["record"] for r in figures["forceplate"]] == ["RBDS001runT25"]
    skipped = {s["record"]: s["reason"] for s in figures["skipped"]}
    assert set(skipped) == {"GaCo99_01", "RBDS098runT25forces"}
    assert "no reference contact" in skipped["GaCo99_01"]
    assert "validate: skipped GaCo99_01" in captured.err
    assert validate.main(["--data", str(tmp_path)]) == 0  # the tables, and the skipped said
    assert "skipped 2 records (not in the tables)" in capsys.readouterr().out


def test_gaitndd_records_in_table_order(validate: ModuleType, tmp_path: Path) -> None:
    for name in ("als10", "control2", "hunt1", "als2", "park11", "park3", "other1"):
        for ext in ("hea", "let", "rit", "ts"):
            (tmp_path / f"{name}.{ext}").write_bytes(b"")
    (tmp_path / "control9.hea").write_bytes(b"")  # no .let/.rit/.ts
    assert validate.gaitndd_records(tmp_path) == [
        "control2", "park3", "park11", "hunt1", "als2", "als10", "other1"
    ]


@pytest.mark.parametrize("make", [False, True])
def test_data_folder_missing_or_empty_is_one_line_and_status_2(
    validate: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], make: bool
) -> None:
    folder = tmp_path / "data"
    if make:
        folder.mkdir()
    assert validate.main(["--data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(folder) in err


# --- generality (bench/invariance.py) ------------------------------------------------------------
# No threshold of the detector is in absolute units: a heavier runner, another sensor
# sensitivity or a footswitch's supply offset changes no event. Other sampling rates keep
# every step (the timing moves by the resampling).


@pytest.fixture(scope="module")
def invariance() -> ModuleType:
    return load_bench("invariance")


@pytest.mark.parametrize("change", [{"gain": 0.5}, {"gain": 3.0}, {"offset": 0.2}])
def test_gain_and_offset_change_no_figure(
    validate: ModuleType,
    invariance: ModuleType,
    gaitndd: list[dict[str, Any]],
    gaitpdb: list[dict[str, Any]],
    change: dict[str, float],
) -> None:
    with invariance.detector_changed(change):
        changed = validate.gaitndd_rows()
        if "offset" not in change:  # force in N keeps its zero
            changed_pdb = validate.gaitpdb_rows()
    assert invariance.figures([validate._public(r) for r in changed]) == invariance.figures(
        [validate._public(r) for r in gaitndd]
    )
    if "offset" not in change:
        assert invariance.figures(
            [validate._public(r) for r in changed_pdb]
        ) == invariance.figures([validate._public(r) for r in gaitpdb])


@pytest.mark.parametrize("rate_hz", [200.0, 500.0])
def test_other_sampling_rates_keep_every_step(
    validate: ModuleType,
    invariance: ModuleType,
    gaitpdb: list[dict[str, Any]],
    rate_hz: float,
) -> None:
    with invariance.detector_changed({"rate": rate_hz}):
        changed = validate.gaitpdb_rows()
    for before, after in zip(gaitpdb, changed, strict=True):
        assert (after["lost"], after["invented"], after["lr_diff"]) == (
            before["lost"], before["invented"], before["lr_diff"]
        ), f"{after['record']} {after['side']}"
        assert after["pct_matched"] >= 97.0, validate_summary(after)
