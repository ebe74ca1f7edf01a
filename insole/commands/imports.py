"""The ``insole import`` command: lab and commercial files → ordinary recordings.

`add_parsers` adds ``import`` with one sub-command per format (``gaitpdb``, ``gaitndd``,
``table``, ``pedar``, ``stappone``, ``moticon``, ``fscan``, ``xsensor``, ``c3d``) to the main
parser's subcommands; ``insole/cli.py`` calls it
from its ``build_parser``. Each handler ``_cmd_import_xxx(args) -> int`` returns the exit
status; errors the user can fix are raised as `insole.errors.InsoleError` subclasses
(`insole.sources.importers.ImportFormatError`, `insole.errors.RecordingError`), which the main CLI
prints as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from insole.commands.types import import_rate as _import_rate
from insole.commands.types import iso_time as _iso_time
from insole.commands.types import positive_float as _positive

__all__ = ["add_parsers", "suggest_import"]


# -- foreign files: which import reads them ---------------------------------------------------

#: (kind, what the file is, extra arguments the import needs)
_KINDS = {
    "gaitpdb": ("a PhysioNet gaitpdb file", ""),
    "gaitndd": ("a PhysioNet gaitndd record", ""),
    "pedar": ("a novel pedar ASCII export", ""),
    "stappone": ("a stAPPone CSV export", " --side SIDE"),
    "moticon": ("a Moticon OpenGo text export", ""),
    "fscan": ("a Tekscan F-Scan ASCII export", " --side SIDE"),
    "xsensor": ("an XSENSOR CSV export", ""),
    "c3d": ("a C3D file", ""),
    "xdf": ("an XDF file", ""),
    "table": ("a text table", " --column NAME --rate HZ"),
}


def guess_import_kind(path: str | os.PathLike[str]) -> str | None:
    """The ``insole import`` sub-command that reads `path`, from its extension and first bytes.

    Parameters
    ----------
    path : path-like
        A file that is not an insole recording.

    Returns
    -------
    str or None
        ``gaitpdb``, ``gaitndd``, ``pedar``, ``stappone``, ``moticon``, ``fscan``,
        ``xsensor``, ``c3d``, ``xdf``, ``table`` (a text table with a header row), or None.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    ext = p.suffix.lower()
    if head.startswith(b"INSOLREC"):
        return None
    if head.startswith(b"XDF:") or ext == ".xdf":
        return "xdf"
    if ext == ".c3d" or (len(head) > 1 and head[1:2] == b"\x50" and ext not in (".txt", ".csv")):
        return "c3d"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if ext in (".hea", ".let", ".rit", ".ts") and p.with_suffix(".hea").is_file():
        return "gaitndd"
    if first.startswith("DATA_TYPE") or "Tekscan" in text[:400] or ext == ".asf":
        return "fscan"
    if first.lower().startswith("file name:") and "sensor type" in text.lower():
        return "pedar"
    if text.startswith("# ") and ("Sensor insoles" in text or "Start time" in text):
        return "moticon"
    if first.startswith("sole_id,"):
        return "stappone"
    if first.startswith("File:,") or "XSENSOR" in text[:400]:
        return "xsensor"
    fields = first.split()
    if len(fields) == 19 and all(_is_number(x) for x in fields):
        return "gaitpdb"
    if "\x00" in text or ext not in ("", ".txt", ".csv", ".tsv", ".dat", ".tab"):
        return None
    header, row = _table_rows(text)
    if len(header) >= 2 and len(row) == len(header) and all(_is_number(x) for x in row):
        return "table"
    return None


