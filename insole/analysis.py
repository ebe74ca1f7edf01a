"""Offline analysis of a recording: the live pipeline fed each stream at once.

``SessionAnalysis(...).run(path)`` reads the recording container, feeds every stream's raw
bytes through `insole.core.pipeline.Pipeline` (the same object a live session uses) and keeps
the steps table (``steps_``) and the session summary (``summary_``).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .core.pipeline import Pipeline, StepRecord
from .core.summary import STEP_COLUMNS, session_summary, steps_table
from .recording import Damage, RawRecording, read_raw_recording

__all__ = ["SessionAnalysis", "write_steps_csv"]


class SessionAnalysis:
    """Analyse one recording.

    Parameters
    ----------
    detector_options : dict, optional
        Options for the contact detector (see `insole.core.events.ContactDetector`).
    chunk_bytes : int, optional
        Feed the streams in pieces of this size instead of at once (results are identical;
        used by tests to check invariance and by replay).

    Attributes
    ----------
    steps_ : list of dict
        The steps table after `run`.
    summary_ : dict
        The session summary after `run`.
    records_ : list of StepRecord
        The pipeline's step objects (with centre-of-pressure paths).
    """

    def __init__(
        self, *, detector_options: dict[str, Any] | None = None, chunk_bytes: int | None = None
    ) -> None:
        self.detector_options = detector_options
        self.chunk_bytes = chunk_bytes

    def run(self, recording: str | os.PathLike[str] | RawRecording) -> SessionAnalysis:
        """Analyse ``recording``; return self."""
        raw = recording if isinstance(recording, RawRecording) else read_raw_recording(recording)
        pipe = Pipeline(raw.header, detector_options=self.detector_options)
        records: list[StepRecord] = []
        for sid in sorted(raw.streams):
            # A 0x00 piece at each reconnect; chunk host times for clock sync.
            for data, ends, times in raw.timed_pieces(sid):
                if ends is None or times is None:
                    records += pipe.feed(sid, data).steps
                    continue
                step = self.chunk_bytes or max(len(data), 1)
                for i in range(0, len(data), step):
                    piece = data[i : i + step]
                    k0 = int(np.searchsorted(ends, i, side="right"))
                    k1 = int(np.searchsorted(ends, i + len(piece), side="left")) + 1
                    records += pipe.feed(
                        sid, piece, times[k0:k1], chunk_ends=ends[k0:k1] - i
                    ).steps
        records += pipe.finish().steps
        self.records_ = records
        self.steps_, self.summary_ = summarise_session(
            pipe, records, raw.header, damage=raw.damage, path=raw.path
        )
        return self


def summarise_session(
    pipe: Pipeline,
    records: list[StepRecord],
    header: dict[str, Any],
    *,
    damage: Damage | None = None,
    path: str | os.PathLike[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Steps table and session summary of what a pipeline processed (live, replay or offline).

    Parameters
    ----------
    pipe : Pipeline
        The pipeline after `Pipeline.finish`.
    records : list of StepRecord
        Every step it emitted.
    header : dict
        The recording header (for the start time, the source and single-plate data).
    damage : Damage, optional
        Where reading the recording stopped early.
    path : path-like, optional
        The recording, reported in the summary.

    Returns
    -------
    rows : list of dict
        The steps table.
    summary : dict
        The session summary.
    """
    single_plate = any(
        bool(d.get("plate_under_both_feet")) for d in header.get("devices", [])
    ) or bool((header.get("extra") or {}).get("import", {}).get("plate_under_both_feet"))
    alignment = pipe.alignment()
    rows = steps_table([alignment.apply(r) for r in records], single_plate=single_plate)
    stats = list(pipe.stats.values())
    sides = pipe.sides.values()
    quality = {
        "frames": sum(s.frames for s in stats),
        "frames_lost": sum(s.lost_frames for s in stats),
        "crc_errors": sum(s.crc_errors for s in stats),
        "framing_errors": sum(s.cobs_errors + s.short_frames + s.malformed_frames for s in stats),
        "discarded_bytes": sum(s.discarded_bytes for s in stats),
        "gap_samples": {s.label: s.gap_samples for s in sides},
        "gap_s": round(sum(s.gap_samples / s.fs for s in sides), 3),
        "steps_with_gaps": sum(1 for r in rows if r["has_gap"]),
        "damage": None if damage is None else {"offset": damage.offset, "reason": damage.reason},
    }
    units = {s.unit for s in sides}
    summary = session_summary(
        rows,
        duration_s=max((s.n / s.fs for s in sides), default=0.0),
        sides=sorted({s.label for s in sides}, key=lambda s: s != "left"),
        quality=quality,
        unit=units.pop() if len(units) == 1 else "mixed",
        single_plate=single_plate,
    )
    summary["start"] = header.get("start_time")
    summary["source"] = header.get("source")
    summary["clock_alignment"] = alignment.as_dict()
    if path is not None:
        summary["path"] = str(path)
    return rows, summary


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    if isinstance(v, bool | np.bool_):
        return "1" if v else "0"
    return str(v)


def write_steps_csv(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write the steps table as CSV (columns `STEP_COLUMNS`; empty cell = not available)."""
    with open(Path(path), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(STEP_COLUMNS)
        for r in rows:
            w.writerow([_fmt(r[c]) for c in STEP_COLUMNS])
