"""Reader and importer for C3D files: force-plate vertical force and instrumented-insole channels.

C3D (https://www.c3d.org, "The C3D File Format: A Technical User Guide", Motion Lab Systems
2008) is the biomechanics lab's exchange format: 3-D marker points plus analog channels, with
parameters in groups. The importer reads it with the ``ezc3d`` package (``pip install
insole[formats]``), which returns analog samples scaled as the C3D guide prescribes,
``value = (raw - ANALOG:OFFSET) · ANALOG:SCALE · ANALOG:GEN_SCALE`` per channel, except that it
subtracts ``|OFFSET|``; the importer corrects channels with a negative offset (signed, or
unsigned 16-bit for ``ANALOG:FORMAT UNSIGNED``).

Force plates (``FORCE_PLATFORM`` group, C3D guide ch. "Force platforms"): ``USED`` plates,
each of a ``TYPE`` with its analog ``CHANNEL`` numbers (1-based, six or eight per plate):

- type 1: Fx, Fy, Fz, COPx, COPy, Tz; type 2: Fx, Fy, Fz, Mx, My, Mz (already calibrated);
- type 3 (Kistler): fx12, fx34, fy14, fy23, fz1, fz2, fz3, fz4 — Fz = fz1 + fz2 + fz3 + fz4;
- type 4: six channels calibrated with ``CAL_MATRIX`` (6 × 6 per plate): (Fx, Fy, Fz, Mx, My,
  Mz) = CAL · channels, the matrix read column-major as the guide stores it (the same reading
  as ezc3d's own ``ForcePlatforms`` module); an 8 × 8 ``CAL_MATRIX`` of a type-3 plate is applied
  the same way.

The vertical force is the plate's Fz. C3D does not fix its sign (AMTI plates give the force on
the plate, negative when loaded, in a frame with z pointing down): the importer stores
``sign · Fz`` with the sign that makes the larger excursion positive, and records it
(``vertical_sign``). The plate does not know which foot stood on it: by default each plate is
a device "under both feet" (see `insole.sources.importers.table`), stored as the left device and
marked ``plate_under_both_feet``.

Instrumented insoles in a C3D are analog channels: with ``insoles={"left": PREFIX, ...}`` the
channels whose labels start with PREFIX become the sensors of that foot (in label order, with
natural sorting of trailing numbers); without it, labels such as ``L_Insole_1``,
``Left Insole 3``, ``RFSR2`` or ``R_Pressure_12`` are recognised (module constant
`INSOLE_LABEL`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from insole.core.layouts import default_layout, single_sensor_layout
from insole.sources.importers import ImportFormatError, existing_file, file_error, left_or_right
from insole.sources.importers.convert import (
    ImportedDevice,
    ImportResult,
    single_sensor_device,
    write_devices,
)

__all__ = ["INSOLE_LABEL", "C3DData", "C3DPlate", "import_c3d", "read_c3d"]

#: Force units of analog channels in N per unit. Source: NIST SP 811 (2008) Appendix B.9:
#: pound-force = 4.448 222 E+00 N (exactly 0.453 592 37 kg · 9.806 65 m/s²); kilogram-force
#: 9.806 65 N (exact).
FORCE_UNITS_N: dict[str, float] = {"n": 1.0, "kn": 1000.0, "lbf": 4.4482216152605,
                                   "lb": 4.4482216152605, "kgf": 9.80665}

#: Labels of analog channels taken as insole sensors when no prefix is given: foot letter or
#: word, then insole / FSR / pressure / sensor, then the sensor number.
INSOLE_LABEL = re.compile(
    r"^\s*(?P<foot>l|r|left|right)[\s_.-]*(?:insole|fsr|pressure|press|sensor)[\s_.-]*"
    r"(?P<n>\d+)\s*$",
    re.IGNORECASE,
)

_CHANNELS = {1: 6, 2: 6, 3: 8, 4: 6}


@dataclass
class C3DPlate:
    """One force plate of a C3D file.

    Attributes
    ----------
    number : int
        1-based plate number (``--plate N``).
    type : int
        ``FORCE_PLATFORM:TYPE``.
    channels : list of str
        Labels of its analog channels.
    fz : ndarray of float64, shape (n_samples,)
        Vertical force as stored (plate frame, after scale, offset and ``CAL_MATRIX``), in the
        channels' force unit converted to N.
    vertical_sign : float
        +1 or -1: ``vertical_sign · fz`` is positive under load.
    """

    number: int
    type: int
    channels: list[str]
    fz: NDArray[np.float64]
    vertical_sign: float

    @property
    def vertical_n(self) -> NDArray[np.float64]:
        """Vertical force, positive under load [N]."""
        return self.vertical_sign * self.fz


@dataclass
class C3DData:
    """What the importer reads from a C3D file.

    Attributes
    ----------
    analog_rate_hz : float
        ``ANALOG:RATE``.
    labels : list of str
        Analog channel labels.
    units : list of str
        Analog channel units (``ANALOG:UNITS``; empty when absent).
    analogs : ndarray of float64, shape (n_samples, n_channels)
        Scaled analog samples (ezc3d applies ``OFFSET``, ``SCALE`` and ``GEN_SCALE``).
    plates : list of C3DPlate
        The used force plates.
    """

    analog_rate_hz: float
    labels: list[str]
    units: list[str]
    analogs: NDArray[np.float64]
    plates: list[C3DPlate] = field(default_factory=list)


def _fail(path: Path, what: str) -> ImportFormatError:
    return file_error("C3D", path, what)


def _param(params: Any, group: str, name: str) -> Any:
    try:
        return params[group][name]["value"]
    except KeyError:
        return None


def _ints(value: Any) -> NDArray[np.int64]:
    if value is None:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(value).astype(np.int64)


def _offset_correction(params: Any, n_ch: int) -> NDArray[np.float64]:
    """What to add to ezc3d's samples so that a negative ``ANALOG:OFFSET`` counts as written.

    ezc3d subtracts ``|OFFSET|`` (its ``AnalogsInfo``), which is right for the usual
    non-negative offsets; the C3D guide's offset is signed for ``ANALOG:FORMAT`` ``SIGNED``
    (the default) and an unsigned 16-bit number for ``UNSIGNED``, where a stored negative value
    stands for value + 65536.
    """
    offset_value = _param(params, "ANALOG", "OFFSET")
    if offset_value is None:
        return np.zeros(n_ch)
    offsets = np.zeros(n_ch)
    given = np.ravel(np.asarray(offset_value, dtype=np.float64))[:n_ch]
    offsets[: given.size] = given
    fmt = _param(params, "ANALOG", "FORMAT")
    unsigned = fmt is not None and len(fmt) > 0 and str(list(fmt)[0]).strip().upper() == (
        "UNSIGNED")
    true_offset = np.where(offsets < 0, offsets + 65536.0, offsets) if unsigned else offsets
    scale_value = _param(params, "ANALOG", "SCALE")
    scales = np.ones(n_ch)
    if scale_value is not None:
        sv = np.ravel(np.asarray(scale_value, dtype=np.float64))[:n_ch]
        scales[: sv.size] = sv
    gen_value = _param(params, "ANALOG", "GEN_SCALE")
    gen = float(np.ravel(gen_value)[0]) if gen_value is not None and len(gen_value) else 1.0
    correction: NDArray[np.float64] = (np.abs(offsets) - true_offset) * scales * gen
    return correction


def _cal_matrices(params: Any, n_plates: int) -> NDArray[np.float64] | None:
    value = _param(params, "FORCE_PLATFORM", "CAL_MATRIX")
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] != arr.shape[1]:
        return None
    return arr


#: The child parsing a C3D file may use this much address space plus `_PROBE_BYTES_PER_BYTE` per
#: byte of the file (ezc3d peaks at about 11 bytes per file byte on a 26 MB file with 60
#: markers and 16 analog channels; Python with numpy and ezc3d reserves about 150 MB).
_PROBE_BASE_BYTES = 1 << 30
_PROBE_BYTES_PER_BYTE = 48
#: ... and this much time: a base plus a second per 2 MB (ezc3d reads about 20 MB/s).
_PROBE_BASE_S = 8.0
_PROBE_BYTES_PER_S = 2e6
_OUT_OF_MEMORY = 3
_PROBE = f"""
import resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import ezc3d
try:
    ezc3d.c3d(sys.argv[1])
