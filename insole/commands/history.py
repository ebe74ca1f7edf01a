"""History commands of the ``insole`` CLI: analyze --save, history, report and profile.

`add_parsers` adds ``history``, ``report`` and ``profile`` to the main parser's subcommands;
`add_analyze_save_options` adds ``--save``, ``--db`` and ``--verbose`` to the ``analyze``
parser, `summary_options` gives `insole.session.text.print_summary` the runner's profile and
``--verbose``, and `handle_analyze_save` does the saving for ``insole analyze``. Everything a
runner reads is worded by `insole.session.plain`. Handlers return the exit status;
errors the user can fix are `insole.errors.InsoleError` subclasses (one line, exit 2 in the
main CLI).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insole.commands.common import (
    QUIET,
    STRICT,
    Arg,
    add_command,
    flag,
    out_option,
    overwrite_option,
)

if TYPE_CHECKING:  # the database and rules import numpy; load them only when a command runs
    from datetime import datetime

    from insole.session.history import HistoryDB, SavedSession
    from insole.session.plain import Profile
    from insole.session.rules import Assessment, SessionPoint

__all__ = [
    "LATEST",
    "add_analyze_save_options",
    "add_parsers",
    "assess_saved",
    "check_can_save",
    "handle_analyze_save",
    "history_json",
    "next_run",
    "save_summary",
    "summary_options",
]


#: Sessions ``insole history`` lists by default (the most recent; ``--all`` lists every one).
LATEST = 20


_DB = Arg("--db", type=Path, metavar="PATH", help="history database (default: $INSOLE_DB, else "
          "history.sqlite3 in the user data directory)")
_VERBOSE = flag("--verbose", "also print the details: code names of metrics and rules, clocks, "
                "CRC counters")


def add_analyze_save_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--save``, ``--db PATH`` and ``--verbose`` to the ``analyze`` parser."""
    flag("--save", "save the session in the training history (date from the recording's start "
         "time)")(parser)
    _DB(parser)
    _VERBOSE(parser)


def _read_profile(path: Path | None) -> Profile | None:
    """The profile stored in the history at `path` (default database), or None.

    Only reads: a missing database has no profile. A database that cannot be read gives None
    here; the command that needs the database itself reports the problem.
    """
    from insole.session.history import HistoryDB, HistoryError, default_db_path

    p = Path(path) if path is not None else default_db_path()
    if not p.is_file():
        return None
    try:
        with HistoryDB(p, create=False, readonly=True) as db:
            return db.profile()
    except HistoryError:
        return None


