"""The history commands of the ``insole`` CLI: ``analyze --save``, ``history`` and ``report``.

`add_parsers` adds ``history`` and ``report`` to the main parser's subcommands;
`add_analyze_save_options` adds ``--save`` and ``--db`` to the ``analyze`` parser and
`handle_analyze_save` does the saving for ``insole analyze``. Handlers return the exit status;
errors the user can fix are `insole.errors.InsoleError` subclasses (one line, exit 2 in the
main CLI).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the database and rules import numpy; load them only when a command runs
    from datetime import datetime

    from .db import HistoryDB, SavedSession
    from .rules import Assessment

__all__ = [
    "LATEST",
    "add_analyze_save_options",
    "add_parsers",
    "assess_saved",
    "handle_analyze_save",
    "history_json",
]


#: Sessions ``insole history`` lists by default (the most recent; ``--all`` lists every one).
LATEST = 20


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="history database (default: $INSOLE_DB, else history.sqlite3 in the user data "
        "directory)",
    )


def add_analyze_save_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--save`` and ``--db PATH`` to the ``analyze`` parser."""
    parser.add_argument(
        "--save",
        action="store_true",
        help="save the session in the training history (date from the recording's start time)",
    )
    _db_option(parser)


def assess_saved(
    sessions: list[SavedSession], ids: Collection[int] | None = None
) -> list[Assessment]:
    """Rule assessments of saved sessions, oldest first.

    Parameters
    ----------
    sessions : list of SavedSession
        The history, or the part of it the rules need for the sessions in `ids`
        (`insole.history.db.HistoryDB.sessions_for_rules`).
    ids : collection of int, optional
        Assess only these sessions (default: every one).

    Returns
    -------
    list of Assessment
        One per assessed session, oldest first.
    """
    from .rules import SessionPoint, evaluate_history

    points = [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id) for s in sessions]
    return evaluate_history(points, ids=ids)


def _with_context(
    db: HistoryDB, start: datetime, until: datetime | None = None
) -> list[SavedSession]:
    """The sessions of `db` from `start` on (to `until`), with those the rules read about them.

    However long the history, this is the sessions asked for, the 30-odd days before them and
    the first few of the history (`insole.history.rules.history_needed`).
    """
    from .rules import history_needed

    lookback, first = history_needed()
    return db.sessions_for_rules(start, lookback=lookback, first=first, until=until)


def handle_analyze_save(args: argparse.Namespace, analysis: Any) -> str | None:
    """Save an analysed recording when ``--save`` was given.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``analyze`` arguments (``file``, ``save``, ``db``).
    analysis : SessionAnalysis
        The finished analysis (``summary_``, ``steps_``).

    Returns
    -------
    str or None
        One line to print (saved, or already saved, and the session's warnings), or None when
        ``--save`` was not given.

    Raises
    ------
    HistoryError
        If the database is damaged or the recording has no usable start time.
    """
    if not getattr(args, "save", False):
        return None
    from .db import HistoryDB, file_sha256

    path = Path(args.file)
    with HistoryDB(args.db) as db:
        saved, created = db.save_session(
            analysis.summary_,
            analysis.steps_,
            recording_path=path,
            recording_sha256=file_sha256(path),
        )
        context = _with_context(db, saved.start, until=saved.start)
    (assessment,) = assess_saved(context, ids={saved.id})
    verdict = _verdict(assessment)
    if created:
        return f"saved as session {saved.id} ({saved.start.isoformat()}) in {db.path}; {verdict}"
    return (
        f"already in the history as session {saved.id} (same recording, sha256 "
        f"{saved.recording_sha256[:12]}…); not saved again; {verdict}"
    )


def _verdict(a: Assessment) -> str:
    if a.flags:
        return "; ".join(
            f"{f.metric} {f.level}" + (f" ({f.ratio:.2f}×)" if f.ratio is not None else "")
            for f in a.flags
        )
    for n in a.notices:
        if n.kind in ("break", "not_armed"):
            return n.message
    return "no warnings"


def history_json(sessions: list[SavedSession], assessments: list[Assessment]) -> list[dict]:
    """The ``history --json`` list: one dict per session, oldest first."""
    by_id = {a.session.id: a for a in assessments}
    out = []
    for s in sessions:
        a = by_id[s.id]
        out.append(
            {
                "id": s.id,
                "start": s.start.isoformat(),
                "local_date": s.start.date().isoformat(),
                "duration_s": s.duration_s,
                "step_count": s.step_count,
                "heel_impulse_ns": s.heel_impulse_ns,
                "heel_peak_median_n": s.heel_peak_median_n,
                "cadence_spm": s.summary.get("cadence_spm"),
                "symmetry_pct": s.symmetry_pct,
                "source": s.source,
                "recording": s.recording_path,
                "recording_sha256": s.recording_sha256,
                "armed": a.armed,
                "level": a.level,
                "warnings": [f.to_json() for f in a.flags],
                "notices": [n.to_json() for n in a.notices],
            }
        )
    return out


