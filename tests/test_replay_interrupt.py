"""Ctrl-C (or SIGTERM) stops ``insole replay`` as it stops ``insole live``: with the summary.

The replay printed only ``insole: interrupted`` (exit 130): no summary of what was replayed,
and with ``--save`` no word on whether the session was saved. Now the summary of what was
replayed follows, and a line says where the replay stopped and that it was not saved (the
history keeps whole recordings: ``insole analyze FILE --save``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REC = Path(__file__).resolve().parents[1] / "recordings" / "walk_20s.insrec"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_a_stopped_replay_prints_its_summary_and_saves_nothing(tmp_path: Path, sig) -> None:
    db = tmp_path / "h.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "insole.cli", "replay", str(REC), "--no-gui", "--db", str(db),
         "--save"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # two status lines: the replay runs at its pace
        line = proc.stdout.readline()
        lines.append(line)
        if sum(" steps " in ln for ln in lines) >= 2:
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    out = "".join(lines) + out
    assert proc.returncode == 0, err
    assert "interrupted" not in err
    assert "session summary" in out
    stop = [ln for ln in out.splitlines() if ln.startswith("stopped at ")]
    assert len(stop) == 1, out
    replayed = float(stop[0].split()[2])
    assert 1.0 <= replayed < 20.0
    assert stop[0].endswith("not saved: 'insole analyze FILE --save' saves the whole recording")
    assert not db.exists() or "walk_20s" not in subprocess.run(
        [sys.executable, "-m", "insole.cli", "history", "--db", str(db)], capture_output=True,
        text=True).stdout
