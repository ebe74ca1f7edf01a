"""Tests for insole.core.layouts: generated layouts, outline, JSON round trip and validation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from insole.core.layouts import (
    REGIONS,
    LayoutError,
    SensorLayout,
    classify_region,
    default_layout,
    insole_outline,
    single_sensor_layout,
)
from insole.errors import InsoleError

SIZES = [4, 5, 8, 12, 16, 24, 32, 64]


def point_in_polygon(px: np.ndarray, py: np.ndarray, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Independent even-odd test (not the module's helper)."""
    inside = np.zeros(np.shape(px), dtype=bool)
    n = len(vx)
    for i in range(n):
        x1, y1, x2, y2 = vx[i], vy[i], vx[(i + 1) % n], vy[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > py) != (y2 > py)
        x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_cross)
    return inside


def shoelace_area(x: np.ndarray, y: np.ndarray) -> float:
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


# -- outline ---------------------------------------------------------------------------------


@pytest.mark.parametrize("foot_length_mm", [230.0, 270.0, 310.0])
def test_outline_spans_foot_and_has_foot_proportions(foot_length_mm: float) -> None:
    x, y = insole_outline(foot_length_mm, n=300)
    assert x.shape == y.shape == (300,)
    assert y.min() == pytest.approx(0.0)
    assert y.max() == pytest.approx(foot_length_mm)
    area = shoelace_area(x, y)
    assert area > 0  # counter-clockwise
    # An adult insole covers roughly 0.25-0.30 of its bounding length squared.
    assert 0.24 < area / foot_length_mm**2 < 0.32
    forefoot = (y > 0.6 * foot_length_mm) & (y < 0.8 * foot_length_mm)
    heel = (y > 0.05 * foot_length_mm) & (y < 0.2 * foot_length_mm)
    forefoot_width = x[forefoot].max() - x[forefoot].min()
    heel_width = x[heel].max() - x[heel].min()
    assert 0.33 < forefoot_width / foot_length_mm < 0.42
    assert 0.2 < heel_width / foot_length_mm < 0.28
    assert forefoot_width > heel_width


def test_outline_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="foot_length_mm"):
        insole_outline(0.0)
    with pytest.raises(ValueError, match="n must be"):
        insole_outline(270.0, n=3)


# -- generated layouts -----------------------------------------------------------------------


@pytest.mark.parametrize("n_sensors", SIZES)
def test_layout_sensors_lie_inside_outline_and_tile_it(n_sensors: int) -> None:
    layout = default_layout(n_sensors)
    assert layout.n_sensors == n_sensors
    assert layout.foot_length_mm == 270.0
    for arr in (layout.x_mm, layout.y_mm, layout.area_mm2):
        assert arr.shape == (n_sensors,)
        assert arr.dtype == np.float64
    vx, vy = insole_outline(layout.foot_length_mm, n=400)
    assert point_in_polygon(layout.x_mm, layout.y_mm, vx, vy).all()
    assert np.all(layout.area_mm2 > 0)
    # Tiles: areas add up to the insole area.
    assert layout.area_mm2.sum() == pytest.approx(shoelace_area(vx, vy), rel=0.03)
    assert set(layout.region) <= set(REGIONS) - {"whole_foot"}
    # Region labels agree with the geometric rule.
    assert classify_region(layout.x_mm, layout.y_mm, layout.foot_length_mm) == layout.region
    # No two sensors on top of each other.
    d = np.hypot(
        layout.x_mm[:, None] - layout.x_mm[None, :], layout.y_mm[:, None] - layout.y_mm[None, :]
    )
    np.fill_diagonal(d, np.inf)
    assert d.min() > 10.0


def test_default_16_is_moticon_like() -> None:
    layout = default_layout()
    assert layout.name == "default16"
    count = {r: layout.region.count(r) for r in REGIONS}
    assert count["heel_medial"] + count["heel_lateral"] in (3, 4)
    assert count["heel_medial"] >= 1
    assert count["heel_lateral"] >= 1
    assert 2 <= count["midfoot"] <= 3
    forefoot = count["forefoot_medial"] + count["forefoot_central"] + count["forefoot_lateral"]
    assert 6 <= forefoot <= 7
    assert min(count["forefoot_medial"], count["forefoot_central"], count["forefoot_lateral"]) >= 1
    assert count["toes"] == 2
    # Foot frame: medial sensors have negative x, lateral ones positive x.
    for i, region in enumerate(layout.region):
        if region.endswith("_medial"):
            assert layout.x_mm[i] < 0
        if region.endswith("_lateral"):
            assert layout.x_mm[i] > 0
    # Heel sensors behind midfoot sensors, behind forefoot, behind toes.
    heel = layout.y_mm[layout.indices("heel_medial", "heel_lateral")]
    mid = layout.y_mm[layout.indices("midfoot")]
    toes = layout.y_mm[layout.indices("toes")]
    assert heel.max() < mid.min()
    assert mid.max() < toes.min()


def test_small_layouts_follow_their_models() -> None:
    diy = default_layout(4)
    assert diy.region == ("heel_lateral", "midfoot", "forefoot_medial", "toes")
    gaitpdb = default_layout(8)
    assert gaitpdb.name == "gaitpdb8"
    assert gaitpdb.region.count("toes") == 1
    assert gaitpdb.region.count("midfoot") == 2
    # gaitpdb sensors 2-7 come in medial/lateral pairs at equal y.
    y = gaitpdb.y_mm
    assert y[1] == y[2]
    assert y[3] == y[4]
    assert y[5] == y[6]
    assert gaitpdb.x_mm[1] > gaitpdb.x_mm[2]