def summary_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of `insole.session.text.print_summary` for ``insole analyze``.

    Returns
    -------
    dict
        ``verbose`` (``--verbose``), ``profile`` (the runner's profile from the history
        database of ``--db`` or the default one, if any; loads are then in body weights) and
        ``profile_hint`` (no profile: say how to set one).
    """
    profile = _read_profile(getattr(args, "db", None))
    return {
        "verbose": bool(getattr(args, "verbose", False)),
        "profile": profile,
        "profile_hint": profile is None,
    }


def assess_saved(
    sessions: list[SavedSession], ids: Collection[int] | None = None
) -> list[Assessment]:
    """Rule assessments of saved sessions, oldest first.

    Parameters
    ----------
    sessions : list of SavedSession
        The history, or the part of it the rules need for the sessions in `ids`
        (`insole.session.history.HistoryDB.sessions_for_rules`).
    ids : collection of int, optional
        Assess only these sessions (default: every one).

    Returns
    -------
    list of Assessment
        One per assessed session, oldest first.
    """
    from insole.session.rules import SessionPoint, evaluate_history

    points = [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id) for s in sessions]
    return evaluate_history(points, ids=ids)


def next_run(
    assessment: Assessment, context: Sequence[SessionPoint]
) -> dict[str, float]:
    """The next-run limits after an assessed session (`insole.session.rules.next_run_limits`).

    Parameters
    ----------
    assessment : Assessment
        The session's assessment.
    context : sequence of SessionPoint
        Sessions before it (at least those `insole.session.rules.history_needed` names).
    """
    from insole.session.rules import next_run_limits

    flagged = {f.metric for f in assessment.flags if f.rule == "spike"}
    return next_run_limits(assessment.session, context, flagged=flagged)


def _points(sessions: Sequence[SavedSession]) -> list[SessionPoint]:
    from insole.session.rules import SessionPoint

    return [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id) for s in sessions]


def _with_context(
    db: HistoryDB, start: datetime, until: datetime | None = None
) -> list[SavedSession]:
    """The sessions of `db` from `start` on (to `until`), with those the rules read about them.

    However long the history, this is the sessions asked for, the 30-odd days before them and
    the first few of the history (`insole.session.rules.history_needed`).
    """
    from insole.session.rules import history_needed

    lookback, first = history_needed()
    return db.sessions_for_rules(start, lookback=lookback, first=first, until=until)


def check_can_save(
    db: str | os.PathLike[str] | None, recording: str | os.PathLike[str] | None = None
) -> None:
    """Refuse, before a command that saves a session starts, a save that could not succeed.

    As outputs are checked before a command starts, so is the history it will save to: no
    recording is analysed, replayed or run live only to be refused at the end.

    Parameters
    ----------
    db : path-like or None
        ``--db`` (None: the default database).
    recording : path-like, optional
        The recording to be saved, when it exists already (``analyze``, ``replay``, a
        ``file:`` source): its header's start time is checked too.

    Raises
    ------
    HistoryError
        If `db` is a folder; a file that is not a readable insole history (damaged, another
        program's, from a newer insole: opened read-only, as ``insole history`` does); a
        file or folder that cannot be written (read-only file system, permissions); or if the
        recording starts more than a day from now (`insole.session.history.check_start`).
    """
    from insole.commands.common import not_writable
    from insole.session.history import HistoryDB, HistoryError, check_start, default_db_path

    path = Path(db) if db is not None else default_db_path()
    if path.is_dir():
        raise HistoryError(
            f"{path}: is a directory; give the history database as a file path, e.g. "
            f"{path / 'history.sqlite3'}",
            path=path,
        )
    if path.exists():
        with HistoryDB(path, create=False, readonly=True):
            pass  # a damaged, foreign or newer file is refused here
        places = [path, path.absolute().parent]  # SQLite writes its -wal file beside it
    else:
        folder = path.absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # the history's folders are created
        places = [folder]
    for place in places:
        if place.exists() and not place.is_dir() and place != path:
            raise HistoryError(f"{path}: cannot create the history database: {place} is a "
                               "file, not a folder; use another --db PATH", path=path)
        why = not_writable(place)
        if why:
            where = "" if place == path else f": its folder {place} cannot be written"
            raise HistoryError(
                f"{path}: cannot save to the history database{where} ({why}); give --db PATH "
                "in a folder you can write",
                path=path,
            )
    if recording is not None:
        start = _recording_start(recording)
        if start is not None:
            check_start(start, recording=recording, path=path)


def _recording_start(recording: str | os.PathLike[str]) -> datetime | None:
    """The start time in a recording's header, or None (no header or no timezone to read)."""
    from datetime import datetime

    from insole.errors import InsoleError
    from insole.recordings.container import read_header

    try:
        start = datetime.fromisoformat(str(read_header(recording, salvage=True)["start_time"]))
    except (InsoleError, OSError, KeyError, TypeError, ValueError):
        return None  # the analysis says what is wrong with the file
    return start if start.tzinfo is not None else None


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
    from insole.session.history import HistoryDB, file_sha256
    from insole.session.plain import fmt_start
    from insole.session.rules import DISCLAIMER

    path = Path(args.file)
    verbose = bool(getattr(args, "verbose", False))
    if not analysis.summary_.get("step_count"):
        # An empty or damaged recording would enter the runner's normal as a rest day.
        return (f"not saved to the history: {path.name} holds no steps (an empty or damaged "
                "recording); nothing changes in your normal")
    with HistoryDB(args.db) as db:
        saved, created = db.save_session(
            analysis.summary_,
            analysis.steps_,
            recording_path=path,
            recording_sha256=file_sha256(path),
        )
        overlaps = db.overlapping(saved) if created else []
        context = _with_context(db, saved.start, until=saved.start)
        latest = db.latest_start(1)
        profile = db.profile()
    if overlaps:
        print(f"insole {getattr(args, 'command', None) or 'analyze'}: warning: "
              f"{_overlap_warning(saved, overlaps)}", file=sys.stderr)
    (assessment,) = assess_saved(context, ids={saved.id})
    when = fmt_start(saved.start)
    if verbose:
        when += f", {saved.start.isoformat()}"
    if created:
        head = f"saved as session {saved.id} ({when}) in {db.path}"
    else:
        sha = f", sha256 {saved.recording_sha256[:12]}…" if verbose else ""
        head = (
            f"already in the history as session {saved.id} ({when}; same recording{sha}); "
            "not saved again"
        )
    is_latest = latest is None or saved.start >= latest
    lines = [head, *_session_lines(assessment, context, profile, saved, next_run_too=is_latest)]
    if verbose and assessment.flags:
        from insole.session.plain import codes

        lines.append(f"  rules: {codes(assessment.flags)}")
    lines.append(DISCLAIMER)
    return "\n".join(lines)


def _overlap_warning(saved: SavedSession, others: Sequence[SavedSession]) -> str:
    """One line: the session just saved overlaps `others` in time (oldest first)."""
    from insole.commands.common import printable
    from insole.session.plain import fmt_duration, fmt_start

    first = others[0]
    more = f" and {len(others) - 1} other{'s' * (len(others) > 2)}" if len(others) > 1 else ""
    return printable(
        f"session {saved.id} overlaps session {first.id} ({fmt_start(first.start)}, "
        f"{fmt_duration(first.duration_s)}, {first.recording_path}){more} in time: if they "
        "are the same run from two files, it now counts twice in your weekly volume and "
        "30-day normal; if another runner's, keep one history per runner (--db PATH)"
    )


def save_summary(
    recording: str | os.PathLike[str], summary: dict[str, Any], steps: Sequence[Any], *,
    db: str | os.PathLike[str] | None, verbose: bool = False, command: str = "analyze",
) -> str:
    """Store a session summarised elsewhere (a live run, a replay), as ``analyze --save`` does.

    Parameters
    ----------
    recording : path-like
        The recording of the session.
    summary : dict
        Its summary (`insole.session.analysis.summarise_session`).
    steps : sequence of dict
        Its steps.
    db : path-like or None
        The history database (None: the default one).
    verbose : bool
        Code names too.
    command : str
        The subcommand, for a warning line on stderr (``insole live: warning: ...``).

    Returns
    -------
    str
        The lines ``analyze --save`` prints (session number, verdict, next run).
    """
    from types import SimpleNamespace

    args = argparse.Namespace(file=recording, save=True, db=db, verbose=verbose,
                              command=command)
    return handle_analyze_save(args, SimpleNamespace(summary_=summary, steps_=steps)) or ""


def _session_lines(
    assessment: Assessment,
    context: Sequence[SavedSession],
    profile: Profile | None,
    saved: SavedSession,
    *,
    next_run_too: bool = True,
) -> list[str]:
    """The verdict block of one session, indented: verdict, warnings, next run, evidence."""
    from insole.session.plain import EVIDENCE, warning_lines

    unit = str(saved.summary.get("force_unit") or "N")
    limits = next_run(assessment, _points(context)) if next_run_too else {}
    lines = warning_lines(assessment, limits, profile=profile, unit=unit, next_run=next_run_too)
    if not next_run_too:
        lines = [ln for ln in lines if not ln.startswith("Next run:")]
    if any(f.rule == "spike" for f in assessment.flags):
        lines.append(EVIDENCE)
    return ["  " + ln for ln in lines]


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
    from insole.session.history import HistoryDB, default_db_path

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
            sessions = context = db.sessions()
            assessments = assess_saved(sessions)
            total = len(sessions)
        else:
            total = db.count()
            start = db.latest_start(args.last)
            context = [] if start is None else _with_context(db, start)
            sessions = context[-args.last :]
            assessments = assess_saved(context, ids={s.id for s in sessions})
        profile = db.profile()
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
    _print_history(args, path, total, sessions, assessments, context, profile, hidden, more)
    return 0


def _print_history(
    args: argparse.Namespace,
    path: Path,
    total: int,
    sessions: list[SavedSession],
    assessments: list[Assessment],
    context: list[SavedSession],
    profile: Profile | None,
    hidden: int,
    more: str,
) -> None:
    """The ``insole history`` table in plain words, and the latest session's verdict block."""
    from insole.session.plain import codes, fmt_start, fmt_value, short_verdict
    from insole.session.rules import DISCLAIMER

    verbose = bool(getattr(args, "verbose", False))
    by_id = {a.session.id: a for a in assessments}
    shown = {str(x.summary.get("force_unit") or "N") for x in sessions}
    if shown == {"counts"}:  # uncalibrated sensors: no newtons, no body weights
        units = "loads in relative counts (uncalibrated sensors)"
    elif profile:
        units = "loads in multiples of body weight (BW; " + profile.describe() + ")"
    else:
        units = ("loads in newtons; 'insole profile --mass-kg KG' shows them as multiples of "
                 "body weight")
    if len(shown) > 1:
        units += "; sessions in relative counts stay in counts"
    latest = f", the latest {len(sessions)}" if hidden else ""
    print(f"history {path}: {total} session{'s' * (total != 1)}{latest}; {units}")
    print(
        f"{'#':>4}  {'date':<16} {'start':<5} {'duration':>11} {'steps':>7} "
        f"{'heel load':>12} {'heel peak':>10}  verdict"
    )
    for s in sessions:
        a = by_id[s.id]
        unit = str(s.summary.get("force_unit") or "N")
        row = (
            f"{s.id:>4}  {fmt_start(s.start).split(',')[0]:<16} {s.start:%H:%M} "
            f"{fmt_value('duration_s', s.duration_s):>11} "
            f"{fmt_value('step_count', s.step_count).removesuffix(' steps'):>7} "
            f"{fmt_value('heel_impulse_ns', s.heel_impulse_ns, profile, unit=unit):>12} "
            f"{fmt_value('heel_peak_n', s.heel_peak_median_n, profile, unit=unit):>10}  "
            f"{short_verdict(a)}"
        )
        if verbose:
            row += f"  [{s.start.isoformat()}" + (f"; {codes(a.flags)}" if a.flags else "") + "]"
        print(row)
    if hidden:
        print(more)
    if sessions:
        last = sessions[-1]
        a = by_id[last.id]
        print(f"latest session (#{last.id}, {fmt_start(last.start)}):")
        before = [c for c in context if c.start < last.start]
        for ln in _session_lines(a, before, profile, last):
            print(ln)
    print(DISCLAIMER)


def _cmd_report(args: argparse.Namespace) -> int:
    from insole.commands.common import is_stdout, output_path

    with contextlib.ExitStack() as stack:  # the progress bar, from reading to the report
        html = _report_html(args, stack)
    with output_path(args.out, suffix=".html") as out:
        out.write_text(html, encoding="utf-8")
    where = "stdout" if is_stdout(args.out) else args.out
    print(f"wrote {where} ({len(html) // 1024} kB)",
          file=sys.stderr if is_stdout(args.out) else sys.stdout)
    return 0


def _report_html(args: argparse.Namespace, stack: contextlib.ExitStack) -> str:
    """The HTML of ``insole report``; the progress bar goes on `stack`."""
    from insole.commands.common import UsageError, check_replace, history_files
    from insole.commands.progress import FileProgress, wanted
    from insole.session.history import HistoryDB, default_db_path, file_sha256
    from insole.session.report import build_report
    from insole.session.rules import SessionPoint, evaluate_history, evaluate_session

    target = args.target
    db_path = args.db or default_db_path()
    by_id = not Path(target).exists() and target.isdigit()  # a session id
    sessions: list[SavedSession] = []
    steps: Sequence[dict[str, Any]] | None = None
    profile: Profile | None = None
    if Path(db_path).exists():
        with HistoryDB(db_path, create=False, readonly=True) as db:
            sessions = db.sessions()
            profile = db.profile()
            if by_id:
                steps = db.steps(int(target))
                saved = db.session(int(target))
    # Inputs are never replaced, even with --overwrite: the recording given, or the one the
    # session given by its id refers to (re-read for the curves), and the history itself.
    inputs: list[tuple[object, str]] = [] if by_id else [(target, "the recording reported")]
    if by_id and steps is not None:
        inputs.append((saved.recording_path, f"the recording of session {saved.id}"))
    check_replace(args.out, overwrite=args.overwrite, what="report",
                  not_same_as=[*inputs, *history_files(db_path)])
    if Path(target).exists():
        from insole.commands.common import damage_warning
        from insole.session.analysis import SessionAnalysis

        strict = bool(getattr(args, "strict", False))
        bar = FileProgress("insole report", target, enabled=wanted(args))
        stack.enter_context(bar)
        analysis = SessionAnalysis(keep_records=False, strict=strict).run(target)
        bar.stage("writing the report")
        summary, steps = analysis.summary_, analysis.steps_
        warning = damage_warning(target, summary.get("damages") or [], summary.get("frames_lost"))
        if warning:
            print(f"insole report: warning: {warning}", file=sys.stderr)
        recording: Path | None = Path(target)
        sha = file_sha256(target)
        current_id = next((s.id for s in sessions if s.recording_sha256 == sha), None)
    elif target.isdigit():
        if not Path(db_path).exists():
            raise UsageError(
                f"no session {target}: no training history yet ({db_path} does not exist); "
                "save sessions with 'insole analyze FILE --save', or give a recording file"
            )
        if steps is None:
            raise UsageError(
                f"no session {target} in {db_path}; 'insole history --all' lists the saved "
                "sessions"
            )
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
    limits = next_run(assessment, [p for p in points if p.start < assessment.session.start])
    return build_report(
        summary, steps, recording=recording, assessment=assessment, history=history,
        profile=profile, limits=limits,
    )


def _cmd_profile(args: argparse.Namespace) -> int:
    from insole.session.history import HistoryDB, default_db_path

    path = Path(args.db or default_db_path())
    current = None
    if path.exists():  # read as `history` reads it: a damaged or foreign file is refused
        with HistoryDB(path, create=False, readonly=True) as db:
            current = db.profile()
    if args.mass_kg is None and args.foot_length_mm is None:
        if args.json:
            print(json.dumps(None if current is None else {
                "mass_kg": current.mass_kg, "foot_length_mm": current.foot_length_mm}))
        elif current is None:
            print(
                f"no profile in {path}; set one with 'insole profile --mass-kg KG "
                "[--foot-length-mm MM]' to see loads as multiples of body weight"
            )
        else:
            print(f"profile in {path}: {current.describe()}")
        return 0
    # Checked before the database is created or written: a refused value leaves no file.
    _new_profile(args, current)
    check_can_save(path)
    with HistoryDB(path) as db:
        profile = db.set_profile(_new_profile(args, db.profile()))
    if args.json:
        print(json.dumps({"mass_kg": profile.mass_kg, "foot_length_mm": profile.foot_length_mm}))
    else:
        print(
            f"profile saved in {path}: {profile.describe()}; loads are now shown as multiples "
            "of body weight (BW)"
        )
    return 0


def _new_profile(args: argparse.Namespace, old: Profile | None) -> Profile:
    """The profile ``insole profile --mass-kg ... --foot-length-mm ...`` stores over `old`.

    Changing only the mass keeps the foot length; the foot length alone needs a stored mass.

    Raises
    ------
    ValueError
        If a value is out of range, or no mass is given or stored.
    """
    from insole.commands.common import UsageError
    from insole.session.plain import Profile

    mass = args.mass_kg if args.mass_kg is not None else (old.mass_kg if old else None)
    if mass is None:
        raise UsageError("no body mass stored yet; give --mass-kg KG as well")
    foot = args.foot_length_mm
    if foot is None and old is not None:
        foot = old.foot_length_mm  # changing the mass keeps the foot length
    return Profile(mass_kg=mass, foot_length_mm=foot)


def _positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def _latest(p: argparse.ArgumentParser) -> None:
    """``--all`` or ``--last N``: which sessions ``history`` lists."""
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--all", action="store_true", help=f"list every session (default: the latest {LATEST})"
    )
    which.add_argument("--last", type=_positive_int, default=LATEST, metavar="N",
                       help=f"list the N latest sessions (default {LATEST})")


