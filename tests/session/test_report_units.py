"""Reports and summaries of recordings whose force unit is not newtons; left/right wording.

The recordings are built here with the project's importers: a footswitch table in ADC counts
around a mid-scale offset (negative in swing, as PhysioNet gaitndd stores it), a stAPPone-like
CSV of 12 raw channels on a resting level, and a two-foot table in newtons whose steps have an
impact peak (so a loading-rate index) on a few left steps only. The QA recordings themselves
(gaitndd control1, gaitpdb GaCo01_01, the stAPPone example) are re-imported from
``../shared/data`` when it is there; those tests skip without it.
"""

from __future__ import annotations

import html as html_lib
import math
import re
from pathlib import Path

import numpy as np
import pytest

import insole
from insole.cli import main
from insole.session.analysis import SessionAnalysis
from insole.session.plain import MIN_SYMMETRY_STEPS, balance, balance_text, compare_sides

DATA = Path(__file__).parents[2].parent / "shared" / "data"

#: Footswitch levels of the table below [counts]: swing, and the contact's height above it.
SWING = {"left": -1700.0, "right": -1950.0}
RISE = {"left": 2600.0, "right": 2500.0}


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def _contact(n: int, height: float, impact: bool) -> np.ndarray:
    x = np.linspace(0.0, 1.0, n)
    f = height * np.sin(np.pi * x) ** 1.5
    if impact:  # a heel transient in the first tenth: an impact peak, so a loading rate
        f = f + 0.6 * height * np.exp(-(((x - 0.1) / 0.04) ** 2))
    return f


def two_foot_table(
    path: Path,
    *,
    swing: dict[str, float],
    rise: dict[str, float],
    impacts: dict[str, int],
    fs: float = 200.0,
    duration_s: float = 60.0,
) -> Path:
    """Walking at 1.1 s strides, 0.65 s contacts; ``impacts[side]`` first steps with a transient."""
    t = np.arange(0.0, duration_s, 1.0 / fs)
    cols = {}
    for side, shift in (("left", 0.0), ("right", 0.55)):
        f = np.full(len(t), swing[side])
        for k, hs in enumerate(np.arange(0.3 + shift, duration_s - 1.0, 1.1)):
            a, n = int(hs * fs), int(0.65 * fs)
            f[a : a + n] += _contact(n, rise[side], k < impacts[side])
        cols[side] = f
    rows = [f"{a:.4f},{b:.1f},{c:.1f}\n" for a, b, c in zip(t, cols["left"], cols["right"],
                                                               strict=True)]
    path.write_text("time,L,R\n" + "".join(rows))
    return path


def footswitch_recording(folder: Path) -> Path:
    """Two footswitches in ADC counts, negative in swing (gaitndd's digital values)."""
    src = two_foot_table(folder / "fsw.csv", swing=SWING, rise=RISE,
                         impacts={"left": 100, "right": 100})
    out = folder / "fsw.insrec"
    insole.import_file("table", src, out, columns=["L", "R"], time_column="time",
                       unit="counts")
    return out


def report_html(rec: Path, folder: Path) -> str:
    out = folder / (rec.stem + ".html")
    assert main(["report", str(rec), "--out", str(out), "--db", str(folder / "none.sqlite3"),
                 "--quiet"]) == 0
    return re.sub(r"<style>.*?</style>", "", out.read_text(), flags=re.S)


def section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}">')[1].split("</section>")[0]


def no_kpa(html: str) -> bool:
    """No pressure figure, label or scale in kPa (the legend may say why there is none)."""
    return re.search(r"\d\s*kPa|\[kPa\]|>kPa<", html) is None


def visible_text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def curve_charts(html: str) -> list[str]:
    return re.findall(r'<svg[^>]*aria-label="\w+ force curve".*?</svg>', section(html, "force"),
                      re.S)


# --- 1. every label in the recording's own unit; no kPa from counts ----------------------------


