"""Fuzz the lab-file importers' readers with atheris (time-boxed), one format per run.

Targets (the readers behind ``insole import``): ``gaitpdb`` (`read_gaitpdb`), ``table``
(`read_table`), ``pedar`` (`read_pedar`), ``stappone`` (`read_stappone`), ``moticon``
(`read_moticon`), ``fscan`` (`read_fscan`), ``xsensor`` (`read_xsensor`). The vendor formats
are seeded with the head of the shared examples (``../shared/data/commercial_exports``) when
they are there, else with a small synthetic file. The fuzzed bytes are
written to a temp file and read; expected errors are ``insole.errors.InsoleError`` subclasses
(``ImportFormatError``); any other exception is a crash. A ``gaitndd`` record is four files
(``.hea`` text, two binary WFDB format-212 signal files read through ``wfdb``, the ``.ts``
annotations): the input starts with three 16-bit lengths that cut it into them
(`split_gaitndd`), and both `read_gaitndd` and `read_gaitndd_annotations` read the record.
``c3d`` and ``xdf`` are not instrumented beyond insole's own code: their bytes are parsed first by
third-party libraries (``ezc3d``, C++; ``pyxdf``), whose crashes count too (a C++ crash takes
the process down). Their seeds are written with the tests' own writers
(``tests/helpers_xdf_writer.py``, ``ezc3d``).

Usage::

    .venv/bin/python bench/fuzz_importers.py [--seconds N] TARGET

Exit status 0 when no crash was found, 1 with the crashing input's path otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from fuzz_decoder import run

TARGETS = ("gaitpdb", "gaitndd", "table", "pedar", "stappone", "moticon", "fscan", "xsensor",
           "xdf", "c3d")
_EXPORTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "commercial_exports"
_PATH: Path | None = None
_READ: Callable[[Path], object] | None = None


def _gaitpdb_seeds() -> list[str]:
    rows = [" ".join([f"{0.01 * k:.2f}"] + [f"{(k * 37 + i * 11) % 900}" for i in range(18)])
            for k in range(6)]
    return ["\n".join(rows) + "\n", "\t".join(["0.0"] * 19) + "\r\n"]


def _fmt212(values: list[int]) -> bytes:
    """WFDB format 212: two 12-bit two's-complement samples in three bytes."""
    out = bytearray()
    vals = values + [0] * (len(values) % 2)
    for a, b in zip(vals[::2], vals[1::2], strict=True):
        a &= 0xFFF
        b &= 0xFFF
        out += bytes([a & 0xFF, (a >> 8) | ((b >> 8) << 4), b & 0xFF])
    return bytes(out)


def join_gaitndd(hea: bytes, let: bytes, rit: bytes, ts: bytes) -> bytes:
    """One fuzz input of the four files of a gaitndd record (inverse of `split_gaitndd`)."""
    head = b"".join(len(x).to_bytes(2, "little") for x in (hea, let, rit))
    return head + hea + let + rit + ts


