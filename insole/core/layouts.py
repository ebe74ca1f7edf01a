"""Sensor layouts: where each pressure sensor sits under the foot.

Coordinate frame
----------------
All positions are in the **foot's own frame**, identical for the left and the right insole:

- ``y_mm`` runs posterior → anterior, from the heel end of the insole (0) to the tip of the
  longest toe (``foot_length_mm``).
- ``x_mm`` runs medial (negative) → lateral (positive); ``x = 0`` is the heel centre line.

So a sensor under the first metatarsal head has a negative ``x_mm`` on both feet. To *draw* the
feet as seen from above (dorsal view, screen x to the right), use ``x_mm`` as is for the right foot
and ``-x_mm`` for the left foot, whose medial side lies on the viewer's right.

Sensor areas
------------
``area_mm2`` is the area whose load a sensor's reading stands for. In the generated layouts the
sensors tile the insole (each sensor owns the part of the outline closest to it), so the sum of the
sensor forces is the force on the foot and ``force / area`` is the mean pressure over that patch.
A layout loaded from JSON may instead give the physical pad size of each sensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from insole.errors import InsoleError

__all__ = [
    "REGIONS",
    "LayoutError",
    "SensorLayout",
    "classify_region",
    "default_layout",
    "inside_polygon",
    "insole_outline",
    "single_sensor_layout",
]

#: Anatomical regions a sensor can belong to (docs/domain.md "Per-step load"), plus
#: ``"whole_foot"`` for a single sensor covering the whole insole (footswitch, force plate).
REGIONS: tuple[str, ...] = (
    "heel_medial",
    "heel_lateral",
    "midfoot",
    "forefoot_medial",
    "forefoot_central",
    "forefoot_lateral",
    "toes",
    "whole_foot",
)


class LayoutError(InsoleError, ValueError):
    """A sensor layout is invalid (bad JSON, mismatched arrays, unknown region, ...)."""


#: Regions that count as "heel" for heel-load figures.
HEEL_REGIONS: tuple[str, ...] = ("heel_medial", "heel_lateral")

DEFAULT_FOOT_LENGTH_MM = 270.0

# Region boundaries as fractions of foot length, used by `classify_region` and the grid layouts.
_HEEL_END = 0.30  # heel: y < 0.30 L (calcaneus)
_MIDFOOT_END = 0.55  # midfoot: 0.30 .. 0.55 L (arch)
_FOREFOOT_END = 0.80  # forefoot: 0.55 .. 0.80 L (metatarsals); toes beyond
_FOREFOOT_MEDIAL_X = -0.085  # x < -0.085 L: first ray
_FOREFOOT_LATERAL_X = 0.065  # x > +0.065 L: fourth and fifth rays

# Outline control points (x / L, y / L) of an insole, counter-clockwise seen from above for a
# right foot (foot frame: medial is negative x). Smoothed by corner cutting in `insole_outline`.
_OUTLINE_CONTROL = np.array(
    [
        (0.00, 0.00),
        (0.095, 0.02),
        (0.125, 0.08),
        (0.132, 0.20),
        (0.145, 0.35),
        (0.17, 0.55),
        (0.19, 0.68),
        (0.175, 0.78),
        (0.13, 0.87),
        (0.05, 0.95),
        (-0.03, 0.99),
        (-0.08, 1.00),
        (-0.135, 0.97),
        (-0.175, 0.88),
        (-0.19, 0.73),
        (-0.165, 0.60),
        (-0.125, 0.45),
        (-0.11, 0.30),
        (-0.12, 0.16),
        (-0.10, 0.03),
    ]
)

# Hand-placed 16-sensor layout in the spirit of Moticon OpenGo (x / L, y / L, region).
_LAYOUT_16 = (
    (-0.055, 0.07, "heel_medial"),
    (0.055, 0.07, "heel_lateral"),
    (-0.055, 0.19, "heel_medial"),
    (0.065, 0.19, "heel_lateral"),
    (0.10, 0.36, "midfoot"),
    (0.01, 0.42, "midfoot"),
    (0.125, 0.49, "midfoot"),
    (-0.12, 0.62, "forefoot_medial"),
    (-0.135, 0.71, "forefoot_medial"),
    (-0.035, 0.63, "forefoot_central"),
    (-0.045, 0.73, "forefoot_central"),
    (0.035, 0.72, "forefoot_central"),
    (0.12, 0.60, "forefoot_lateral"),
    (0.12, 0.70, "forefoot_lateral"),
    (-0.095, 0.90, "toes"),
    (0.035, 0.87, "toes"),
)

# Minimal DIY layout: heel, lateral midfoot, first metatarsal head, hallux.
_LAYOUT_4 = (
    (0.01, 0.10, "heel_lateral"),
    (0.11, 0.42, "midfoot"),
    (-0.13, 0.70, "forefoot_medial"),
    (-0.095, 0.90, "toes"),
)

# PhysioNet gaitpdb / Infotronic 8-sensor insole: sensor (X, Y) of the right foot in the
# database's arbitrary units, origin between the feet (format.txt of gaitpdb 1.0.0).
_GAITPDB_XY = np.array(
    [(500, -800), (700, -400), (300, -400), (700, 0), (300, 0), (700, 400), (300, 400), (500, 800)],
    dtype=float,
)


@dataclass(frozen=True, eq=False)
class SensorLayout:
    """Positions, areas and anatomical regions of the sensors of one insole.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"default16"``.
    foot_length_mm : float
        Length of the insole from heel end to toe tip [mm].
    x_mm : numpy.ndarray
        Medial (negative) / lateral (positive) position of each sensor in the foot frame [mm],
        origin on the heel centre line; shape ``(n_sensors,)``. The same numbers serve the left
        and the right foot (a drawing of the left foot mirrors x, see the module docstring).
    y_mm : numpy.ndarray
        Distance of each sensor from the heel end towards the toes [mm], ``0 .. foot_length_mm``.
    area_mm2 : numpy.ndarray
        Area whose load each sensor reports [mm²], all positive.
    region : tuple of str
        Region of each sensor, each one of `REGIONS`.

    Raises
    ------
    ValueError
        If the arrays differ in length, are empty, hold non-finite values, a position lies
        outside ``0 .. foot_length_mm``, an area is not positive or a region is unknown.

    Notes
    -----
    Instances are immutable: the arrays are copied and made read-only. Two layouts compare
    equal when all fields are equal.
    """

    name: str
    foot_length_mm: float
    x_mm: np.ndarray
    y_mm: np.ndarray
    area_mm2: np.ndarray
    region: tuple[str, ...]

    REGIONS: ClassVar[tuple[str, ...]] = REGIONS

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise LayoutError(f"layout name must be a non-empty string, got {self.name!r}")
        try:
            foot_length_mm = float(self.foot_length_mm)
        except (TypeError, ValueError):
            raise LayoutError(
                f"foot_length_mm must be a number, got {self.foot_length_mm!r}"
            ) from None
        if not np.isfinite(foot_length_mm) or foot_length_mm <= 0:
            raise LayoutError(f"foot_length_mm must be positive, got {self.foot_length_mm!r}")
        object.__setattr__(self, "foot_length_mm", foot_length_mm)
        arrays = {}
        for field_name in ("x_mm", "y_mm", "area_mm2"):
            try:
                arr = np.array(getattr(self, field_name), dtype=np.float64)
            except (TypeError, ValueError):
                raise LayoutError(f"{field_name} must be a sequence of numbers") from None
            if arr.ndim != 1:
                raise LayoutError(f"{field_name} must be one-dimensional, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise LayoutError(f"{field_name} must hold finite numbers only")
            arr.setflags(write=False)
            arrays[field_name] = arr
        region = self.region
        if isinstance(region, str):
            raise LayoutError("region must be a sequence of region names, not a single string")
        region = tuple(region)
        n = len(region)
        if n == 0:
            raise LayoutError("a layout needs at least one sensor")
        for field_name, arr in arrays.items():
            if arr.shape[0] != n:
                raise LayoutError(
                    f"{field_name} has {arr.shape[0]} entries but region has {n}; "
                    "give one value per sensor"
                )
        unknown = sorted({r for r in region if r not in REGIONS})
        if unknown:
            raise LayoutError(f"unknown region(s) {unknown}; choose from {list(REGIONS)}")
        if "whole_foot" in region and n != 1:
            raise LayoutError("region 'whole_foot' is only allowed in a single-sensor layout")
        y = arrays["y_mm"]
        if np.any(y < 0) or np.any(y > foot_length_mm):
            raise LayoutError(
                f"y_mm must lie within 0 .. foot_length_mm ({foot_length_mm:g} mm), "
                f"got {y.min():g} .. {y.max():g}"
            )
        if np.any(np.abs(arrays["x_mm"]) > foot_length_mm):
            raise LayoutError("x_mm must lie within ± foot_length_mm of the heel centre line")
        if np.any(arrays["area_mm2"] <= 0):
            raise LayoutError("area_mm2 must be positive for every sensor")
        for field_name, arr in arrays.items():
            object.__setattr__(self, field_name, arr)
        object.__setattr__(self, "region", region)

    @property
    def positions_assumed(self) -> bool:
        """True for the generic ``grid<n>`` layouts of `default_layout`.

        Sensors spread evenly over an outline stand in for positions nobody published (a
        stAPPone export, a device without a layout in its header): what depends on where a
        sensor is (strike pattern and index, regional loads, centre of pressure) is then a
        guess, not a measurement.
        """
        return self.name.startswith("grid")

    @property
    def n_sensors(self) -> int:
        """Number of sensors."""
        return len(self.region)

    def indices(self, *regions: str) -> np.ndarray:
        """Indices of the sensors belonging to any of `regions`.

        Parameters
        ----------
        *regions : str
            Region names from `REGIONS`.

        Returns
        -------
        numpy.ndarray
            Sorted sensor indices (int64); empty if no sensor lies in those regions.

        Raises
        ------
        ValueError
            If a region name is unknown.
        """
        unknown = [r for r in regions if r not in REGIONS]
        if unknown:
            raise LayoutError(f"unknown region(s) {unknown}; choose from {list(REGIONS)}")
        return np.flatnonzero([r in regions for r in self.region]).astype(np.int64)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict; `from_json` reads it back.

        Returns
        -------
        dict
            Keys ``name``, ``foot_length_mm``, ``x_mm``, ``y_mm``, ``area_mm2`` (lists of
            floats) and ``region`` (list of str).
        """
        return {
            "name": self.name,
            "foot_length_mm": self.foot_length_mm,
            "x_mm": [float(v) for v in self.x_mm],
            "y_mm": [float(v) for v in self.y_mm],
            "area_mm2": [float(v) for v in self.area_mm2],
            "region": list(self.region),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SensorLayout:
        """Build a layout from the dict written by `to_json`, validating it.

        Parameters
        ----------
        data : dict
            Mapping with keys ``name``, ``foot_length_mm``, ``x_mm``, ``y_mm``, ``area_mm2``
            and ``region``.

        Returns
        -------
        SensorLayout
            The validated layout.

        Raises
        ------
        ValueError
            If `data` is not a mapping, a key is missing or unexpected, or a value is invalid.
        """
        if not isinstance(data, dict):
            raise LayoutError(f"layout JSON must be an object (dict), got {type(data).__name__}")
        required = ("name", "foot_length_mm", "x_mm", "y_mm", "area_mm2", "region")
        missing = [k for k in required if k not in data]
        if missing:
            raise LayoutError(f"layout JSON is missing key(s) {missing}")
        extra = sorted(set(data) - set(required))
        if extra:
            raise LayoutError(f"layout JSON has unexpected key(s) {extra}")
        for key in ("x_mm", "y_mm", "area_mm2", "region"):
            if not isinstance(data[key], list | tuple):
                raise LayoutError(f"layout JSON key {key!r} must be a list")
        if not all(isinstance(r, str) for r in data["region"]):
            raise LayoutError("layout JSON key 'region' must be a list of strings")
        for key in ("x_mm", "y_mm", "area_mm2"):
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in data[key]):
                raise LayoutError(f"layout JSON key {key!r} must be a list of numbers")
        if isinstance(data["foot_length_mm"], bool) or not isinstance(
            data["foot_length_mm"], int | float
        ):
            raise LayoutError("layout JSON key 'foot_length_mm' must be a number")
        return cls(
            name=data["name"],
            foot_length_mm=data["foot_length_mm"],
            x_mm=np.asarray(data["x_mm"], dtype=np.float64),
            y_mm=np.asarray(data["y_mm"], dtype=np.float64),
            area_mm2=np.asarray(data["area_mm2"], dtype=np.float64),
            region=tuple(data["region"]),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SensorLayout):
            return NotImplemented
        return (
            self.name == other.name
            and self.foot_length_mm == other.foot_length_mm
            and self.region == other.region
            and np.array_equal(self.x_mm, other.x_mm)
            and np.array_equal(self.y_mm, other.y_mm)
            and np.array_equal(self.area_mm2, other.area_mm2)
        )

    def __hash__(self) -> int:
        return hash(
            (
                self.name,
                self.foot_length_mm,
                self.region,
                self.x_mm.tobytes(),
                self.y_mm.tobytes(),
                self.area_mm2.tobytes(),
            )
        )

    def __repr__(self) -> str:
        return (
            f"SensorLayout(name={self.name!r}, n_sensors={self.n_sensors}, "
            f"foot_length_mm={self.foot_length_mm:g})"
        )


