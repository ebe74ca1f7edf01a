"""Export files written by hand for the importer tests."""

from __future__ import annotations

import csv
from pathlib import Path

#: The columns of a stAPPone CSV export: sole, time, IMU, 12 pressures, corrupt flag.
STAPPONE_HEADER = (["sole_id", "timestamp"]
                   + [f"{k}_{a}" for k in ("accel", "gyro", "magn") for a in "xyz"]
                   + [f"pressure_{i:02d}" for i in range(1, 13)] + ["corrupt"])


def write_stappone(path: Path, rows: list[list[object]]) -> Path:
    """A stAPPone CSV export of ``rows`` (in `STAPPONE_HEADER` order) at ``path``."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STAPPONE_HEADER)
        w.writerows(rows)
    return path