def split_gaitndd(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """The ``.hea``, ``.let``, ``.rit`` and ``.ts`` bytes of one fuzz input."""
    head, rest = data[:6], data[6:]
    parts = []
    for i in range(3):
        n = int.from_bytes(head[2 * i : 2 * i + 2], "little") if len(head) >= 2 * i + 2 else 0
        parts.append(rest[:n])
        rest = rest[n:]
    return parts[0], parts[1], parts[2], rest


def _gaitndd_seeds() -> list[bytes]:
    n = 600
    left = [int(800 * abs(((k % 300) - 150) / 150.0)) - 400 for k in range(n)]
    right = [-v for v in left]
    hea = (f"rec 2 300 {n}\nrec.let 212 3000 12 0 {left[0]} 0 0 left-foot\n"
           f"rec.rit 212 3000 12 0 {right[0]} 0 0 right-foot\n").encode()
    ts = "".join(" ".join(f"{(k + 1) * 1.0 + 0.01 * c:.4f}" for c in range(13)) + "\n"
                 for k in range(3)).encode()
    return [join_gaitndd(hea, _fmt212(left), _fmt212(right), ts),
            join_gaitndd(hea, _fmt212(left[:10]), _fmt212(right), b"")]


def _table_seeds() -> list[str]:
    return [
        "Time\tFx\tFy\tFz\n0.000\t1.5\t-2\t700\n0.003\t1.6\t-2.1\t710\n0.006\t1.7\t-2.2\t720\n",
        "Time,Fz\n0.00,1\n0.01,2\n0.02,\n0.03,4\n",
        '"time";"fz"\n0,5\n1;6\n2;7\n',
        "Time   Fz\n0 1e2\n0.5 nan\n",
    ]


def _pedar_seeds() -> list[str]:
    cols = "\t".join(str(i) for i in range(1, 100))
    head = (
        "novel pedar ASCII export\n"
        "date/time\t01.02.23 10.30\n"
        "scanning rate [Hz]: 50\n"
        "values in kPa\n"
    )
    rows = "".join(
        f"{0.02 * k:.2f}\t" + "\t".join(str((k + i) % 40 * 2.5) for i in range(198)) + "\n"
        for k in range(3)
    )
    one = ("left insole: 1234\ntime per frame [secs]: 0.01\nvalues in kPa\n"
           f"time[secs]\t{cols}\n0.00\t" + "\t".join(["0"] * 99) + "\n")
    return [head + f"time[secs]\t{cols}\t{cols}\n" + rows, one]


def _stappone_seeds() -> list[str]:
    header = (["sole_id", "timestamp"] + [f"{k}_{a}" for k in ("accel", "gyro", "magn")
                                          for a in "xyz"]
              + [f"pressure_{i:02d}" for i in range(1, 13)] + ["corrupt"])
    rows = [",".join(header)]
    for k in range(4):
        for sole in (3, 4):
            vals = [sole, 1_700_000_000_000 + 16 * k + sole] + [0] * 9
            vals += [100 + k + i for i in range(12)] + [int(k == 2)]
            rows.append(",".join(str(v) for v in vals))
    return ["\n".join(rows) + "\n"]


def _head(name: str, n_bytes: int = 12_000) -> list[str]:
    """The first bytes of a shared example, cut at a line end (none if the folder is absent)."""
    path = _EXPORTS / name
    if not path.exists():
        return []
    text = path.read_bytes()[:n_bytes].decode("latin-1")
    return [text[: text.rfind("\n") + 1]]


def _moticon_seeds() -> list[str]:
    cols = ["time"] + [f"{s} pressure {i}[N/cm²]" for s in ("left", "right") for i in range(1, 17)]
    rows = ["\t".join([f"{0.01 * k:.2f}"] + [f"{(k + i) % 8 * 0.25:g}" for i in range(32)])
            for k in range(5)]
    synthetic = ("# Start time: 15.09.2022 15:58:36.241\n# Size: 3\n# " + "\t".join(cols) + "\n"
                 + "\n".join(rows) + "\n")
    return [synthetic, *_head("moticon_opengo_walk_events.txt")]


def _fscan_seeds() -> list[str]:
    frame = "\n".join(",".join(str((r + c) % 5) for c in range(4)) for r in range(3))
    synthetic = ("ASCII_DATA @@\nROWS 3\nCOLS 4\nROW_SPACING 0.508 cm\nCOL_SPACING 0.508 cm\n"
                 "SECONDS_PER_FRAME 0.032\nUNITS KPa\n@@\n\nFrame 1\n" + frame + "\n\n"
                 "Frame 2\n" + frame + "\n@@\n")
    return [synthetic, *_head("fscan_testL.asf")]


def _xsensor_seeds() -> list[str]:
    return _head("xsensor_data.csv", 30_000) or ["File:,x.XSN\nUnits:,kPa\nFRAME,1\n"]


def _xdf_seeds() -> list[str]:
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from helpers_xdf_writer import stream_header_xml, write_xdf  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seed.xdf"
        t = np.arange(20) / 100.0
        rows = np.abs(np.sin(np.arange(20)[:, None] + np.arange(16)[None, :])) * 200
        xml = stream_header_xml(name="insole left", type="Pressure", channel_count=16,
                                nominal_srate=100.0, channel_format="float32")
        write_xdf(path, [{"xml": xml, "time_stamps": t, "time_series": rows}], chunk_samples=8)
        return [path.read_bytes().decode("latin-1")]


def _c3d_seeds() -> list[str]:
    import ezc3d
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seed.c3d"
        c = ezc3d.c3d()
        c["parameters"]["POINT"]["RATE"]["value"] = [100.0]
        c["parameters"]["POINT"]["LABELS"]["value"] = ("origin",)
        points = np.zeros((4, 1, 10))
        points[3] = 1.0
        c["data"]["points"] = points
        c["parameters"]["ANALOG"]["RATE"]["value"] = [300.0]
        c["parameters"]["ANALOG"]["LABELS"]["value"] = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
        c["parameters"]["ANALOG"]["UNITS"]["value"] = ("N",) * 3 + ("Nmm",) * 3
        fz = np.abs(np.sin(np.arange(30) / 5.0)) * 800
        analogs = np.zeros((6, 30))
        analogs[2] = -fz
        c["data"]["analogs"] = analogs[None]
        fp = c["parameters"]["FORCE_PLATFORM"]
        fp["USED"]["value"] = np.array([1])
        fp["TYPE"]["value"] = np.array([2])
        fp["CHANNEL"]["value"] = np.arange(1, 7)[:, None]
        corners = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]], float).T
        fp["CORNERS"]["value"] = corners[:, :, None]
        fp["ORIGIN"]["value"] = np.zeros((3, 1))
        c.write(str(path))
        return [path.read_bytes().decode("latin-1")]