def _table_rows(text: str) -> tuple[list[str], list[str]]:
    """The header row's names and the first data row's fields of a delimited text table."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 3:  # the last line may be cut by the 4 kB read
        return [], []

    def fields(line: str) -> list[str]:
        for sep in ("\t", ",", ";"):
            if sep in line:
                return [f.strip() for f in line.split(sep)]
        return line.split()

    return fields(lines[0]), fields(lines[1])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def suggest_import(path: str | os.PathLike[str]) -> str | None:
    """One line for a file that is not a recording but one ``insole import`` reads, or None.

    Examples
    --------
    ``GaCo01_01.txt: not an insole recording but a PhysioNet gaitpdb file; convert it first:
    insole import gaitpdb GaCo01_01.txt --out GaCo01_01.insrec``
    """
    kind = guess_import_kind(path)
    if kind is None:
        return None
    what, extra = _KINDS[kind]
    p = Path(path)
    if kind == "table":
        with open(p, "rb") as f:
            names = _table_rows(f.read(4096).decode("utf-8", errors="replace"))[0]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        what = f"a text table (columns {shown})"
    source = p.with_suffix("") if kind == "gaitndd" else p
    return (
        f"{p}: not an insole recording but {what}; convert it first: insole import {kind} "
        f"{source}{extra} --out {p.stem}.insrec"
        + (" (SIDE: left or right)" if "SIDE" in extra else "")
    )


def _print_result(result: Any, args: argparse.Namespace) -> None:
    from insole.commands.common import is_stdout

    info = result.as_dict()
    if is_stdout(args.out):
        info["path"] = "-"
    if args.json:
        print(json.dumps(info, indent=2))
        return
    sides = ", ".join(
        f"{d['side']} {d['n_sensors']} sensor{'s' if d['n_sensors'] != 1 else ''} "
        f"({d['unit']}, step {d['scale']:g})"
        for d in info["devices"]
    )
    invalid = f", {info['invalid_samples']} invalid values" if info["invalid_samples"] else ""
    print(
        f"wrote {'stdout' if is_stdout(args.out) else info['path']}: {info['format']}, "
        f"{info['duration_s']:.2f} s at {info['sample_rate_hz']:g} Hz, {info['samples']} "
        f"samples; {sides}{invalid}",
        file=sys.stderr if is_stdout(args.out) else sys.stdout,
    )


def _run(args: argparse.Namespace, source: Any, do_import: Any) -> int:
    """Run ``do_import(out)`` with a progress bar over `source` and ``--out -`` handled."""
    from insole.commands.common import UsageError, is_stdout, output_path
    from insole.commands.progress import FileProgress, wanted

    if is_stdout(args.out) and args.json:
        raise UsageError("--out - and --json both write to stdout; give --out a file name or "
                         "leave out --json")
    watched = Path(source)
    if not watched.is_file() and watched.with_suffix(".hea").is_file():
        watched = watched.with_suffix(".hea")
    with FileProgress(f"insole import {args.format}", watched, enabled=wanted(args)), \
            output_path(args.out, suffix=".insrec") as out:
        result = do_import(out)
    _print_result(result, args)
    return 0


# -- handlers --------------------------------------------------------------------------------


def _cmd_import_gaitpdb(args: argparse.Namespace) -> int:
    from insole.sources.importers.physionet import import_gaitpdb

    return _run(args, args.file, lambda out: import_gaitpdb(
        args.file, out, start=args.start, overwrite=args.overwrite))


def _cmd_import_gaitndd(args: argparse.Namespace) -> int:
    from insole.sources.importers.physionet import import_gaitndd

    return _run(args, args.record, lambda out: import_gaitndd(
        args.record, out, start=args.start, overwrite=args.overwrite))


def _cmd_import_table(args: argparse.Namespace) -> int:
    from insole.sources.importers.table import import_table

    return _run(args, args.file, lambda out: import_table(
        args.file,
        out,
        columns=args.column,
        sampling_rate_hz=args.rate,
        sides=args.side,
        time_column=args.time_column,
        time_unit=args.time_unit,
        unit=args.unit,
        start=args.start,
        overwrite=args.overwrite,
    ))


def _cmd_import_pedar(args: argparse.Namespace) -> int:
    from insole.sources.importers.pedar import import_pedar

    return _run(args, args.file, lambda out: import_pedar(
        args.file, out, foot_length_mm=args.foot_length, start=args.start,
        overwrite=args.overwrite,
    ))


def _stappone_sides(values: Sequence[str] | None) -> dict[int, str] | str | None:
    from insole.sources.importers import ImportFormatError

    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        side = values[0].strip().lower()
        if side not in ("left", "right"):
            raise ImportFormatError(f"--side must be left, right or ID=SIDE, got {values[0]!r}")
        return side
    out: dict[int, str] = {}
    for item in values:
        sole, sep, side = item.partition("=")
        side = side.strip().lower()
        try:
            sole_id = int(sole)
        except ValueError:
            sole_id = -1
        if not sep or sole_id < 0 or side not in ("left", "right"):
            raise ImportFormatError(
                f"--side must be SOLE_ID=left or SOLE_ID=right (e.g. 1=left), got {item!r}"
            )
        out[sole_id] = side
    return out


def _cmd_import_stappone(args: argparse.Namespace) -> int:
    from insole.sources.importers.stappone import import_stappone

    return _run(args, args.file, lambda out: import_stappone(
        args.file, out, sides=_stappone_sides(args.side), foot_length_mm=args.foot_length,
        start=args.start, overwrite=args.overwrite,
    ))


def _cmd_import_moticon(args: argparse.Namespace) -> int:
    from insole.sources.importers.moticon import import_moticon

    return _run(args, args.file, lambda out: import_moticon(
        args.file, out, size=args.size, start=args.start, overwrite=args.overwrite
    ))


def _cmd_import_fscan(args: argparse.Namespace) -> int:
    from insole.sources.importers.fscan import import_fscan

    return _run(args, args.file, lambda out: import_fscan(
        args.file, out, side=args.side, foot_length_mm=args.foot_length, start=args.start,
        overwrite=args.overwrite,
    ))


def _cmd_import_xsensor(args: argparse.Namespace) -> int:
    from insole.sources.importers.xsensor import import_xsensor

    return _run(args, args.file, lambda out: import_xsensor(
        args.file, out, side=args.side, foot_length_mm=args.foot_length, start=args.start,
        overwrite=args.overwrite,
    ))


def _cmd_import_c3d(args: argparse.Namespace) -> int:
    from insole.sources.importers import ImportFormatError
    from insole.sources.importers.c3d import import_c3d

    insoles: dict[str, str] = {}
    for item in args.insole or []:
        foot, sep, prefix = item.partition("=")
        foot = foot.strip().lower()
        if not sep or foot not in ("left", "right") or not prefix:
            raise ImportFormatError(
                f"--insole must be left=PREFIX or right=PREFIX (e.g. left=LInsole), got {item!r}"
            )
        insoles[foot] = prefix
    return _run(args, args.file, lambda out: import_c3d(
        args.file, out, plates=args.plate, side=args.side, insoles=insoles or None,
        start=args.start, overwrite=args.overwrite,
    ))


def _cmd_import_xdf(args: argparse.Namespace) -> int:
    from insole.sources.importers.xdf import import_xdf

    return _run(args, args.file, lambda out: import_xdf(
        args.file, out, start=args.start, overwrite=args.overwrite))


# -- parsers ---------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="recording file to create ('-': stdout)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing file (an imported recording is not replaced "
                   "without it)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (it is drawn on stderr only when that is a terminal)")
    p.add_argument(
        "--start", type=_iso_time,
        help="wall-clock time of the first sample, ISO 8601 (default: from the file when it "
        "has one, else now)",
    )
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def add_parsers(sub: Any) -> None:
    """Add ``import`` (``gaitpdb|gaitndd|table|pedar|stappone|moticon|fscan|xsensor|c3d``).

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The object returned by the main parser's ``add_subparsers``.
    """
    p = sub.add_parser(
        "import",
        help="convert lab or commercial insole data into a recording",
        description="Convert a file of another system into an ordinary recording (protocol "
        "frames, one stream per foot), so it goes through the same decoder and analysis as "
        "live insoles. See docs/importers.md. An imported recording is never replaced without "
        "--overwrite; '-' as --out writes the recording to stdout.",
    )
    fmt = p.add_subparsers(dest="format", metavar="FORMAT", parser_class=type(p))
    fmt.required = True

    q = fmt.add_parser(
        "gaitpdb",
        help="PhysioNet Gait in Parkinson's Disease: 8 force sensors per foot, 100 Hz",
        description="Import a PhysioNet gaitpdb file (19 whitespace-separated columns: time, "
        "8 left and 8 right sensor forces [N], two totals).",
    )
    q.add_argument("file", type=Path, help="gaitpdb .txt file")
    _common(q)
    q.set_defaults(func=_cmd_import_gaitpdb)

    q = fmt.add_parser(
        "gaitndd",
        help="PhysioNet Gait Dynamics in Neuro-Degenerative Disease: footswitches, 300 Hz",
        description="Import a PhysioNet gaitndd WFDB record (.hea, .let, .rit; format 212): "
        "one footswitch signal per foot in ADC counts (relative force).",
    )
    q.add_argument("record", type=Path, help="record path without extension, or its .hea file")
    _common(q)
    q.set_defaults(func=_cmd_import_gaitndd)

    q = fmt.add_parser(
        "table",
        help="columns of a CSV/TSV/whitespace table, e.g. a force plate's vertical force",
        description="Import named columns of a delimited text table with a header row; each "
        "column becomes one single-sensor device (a foot, or a plate under both feet).",
    )
    q.add_argument("file", type=Path, help="text table with a header row")
    q.add_argument("--column", action="append", required=True, metavar="NAME",
                   help="column to import (repeatable)")
    q.add_argument("--rate", type=_import_rate, metavar="HZ",
                   help="sampling rate, 1..10000 Hz (required unless --time-column is in s "
                   "or ms)")
    q.add_argument("--side", action="append", choices=["left", "right", "both"],
                   help="foot of each --column, in order, or one for all; 'both' = one plate "
                   "under both feet (default: both for one column, left and right for two)")
    q.add_argument("--time-column", metavar="NAME", help="column with each row's time")
    q.add_argument("--time-unit", choices=["s", "ms", "frame"], default="s",
                   help="unit of --time-column (default s; 'frame' = frame number / rate)")
    q.add_argument("--unit", choices=["N", "kPa", "counts"], default="N",
                   help="unit of the columns (default N)")
    _common(q)
    q.set_defaults(func=_cmd_import_table)

    q = fmt.add_parser(
        "pedar",
        help="novel pedar ASCII export: 99 sensors per foot in kPa",
        description="Import a novel pedar ASCII export (.asc): the 99 sensors per insole, one "
        "to one, in kPa, on an approximate pedar sensor map.",
    )
    q.add_argument("file", type=Path, help="pedar .asc file")
    q.add_argument("--foot-length", type=_positive, default=270.0, metavar="MM",
                   help="insole length for the sensor layout (default 270)")
    _common(q)
    q.set_defaults(func=_cmd_import_pedar)

    q = fmt.add_parser(
        "stappone",
        help="stAPPone CSV export: 12 raw pressure channels per sole, 62.5 Hz",
        description="Import a stAPPone CSV export. The export does not say which foot a "
        "sole_id is: give --side left|right for a single sole, or --side ID=SIDE per sole.",
    )
    q.add_argument("file", type=Path, help="stAPPone .csv file")
    q.add_argument("--side", action="append", metavar="SIDE|ID=SIDE",
                   help="foot of the sole (single-sole file) or SOLE_ID=SIDE (repeatable)")
    q.add_argument("--foot-length", type=_positive, default=270.0, metavar="MM",
                   help="insole length for the sensor layout (default 270)")
    _common(q)
    q.set_defaults(func=_cmd_import_stappone)

    q = fmt.add_parser(
        "moticon",
        help="Moticon OpenGo text export: 16 sensors per foot in N/cm², 100 Hz",
        description="Import a Moticon OpenGo text export (.txt): the 16 pressures per insole "
        "one to one, on the OpenGo sensor layout of the file's insole size; the vendor's step "
        "events and user events become recording events.",
    )
    q.add_argument("file", type=Path, help="OpenGo text export (.txt)")
    q.add_argument("--size", type=int, choices=range(1, 11), metavar="1..10",
                   help="insole size for the layout (default: the file's 'Size' header)")
    _common(q)
    q.set_defaults(func=_cmd_import_moticon)

    q = fmt.add_parser(
        "fscan",
        help="Tekscan F-Scan ASCII movie export: sensel matrix per frame, merged into region cells",
        description="Import a Tekscan F-Scan ASCII movie export (.asf) of one insole: sensel "
        "pressures (unit from the header) merged into at most 128 region cells, forces exact.",
    )
    q.add_argument("file", type=Path, help="F-Scan ASCII export (.asf)")
    q.add_argument("--side", required=True, choices=["left", "right"],
                   help="foot the insole was under (the export does not say)")
    q.add_argument("--foot-length", type=_positive, metavar="MM",
                   help="foot length for the region boundaries (default: the sensor's length)")
    _common(q)
    q.set_defaults(func=_cmd_import_fscan)

    q = fmt.add_parser(
        "xsensor",
        help="XSENSOR insole CSV export: sensel matrices per frame, merged into region cells",
        description="Import an XSENSOR insole CSV export: each insole's sensel pressures (unit "
        "from the header) merged into at most 128 region cells, forces exact; the foot comes "
        "from LF/RF in the sensor name.",
    )
    q.add_argument("file", type=Path, help="XSENSOR CSV export (.csv)")
    q.add_argument("--side", choices=["left", "right"],
                   help="import only this foot; required for one sensor without LF/RF in its "
                   "name")
    q.add_argument("--foot-length", type=_positive, metavar="MM",
                   help="foot length for the region boundaries (default: the loaded sensels' "
                   "length)")
    _common(q)
    q.set_defaults(func=_cmd_import_xsensor)

    q = fmt.add_parser(
        "c3d",
        help="C3D file: force-plate vertical force, instrumented-insole analog channels",
        description="Import a C3D file (needs ezc3d: pip install 'insole[formats]'): the "
        "vertical force of each force plate (scale, offset and calibration matrix applied), "
        "labelled as a plate under both feet, and analog channels of instrumented insoles.",
    )
    q.add_argument("file", type=Path, help="C3D file (.c3d)")
    q.add_argument("--plate", type=int, action="append", metavar="N",
                   help="force plate to import, 1-based (repeatable; default: all plates when "
                   "the file has no insole channels)")
    q.add_argument("--side", choices=["left", "right", "both"], default="both",
                   help="foot on the plates (default both: a plate does not know the foot)")
    q.add_argument("--insole", action="append", metavar="FOOT=PREFIX",
                   help="analog channels of an instrumented insole by label prefix, e.g. "
                   "left=LInsole (repeatable; default: labels like L_Insole_1, R_FSR_3)")
    _common(q)
    q.set_defaults(func=_cmd_import_c3d)

    q = fmt.add_parser(
        "xdf",
        help="XDF file (LabRecorder) with the insole streams of 'insole live --lsl'",
        description="Import the insole streams of an XDF file, as LabRecorder writes them "
        "next to EEG, EMG or motion capture (needs pyxdf: pip install 'insole[formats]'). "
        "The insole event markers and a list of the other streams go to the header. See "
        "docs/lsl.md.",
    )
    q.add_argument("file", type=Path, help="XDF file (.xdf)")
    _common(q)
    q.set_defaults(func=_cmd_import_xdf)