def test_counts_report_labels_in_counts_and_gives_no_kpa(tmp_path: Path) -> None:
    html = report_html(footswitch_recording(tmp_path), tmp_path)
    charts = curve_charts(html)
    assert len(charts) == 2
    for chart in charts:
        assert '>counts (relative)</text>' in chart  # the force axis
        assert 'class="xl">N</text>' not in chart
    dist = section(html, "distributions")
    assert 'class="xl">counts (relative)</text>' in dist  # the heel-peak histogram's axis
    assert 'class="xl">N</text>' not in dist
    text = visible_text(html)
    assert no_kpa(html)
    assert "Highest sensor: " in text
    assert " counts; colour scale 0-" in text
    assert "not pressures" in text
    assert "loads in newtons" not in text
    assert "no profile; loads in counts: this recording's sensors are not calibrated" in text
    assert re.search(r"heel peak [\d,]+ counts per step", text)


def test_uncalibrated_sensor_map_gives_counts_above_each_sensors_swing(tmp_path: Path) -> None:
    """12 raw channels resting at 300-520 counts: the map shows each sensor's rise, in counts."""
    fs, n = 62.5, 4600
    rest = 300.0 + 20.0 * np.arange(12)
    rise = 100.0 + 40.0 * np.arange(12)
    load = np.zeros(n)
    for hs in np.arange(0.5, n / fs - 1.0, 1.1):
        a, m = int(hs * fs), int(0.65 * fs)
        load[a : a + m] = np.sin(np.pi * np.linspace(0, 1, m)) ** 1.5
    press = np.round(rest[None, :] + load[:, None] * rise[None, :]).astype(int)
    t0 = 1_768_494_979_568
    head = ("sole_id,timestamp,accel_x,accel_y,accel_z,gyro_x,gyro_y,gyro_z,magn_x,magn_y,"
            "magn_z," + ",".join(f"pressure_{i:02d}" for i in range(1, 13)) + ",corrupt\n")
    rows = [f"1,{t0 + 16 * i},0,0,0,0,0,0,0,0,0," + ",".join(map(str, p)) + ",0\n"
            for i, p in enumerate(press)]
    src = tmp_path / "st.csv"
    src.write_text(head + "".join(rows))
    rec = tmp_path / "st.insrec"
    insole.import_file("stappone", src, rec, sides="left")
    html = report_html(rec, tmp_path)
    pressure = section(html, "pressure")
    assert "mean peak reading [counts]" in pressure
    assert no_kpa(html)
    shown = [int(v) for v in re.findall(r'class="pv" fill="#[0-9a-f]+">(\d+)</text>', pressure)]
    # each sensor's rise above its own resting level: not the raw reading, not a pressure
    np.testing.assert_allclose(shown, rise, atol=3)


# --- 2. a signal without a true zero stays on its chart; peaks match the figures ----------------


def _points(chart: str) -> list[np.ndarray]:
    out = []
    for pts in re.findall(r'<polyline points="([^"]+)"', chart):
        out.append(np.array([[float(v) for v in p.split(",")] for p in pts.split()]))
    return out


def test_footswitch_curves_span_negative_values_and_explain_the_baseline(tmp_path: Path) -> None:
    rec = footswitch_recording(tmp_path)
    html = report_html(rec, tmp_path)
    summary = SessionAnalysis(keep_records=False).run(rec).summary_
    top, bottom = 22.0, 220.0 - 40.0  # `_Axes` plot area of a 220 px chart
    for chart in curve_charts(html):
        for xy in _points(chart):
            # every sample inside the plot area: swing (negative) and toe-off dips visible
            assert xy[:, 1].min() >= top - 0.1
            assert xy[:, 1].max() <= bottom + 0.1
            assert xy[:, 1].max() > bottom - 0.15 * (bottom - top)  # swing near the bottom
        assert 'class="baseline"' in chart
        ticks = re.findall(r'class="yt">([^<]+)</text>', chart)
        assert any(t.startswith("-") for t in ticks)  # the axis runs below zero
    legend = visible_text(section(html, "force"))
    assert "without a true zero" in legend
    for side in ("left", "right"):
        m = re.search(
            side + r" heel: swing baseline (−?[\d,]+) counts, median heel peak ([\d,]+) counts "
            r"above it, so the heel curve peaks near (−?[\d,]+) counts", legend)
        assert m is not None, legend
        base, peak, near = (float(g.replace(",", "").replace("−", "-")) for g in m.groups())
        assert base == pytest.approx(SWING[side], abs=20)
        assert peak == pytest.approx(summary["per_side"][side]["heel_peak_n"], abs=1)
        # the peak stated is the height above the swing level; the curve reaches swing + rise
        assert near == pytest.approx(SWING[side] + RISE[side], abs=0.02 * RISE[side])