SEEDS = {"gaitpdb": _gaitpdb_seeds, "gaitndd": _gaitndd_seeds, "table": _table_seeds,
         "pedar": _pedar_seeds, "stappone": _stappone_seeds, "moticon": _moticon_seeds,
         "fscan": _fscan_seeds, "xsensor": _xsensor_seeds, "xdf": _xdf_seeds, "c3d": _c3d_seeds}


def reader(target: str) -> Callable[[Path], object]:
    """The function that reads one file of ``target``."""
    if target == "gaitpdb":
        from insole.sources.importers.physionet import read_gaitpdb

        return read_gaitpdb
    if target == "gaitndd":
        from insole.errors import InsoleError
        from insole.sources.importers.physionet import read_gaitndd, read_gaitndd_annotations

        def read_record(path: Path) -> object:
            data = path.read_bytes()
            base = path.with_name("rec")  # the name the seeds' headers give their signals
            for ext, part in zip((".hea", ".let", ".rit", ".ts"), split_gaitndd(data),
                                 strict=True):
                base.with_name(base.name + ext).write_bytes(part)
            try:
                read_gaitndd_annotations(base)
            except InsoleError:
                pass
            return read_gaitndd(base)

        return read_record
    if target == "table":
        from insole.sources.importers.table import read_table

        def read(path: Path) -> object:
            out = read_table(path, columns=["Fz"], time_column="Time")
            read_table(path, columns=["time", "fz"], sampling_rate_hz=100.0, strict_rows=True)
            return out

        return read
    if target == "pedar":
        from insole.sources.importers.pedar import read_pedar

        return read_pedar
    if target == "moticon":
        from insole.sources.importers.moticon import read_moticon

        return read_moticon
    if target == "fscan":
        from insole.sources.importers.fscan import read_fscan

        return read_fscan
    if target == "xsensor":
        from insole.sources.importers.xsensor import read_xsensor

        return read_xsensor
    if target == "xdf":
        from insole.sources.importers.xdf import read_xdf

        return read_xdf
    if target == "c3d":
        from insole.sources.importers.c3d import read_c3d

        return read_c3d
    from insole.sources.importers.stappone import read_stappone

    return read_stappone


def one_input(data: bytes) -> None:
    """One fuzz iteration (atheris ``TestOneInput``)."""
    from insole.errors import InsoleError

    assert _PATH is not None
    assert _READ is not None
    _PATH.write_bytes(data)
    try:
        _READ(_PATH)
    except InsoleError:
        pass


def worker(target: str, argv: list[str]) -> None:
    """Run libFuzzer on ``target`` in this process (never returns)."""
    global _PATH, _READ
    import atheris

    # atheris instruments whole top-level packages, and its comparison hooks keep a reference
    # to every result that is not a bool (atheris 3.0): the numpy comparisons in the layout
    # and recording modules leaked about 0.5 MB per input, which ran the xdf target out of
    # memory (4 GB) after some 5,000 inputs. Those modules are not readers: not instrumented.
    # pyxdf is (pure Python): its parser is what a damaged XDF file exercises.
    with atheris.instrument_imports(
        include=(["insole.sources.importers", "pyxdf"] if target == "xdf"
                 else ["insole.sources.importers"]),
        exclude=["insole.core.layouts", "insole.recordings.container"],
    ):
        _READ = reader(target)
    _PATH = Path(tempfile.mkdtemp(prefix=f"fuzz_{target}_")) / "input.txt"
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2], [sys.argv[0], *sys.argv[3:]])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=300, help="fuzzing time (default 300)")
    ap.add_argument("target", choices=TARGETS)
    args = ap.parse_args()

    def write(corpus: Path) -> int:
        seeds = SEEDS[args.target]()
        for i, seed in enumerate(seeds):
            if isinstance(seed, bytes):
                (corpus / f"seed{i}").write_bytes(seed)
            else:
                (corpus / f"seed{i}").write_text(str(seed), encoding="latin-1", newline="")
        return len(seeds)

    return run(__file__, args.target, args.seconds, write, [args.target, "-max_len=32768"])


if __name__ == "__main__":
    sys.exit(main())