except MemoryError:
    sys.exit({_OUT_OF_MEMORY})
except Exception as exc:
    sys.exit({_OUT_OF_MEMORY} if "bad_alloc" in str(exc) else 1)
"""


def _probe_in_child(p: Path) -> None:
    """Let ``ezc3d`` parse the file in a child process first, bounded in memory and time.

    ezc3d is C++; on some damaged files (found by ``bench/fuzz_importers.py c3d``) it dies with a
    segmentation fault, which would take the whole command down with no message, and on others
    it reserves gigabytes and runs for minutes (a header or parameter asking for more frames or
    channels than the file holds). The child runs under an address-space limit
    (``RLIMIT_AS``) and a timeout, both scaled to the file's size. Parsing is deterministic,
    so a file the child read cleanly (or on which ezc3d raised an ordinary error) is then read
    here, needing no more memory or time than the child did.
    """
    size = p.stat().st_size
    limit = _PROBE_BASE_BYTES + _PROBE_BYTES_PER_BYTE * size
    timeout = _PROBE_BASE_S + size / _PROBE_BYTES_PER_S
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(p), str(limit)],
                              capture_output=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise _fail(p, f"the C3D reader (ezc3d) did not finish within {timeout:.0f} s: the file "
                    "is damaged (its header or parameters describe more data than it "
                    "holds)") from None
    if proc.returncode == _OUT_OF_MEMORY:
        raise _fail(p, f"the C3D reader (ezc3d) needs more than {limit >> 20} MB for this "
                    f"{size}-byte file: the file is damaged (its header or parameters "
                    "describe more data than it holds)")
    if proc.returncode < 0:
        raise _fail(p, f"the C3D reader (ezc3d) crashed on it (signal {-proc.returncode}): the "
                    "file is damaged or not a C3D file")


def read_c3d(path: str | os.PathLike[str]) -> C3DData:
    """Read analog channels and force plates of a C3D file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.c3d`` file.

    Returns
    -------
    C3DData
        Scaled analog samples, labels, units and the used force plates' vertical force.

    Raises
    ------
    ImportFormatError
        If ``ezc3d`` is not installed, the file is missing, empty, truncated or not a C3D
        file, has no analog data, non-finite samples, a plate of an unsupported type or with
        channel numbers outside the analog channels, or an unknown force unit.
    """
    p = existing_file(path, "C3D file", "a C3D file (.c3d)", "*.c3d")
    head = p.read_bytes()[:2]
    if len(head) < 2:
        raise _fail(p, "the file is empty")
    if head[1] != 0x50:
        raise _fail(p, "not a C3D file (its second byte is not the C3D key 0x50)")
    try:
        import ezc3d
    except ImportError:
        raise ImportFormatError(
            "reading C3D files needs the ezc3d package: pip install 'insole[formats]'", path=p
        ) from None
    _probe_in_child(p)
    try:
        c3d = ezc3d.c3d(str(p))
    except Exception as exc:  # ezc3d raises RuntimeError/ValueError/OSError on bad files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(p, f"cannot be read, truncated or damaged ({first})") from None
    params = c3d["parameters"]
    labels_value = _param(params, "ANALOG", "LABELS")
    labels = [str(s).strip() for s in (list(labels_value) if labels_value is not None else [])]
    analogs = np.asarray(c3d["data"]["analogs"], dtype=np.float64)
    if analogs.ndim != 3 or analogs.shape[1] == 0 or analogs.shape[2] == 0:
        raise _fail(p, "holds no analog data (force plates and insoles are analog channels)")
    samples = analogs[0].T.copy()  # (n_samples, n_channels)
    n_ch = samples.shape[1]
    if len(labels) < n_ch:
        labels += [f"channel{k + 1}" for k in range(len(labels), n_ch)]
    units_value = _param(params, "ANALOG", "UNITS")
    units = [str(s).strip() for s in (list(units_value) if units_value is not None else [])]
    units += [""] * (n_ch - len(units))
    rate_value = _param(params, "ANALOG", "RATE")
    rate = float(np.ravel(rate_value)[0]) if rate_value is not None and len(rate_value) else 0.0
    if not rate > 0:
        raise _fail(p, "ANALOG:RATE is missing or not positive")
    if not np.all(np.isfinite(samples)):
        raise _fail(p, "analog samples are not finite numbers; the file is damaged")
    samples += _offset_correction(params, n_ch)
    data = C3DData(analog_rate_hz=rate, labels=labels[:n_ch], units=units[:n_ch],
                   analogs=samples)
    used_value = _param(params, "FORCE_PLATFORM", "USED")
    used = int(np.ravel(used_value)[0]) if used_value is not None and len(used_value) else 0
    if used <= 0:
        return data
    types = np.ravel(_ints(_param(params, "FORCE_PLATFORM", "TYPE")))
    channel = _ints(_param(params, "FORCE_PLATFORM", "CHANNEL"))
    if channel.ndim == 1:
        channel = channel[:, None]
    if types.size < used or channel.ndim != 2 or channel.shape[1] < used:
        raise _fail(p, f"FORCE_PLATFORM says {used} plates but TYPE or CHANNEL describes fewer")
    cal = _cal_matrices(params, used)
    for k in range(used):
        kind = int(types[k])
        n_need = _CHANNELS.get(kind)
        if n_need is None:
            raise _fail(p, f"force plate {k + 1} is of type {kind}; types 1, 2, 3 and 4 are "
                           "supported")
        idx = channel[:n_need, k] - 1
        if channel.shape[0] < n_need or np.any(idx < 0) or np.any(idx >= n_ch):
            raise _fail(p, f"force plate {k + 1}: FORCE_PLATFORM:CHANNEL "
                           f"{channel[:n_need, k].tolist()} names channels outside 1..{n_ch}")
        raw = samples[:, idx]
        force_units = {units[i].lower() for i in idx[:3] if kind != 3} | (
            {units[i].lower() for i in idx} if kind == 3 else set())
        force_units.discard("")
        factor = 1.0
        if force_units:
            if len(force_units) > 1 or next(iter(force_units)) not in FORCE_UNITS_N:
                raise _fail(p, f"force plate {k + 1}: unknown force unit(s) "
                               f"{sorted(force_units)}; known: N, kN, lbf, kgf")
            factor = FORCE_UNITS_N[next(iter(force_units))]
        matrix = None
        if cal is not None and cal.shape[2] > k and cal.shape[0] == n_need and kind in (3, 4):
            matrix = cal[:, :, k]
        if kind == 4 and matrix is None:
            raise _fail(p, f"force plate {k + 1} is of type 4 but FORCE_PLATFORM:CAL_MATRIX "
                           "is missing")
        out = raw @ matrix.T if matrix is not None else raw
        fz = out[:, 4:8].sum(axis=1) if kind == 3 else out[:, 2]
        fz = fz * factor
        sign = 1.0 if float(np.max(fz)) >= -float(np.min(fz)) else -1.0
        data.plates.append(C3DPlate(number=k + 1, type=kind,
                                    channels=[labels[i] for i in idx], fz=fz,
                                    vertical_sign=sign))
    return data


def _natural_key(label: str) -> tuple[str, int]:
    m = re.search(r"(\d+)\s*$", label)
    return (label[: m.start()] if m else label, int(m.group(1)) if m else -1)


def _insole_channels(data: C3DData, insoles: dict[str, str] | None,
                     path: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    if insoles:
        for name, prefix in insoles.items():
            foot = left_or_right(name, path, what="the foot of --insole")
            idx = [i for i, lab in enumerate(data.labels)
                   if lab.lower().startswith(prefix.lower())]
            if not idx:
                raise _fail(path, f"no analog channel label starts with {prefix!r}; labels are "
                                  f"{', '.join(data.labels[:30])}")
            found[foot] = sorted(idx, key=lambda i: _natural_key(data.labels[i]))
        return found
    for i, lab in enumerate(data.labels):
        m = INSOLE_LABEL.match(lab)
        if m:
            foot = "left" if m.group("foot").lower().startswith("l") else "right"
            found.setdefault(foot, []).append(i)
    return {f: sorted(v, key=lambda i: _natural_key(data.labels[i])) for f, v in found.items()}


def import_c3d(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    plates: list[int] | None = None,
    side: str = "both",
    insoles: dict[str, str] | None = None,
    start: datetime | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import force plates (vertical force) and insole channels of a C3D file as a recording.

    `read_c3d` reads the file; each plate chosen and each foot's insole channels become a
    device (see Notes).

    Parameters
    ----------
    path, out : str or os.PathLike
        The ``.c3d`` file and the recording to write.
    plates : list of int, optional
        1-based plate numbers to import. Default: every used plate when the file has no
        insole channels, else none (see Notes).
    side : str
        Foot on the selected plates: ``"both"`` (default: the plate does not know which foot
        stood on it), ``"left"`` or ``"right"`` (e.g. a split-belt treadmill's belt).
    insoles : dict of str to str, optional
        ``{"left": PREFIX, "right": PREFIX}``: analog channels of instrumented insoles by label
        prefix; default: labels matching `INSOLE_LABEL`.
    start : datetime, optional
        Wall-clock time of the first sample; default now (C3D stores no date).
    overwrite : bool
        Replace an existing `out`.

    Returns
    -------
    ImportResult
        What was written.

    Raises
    ------
    ImportFormatError
        If the file is not usable (see `read_c3d`), a plate number does not exist, or the file
        holds neither a force plate nor insole channels.

    Notes
    -----
    Each plate becomes a one-sensor device (`insole.core.layouts.single_sensor_layout`) in N;
    a plate of side ``"both"`` is stored as a left device with ``plate_under_both_feet``
    (header device entry and ``extra.import``), exactly as ``insole import table --side
    both``, so the analysis counts every contact as a step. Insole channels become one device
    per foot with one sensor per channel on the default layout for that number of sensors
    (`insole.core.layouts.default_layout`; C3D does not store sensor positions), in N if their
    unit is a force unit, kPa if it is kPa, else counts. Plates are imported when asked for
    with `plates`, or when the file has no insole channels.
    """
    p = Path(path)
    side = left_or_right(side, p, both=True)
    data = read_c3d(p)
    insole_idx = _insole_channels(data, insoles, p)
    if plates:
        numbers = [pl.number for pl in data.plates]
        for n in plates:
            if n not in numbers:
                raise _fail(p, f"has no force plate {n}; its plates are "
                               f"{', '.join(map(str, numbers)) or 'none'}")
        chosen = [pl for pl in data.plates if pl.number in plates]
    else:
        chosen = [] if insole_idx else list(data.plates)
    if not chosen and not insole_idx:
        raise _fail(p, "holds no force plate (FORCE_PLATFORM:USED is 0) and no insole "
                       "channels (labels like L_Insole_1, or give a label prefix)")
    n = data.analogs.shape[0]
    time_s = np.arange(n) / data.analog_rate_hz
    devices: list[ImportedDevice] = []
    for pl in chosen:
        devices.append(single_sensor_device(
            side, pl.vertical_n, time_s, unit="N", column=f"plate{pl.number} Fz",
            device_id=len(devices) + 1, label=f"c3d {p.name} plate{pl.number}",
            info={"plate": pl.number, "plate_type": pl.type, "channels": pl.channels,
                  "vertical_sign": pl.vertical_sign},
        ))
    for foot, idx in insole_idx.items():
        units = {data.units[i].lower() for i in idx}
        if len(units) == 1 and next(iter(units)) in FORCE_UNITS_N:
            unit, factor = "N", FORCE_UNITS_N[next(iter(units))]
        elif units == {"kpa"}:
            unit, factor = "kPa", 1.0
        else:
            unit, factor = "counts", 1.0
        if len(idx) == 1:
            layout = single_sensor_layout()
        elif 4 <= len(idx) <= 64:
            layout = default_layout(len(idx))
        else:
            raise _fail(p, f"{len(idx)} insole channels for the {foot} foot; 1 or 4..64 are "
                           "supported (give a narrower label prefix)")
        devices.append(
            ImportedDevice(
                side=foot,
                values=data.analogs[:, idx] * factor,
                time_s=time_s,
                layout=layout,
                unit=unit,
                columns=[data.labels[i] for i in idx],
                device_id=len(devices) + 1,
                label=f"c3d {p.name} {foot} insole",
                info={"source_units": sorted(units)},
            )
        )
    both = side == "both" and bool(chosen)
    info: dict[str, Any] = {
        "columns": [c for d in devices for c in d.columns],
        "units": {"plates": "N", "analog_rate_hz": data.analog_rate_hz},
        "analog_labels": data.labels,
        "plates_in_file": [pl.number for pl in data.plates],
        "plate_under_both_feet": both,
        "notes": (
            ["force plate under both feet stored as the left device: count every contact as "
             "a step"] if both else []
        ),
    }
    return write_devices(out, p, devices, fmt="c3d", sample_rate_hz=data.analog_rate_hz,
                         info=info, start=start, overwrite=overwrite)