def test_curves_in_newtons_keep_zero_at_the_bottom(tmp_path: Path) -> None:
    rec = Path(__file__).parents[2] / "recordings" / "run_rearfoot_20s.insrec"
    html = report_html(rec, tmp_path)
    for chart in curve_charts(html):
        assert 'class="xl">N</text>' in chart
        ticks = re.findall(r'class="yt">([^<]+)</text>', chart)
        assert ticks[0] == "0"
    assert "mean peak pressure [kPa]" in section(html, "pressure")


# --- 3. left/right: said right, and only on enough steps a side ---------------------------------


@pytest.mark.parametrize(
    ("left", "right"), [(1640.0, 10756.0), (100.0, 104.4), (778.0, 772.0), (50.0, 49.99)]
)
def test_the_words_compare_the_two_sides_directly(left: float, right: float) -> None:
    si = 100.0 * (right - left) / ((left + right) / 2.0)
    words = compare_sides(si)
    hi, lo = max(left, right), min(left, right)
    side = "right" if right > left else "left"
    if hi / lo >= 2:
        assert words == f"{side} {hi / lo:.1f}× {'left' if side == 'right' else 'right'}"
    elif 100 * (hi / lo - 1) < 0.05:
        assert words == "even"
    else:
        assert words == f"{side} {100 * (hi / lo - 1):.1f} % higher"
    shares = balance(si)
    assert shares[1] == pytest.approx(100 * right / (left + right))
    assert balance_text(si).endswith(f"({words})")
    # the QA case: a symmetry index of 147.1 % is not "147.1 % higher"
    assert compare_sides(147.1) == "right 6.6× left"
    assert compare_sides(-200.0) == "only left above zero"


def _lopsided_rates(folder: Path, impacts: dict[str, int]) -> Path:
    src = two_foot_table(folder / "lr.csv", swing={"left": 0.0, "right": 0.0},
                         rise={"left": 800.0, "right": 800.0}, impacts=impacts)
    out = folder / "lr.insrec"
    insole.import_file("table", src, out, columns=["L", "R"], time_column="time")
    return out


