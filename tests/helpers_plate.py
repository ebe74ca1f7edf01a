"""A force plate under a runner, for tests: a text table and its imported recording.

One plate under both feet (``insole import table --side both``, the default for one column):
1.2 kN half-sine contacts of 0.28 s with 0.1 s of flight, 12 s at 300 Hz, as in
``tests/test_cli_conventions.py``.
"""

from __future__ import annotations

from pathlib import Path


def plate_table(
    folder: Path,
    name: str = "plate.csv",
    *,
    contact_s: float = 0.28,
    flight_s: float = 0.1,
    first_s: float = 0.0,
) -> Path:
    """Write the plate's force as a CSV table (``time,Fz``) in `folder`; return its path.

    A contact starts every ``contact_s + flight_s`` from ``first_s``.
    """
    import numpy as np

    t = np.arange(0, 12, 1 / 300)
    phase = np.mod(t - first_s, contact_s + flight_s)
    force = np.where(phase < contact_s, 1200 * np.sin(np.pi * phase / contact_s), 0.0)
    path = folder / name
    lines = [f"{a:.6f},{b:.3f}\n" for a, b in zip(t, force, strict=True)]
    path.write_text("time,Fz\n" + "".join(lines))
    return path


def plate_recording(folder: Path, name: str = "plate.insrec", **shape: float) -> Path:
    """Import `plate_table` as a recording of one plate under both feet; return its path.

    ``shape``: `plate_table`'s ``contact_s``, ``flight_s`` and ``first_s``.
    """
    import insole

    out = folder / name
    insole.import_file("table", plate_table(folder, **shape), out, columns=["Fz"],
                       sides=["both"], time_column="time")
    return out