def insole_outline(
    foot_length_mm: float = DEFAULT_FOOT_LENGTH_MM, n: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Return a closed polygon approximating an insole outline in the foot frame.

    Parameters
    ----------
    foot_length_mm : float
        Insole length [mm]; the width scales with it (a generic adult foot shape,
        forefoot width about 0.37 and heel width about 0.25 of the length).
    n : int
        Number of polygon vertices (≥ 8), evenly spaced along the perimeter. The polygon is
        not explicitly closed (the last vertex is not repeated).

    Returns
    -------
    x_mm, y_mm : numpy.ndarray
        Vertex coordinates [mm], shape ``(n,)``, counter-clockwise for a right foot seen from
        above; ``y_mm`` spans exactly ``0 .. foot_length_mm``.

    Raises
    ------
    ValueError
        If `foot_length_mm` is not positive or `n` < 8.
    """
    if not foot_length_mm > 0:
        raise LayoutError(f"foot_length_mm must be positive, got {foot_length_mm!r}")
    if n < 8:
        raise LayoutError(f"n must be at least 8 vertices, got {n}")
    pts = _OUTLINE_CONTROL.copy()
    for _ in range(4):  # Chaikin corner cutting: converges to a smooth quadratic B-spline
        nxt = np.roll(pts, -1, axis=0)
        q = 0.75 * pts + 0.25 * nxt
        r = 0.25 * pts + 0.75 * nxt
        pts = np.empty((2 * len(q), 2))
        pts[0::2] = q
        pts[1::2] = r
    # Stretch y so the outline spans exactly 0 .. L (corner cutting shrinks the extremes).
    y = pts[:, 1]
    pts[:, 1] = (y - y.min()) / (y.max() - y.min())
    # Resample evenly along the perimeter.
    closed = np.vstack([pts, pts[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    s_new = np.linspace(0.0, s[-1], n, endpoint=False)
    x_out = np.interp(s_new, s, closed[:, 0]) * foot_length_mm
    y_out = np.interp(s_new, s, closed[:, 1]) * foot_length_mm
    y_out[np.argmin(y_out)] = 0.0
    y_out[np.argmax(y_out)] = foot_length_mm
    return x_out, y_out


def classify_region(x_mm: np.ndarray, y_mm: np.ndarray, foot_length_mm: float) -> tuple[str, ...]:
    """Assign each foot-frame position to an anatomical region.

    Parameters
    ----------
    x_mm, y_mm : numpy.ndarray
        Positions in the foot frame [mm] (see the module docstring).
    foot_length_mm : float
        Foot length [mm].

    Returns
    -------
    tuple of str
        One region per position.

    Notes
    -----
    Boundaries as fractions of foot length L: heel y < 0.30 L (medial if x < 0, otherwise
    lateral: a heel sensor on the centre line counts as lateral because rearfoot contact is
    usually posterolateral); midfoot 0.30-0.55 L; forefoot 0.55-0.80 L split at
    x = -0.085 L / +0.065 L into medial (first ray), central and lateral; toes beyond 0.80 L.
    The metatarsal heads lie at about 0.65-0.75 L.
    """
    xf = np.asarray(x_mm, dtype=float) / foot_length_mm
    yf = np.asarray(y_mm, dtype=float) / foot_length_mm
    out = []
    for xi, yi in zip(xf.ravel(), yf.ravel(), strict=True):
        if yi < _HEEL_END:
            out.append("heel_medial" if xi < 0 else "heel_lateral")
        elif yi < _MIDFOOT_END:
            out.append("midfoot")
        elif yi < _FOREFOOT_END:
            if xi < _FOREFOOT_MEDIAL_X:
                out.append("forefoot_medial")
            elif xi > _FOREFOOT_LATERAL_X:
                out.append("forefoot_lateral")
            else:
                out.append("forefoot_central")
        else:
            out.append("toes")
    return tuple(out)


def inside_polygon(px: np.ndarray, py: np.ndarray, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test, vectorised over points.

    Parameters
    ----------
    px, py : ndarray
        The points (any shape, both the same).
    vx, vy : ndarray, shape (n_vertices,)
        The polygon's vertices, in order (e.g. `insole_outline`).

    Returns
    -------
    ndarray of bool
        True for each point inside the polygon, shaped like ``px``.
    """
    inside = np.zeros(px.shape, dtype=bool)
    vx2, vy2 = np.roll(vx, -1), np.roll(vy, -1)
    for x1, y1, x2, y2 in zip(vx, vy, vx2, vy2, strict=True):
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_cross)
    return inside


