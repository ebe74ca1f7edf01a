"""One force plate under both feet is said as such in the summary: no left/right, no "heel"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from insole.cli import main


def _plate_table(path: Path, rate: float = 300.0, seconds: float = 20.0) -> None:
    """Running on one plate: 0.25 s half-sine contacts (peak 1500 N) every 0.36 s."""
    t = np.arange(int(rate * seconds)) / rate
    phase = np.mod(t, 0.36)
    fz = np.where(phase < 0.25, 1500.0 * np.sin(np.pi * phase / 0.25), 0.0) + 2.0
    lines = ["time\tFz", *(f"{a:.5f}\t{b:.3f}" for a, b in zip(t, fz, strict=True))]
    path.write_text("\n".join(lines) + "\n")


def test_plate_under_both_feet_summary(tmp_path: Path, capsys) -> None:
    table = tmp_path / "plate.txt"
    _plate_table(table)
    rec = tmp_path / "plate.insrec"
    assert main(["import", "table", str(table), "--column", "Fz", "--rate", "300",
                 "--side", "both", "--out", str(rec)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(rec), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["plate_under_both_feet"] is True
    assert summary["step_count"] >= 50
    assert main(["analyze", str(rec)]) == 0
    text = capsys.readouterr().out
    assert "one force plate under both feet" in text
    assert "peak force" in text
    for word in ("heel", "left", "right", "load, "):
        assert word not in text, word


def test_foot_insole_summary_keeps_heel_and_sides(tmp_path: Path, capsys) -> None:
    table = tmp_path / "foot.txt"
    _plate_table(table)
    rec = tmp_path / "foot.insrec"
    assert main(["import", "table", str(table), "--column", "Fz", "--rate", "300",
                 "--side", "left", "--out", str(rec)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(rec)]) == 0
    text = capsys.readouterr().out
    assert "one force plate under both feet" not in text
    assert "heel peak" in text
    assert "left" in text
