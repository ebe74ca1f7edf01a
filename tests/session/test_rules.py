"""Warning rules as pure functions over synthetic sessions: exact band boundaries and edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from insole.session.rules import (
    RuleConfig,
    SessionPoint,
    evaluate_history,
    evaluate_session,
    ratio_level,
)


def pt(
    day: int,
    steps: int = 1000,
    *,
    dur: float | None = None,
    heel: float = 5000.0,
    peak: float = 800.0,
    sym: dict | None = None,
    tz: timezone = UTC,
    hour: int = 8,
    minute: int = 0,
) -> SessionPoint:
    start = datetime(2026, 3, 1, hour, minute, tzinfo=tz) + timedelta(days=day)
    return SessionPoint(
        start=start,
        duration_s=float(dur if dur is not None else steps * 0.35),
        step_count=steps,
        heel_impulse_ns=heel,
        heel_peak_median_n=peak,
        symmetry_pct=sym if sym is not None else {"heel_peak_n": 2.0, "contact_time_s": 0.5},
    )


def armed_history() -> list[SessionPoint]:
    """Five 1000-step sessions over 31 days: armed from day 31 on."""
    return [pt(d, peak=800 + (d % 3) * 10) for d in (0, 8, 15, 22, 30)]


@pytest.mark.parametrize(
    ("ratio", "level"),
    [
        (1.0, "none"),
        (1.10, "none"),
        (1.100001, "caution"),
        (1.30, "caution"),
        (1.300001, "warning"),
        (2.00, "warning"),
        (2.000001, "high"),
        (5.0, "high"),
    ],
)
def test_ratio_bands_at_boundaries(ratio: float, level: str) -> None:
    assert ratio_level(ratio) == level


@pytest.mark.parametrize(
    ("steps", "level"),
    [
        (1100, "none"),
        (1101, "caution"),
        (1300, "caution"),
        (1301, "warning"),
        (2000, "warning"),
        (2001, "high"),
    ],
)
def test_each_band_fires_at_its_boundary(steps: int, level: str) -> None:
    hist = armed_history()
    a = evaluate_session(pt(31, steps, dur=350.0, heel=5000.0), hist)
    assert a.armed
    assert a.reference["step_count"] == 1000
    got = {f.metric: f for f in a.flags}
    if level == "none":
        assert "step_count" not in got
    else:
        f = got["step_count"]
        assert (f.level, f.ratio, f.rule) == (level, round(steps / 1000, 3), "spike")
        assert "higher than your recent normal" in f.message
        assert "not a diagnosis" in f.message
        assert "proxy for distance" in f.message
    assert "duration_s" not in got  # 350 s = the 30-day max exactly: ratio 1.00


def test_largest_not_latest_session_is_the_reference() -> None:
    hist = armed_history() + [pt(25, 1500)]
    a = evaluate_session(pt(31, 1400), hist)
    assert a.reference["step_count"] == 1500
    assert not any(f.metric == "step_count" for f in a.flags)
    # ... and sessions 30 or more days back leave the window
    b = evaluate_session(pt(56, 1400), hist + [pt(50, 1000)])
    assert b.reference["step_count"] == 1000
    assert {f.metric: f.level for f in b.flags}["step_count"] == "warning"


def test_heel_load_flag_is_labelled_experimental() -> None:
    a = evaluate_session(pt(31, 1000, dur=350, heel=7000.0), armed_history())
    f = {f.metric: f for f in a.flags}["heel_impulse_ns"]
    assert f.level == "warning"
    assert f.experimental
    assert "experimental" in f.message


@pytest.mark.parametrize(
    ("days", "sessions", "armed"),
    [(29, 10, False), (30, 3, False), (30, 4, True), (40, 4, True)],
)
def test_arming_needs_30_days_and_4_sessions(days: int, sessions: int, armed: bool) -> None:
    first = [pt(0)] + [pt(days - 1 - i) for i in range(sessions - 1)]
    a = evaluate_session(pt(days, 3000), first)
    assert a.armed is armed
    if armed:
        assert {f.metric: f.level for f in a.flags}["step_count"] == "high"
    else:
        assert a.flags == [] or all(f.rule != "spike" for f in a.flags)
        assert any(n.kind == "not_armed" for n in a.notices)


@pytest.mark.parametrize(("gap", "is_break"), [(29, False), (30, True), (75, True)])
def test_break_notice_instead_of_a_ratio(gap: int, is_break: bool) -> None:
    hist = armed_history() + [pt(31, 1200)]
    a = evaluate_session(pt(31 + gap, 3000), hist)
    notice = [n for n in a.notices if n.kind == "break"]
    if is_break:
        assert notice
        assert not a.armed
        assert not any(f.rule == "spike" for f in a.flags)
        assert f"break of {gap} days" in notice[0].message
        assert "start below your previous longest session (1200 steps" in notice[0].message
    else:
        assert not notice
        assert a.armed
        assert {f.metric: f.level for f in a.flags}["step_count"] == "high"


def test_day_boundaries_in_the_sessions_local_time() -> None:
    # A big run on 1 March (UTC), then a run at 23:30 on 30 March in UTC-07:00, which is
    # 31 March 06:30 UTC: 29 local days later, so the big run is still in the 30-day window.
    hist = [pt(0, 2000)] + [pt(d) for d in (5, 10, 15, 20)]
    late = SessionPoint(
        start=datetime(2026, 3, 30, 23, 30, tzinfo=timezone(timedelta(hours=-7))),
        duration_s=350.0,
        step_count=2100,
        heel_impulse_ns=5000.0,
        heel_peak_median_n=800.0,
    )
    assert late.local_date.isoformat() == "2026-03-30"
    a = evaluate_session(late, hist)
    assert a.reference["step_count"] == 2000  # in UTC it would be day 30: out of the window
    assert not any(f.metric == "step_count" for f in a.flags)
    # The same instant seen from UTC+14 is 31 March local... 30 days: the big run drops out.
    early = SessionPoint(
        start=datetime(2026, 3, 31, 20, 30, tzinfo=timezone(timedelta(hours=14))),
        duration_s=350.0,
        step_count=2100,
        heel_impulse_ns=5000.0,
        heel_peak_median_n=800.0,
    )
    b = evaluate_session(early, hist)
    assert b.reference["step_count"] == 1000
    assert {f.metric: f.level for f in b.flags}["step_count"] == "high"


def test_sessions_are_ordered_by_instant_across_time_zones() -> None:
    tz_east = timezone(timedelta(hours=9))
    a = pt(0, tz=tz_east, hour=7)  # 22:00 UTC the day before
    b = pt(-1, tz=UTC, hour=23)  # 23:00 UTC: after a
    out = evaluate_history([b, a])
    assert [x.session for x in out] == [a, b]


def test_missing_days_and_a_sparse_history() -> None:
    days = [0, 1, 9, 23, 24, 40, 41, 55]
    hist = [pt(d, 1000 + 10 * i) for i, d in enumerate(days)]
    out = evaluate_history(hist)
    assert len(out) == len(hist)
    assert [a.armed for a in out] == [False] * 5 + [True] * 3
    assert all(a.level == "none" for a in out)


def test_weekly_progression_is_information_never_a_warning() -> None:
    hist = [pt(d, 1000) for d in (0, 3, 7, 10, 14, 17, 21, 24, 28)]
    hist += [pt(29, 1000), pt(30, 1000), pt(31, 1000)]  # week 25..31 much bigger than 18..24
    a = evaluate_session(pt(32, 1000), hist)
    assert any(n.kind == "weekly_progression" for n in a.notices)
    msg = next(n.message for n in a.notices if n.kind == "weekly_progression")
    assert "not a warning" in msg
    assert "Nielsen" in msg
    assert a.flags == []


def test_heel_intensity_above_baseline_plus_two_sd() -> None:
    base = [
        pt(d, peak=p) for d, p in zip((0, 5, 10, 15, 20), (790, 800, 810, 800, 805), strict=True)
    ]
    normal = evaluate_session(pt(25, peak=815), base)
    assert not normal.flags
    high = evaluate_session(pt(25, peak=860), base)
    f = {f.metric: f for f in high.flags}["heel_peak_n"]
    assert f.rule == "heel_intensity"
    assert f.level == "caution"
    assert f.experimental
    assert "higher than your recent normal" in f.message


def test_asymmetry_above_own_baseline_plus_two_sd() -> None:
    base = [
        pt(d, sym={"heel_peak_n": s, "contact_time_s": 0.4})
        for d, s in zip((0, 5, 10, 15, 20), (2.0, -1.5, 2.5, 1.8, -2.2), strict=True)
    ]
    ok = evaluate_session(pt(25, sym={"heel_peak_n": -2.6, "contact_time_s": 0.5}), base)
    assert not ok.flags
    bad = evaluate_session(pt(25, sym={"heel_peak_n": -9.0, "contact_time_s": 3.0}), base)
    got = {f.metric: f for f in bad.flags}
    assert set(got) == {"asymmetry_heel_peak_n", "asymmetry_contact_time_s"}
    assert "left higher" in got["asymmetry_heel_peak_n"].message


def test_every_parameter_is_configurable() -> None:
    cfg = RuleConfig(caution_ratio=1.05, arm_min_days=7, arm_min_sessions=2, window_days=10)
    hist = [pt(0), pt(4), pt(8)]
    a = evaluate_session(pt(9, 1060), hist, cfg)
    assert a.armed
    assert {f.metric: f.level for f in a.flags}["step_count"] == "caution"
    assert ratio_level(1.06, cfg) == "caution"


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SessionPoint(start=datetime(2026, 1, 1), duration_s=1, step_count=1)