def _outline_grid(foot_length_mm: float, step_frac: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a square grid (cell side ``step_frac · L``) that fall inside the outline."""
    vx, vy = insole_outline(foot_length_mm, n=240)
    step = step_frac * foot_length_mm
    gx = np.arange(vx.min() + step / 2, vx.max(), step)
    gy = np.arange(step / 2, foot_length_mm, step)
    px, py = (a.ravel() for a in np.meshgrid(gx, gy))
    keep = inside_polygon(px, py, vx, vy)
    return px[keep], py[keep]


def _tile_areas(
    x_mm: np.ndarray, y_mm: np.ndarray, foot_length_mm: float, step_frac: float = 0.01
) -> np.ndarray:
    """Area of the part of the insole outline nearest to each sensor [mm²]."""
    px, py = _outline_grid(foot_length_mm, step_frac)
    d2 = (px[:, None] - x_mm[None, :]) ** 2 + (py[:, None] - y_mm[None, :]) ** 2
    owner = np.argmin(d2, axis=1)
    cell_mm2 = (step_frac * foot_length_mm) ** 2
    counts = np.bincount(owner, minlength=len(x_mm)).astype(float)
    # A sensor that owns no grid cell (only possible for very close pairs) keeps one cell.
    return np.round(np.maximum(counts, 1.0) * cell_mm2, 1)


def _centroidal_positions(n_sensors: int, foot_length_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Spread `n_sensors` evenly over the outline (farthest-point start, then Lloyd steps)."""
    px, py = _outline_grid(foot_length_mm, 0.01)
    pts = np.column_stack([px, py])
    chosen = [int(np.argmin(py + 1e-3 * np.abs(px)))]  # start at the heel end
    d2 = np.sum((pts - pts[chosen[0]]) ** 2, axis=1)
    for _ in range(n_sensors - 1):
        nxt = int(np.argmax(d2))
        chosen.append(nxt)
        d2 = np.minimum(d2, np.sum((pts - pts[nxt]) ** 2, axis=1))
    centres = pts[chosen].copy()
    for _ in range(40):
        owner = np.argmin(np.sum((pts[:, None, :] - centres[None, :, :]) ** 2, axis=2), axis=1)
        for k in range(n_sensors):
            mine = pts[owner == k]
            if len(mine):
                centres[k] = mine.mean(axis=0)
    order = np.lexsort((centres[:, 0], np.round(centres[:, 1] / (0.02 * foot_length_mm))))
    centres = centres[order]
    return np.round(centres[:, 0], 1), np.round(centres[:, 1], 1)


def _from_fractions(
    name: str, spec: tuple[tuple[float, float, str], ...], foot_length_mm: float
) -> SensorLayout:
    x = np.array([s[0] for s in spec]) * foot_length_mm
    y = np.array([s[1] for s in spec]) * foot_length_mm
    return SensorLayout(
        name=name,
        foot_length_mm=foot_length_mm,
        x_mm=np.round(x, 1),
        y_mm=np.round(y, 1),
        area_mm2=_tile_areas(x, y, foot_length_mm),
        region=tuple(s[2] for s in spec),
    )


def default_layout(
    n_sensors: int = 16, foot_length_mm: float = DEFAULT_FOOT_LENGTH_MM
) -> SensorLayout:
    """Return a plausible insole layout with `n_sensors` sensors.

    Parameters
    ----------
    n_sensors : int
        Number of sensors, 4 .. 64 (the simulator's limit; the wire protocol carries up to 128).
    foot_length_mm : float
        Insole length [mm]; positions and areas scale with it. Default 270 mm
        (about EU 42 / US men's 8.5).

    Returns
    -------
    SensorLayout
        ``"default16"``: hand-placed like a Moticon OpenGo insole: 4 heel (2 medial,
        2 lateral), 3 midfoot (mostly lateral, where the arch touches down), 7 forefoot
        (2 medial under the first ray, 3 central, 2 lateral) and 2 toes (hallux, lesser toes).
        ``"diy4"``: heel, lateral midfoot, first metatarsal head, hallux (typical 4-FSR boards).
        ``"gaitpdb8"``: the 8-sensor arrangement of the PhysioNet gaitpdb insoles (one heel,
        three medial/lateral pairs, one toe), scaled onto the outline.
        ``"grid<n>"`` for other counts: sensors spread evenly over the insole outline
        (a centroidal tessellation, i.e. a near-regular grid that follows the outline),
        regions from `classify_region`.
        Areas are the tiles of the outline nearest to each sensor (module docstring).

    Raises
    ------
    ValueError
        If `n_sensors` is outside 4 .. 64 or `foot_length_mm` is not positive.

    Notes
    -----
    Moticon OpenGo: 16 sensors + IMU at 100 Hz; DIY boards use 4-16 FSRs (docs/domain.md).
    gaitpdb sensor coordinates: PhysioNet "Gait in Parkinson's Disease" 1.0.0, format.txt
    (Infotronic insoles). For a single sensor use `single_sensor_layout`.
    """
    if not isinstance(n_sensors, int | np.integer) or not 4 <= n_sensors <= 64:
        raise LayoutError(
            f"n_sensors must be an integer in 4 .. 64, got {n_sensors!r} "
            "(use single_sensor_layout() for one whole-foot sensor)"
        )
    if not foot_length_mm > 0:
        raise LayoutError(f"foot_length_mm must be positive, got {foot_length_mm!r}")
    foot_length_mm = float(foot_length_mm)
    n_sensors = int(n_sensors)
    if n_sensors == 16:
        return _from_fractions("default16", _LAYOUT_16, foot_length_mm)
    if n_sensors == 4:
        return _from_fractions("diy4", _LAYOUT_4, foot_length_mm)
    if n_sensors == 8:
        # gaitpdb units: 2000 units ≈ the sensor span; Y -800..800 maps to 0.09..0.89 L,
        # X offset 500 is the foot centre, ±200 is medial/lateral; the forefoot pair is moved
        # 0.02 L medially to follow the metatarsal heads.
        gx = (_GAITPDB_XY[:, 0] - 500.0) / 2000.0
        gy = 0.49 + _GAITPDB_XY[:, 1] / 2000.0
        gx = np.where(gy > 0.6, gx - 0.02, gx)
        regions = classify_region(gx, gy, 1.0)
        spec = tuple((float(a), float(b), r) for a, b, r in zip(gx, gy, regions, strict=True))
        return _from_fractions("gaitpdb8", spec, foot_length_mm)
    x, y = _centroidal_positions(n_sensors, foot_length_mm)
    return SensorLayout(
        name=f"grid{n_sensors}",
        foot_length_mm=foot_length_mm,
        x_mm=x,
        y_mm=y,
        area_mm2=_tile_areas(x, y, foot_length_mm),
        region=classify_region(x, y, foot_length_mm),
    )


def single_sensor_layout(foot_length_mm: float = DEFAULT_FOOT_LENGTH_MM) -> SensorLayout:
    """Return a one-sensor layout covering the whole insole.

    For footswitch or force-plate data, where only the total force of each foot is known.

    Parameters
    ----------
    foot_length_mm : float
        Insole length [mm].

    Returns
    -------
    SensorLayout
        Name ``"whole_foot"``, one sensor at the insole's area centroid, region
        ``"whole_foot"``, area the whole insole area.
    """
    if not foot_length_mm > 0:
        raise LayoutError(f"foot_length_mm must be positive, got {foot_length_mm!r}")
    foot_length_mm = float(foot_length_mm)
    px, py = _outline_grid(foot_length_mm, 0.01)
    area = len(px) * (0.01 * foot_length_mm) ** 2
    return SensorLayout(
        name="whole_foot",
        foot_length_mm=foot_length_mm,
        x_mm=np.array([round(float(px.mean()), 1)]),
        y_mm=np.array([round(float(py.mean()), 1)]),
        area_mm2=np.array([round(area, 1)]),
        region=("whole_foot",),
    )
