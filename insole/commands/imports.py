"""The ``insole import`` command: lab and commercial files → ordinary recordings.

`add_parsers` adds ``import`` with one sub-command per format (``gaitpdb``, ``gaitndd``,
``table``, ``pedar``, ``stappone``, ``moticon``, ``fscan``, ``xsensor``, ``c3d``) to the main
parser's subcommands; ``insole/cli.py`` calls it from its ``build_parser``. The formats are
declared in one table, `_FORMATS`: each one's help, options and how its handler calls its
``import_xxx`` function. A handler (``_cmd_import(args) -> int``) returns the exit status;
errors the user can fix are raised as `insole.errors.InsoleError` subclasses
(`insole.sources.importers.ImportFormatError`, `insole.errors.RecordingError`), which the main CLI
prints as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insole.commands.common import (
    QUIET,
    Arg,
    add_command,
    add_group,
    check_replace,
    flag,
    is_stdout,
    json_or_stdout,
    out_option,
    output_path,
)
from insole.commands.types import import_rate as _import_rate
from insole.commands.types import input_path
from insole.commands.types import iso_time as _iso_time
from insole.commands.types import positive_float as _positive
from insole.sources.importers import decode_text, is_number

__all__ = ["add_parsers", "import_order_error", "suggest_import"]


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
    if _is_recording(head):
        return None
    if head.startswith(b"XDF:") or ext == ".xdf":
        return "xdf"
    if ext == ".c3d" or (len(head) > 1 and head[1:2] == b"\x50" and ext not in (".txt", ".csv")):
        return "c3d"
    if ext in (".hea", ".let", ".rit", ".ts") and p.with_suffix(".hea").is_file():
        return "gaitndd"  # (.let and .rit are binary: before the text test)
    text = decode_text(head)
    if text is None:
        return None
    first = text.lstrip().splitlines()[0] if text.strip() else ""
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
    if len(fields) == 19 and all(is_number(x) for x in fields):
        return "gaitpdb"
    if ext not in ("", ".txt", ".csv", ".tsv", ".dat", ".tab"):
        return None
    header, row = _table_rows(text)
    if len(header) >= 2 and len(row) == len(header) and all(is_number(x) for x in row):
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
            names = _table_rows(decode_text(f.read(4096)) or "")[0]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        what = f"a text table (columns {shown})"
    return (
        f"{p}: not an insole recording but {what}; convert it first: "
        + _import_command(kind, p, ["--out", f"{p.stem}.insrec"])
        + (" (SIDE: left or right)" if "SIDE" in extra else "")
    )


def _import_command(kind: str, path: Path, rest: Sequence[str]) -> str:
    """``insole import KIND SOURCE [its required options] REST...`` for a file of `kind`."""
    source = path.with_suffix("") if kind == "gaitndd" else path
    return " ".join(["insole import", kind, f"{source}{_KINDS[kind][1]}", *rest])


def import_order_error(argv: Sequence[str]) -> str | None:
    """The one-line error for ``insole import FILE ...`` (a file where the format goes), or None.

    It names the format when the file's first bytes tell it (`guess_import_kind`), with the
    rest of the arguments given, e.g. ``the format comes before the file: insole import
    gaitpdb GaCo01_01.txt --out GaCo01_01.insrec``.
    """
    if len(argv) < 2 or argv[0] != "import" or argv[1] in _KINDS or argv[1].startswith("-"):
        return None
    path = Path(argv[1])
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            recording = _is_recording(f.read(16))
    except OSError:
        recording = False
    if recording:
        return (f"{path} is already an insole recording and needs no import: use it as it is, "
                f"e.g. insole analyze {path}")
    kind = guess_import_kind(path)
    rest = list(argv[1:])
    if "--out" not in rest and not any(a.startswith("--out=") for a in rest):
        rest += ["--out", f"{path.stem}.insrec"]
    if kind is None:
        return (
            f"the format comes before the file, one of {', '.join(_KINDS)} "
            f"({path} is none of them that insole recognises): insole import FORMAT "
            + " ".join(rest)
        )
    return (
        f"the format comes before the file ({path} looks like {_KINDS[kind][0]}): "
        + _import_command(kind, path, rest[1:])
    )




def _is_recording(head: bytes) -> bool:
    """Whether a file's first bytes are those of an insole recording."""
    from insole.recordings.container import FILE_MAGIC  # numpy: not at import

    return head.startswith(FILE_MAGIC)