def test_layout_scales_with_foot_length() -> None:
    a = default_layout(16, foot_length_mm=270.0)
    b = default_layout(16, foot_length_mm=310.0)
    ratio = 310.0 / 270.0
    np.testing.assert_allclose(b.y_mm, a.y_mm * ratio, atol=0.2)
    np.testing.assert_allclose(b.x_mm, a.x_mm * ratio, atol=0.2)
    assert b.area_mm2.sum() == pytest.approx(a.area_mm2.sum() * ratio**2, rel=0.02)
    assert a.region == b.region


@pytest.mark.parametrize("n_sensors", [0, 1, 3, 65, 2.5, "16"])
def test_default_layout_rejects_bad_sizes(n_sensors: object) -> None:
    with pytest.raises(ValueError, match="n_sensors"):
        default_layout(n_sensors)  # type: ignore[arg-type]


def test_single_sensor_layout_covers_whole_foot() -> None:
    layout = single_sensor_layout()
    assert layout.n_sensors == 1
    assert layout.region == ("whole_foot",)
    vx, vy = insole_outline(270.0, n=400)
    assert layout.area_mm2[0] == pytest.approx(shoelace_area(vx, vy), rel=0.03)
    assert 0.4 < layout.y_mm[0] / layout.foot_length_mm < 0.6
    assert layout.indices("whole_foot").tolist() == [0]


# -- value semantics and JSON ----------------------------------------------------------------


@pytest.mark.parametrize(
    "layout", [default_layout(4), default_layout(16), default_layout(37), single_sensor_layout()]
)
def test_json_round_trip(layout: SensorLayout) -> None:
    text = json.dumps(layout.to_json())
    back = SensorLayout.from_json(json.loads(text))
    assert back == layout
    assert hash(back) == hash(layout)
    assert back.region == layout.region
    np.testing.assert_array_equal(back.y_mm, layout.y_mm)


def test_layout_is_immutable_and_compares_by_value() -> None:
    layout = default_layout()
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.name = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        layout.x_mm[0] = 0.0
    assert layout == default_layout()
    assert layout != default_layout(8)
    moved = layout.to_json()
    moved["x_mm"][0] += 1.0
    assert SensorLayout.from_json(moved) != layout
    # The constructor copies its inputs.
    x = np.zeros(2)
    own = SensorLayout("two", 270.0, x, np.array([10.0, 200.0]), np.ones(2), ("midfoot", "toes"))
    x[0] = 5.0
    assert own.x_mm[0] == 0.0


def _valid() -> dict:
    return default_layout(4).to_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("region"), "missing key"),
        (lambda d: d.update(colour="red"), "unexpected key"),
        (lambda d: d["region"].__setitem__(0, "ankle"), "unknown region"),
        (lambda d: d["x_mm"].pop(), "x_mm has 3 entries"),
        (lambda d: d["area_mm2"].__setitem__(1, -5.0), "area_mm2 must be positive"),
        (lambda d: d["y_mm"].__setitem__(3, 400.0), "y_mm must lie within"),
        (lambda d: d["y_mm"].__setitem__(0, "heel"), "list of numbers"),
        (lambda d: d["x_mm"].__setitem__(0, float("nan")), "finite"),
        (lambda d: d.update(foot_length_mm=-270), "foot_length_mm must be positive"),
        (lambda d: d.update(foot_length_mm="long"), "foot_length_mm"),
        (lambda d: d.update(name=""), "name"),
        (lambda d: d.update(region="heel_medial"), "must be a list"),
        (lambda d: d.update(x_mm=[], y_mm=[], area_mm2=[], region=[]), "at least one sensor"),
        (lambda d: d["region"].__setitem__(0, "whole_foot"), "single-sensor"),
    ],
)
def test_from_json_rejects_invalid_layouts(change, message: str) -> None:
    data = _valid()
    change(data)
    with pytest.raises(LayoutError, match=message) as info:
        SensorLayout.from_json(data)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, InsoleError)


def test_from_json_rejects_non_dict() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        SensorLayout.from_json([1, 2, 3])  # type: ignore[arg-type]


def test_indices_and_unknown_region() -> None:
    layout = default_layout()
    heel = layout.indices("heel_medial", "heel_lateral")
    assert all(layout.region[i].startswith("heel") for i in heel)
    assert len(heel) == sum(r.startswith("heel") for r in layout.region)
    assert layout.indices("whole_foot").size == 0
    with pytest.raises(ValueError, match="unknown region"):
        layout.indices("ankle")


def test_classify_region_boundaries() -> None:
    length = 200.0
    x = np.array([-1.0, 1.0, 0.0, -30.0, 0.0, 30.0, 0.0])
    y = np.array([20.0, 20.0, 80.0, 140.0, 140.0, 140.0, 180.0])
    assert classify_region(x, y, length) == (
        "heel_medial",
        "heel_lateral",
        "midfoot",
        "forefoot_medial",
        "forefoot_central",
        "forefoot_lateral",
        "toes",
    )