def add_parsers(sub: Any) -> None:
    """Add the ``history``, ``report`` and ``profile`` subcommands to the main parser."""
    add_command(
        sub, "history", _cmd_history, _DB, flag("--json", "print a JSON list of sessions"),
        _VERBOSE, _latest,
        help="list saved sessions with their metrics and warnings",
        description="List the sessions of the training history, each compared with your "
        "recent normal (docs/history.md). Not a medical device.",
    )
    add_command(
        sub, "report", _cmd_report,
        Arg("target", metavar="FILE_OR_SESSION", help="recording file or session id"),
        out_option("HTML file to write ('-': stdout); an existing report is replaced",
                   what="HTML file to write", example="report.html"),
        overwrite_option("report", others=False),
        QUIET,
        STRICT.but(help="refuse a damaged recording (exit 2) instead of reading past the damage "
                   "with one warning line on stderr"),
        _DB,
        help="write a one-page HTML report of a recording or a saved session",
        description="Write one self-contained HTML page: force curves with events, pressure "
        "maps, per-step distributions, strike pattern, symmetry and 12-week trends with the "
        "warning bands.",
    )
    add_command(
        sub, "profile", _cmd_profile,
        Arg("--mass-kg", type=float, metavar="KG", help="body mass in kg"),
        Arg("--foot-length-mm", type=float, metavar="MM", help="foot length in mm"),
        flag("--json", "print the profile as JSON"),
        _DB,
        help="set or show your body mass (loads are then shown in multiples of body weight)",
        description="Store your body mass (and foot length) with the training history, so "
        "that loads are shown as multiples of body weight (BW). Without options: show it.",
    )


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience
    """Run only these commands (``python -m insole.commands.history ...``)."""
    parser = argparse.ArgumentParser(prog="insole")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