def test_left_right_comparison_on_too_few_steps_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = _lopsided_rates(tmp_path, {"left": 3, "right": 30})
    analysis = SessionAnalysis().run(rec)
    per = analysis.summary_["per_side"]
    for side in ("left", "right"):
        rates = np.array([r["loading_rate_index"] for r in analysis.steps_ if r["side"] == side],
                         float)
        assert per[side]["steps_with_value"]["loading_rate_index"] == np.isfinite(rates).sum()
        assert per[side]["steps_with_value"]["heel_peak_n"] == per[side]["steps"]
    assert per["left"]["steps_with_value"]["loading_rate_index"] == 3
    assert "loading_rate_index" in analysis.summary_["symmetry_pct"]  # kept in the data
    assert main(["analyze", str(rec)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "loading-rate index:" in ln)
    assert line.split("loading-rate index:")[1].strip() == (
        f"not compared: a value on 3 left and 30 right steps only (at least "
        f"{MIN_SYMMETRY_STEPS} on each side needed)"
    )
    heel = next(ln for ln in out.splitlines() if "heel peak:" in ln)
    assert "left/right" in out
    assert "%" in heel
    sym = section(report_html(rec, tmp_path), "symmetry")
    assert "not compared: a value on 3 left and 30 right steps only" in sym
    assert "(3 steps)" in sym
    assert "(30 steps)" in sym
    assert len(re.findall(r'<rect x="[\d.]+" y="5" width=', sym)) == 3  # no bar for it


def test_left_right_comparison_on_enough_steps_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = _lopsided_rates(tmp_path, {"left": MIN_SYMMETRY_STEPS, "right": 30})
    assert main(["analyze", str(rec)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "loading-rate index:" in ln)
    assert "not compared" not in line
    assert "left" in line
    assert "right" in line


def test_one_whole_foot_sensor_is_named_whole_foot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(footswitch_recording(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "load, left       whole foot 100 %" in out
    assert "(foot 100)" not in out


# --- the QA recordings, re-imported from ../shared/data -----------------------------------------


def test_gaitpdb_walk_loading_rate_is_not_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "GaCo01_01.insrec"
    insole.import_file("gaitpdb", need(DATA / "gaitpdb" / "GaCo01_01.txt"), rec)
    assert main(["analyze", str(rec)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "loading-rate index:" in ln)
    assert "not compared" in line
    assert "147" not in out
    assert "right 4.4 % higher" in out  # peak force: SI 4.3 %, right/left 1.044


def test_gaitndd_report_draws_the_swing_and_states_where_peaks_lie(tmp_path: Path) -> None:
    rec = tmp_path / "control1.insrec"
    insole.import_file("gaitndd", need(DATA / "gaitndd" / "control1.hea"), rec)
    html = report_html(rec, tmp_path)
    for chart in curve_charts(html):
        for xy in _points(chart):
            assert 22.0 - 0.1 <= xy[:, 1].min()
            assert xy[:, 1].max() <= 180.0 + 0.1
    text = visible_text(html)
    assert no_kpa(html)
    assert "loads in newtons" not in text
    near = {s: int(v.replace(",", "")) for s, v in re.findall(
        r"(left|right) heel: swing baseline −?[\d,]+ counts, median heel peak [\d,]+ counts "
        r"above it, so the heel curve peaks near (−?[\d,]+) counts", text)}
    assert near["left"] == pytest.approx(950, abs=60)  # the tester's "about 950 left, 580 right"
    assert near["right"] == pytest.approx(580, abs=60)


def test_stappone_report_is_in_counts(tmp_path: Path) -> None:
    rec = tmp_path / "stappone.insrec"
    src = need(DATA / "commercial_exports" / "stappone_example.csv")
    insole.import_file("stappone", src, rec, sides="left")
    html = report_html(rec, tmp_path)
    assert no_kpa(html)
    assert 'class="xl">N</text>' not in html
    assert "counts (relative)" in html


def test_plate_summary_counts_no_heel_values(tmp_path: Path) -> None:
    from helpers_plate import plate_recording  # tests/ is on the path (tests/conftest.py)

    from insole.api import plate_summary

    summary = plate_summary(SessionAnalysis().run(plate_recording(tmp_path)).summary_)
    both = summary["per_side"]["both"]
    assert both["heel_peak_n"] is None
    assert both["steps_with_value"]["heel_peak_n"] == 0
    assert both["steps_with_value"]["peak_force_n"] == both["steps"]


def test_counts_steps_table_has_no_pressures(tmp_path: Path) -> None:
    # force / sensor area of a relative reading is no pressure: the kPa columns stay empty.
    from insole.session.analysis import SessionAnalysis

    rec = footswitch_recording(tmp_path)
    steps = SessionAnalysis().run(rec).steps_
    assert steps
    kpa = [k for k in steps[0] if k.endswith("_peak_kpa")]
    assert kpa
    assert all(math.isnan(s[k]) for s in steps for k in kpa)
    assert any(s["whole_foot_peak_n"] > 0 for s in steps)


def test_history_of_counts_sessions_says_counts(tmp_path: Path, capsys) -> None:
    from insole.cli import main

    rec = footswitch_recording(tmp_path)
    db = tmp_path / "h.sqlite3"
    assert main(["analyze", str(rec), "--save", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["history", "--db", str(db)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "loads in relative counts" in header
    assert "newtons" not in header
