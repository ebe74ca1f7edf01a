"""The one signal path: simulator ground truth, any-split invariance, live == offline."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core.pipeline import Pipeline
from insole.recordings.container import read_raw_recording
from insole.session.analysis import SessionAnalysis, summarise_session
from insole.session.text import print_summary

RECORDINGS = Path(__file__).parents[2] / "recordings"


def _truth(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _match(rows, truth, side):
    """Pair each true heel strike with the nearest detected one on that side."""
    det = np.array([r["heel_strike_s"] for r in rows if r["side"] == side])
    out = []
    for t in truth:
        if t["side"] != side:
            continue
        t0 = float(t["heel_strike_s"])
        j = int(np.argmin(np.abs(det - t0))) if len(det) else -1
        out.append((t, j, det[j] - t0 if j >= 0 else math.inf))
    return det, out


@pytest.fixture(
    scope="module",
    params=[(s, loss) for s in ("rearfoot", "midfoot", "forefoot") for loss in (0.0, 0.02)],
    ids=lambda p: f"{p[0]}-loss{p[1]}",
)
def sim_run(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("acc")
    path = d / "run.insrec"
    strike, loss = request.param
    simulate_to_file(
        SimulationRequest(duration_s=120, seed=21, strike=strike, loss=loss),
        path,
        truth_path=d / "truth.csv",
    )
    return path, _truth(d / "truth.csv"), strike, loss


def test_heel_strikes_match_ground_truth(sim_run) -> None:
    path, truth, strike, loss = sim_run
    rows = SessionAnalysis().run(path).steps_
    n_true = len(truth)
    within_1 = 0
    matched = set()  # detected steps within 50 ms of a true one; the rest are extra
    classes = 0
    for side in ("left", "right"):
        det, pairs = _match(rows, truth, side)
        side_rows = [r for r in rows if r["side"] == side]
        for t, j, err in pairs:
            if abs(err) <= 0.05:
                matched.add((side, j))
            if abs(err) <= 1 / 200 + 1e-9:
                within_1 += 1
                classes += side_rows[j]["strike_pattern"] == t["strike_pattern"]
    extra = len(rows) - len(matched)
    # Target: 100 % without loss, >= 99.5 % with 2 % frame loss. With noise-floor heel strikes
    # announced within 30 ms of their onset (bench/sim_accuracy.py --seeds 1-3, 300 s): 100 %
    # without loss in every seed; with loss worst seed 99.41 % (midfoot; 99.53-99.76 % for the
    # other patterns). The misses are contacts whose edge fell into a lost frame (placed by
    # matching recent whole edges), 5.1-5.5 ms late; this 120 s run has four (98.8 %).
    assert within_1 / n_true >= (1.0 if loss == 0 else 0.985)
    assert extra <= max(1, 0.005 * n_true)
    assert classes / within_1 >= 0.95
    summary = SessionAnalysis().run(path).summary_
    assert summary["strike_pattern"][strike] >= 0.95


def test_walking_and_running_contact_times_are_plausible(tmp_path: Path) -> None:
    for gait, lo, hi in (("run", 0.2, 0.32), ("walk", 0.55, 0.8)):
        p = tmp_path / f"{gait}.insrec"
        simulate_to_file(SimulationRequest(duration_s=30, seed=4, gait=gait), p)
        s = SessionAnalysis().run(p).summary_
        assert lo < s["contact_time_s"] < hi
        if gait == "run":
            assert s["flight_time_s"] > 0.03
            assert 160 < s["cadence_spm"] < 180
        else:
            assert s["flight_time_s"] < 0  # double support


def test_regional_shares_sum_to_100_and_heel_loads_rearfoot(tmp_path: Path) -> None:
    p = tmp_path / "r.insrec"
    simulate_to_file(SimulationRequest(duration_s=20, seed=8, strike="rearfoot"), p)
    rows = SessionAnalysis().run(p).steps_
    for r in rows:
        shares = [v for k, v in r.items() if k.endswith("_share_pct") and math.isfinite(v)]
        assert sum(shares) == pytest.approx(100.0, abs=1e-6)
        assert r["heel_impulse_ns"] > 0
        assert math.isfinite(r["loading_rate_index"])  # rearfoot steps have an impact peak
        assert r["strike_pattern"] == "rearfoot"


def test_forefoot_steps_have_no_loading_rate(tmp_path: Path) -> None:
    p = tmp_path / "f.insrec"
    simulate_to_file(SimulationRequest(duration_s=20, seed=8, strike="forefoot"), p)
    rows = SessionAnalysis().run(p).steps_
    assert sum(math.isfinite(r["loading_rate_index"]) for r in rows) <= 0.05 * len(rows)


def test_fatigue_shows_in_the_heel_load_trend(tmp_path: Path) -> None:
    p = tmp_path / "fat.insrec"
    simulate_to_file(SimulationRequest(duration_s=300, seed=9, fatigue_pct=20.0), p)
    trend = SessionAnalysis().run(p).summary_["heel_load_trend"]
    assert trend["change_pct"] > 8.0


def test_asymmetry_shows_in_the_symmetry_index(tmp_path: Path) -> None:
    p = tmp_path / "asym.insrec"
    simulate_to_file(SimulationRequest(duration_s=60, seed=10, asymmetry_pct=15.0), p)
    sym = SessionAnalysis().run(p).summary_["symmetry_pct"]
    assert 8.0 < sym["peak_force_n"] < 22.0


def _rows_equal(a, b) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for k, va in ra.items():
            vb = rb[k]
            if isinstance(va, float) and math.isnan(va):
                if not (isinstance(vb, float) and math.isnan(vb)):
                    return False
            elif va != vb:
                return False
    return True


@pytest.fixture(scope="module")
def faulty_recording(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("faulty") / "faults.insrec"
    simulate_to_file(
        SimulationRequest(
            duration_s=40,
            seed=13,
            strike="mixed",
            loss=0.02,
            burst_loss=0.02,
            garbage_per_min=6,
            link="serial",
        ),
        p,
    )
    return p


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.integers(1, 5000))
def test_steps_are_identical_for_any_chunking(faulty_recording: Path, chunk: int) -> None:
    whole = SessionAnalysis().run(faulty_recording)
    split = SessionAnalysis(chunk_bytes=chunk).run(faulty_recording)
    assert _rows_equal(whole.steps_, split.steps_)
    assert whole.summary_ == split.summary_ or _same_summary(whole.summary_, split.summary_)


def _same_summary(a, b) -> bool:
    import json

    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_random_uneven_splits_give_identical_steps(faulty_recording: Path) -> None:
    raw = read_raw_recording(faulty_recording)
    rng = np.random.default_rng(3)
    pipe = Pipeline(raw.header)
    steps = []
    for sid, stream in raw.streams.items():
        data = stream.data
        pos = 0
        while pos < len(data):
            n = int(rng.integers(1, 700))
            steps += pipe.feed(sid, data[pos : pos + n]).steps
            pos += n
    steps += pipe.finish().steps
    from insole.core.summary import steps_table

    # Without host times nothing is aligned: compare with the offline pipeline's own records.
    offline_records = SessionAnalysis().run(faulty_recording).records_
    assert _rows_equal(steps_table(steps), steps_table(offline_records))


def test_live_replay_equals_offline_analysis() -> None:
    """Feeding the recorded chunks in arrival order across streams (as live) == offline."""
    path = RECORDINGS / "run_mixed_serial_faults_20s.insrec"
    raw = read_raw_recording(path)
    events = []
    for sid, stream in raw.streams.items():
        for t, data in stream.iter_chunks():
            events.append((t, sid, data))
    events.sort(key=lambda e: e[0])
    pipe = Pipeline(raw.header, emit_samples=True)
    steps = []
    for t, sid, data in events:
        # Live host times are on another time base (time.monotonic()): shifted by a constant.
        steps += pipe.feed(sid, data, 81234.567 + t).steps
    steps += pipe.finish().steps
    rows, summary = summarise_session(pipe, steps, raw.header)

    offline = SessionAnalysis().run(path)
    assert _rows_equal(rows, offline.steps_)
    assert summary["clock_alignment"] == offline.summary_["clock_alignment"]
    assert summary["clock_alignment"]["applied"]
    assert len(offline.steps_) > 40


def test_early_heel_strikes_come_before_their_steps_with_the_same_times(tmp_path: Path) -> None:
    path = tmp_path / "run.insrec"
    simulate_to_file(SimulationRequest(duration_s=30, seed=4, loss=0.01), path)
    raw = read_raw_recording(path)
    pipe = Pipeline(raw.header)
    announced: dict[str, list[float]] = {"left": [], "right": []}
    retracted: dict[str, list[float]] = {"left": [], "right": []}
    steps: list = []
    for sid, stream in raw.streams.items():
        for _, data in stream.iter_chunks():  # live: one received chunk at a time
            update = pipe.feed(sid, data)
            for side, t in update.heel_strikes:
                announced[side].append(t)
            for side, t in update.retracted_heel_strikes:
                retracted[side].append(t)
            for step in update.steps:  # a step comes only after its heel strike was announced
                assert step.heel_strike_s in announced[step.side]
            steps += update.steps
    end = pipe.finish()
    steps += end.steps
    for side, t in end.heel_strikes:
        announced[side].append(t)
    for side, t in end.retracted_heel_strikes:
        retracted[side].append(t)
    for side in ("left", "right"):
        hs = sorted(s.heel_strike_s for s in steps if s.side == side)
        assert len(hs) > 30
        # Every step's heel strike was announced, and every other announcement was retracted
        # (here: at most a contact in progress at the end that was no step by then).
        for t in retracted[side]:
            announced[side].remove(t)
        assert sorted(announced[side]) == hs
        assert len(retracted[side]) <= 1


def test_steps_ending_in_standing_and_cut_contacts_are_reported(tmp_path: Path) -> None:
    from insole.core.layouts import single_sensor_layout
    from insole.sources.importers.convert import ImportedDevice, write_import

    fs = 100.0
    t = np.arange(int(40 * fs)) / fs
    on = 0.6 + 1.1 * np.arange(30)
    x = np.zeros_like(t)
    for t0 in on:  # 0.7 s trapezoid contacts, 0.1 s ramps
        x = np.maximum(x, np.clip(np.minimum(t - t0, t0 + 0.7 - t) / 0.1, 0.0, 1.0))
    x[(t >= on[20]) & (t < on[25] - 0.3)] = 1.0  # steps onto one foot and stands for 5.2 s
    x[t >= 39.5] = 1.0  # a contact still in progress at the end
    device = ImportedDevice(
        side="left",
        values=(700.0 * x)[:, None],
        time_s=t,
        layout=single_sensor_layout(),
        unit="N",
        columns=["F"],
        device_id=1,
        label="test plate",
    )
    path = tmp_path / "standing.insrec"
    write_import(path, fmt="table", source=__file__, devices=[device], sample_rate_hz=fs)
    analysis = SessionAnalysis().run(path)
    s = analysis.summary_
    assert s["steps_ending_standing"] == 1
    # The contact in progress at the end is a step (0.5 s, fully loaded), its toe-off flagged.
    assert s["contacts_cut"] == {"start": 0, "end": 0, "end_counted": 1}
    flagged = [r for r in analysis.steps_ if not r["toe_off_valid"]]
    assert len(flagged) == 2
    assert flagged[0]["heel_strike_s"] == pytest.approx(on[20], abs=0.011)  # a step edge
    assert flagged[1]["heel_strike_s"] == pytest.approx(39.5, abs=0.011)
    # The 3 s "contact" of the standing step and the cut one are left out of the contact time.
    assert s["contact_time_s"] == pytest.approx(0.7 - 2 * 0.003, abs=0.01)
    assert s["step_count"] == len(on) - 4 + 1  # steps 21-24 happened while standing
    text = io.StringIO()
    print_summary(s, out=text)
    assert "1 cut by the end of the recording (counted; no contact time)" in text.getvalue()


def test_compact_steps_equal_the_steps_of_kept_records(faulty_recording: Path) -> None:
    full = SessionAnalysis().run(faulty_recording)
    lean = SessionAnalysis(keep_records=False).run(faulty_recording)
    assert lean.records_ == []
    assert len(full.records_) == len(lean.steps_) > 50
    assert _rows_equal(list(full.steps_), list(lean.steps_))
    assert full.summary_ == lean.summary_ or _same_summary(full.summary_, lean.summary_)
    table = lean.steps_
    rows = list(table)
    assert _rows_equal([table[i] for i in range(len(table))], rows)  # indexing == iteration
    assert _rows_equal([table[-1]], rows[-1:])
    assert _rows_equal(table[1:3], rows[1:3])
    np.testing.assert_array_equal(table.column("heel_strike_s"), [r["heel_strike_s"] for r in rows])
    assert list(rows[0]) == list(table[0])  # same key order as every row
    with pytest.raises(IndexError):
        table[len(table)]