def _print_result(result: Any, args: argparse.Namespace) -> None:
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
    stream = sys.stderr if is_stdout(args.out) else sys.stdout
    print(
        f"wrote {'stdout' if is_stdout(args.out) else info['path']}: {info['format']}, "
        f"{info['duration_s']:.2f} s at {info['sample_rate_hz']:g} Hz, {info['samples']} "
        f"samples; {sides}{invalid}",
        file=stream,
    )
    for note in getattr(result, "told", []):
        print(f"  note: {note}", file=stream)


def _inputs(kind: str, source: Path) -> list[tuple[Path, str]]:
    """Every file an import of `source` reads, with what it is (for `check_replace`).

    One file for every format but gaitndd, whose record is a header, a signal file per foot
    and the stride annotations (`insole.sources.importers.physionet.gaitndd_files`). (C3D,
    XDF and Moticon exports hold their events and streams in the one file.)
    """
    if kind != "gaitndd":
        return [(source, "the file imported")]
    from insole.sources.importers.physionet import gaitndd_files

    return [(source, "the file imported"),
            *((path, f"the file imported (the record's {what}, {path.name})")
              for path, what in gaitndd_files(source))]


def _run(args: argparse.Namespace, source: Any, do_import: Any) -> int:
    """Run ``do_import(out)`` with a progress bar over `source` and ``--out -`` handled."""
    from insole.commands.progress import FileProgress, wanted

    json_or_stdout(args, "--out")
    inputs = _inputs(args.format, Path(source))
    # what the import reads is not replaced, even with --overwrite
    check_replace(args.out, overwrite=True, what="recording", not_same_as=inputs)
    # The bar counts the bytes read of one file. A gaitndd record is several files, read whole
    # by wfdb in well under a second (5 minutes at 300 Hz: 2 x 135 kB): no bar rather than one
    # watching the 128-byte header that never moves.
    bar = len(inputs) == 1 and wanted(args)
    with FileProgress(f"insole import {args.format}", source, enabled=bar), \
            output_path(args.out, suffix=".insrec") as out:
        result = do_import(out)
    _print_result(result, args)
    return 0


# -- handlers --------------------------------------------------------------------------------

#: What an import takes from the command line besides the file, ``--start`` and ``--overwrite``.
_Settings = Callable[[argparse.Namespace], dict[str, Any]]


def _importer(kind: str) -> Any:
    """``import_<kind>`` of its module in `insole.sources.importers`."""
    module = importlib.import_module(f"insole.sources.importers.{_FORMATS[kind].module}")
    return getattr(module, f"import_{kind}")


def _import(args: argparse.Namespace, importer: Any, settings: _Settings) -> int:
    """Import ``args.<source>`` with ``importer(source, out, **settings(args), ...)``."""
    source = getattr(args, _FORMATS[args.format].source)
    return _run(args, source, lambda out: importer(
        source, out, **settings(args), start=args.start, overwrite=args.overwrite))


def _cmd_import(args: argparse.Namespace) -> int:
    return _import(args, _importer(args.format), _FORMATS[args.format].settings)


def _stappone_sides(values: Sequence[str] | None) -> dict[int, str] | str | None:
    """``--side`` of ``insole import stappone``: one foot, or ``SOLE_ID=FOOT`` per sole."""
    from insole.sources.importers import ImportFormatError, left_or_right

    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return left_or_right(values[0])
    out: dict[int, str] = {}
    for item in values:
        sole, sep, side = item.partition("=")
        try:
            sole_id, foot = int(sole), left_or_right(side)
        except ValueError:  # an ImportFormatError is a ValueError too
            sole_id, foot = -1, ""
        if not sep or sole_id < 0:
            raise ImportFormatError(
                f"--side must be SOLE_ID=left or SOLE_ID=right (e.g. 1=left), got {item!r}"
            )
        if out.get(sole_id, foot) != foot:
            raise ImportFormatError(
                f"sole_id {sole_id} is given two sides ({out[sole_id]} and {foot}); a sole is "
                f"under one foot: give one --side per sole_id, e.g. --side {sole_id}={foot}"
            )
        out[sole_id] = foot
    return out


def _cmd_import_c3d(args: argparse.Namespace) -> int:
    from insole.sources.importers import ImportFormatError

    importer = _importer("c3d")
    insoles: dict[str, str] = {}
    for item in args.insole or []:
        foot, sep, prefix = item.partition("=")
        foot = foot.strip().lower()
        if not sep or foot not in ("left", "right") or not prefix:
            raise ImportFormatError(
                f"--insole must be left=PREFIX or right=PREFIX (e.g. left=LInsole), got {item!r}"
            )
        insoles[foot] = prefix
    return _import(args, importer, lambda a: {
        "plates": a.plate, "side": a.side, "insoles": insoles or None})


