"""Offline analysis of a recording: the live pipeline fed the recorded bytes block by block.

``SessionAnalysis(...).run(path)`` reads the recording container in bounded pieces
(`insole.recordings.container.BlockReader`), feeds every stream's raw bytes with their host receive
times through `insole.core.pipeline.Pipeline` (the same object a live session uses) and keeps the
steps table (``steps_``) and the session summary (``summary_``).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from insole.core.pipeline import Pipeline, PipelineUpdate, StepRecord, plate_under_both_feet
from insole.core.summary import STEP_COLUMNS, StepAccumulator, StepsTable, session_summary
from insole.recordings.container import BlockReader, Damage, RawRecording, StreamRun

__all__ = ["SessionAnalysis", "write_steps_csv"]


@dataclass(kw_only=True, eq=False, repr=False)
class SessionAnalysis:
    """Analyse one recording.

    Parameters
    ----------
    detector_options : dict, optional
        Options for the contact detector (see `insole.core.events.ContactDetector`).
    chunk_bytes : int, optional
        Feed the streams in pieces of this size instead of at once (results are identical;
        used by tests to check invariance and by replay). None or 0: at once. A negative
        size is a `ValueError`, one that is not a whole number a `TypeError`.
    keep_records : bool, default True
        Keep every `StepRecord` (``records_``, with region dicts and centre-of-pressure paths).
        False keeps only the steps table's numbers as the steps come, so memory grows by about
        0.6 kB per step (``insole analyze`` does this); ``records_`` is then empty.
    salvage : bool, default True
        Read a file past damage (`insole.recordings.container.BlockReader`): the bytes of a block
        whose CRC fails are kept when its structure is intact, unreadable regions are skipped; the
        summary's ``damage``, ``damaged_blocks`` and ``damages`` report what was met and
        ``frames_lost`` includes the frames lost to it. False stops at the first damage.
    strict : bool, default False
        Refuse a damaged file: `run` raises `insole.errors.RecordingError` at the first damage.

    Attributes
    ----------
    steps_ : StepsTable
        The steps table after `run` (a sequence of dicts; ``steps_.column(name)`` gives one
        column as an array).
    summary_ : dict
        The session summary after `run`.
    records_ : list of StepRecord
        The pipeline's step objects (with centre-of-pressure paths).
    """

    detector_options: dict[str, Any] | None = None
    chunk_bytes: int | None = None
    keep_records: bool = True
    salvage: bool = True
    strict: bool = False

    def __post_init__(self) -> None:
        c = self.chunk_bytes
        if c is not None and (isinstance(c, bool) or not isinstance(c, int | np.integer)):
            raise TypeError(f"chunk_bytes must be a whole number of bytes or None, got {c!r}")
        if c is not None and c < 0:
            raise ValueError(f"chunk_bytes must be 1 or more (None or 0: each run at once), "
                             f"got {c}")

    def run(self, recording: str | os.PathLike[str] | RawRecording) -> SessionAnalysis:
        """Analyse ``recording``; return self.

        A file is read block by block (`insole.recordings.container.BlockReader`), so memory does
        not grow with the recording's length apart from the steps themselves; a `RawRecording`
        already in memory is fed from there. Either way each stream's bytes go to the pipeline in
        file order with the host time of every chunk, and a 0x00 at each reconnect.
        """
        items: Iterator[StreamRun | dict[str, Any] | Damage]
        if isinstance(recording, RawRecording):
            header, items, path = recording.header, _raw_items(recording), recording.path
            source: RawRecording | BlockReader = recording
        else:
            source = BlockReader(recording, salvage=self.salvage, strict=self.strict)
            header, items, path = source.header, source.runs(), source.path
        # Without records the pipeline hands the steps out as arrays (no object per step).
        pipe = Pipeline(
            header, detector_options=self.detector_options, step_records=self.keep_records
        )
        per_stream: dict[int, list[StepRecord]] = {}
        acc = StepAccumulator()
        streams = set(_header_stream_ids(header))

        def keep(sid: int, update: PipelineUpdate) -> None:
            if self.keep_records:
                per_stream.setdefault(sid, []).extend(update.steps)
            else:
                acc.add_batches(update.step_batches)

        for item in items:
            if isinstance(item, StreamRun):
                sid = item.stream_id
                streams.add(sid)
                keep(sid, self._feed(pipe, item))
            elif isinstance(item, dict):
                sid = int(item.get("stream_id", -1))
                if item.get("event") == "reconnect" and sid in streams:
                    # End a frame cut by the disconnect (SPEC §4.2).
                    keep(sid, pipe.feed(sid, b"\x00"))
        last = pipe.finish()
        if self.keep_records:
            records = [r for sid in sorted(per_stream) for r in per_stream[sid]] + last.steps
            self.records_ = records
            acc.add(records)
        else:
            acc.add_batches(last.step_batches)
            self.records_ = []
        self.steps_, self.summary_ = summarise_session(
            pipe, acc, header, damage=source.damage, path=path, damages=source.damages
        )
        return self

    def _feed(self, pipe: Pipeline, run: StreamRun) -> PipelineUpdate:
        """Feed one run of a stream (in ``chunk_bytes`` pieces if set); return its steps."""
        data, ends, times = run.data, run.chunk_end, run.chunk_time_s
        step = self.chunk_bytes or max(len(data), 1)
        out = PipelineUpdate()
        for i in range(0, len(data), step):
            piece = data[i : i + step]
            k0 = int(np.searchsorted(ends, i, side="right"))
            k1 = int(np.searchsorted(ends, i + len(piece), side="left")) + 1
            update = pipe.feed(run.stream_id, piece, times[k0:k1], chunk_ends=ends[k0:k1] - i)
            out.steps += update.steps
            out.step_batches += update.step_batches
        return out


def _header_stream_ids(header: dict[str, Any]) -> list[int]:
    """Stream ids declared in a recording header."""
    return [int(s["stream_id"]) for s in header.get("streams", [])]


def _raw_items(raw: RawRecording) -> Iterator[StreamRun | dict[str, Any]]:
    """A recording in memory as `BlockReader.runs` items: each stream's pieces and reconnects.

    Streams come one after the other (sorted by id); each is cut at its reconnects, each
    reconnect given as its event.
    """
    for sid in sorted(raw.streams):
        stream = raw.streams[sid]
        reconnects = sorted(
            (e for e in raw.events
             if e.get("stream_id") == sid and e.get("event") == "reconnect"
             and "stream_offset" in e),
            key=lambda e: int(e["stream_offset"]),
        )
        cuts = [int(e["stream_offset"]) for e in reconnects]
        begin = 0
        for stop, event in [*zip(cuts, reconnects, strict=True), (len(stream.data), None)]:
            k0 = int(np.searchsorted(stream.chunk_end, begin, side="right"))
            k1 = int(np.searchsorted(stream.chunk_end, stop, side="left")) + 1
            k1 = min(k1, stream.n_chunks)
            yield StreamRun(sid, stream.data[begin:stop], stream.chunk_end[k0:k1] - begin,
                            stream.chunk_time_s[k0:k1], begin)
            if event is not None:
                yield event
            begin = stop


def summarise_session(
    pipe: Pipeline,
    records: list[StepRecord] | StepAccumulator,
    header: dict[str, Any],
    *,
    damage: Damage | None = None,
    path: str | os.PathLike[str] | None = None,
    damages: list[Damage] | None = None,
) -> tuple[StepsTable, dict[str, Any]]:
    """Steps table and session summary of what a pipeline processed (live, replay or offline).

    Parameters
    ----------
    pipe : Pipeline
        The pipeline after `Pipeline.finish`.
    records : list of StepRecord or StepAccumulator
        Every step it emitted (or their numbers, collected as they came).
    header : dict
        The recording header (for the start time, the source and single-plate data).
    damage : Damage, optional
        The first damage met in the recording (where reading stopped, unless salvaged).
    path : path-like, optional
        The recording, reported in the summary.
    damages : list of Damage, optional
        Every damage met (default: ``damage`` alone): reported as ``damaged_blocks``,
        ``bytes_skipped`` and ``damages`` in the summary.

    Returns
    -------
    rows : StepsTable
        The steps table.
    summary : dict
        The session summary.
    """
    all_damage = list(damages) if damages is not None else [] if damage is None else [damage]
    single_plate = plate_under_both_feet(header)
    alignment = pipe.alignment()
    acc = records if isinstance(records, StepAccumulator) else StepAccumulator().add(records)
    rows = acc.table(alignment, single_plate=single_plate)
    stats = list(pipe.stats.values())
    # Left first: the order in which the pipeline met the insoles depends on how it was fed.
    sides = sorted(pipe.sides.values(), key=lambda s: s.label != "left")
    # Contact times a loss could hide (flagged by the detector).
    time_lost = sum(s.detector.contact_time_lost_ for s in sides)
    quality = {
        "frames": sum(s.frames for s in stats),
        "frames_lost": sum(s.lost_frames for s in stats),
        "crc_errors": sum(s.crc_errors for s in stats),
        "framing_errors": sum(s.cobs_errors + s.short_frames + s.malformed_frames for s in stats),
        "discarded_bytes": sum(s.discarded_bytes for s in stats),
        "gap_samples": {s.label: s.gap_samples for s in sides},
        "gap_s": round(sum(s.gap_samples / s.fs for s in sides), 3),  # both insoles added
        "gap_s_per_side": {s.label: round(s.gap_samples / s.fs, 3) for s in sides},
        # Samples received without a value (a sensor's invalid count), per insole [s].
        "invalid_s": {s.label: round(s.invalid_samples / s.fs, 3) for s in sides},
        "steps_with_gaps": int(np.count_nonzero(rows.column("has_gap"))),
        # Counted, not dropped silently: steps whose toe-off is flagged (ended in standing, cut
        # by the end of the recording or a restart, or a loss of >= 0.1 s inside or right
        # before the contact, or one that could hide a swing right after it, where the detector
        # cut a long contact: counted as steps), and contacts in progress when the recording
        # (or a restart) began or ended that are no step.
        "steps_ending_standing": int(len(rows) - np.count_nonzero(rows.column("toe_off_valid")))
        - sum(s.detector.cut_at_end_reported_ for s in sides)
        - time_lost,
        "steps_contact_time_lost": time_lost,
        # Not seen: steps estimated to lie wholly in lost data (strides spanning a loss).
        "steps_hidden_in_losses": sum(s.hidden_steps for s in sides),
        "contacts_cut": {
            "start": sum(s.detector.cut_at_start_ for s in sides),
            "end": sum(s.detector.cut_at_end_ for s in sides),
            "end_counted": sum(s.detector.cut_at_end_reported_ for s in sides),
        },
        # Contacts whose swing stayed loaded: weight shifts while standing, not steps.
        "weight_shifts": sum(s.detector.weight_shifts_ for s in sides),
        "damage": None if damage is None else {"offset": damage.offset, "reason": damage.reason},
        "damaged_blocks": len(all_damage),
        "bytes_skipped": sum(d.bytes_after for d in all_damage),
        "bytes_kept": sum(d.bytes_kept for d in all_damage),
        "damages": [d.as_dict() for d in all_damage],
    }
    units = {s.unit for s in sides}
    summary = session_summary(
        rows,
        duration_s=max((s.n / s.fs for s in sides), default=0.0),
        sides=sorted({s.label for s in sides}, key=lambda s: s != "left"),
        quality=quality,
        unit=units.pop() if len(units) == 1 else "mixed" if units else "N",  # N: no data
        single_plate=single_plate,
    )
    # One force plate under both feet (`insole.sources.importers.table`,
    # `insole.sources.importers.c3d`): its contacts belong to both feet and its force is the whole
    # body's, not a heel's.
    summary["plate_under_both_feet"] = single_plate
    # Insoles whose sensor positions are a generic grid (`SensorLayout.positions_assumed`):
    # their strike pattern and regional loads are guesses.
    summary["layout_assumed"] = [s.label for s in sides if s.layout.positions_assumed]
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


def write_steps_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write the steps table as CSV (columns `STEP_COLUMNS`; empty cell = not available)."""
    with open(Path(path), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(STEP_COLUMNS)
        for r in rows:
            w.writerow([_fmt(r[c]) for c in STEP_COLUMNS])