def _cmd_history(args: argparse.Namespace) -> int:
    from .db import HistoryDB, default_db_path
    from .rules import DISCLAIMER

    path = args.db or default_db_path()
    if not Path(path).exists():
        if args.json:
            print("[]")
        else:
            print(
                f"no sessions saved yet ({path} does not exist); use 'insole analyze FILE --save'"
            )
        return 0
    with HistoryDB(path, create=False, readonly=True) as db:
        if args.all:
            sessions = db.sessions()
            assessments = assess_saved(sessions)
            total = len(sessions)
        else:
            total = db.count()
            start = db.latest_start(args.last)
            context = [] if start is None else _with_context(db, start)
            sessions = context[-args.last :]
            assessments = assess_saved(context, ids={s.id for s in sessions})
    rows = history_json(sessions, assessments)
    hidden = max(0, total - len(rows))
    more = (
        f"{hidden} earlier session{'s' * (hidden != 1)} not shown; "
        "'insole history --all' lists every session"
    )
    if args.json:
        print(json.dumps(rows, indent=2))
        if hidden:
            print(more, file=sys.stderr)
        return 0
    print(f"history {path}: {total} sessions" + (f", the latest {len(rows)}" if hidden else ""))
    print(
        f"{'id':>4}  {'start (local)':<22} {'min':>6} {'steps':>6} {'heel N·s':>9} "
        f"{'heel pk N':>9}  flags"
    )
    for r in rows:
        flags = ", ".join(
            f"{w['metric']} {w['level']}" + (f" {w['ratio']:.2f}×" if w["ratio"] else "")
            for w in r["warnings"]
        )
        notes = [n["kind"] for n in r["notices"] if n["kind"] != "not_armed"]
        if not r["armed"] and not any(n["kind"] == "break" for n in r["notices"]):
            notes.insert(0, "not armed")
        text = "; ".join(x for x in [flags, *notes] if x) or "-"
        heel = r["heel_impulse_ns"]
        peak = r["heel_peak_median_n"]
        print(
            f"{r['id']:>4}  {r['start'][:16].replace('T', ' ') + r['start'][19:]:<22} "
            f"{r['duration_s'] / 60:>6.1f} {r['step_count']:>6} "
            f"{'-' if heel is None else f'{heel:.0f}':>9} "
            f"{'-' if peak is None else f'{peak:.0f}':>9}  {text}"
        )
    if hidden:
        print(more)
    print(DISCLAIMER)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .db import HistoryDB, default_db_path, file_sha256
    from .report import build_report
    from .rules import SessionPoint, evaluate_history, evaluate_session

    target = args.target
    db_path = args.db or default_db_path()
    sessions: list[SavedSession] = []
    steps: Sequence[dict[str, Any]] | None = None
    if Path(db_path).exists():
        with HistoryDB(db_path, create=False, readonly=True) as db:
            sessions = db.sessions()
            if not Path(target).exists() and target.isdigit():
                steps = db.steps(int(target))
                saved = db.session(int(target))
    if Path(target).exists():
        from ..analysis import SessionAnalysis
        from ..cli import damage_warning

        strict = bool(getattr(args, "strict", False))
        analysis = SessionAnalysis(keep_records=False, strict=strict).run(target)
        summary, steps = analysis.summary_, analysis.steps_
        warning = damage_warning(target, summary.get("damages") or [], summary.get("frames_lost"))
        if warning:
            print(f"insole report: warning: {warning}", file=sys.stderr)
        recording: Path | None = Path(target)
        sha = file_sha256(target)
        current_id = next((s.id for s in sessions if s.recording_sha256 == sha), None)
    elif target.isdigit():
        if steps is None:
            raise FileNotFoundError(2, "no such file", str(db_path))
        summary, current_id = saved.summary, saved.id
        recording = Path(saved.recording_path)
        if not recording.exists() or file_sha256(recording) != saved.recording_sha256:
            recording = None
    else:
        raise FileNotFoundError(2, "no such file", target)
    points = [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id) for s in sessions]
    if current_id is None:
        this = SessionPoint.from_summary(summary)
        assessment = evaluate_session(this, points)
        history = evaluate_history([*points, this])
    else:
        history = evaluate_history(points)
        assessment = next(a for a in history if a.session.id == current_id)
    html = build_report(summary, steps, recording=recording, assessment=assessment, history=history)
    Path(args.out).write_text(html, encoding="utf-8")
    print(f"wrote {args.out} ({len(html) // 1024} kB)")
    return 0


def _positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def add_parsers(sub: Any) -> None:
    """Add the ``history`` and ``report`` subcommands to the main parser's subparsers."""
    p = sub.add_parser(
        "history",
        help="list saved sessions with their metrics and warnings",
        description="List the sessions of the training history, each compared with your "
        "recent normal (docs/history.md). Not a medical device.",
    )
    _db_option(p)
    p.add_argument("--json", action="store_true", help="print a JSON list of sessions")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--all", action="store_true", help=f"list every session (default: the latest {LATEST})"
    )
    which.add_argument(
        "--last",
        type=_positive_int,
        default=LATEST,
        metavar="N",
        help=f"list the N latest sessions (default {LATEST})",
    )
    p.set_defaults(func=_cmd_history)

    p = sub.add_parser(
        "report",
        help="write a one-page HTML report of a recording or a saved session",
        description="Write one self-contained HTML page: force curves with events, pressure "
        "maps, per-step distributions, strike pattern, symmetry and 12-week trends with the "
        "warning bands.",
    )
    p.add_argument("target", metavar="FILE_OR_SESSION", help="recording file or session id")
    p.add_argument("--out", type=Path, required=True, help="HTML file to write")
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse a damaged recording (exit 2) instead of reading past the damage with one "
        "warning line on stderr",
    )
    _db_option(p)
    p.set_defaults(func=_cmd_report)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience
    """Run only these commands (``python -m insole.history.commands ...``)."""
    parser = argparse.ArgumentParser(prog="insole")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