# -- parsers ---------------------------------------------------------------------------------


def _nothing(args: argparse.Namespace) -> dict[str, Any]:
    return {}


def _side_and_foot(args: argparse.Namespace) -> dict[str, Any]:
    return {"side": args.side, "foot_length_mm": args.foot_length}


@dataclass(frozen=True)
class _Format:
    """One ``insole import`` sub-command: its parser and how its handler calls the import."""

    module: str  # of insole.sources.importers
    help: str
    description: str
    source: str  # the positional argument
    source_help: str
    args: tuple[Arg, ...] = ()  # its own options, before the common ones
    settings: _Settings = _nothing
    func: Callable[[argparse.Namespace], int] = _cmd_import


_FOOT_LENGTH = Arg("--foot-length", type=_positive, metavar="MM")
_FOOT_LAYOUT = _FOOT_LENGTH.but(default=270.0,
                                help="insole length for the sensor layout (default 270)")

#: The formats, in the order of ``insole import --help``.
_FORMATS = {
    "gaitpdb": _Format(
        "physionet",
        "PhysioNet Gait in Parkinson's Disease: 8 force sensors per foot, 100 Hz",
        "Import a PhysioNet gaitpdb file (19 whitespace-separated columns: time, 8 left and 8 "
        "right sensor forces [N], two totals).",
        "file", "gaitpdb .txt file",
    ),
    "gaitndd": _Format(
        "physionet",
        "PhysioNet Gait Dynamics in Neuro-Degenerative Disease: footswitches, 300 Hz",
        "Import a PhysioNet gaitndd WFDB record (.hea, .let, .rit; format 212): one footswitch "
        "signal per foot in ADC counts (relative force).",
        "record", "record path without extension, or its .hea file",
    ),
    "table": _Format(
        "table",
        "columns of a CSV/TSV/whitespace table, e.g. a force plate's vertical force",
        "Import named columns of a delimited text table with a header row; each column becomes "
        "one single-sensor device (a foot, or a plate under both feet).",
        "file", "text table with a header row",
        (
            Arg("--column", action="append", required=True, metavar="NAME",
                help="column to import (repeatable)"),
            Arg("--rate", type=_import_rate, metavar="HZ",
                help="sampling rate, 1..10000 Hz (required unless --time-column is in s or ms)"),
            Arg("--side", action="append", metavar="{left,right,both}",
                help="foot of each --column, in order, or one for all; 'both' = one plate under "
                "both feet (default: both for one column, left and right for two; one column "
                "per foot)"),
            Arg("--time-column", metavar="NAME", help="column with each row's time"),
            Arg("--time-unit", choices=["s", "ms", "frame"], default="s",
                help="unit of --time-column (default s; 'frame' = frame number / rate)"),
            Arg("--unit", choices=["N", "kPa", "counts"], default="N",
                help="unit of the columns (default N)"),
        ),
        lambda a: {"columns": a.column, "sampling_rate_hz": a.rate, "sides": a.side,
                   "time_column": a.time_column, "time_unit": a.time_unit, "unit": a.unit},
    ),
    "pedar": _Format(
        "pedar",
        "novel pedar ASCII export: 99 sensors per foot in kPa",
        "Import a novel pedar ASCII export (.asc): the 99 sensors per insole, one to one, in "
        "kPa, on an approximate pedar sensor map.",
        "file", "pedar .asc file",
        (_FOOT_LAYOUT,),
        lambda a: {"foot_length_mm": a.foot_length},
    ),
    "stappone": _Format(
        "stappone",
        "stAPPone CSV export: 12 raw pressure channels per sole, 62.5 Hz",
        "Import a stAPPone CSV export. The export does not say which foot a sole_id is: give "
        "--side left|right for a single sole, or --side ID=SIDE per sole.",
        "file", "stAPPone .csv file",
        (
            Arg("--side", action="append", metavar="SIDE|ID=SIDE",
                help="foot of the sole (single-sole file) or SOLE_ID=SIDE (repeatable)"),
            _FOOT_LAYOUT,
        ),
        lambda a: {"sides": _stappone_sides(a.side), "foot_length_mm": a.foot_length},
    ),
    "moticon": _Format(
        "moticon",
        "Moticon OpenGo text export: 16 sensors per foot in N/cm², 100 Hz",
        "Import a Moticon OpenGo text export (.txt): the 16 pressures per insole one to one, on "
        "the OpenGo sensor layout of the file's insole size; the vendor's step events and user "
        "events become recording events.",
        "file", "OpenGo text export (.txt)",
        (Arg("--size", type=int, choices=range(1, 11), metavar="1..10",
             help="insole size for the layout, for an export without a 'Size' line (default: "
             "the file's 'Size'; another size than the file's is refused unless the export's "
             "total force confirms it)"),),
        lambda a: {"size": a.size},
    ),
    "fscan": _Format(
        "fscan",
        "Tekscan F-Scan ASCII movie export: sensel matrix per frame, merged into region cells",
        "Import a Tekscan F-Scan ASCII movie export (.asf) of one insole: sensel pressures (unit "
        "from the header) merged into at most 128 region cells, forces exact.",
        "file", "F-Scan ASCII export (.asf)",
        (
            Arg("--side", required=True, metavar="{left,right}",
                help="foot the insole was under (the export does not say)"),
            _FOOT_LENGTH.but(help="foot length for the region boundaries (default: the "
                             "sensor's length)"),
        ),
        _side_and_foot,
    ),
    "xsensor": _Format(
        "xsensor",
        "XSENSOR insole CSV export: sensel matrices per frame, merged into region cells",
        "Import an XSENSOR insole CSV export: each insole's sensel pressures (unit from the "
        "header) merged into at most 128 region cells, forces exact; the foot comes from LF/RF "
        "in the sensor name.",
        "file", "XSENSOR CSV export (.csv)",
        (
            Arg("--side", metavar="{left,right}",
                help="import only this foot; required for one sensor without LF/RF in its name"),
            _FOOT_LENGTH.but(help="foot length for the region boundaries (default: the loaded "
                             "sensels' length)"),
        ),
        _side_and_foot,
    ),
    "c3d": _Format(
        "c3d",
        "C3D file: force-plate vertical force, instrumented-insole analog channels",
        "Import a C3D file (needs ezc3d: pip install 'insole[formats]'): the vertical force of "
        "each force plate (scale, offset and calibration matrix applied), labelled as a plate "
        "under both feet, and analog channels of instrumented insoles.",
        "file", "C3D file (.c3d)",
        (
            Arg("--plate", type=int, action="append", metavar="N",
                help="force plate to import, 1-based (repeatable; default: all plates when the "
                "file has no insole channels)"),
            Arg("--side", default="both", metavar="{left,right,both}",
                help="foot on the plates (default both: a plate does not know the foot)"),
            Arg("--insole", action="append", metavar="FOOT=PREFIX",
                help="analog channels of an instrumented insole by label prefix, e.g. "
                "left=LInsole (repeatable; default: labels like L_Insole_1, R_FSR_3)"),
        ),
        func=_cmd_import_c3d,
    ),
    "xdf": _Format(
        "xdf",
        "XDF file (LabRecorder) with the insole streams of 'insole live --lsl'",
        "Import the insole streams of an XDF file, as LabRecorder writes them next to EEG, EMG "
        "or motion capture (needs pyxdf: pip install 'insole[formats]'). The insole event "
        "markers and a list of the other streams go to the header. See docs/lsl.md.",
        "file", "XDF file (.xdf)",
    ),
}

#: The options every import takes, after its own.
_COMMON = (
    out_option("recording file to create ('-': stdout)", what="recording file to create",
               example="run.insrec"),
    flag("--overwrite",
         "replace an existing file (an imported recording is not replaced without it)"),
    QUIET,
    Arg("--start", type=_iso_time,
        help="wall-clock time of the first sample, ISO 8601 (default: from the file when it has "
        "one, else now)"),
    flag("--json", "print what was written as JSON"),
)


def add_parsers(sub: Any) -> None:
    """Add ``import`` (``gaitpdb|gaitndd|table|pedar|stappone|moticon|fscan|xsensor|c3d``).

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The object returned by the main parser's ``add_subparsers``.
    """
    fmt = add_group(
        sub, "import", dest="format", metavar="FORMAT",
        help="convert lab or commercial insole data into a recording",
        description="Convert a file of another system into an ordinary recording (protocol "
        "frames, one stream per foot), so it goes through the same decoder and analysis as "
        "live insoles. See docs/importers.md. An imported recording is never replaced without "
        "--overwrite; '-' as --out writes the recording to stdout.",
    )
    for name, f in _FORMATS.items():
        source = Arg(f.source, type=input_path("the file to import"), help=f.source_help)
        add_command(fmt, name, f.func, source,
                    *f.args, *_COMMON, help=f.help, description=f.description)
