"""What an import reads it never replaces; inputs that cannot be read say why and what to do.

QA findings against ``insole import``: the files of a gaitndd record other than the one given
(``.let``, ``.rit``, ``.ts``) could be replaced by ``--out ... --overwrite``; a truncated signal
file was reported in numpy's words; a Moticon ``--size`` that contradicts the file was taken
silently; pedar took negative pressures; a damaged first XSENSOR sensel was called a
truncated file; ``stappone --side 2=right`` without a sole 2 blamed sole 1; an empty file name,
an unreadable file and a read-only output folder gave unhelpful lines.

Real files come from ``../shared/data`` (copied to ``tmp_path`` before they are damaged;
skipped when absent); the rest are small files written here.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers_importers import write_stappone  # tests/ is on the path (tests/conftest.py)
from helpers_users import run_read_only

import insole.sources.importers as importers
from insole.cli import main
from insole.errors import RecordingError
from insole.recordings.loader import load_recording
from insole.sources.importers import ImportFormatError
from insole.sources.importers.moticon import import_moticon, read_moticon
from insole.sources.importers.pedar import import_pedar
from insole.sources.importers.physionet import import_gaitndd

DATA = Path(__file__).parents[2].parent / "shared" / "data"
GAITNDD = DATA / "gaitndd"
EXPORTS = DATA / "commercial_exports"
PEDAR = EXPORTS / "pedar_example.asc"
XSENSOR = EXPORTS / "xsensor_data.csv"
WALK = EXPORTS / "moticon_opengo_walk_230927_102114.txt"
EVENTS = EXPORTS / "moticon_opengo_walk_events.txt"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run ``insole ARGS``; the exit status, stdout and stderr."""
    capsys.readouterr()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refuses an argument: exit 2 with its one line
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def refused(result: tuple[int, str, str], *words: str) -> str:
    """The one error line of a refused command (exit 2, nothing on stdout), with `words`."""
    status, out, err = result
    assert status == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in err
    assert "[Errno" not in err
    return lines[0]


def record_copy(tmp_path: Path, name: str = "control4") -> Path:
    """A writable copy of a gaitndd record in `tmp_path`; its path without extension."""
    need(GAITNDD / f"{name}.hea")
    for ext in (".hea", ".let", ".rit", ".ts"):
        dst = tmp_path / f"{name}{ext}"
        shutil.copyfile(GAITNDD / f"{name}{ext}", dst)
        dst.chmod(0o644)
    return tmp_path / name


def contents(base: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(base.parent.glob(base.name + ".*"))}


# --- 1. no output replaces a file the import reads -------------------------------------------


@pytest.mark.parametrize("ext", [".hea", ".let", ".rit", ".ts"])
@pytest.mark.parametrize("given", ["", ".hea"])
def test_gaitndd_out_is_never_a_file_of_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ext: str, given: str
) -> None:
    # QA: --out control4.rit --overwrite replaced the right-foot signal, exit 0; the same for
    # .let and for .ts (the stride annotations, the ground truth).
    base = record_copy(tmp_path)
    before = contents(base)
    out = base.with_name(base.name + ext)
    refused(cli(capsys, "import", "gaitndd", f"{base}{given}", "--out", out, "--overwrite"),
            f"{out}: is also the file imported", "choose another file name")
    assert contents(base) == before
    # and the Python API refuses it too
    if ext != ".hea":
        with pytest.raises(RecordingError, match="is also the file imported"):
            import_gaitndd(base, out, overwrite=True)
        assert contents(base) == before


def test_gaitndd_files_are_those_its_header_names(tmp_path: Path) -> None:
    from insole.sources.importers.physionet import gaitndd_files

    base = record_copy(tmp_path)
    assert gaitndd_files(base) == [
        (base.with_name("control4.hea"), "header"),
        (base.with_name("control4.let"), "left-foot signal"),
        (base.with_name("control4.rit"), "right-foot signal"),
        (base.with_name("control4.ts"), "stride annotations"),
    ]
    # a header naming other signal files: those are the inputs
    hea = base.with_name("control4.hea")
    hea.write_text(hea.read_text().replace("control4.let", "left.dat"))
    assert (base.with_name("left.dat"), "left-foot signal") in gaitndd_files(base)


def test_a_single_file_import_cannot_replace_its_source_from_python(tmp_path: Path) -> None:
    src = tmp_path / "p.asc"
    shutil.copyfile(need(PEDAR), src)
    before = src.read_bytes()
    with pytest.raises(RecordingError, match="is also the file imported"):
        import_pedar(src, src, overwrite=True)
    assert src.read_bytes() == before


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_gaitndd_shows_no_byte_bar_of_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # QA: the bar watched the 128-byte .hea and stayed at "0.00/128 B", 0 %.
    base = record_copy(tmp_path)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["import", "gaitndd", str(base), "--out", str(tmp_path / "g.insrec")]) == 0
    assert "/128" not in term.getvalue()
    assert "insole import gaitndd: reading" not in term.getvalue()
    # a one-file import still draws its bar on a terminal (so the check above means something)
    term2 = _Terminal()
    monkeypatch.setattr(sys, "stderr", term2)
    assert main(["import", "pedar", str(need(PEDAR)), "--out", str(tmp_path / "p.insrec")]) == 0
    assert "insole import pedar: reading" in term2.getvalue()


# --- 2. a truncated gaitndd signal file ------------------------------------------------------


@pytest.mark.parametrize(("ext", "keep", "words"), [
    (".let", 2000, ("control4.let holds 2000 bytes", "need 135000 (format 212)")),
    (".rit", 0, ("control4.rit is empty", "need 135000 (format 212)")),
])
def test_gaitndd_truncated_signal_file_is_called_truncated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ext: str, keep: int,
    words: tuple[str, ...],
) -> None:
    # QA: "cannot be read by wfdb: could not broadcast input array from shape (667,) into
    # shape (45000,)"
    base = record_copy(tmp_path)
    signal = base.with_name(base.name + ext)
    signal.write_bytes(signal.read_bytes()[:keep])
    line = refused(cli(capsys, "import", "gaitndd", base, "--out", tmp_path / "o.insrec"),
                   *words, "the file is truncated; copy it again")
    assert "broadcast" not in line
    assert not (tmp_path / "o.insrec").exists()


def test_gaitndd_missing_signal_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = record_copy(tmp_path)
    base.with_name("control4.rit").unlink()
    refused(cli(capsys, "import", "gaitndd", base, "--out", tmp_path / "o.insrec"),
            "its signal file control4.rit, named in control4.hea, is missing")


# --- 3. Moticon --size against the file's Size -----------------------------------------------


def test_moticon_size_contradicting_the_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # QA: --size 3 on a "Size: 7" export was taken silently (heel peak 613 N -> 429 N)
    src = need(WALK)
    out = tmp_path / "m.insrec"
    refused(cli(capsys, "import", "moticon", src, "--size", 3, "--out", out),
            "the file says size 7", "but size 3 was given (--size)", "size 3: -30%",
            "the export's own total force matches size 7")
    assert not out.exists()
    with pytest.raises(ImportFormatError, match="says size 3"):
        import_moticon(need(EVENTS), out, size=4)
    # the file's own size is fine
    assert cli(capsys, "import", "moticon", src, "--size", 7, "--out", out)[0] == 0
    assert load_recording(out).header["extra"]["import"]["size_source"] == "user"


def test_moticon_size_may_correct_a_wrong_header_the_total_force_disproves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = need(WALK).read_text(encoding="utf-8")
    wrong = tmp_path / "wrong.txt"  # a size-7 export whose header says 3
    wrong.write_text(text.replace("# Size: 7", "# Size: 3"), encoding="utf-8")
    out = tmp_path / "w.insrec"
    assert cli(capsys, "import", "moticon", wrong, "--size", 7, "--out", out)[0] == 0
    info = load_recording(out).header["extra"]["import"]
    assert info["size"] == 7
    assert "the export's total force matches size 7" in info["size_source"]
    # ... but not to a size the force does not confirm either
    refused(cli(capsys, "import", "moticon", wrong, "--size", 6, "--out", tmp_path / "x.insrec"),
            "the file says size 3")
    # a file without a Size line takes any --size
    nosize = tmp_path / "nosize.txt"
    nosize.write_text(text.replace("# Size: 7\n", ""), encoding="utf-8")
    assert read_moticon(nosize).size is None
    assert cli(capsys, "import", "moticon", nosize, "--size", 6, "--out",
               tmp_path / "n.insrec")[0] == 0


# --- 4. pedar: negative pressures ------------------------------------------------------------


def test_pedar_refuses_a_negative_pressure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = need(PEDAR).read_text(encoding="latin-1").split("\n")
    cells = lines[19].split("\t")
    cells[2] = " -50.000"  # line 20, column 3: left sensor 2
    lines[19] = "\t".join(cells)
    src = tmp_path / "neg.asc"
    src.write_text("\n".join(lines), encoding="latin-1")
    refused(cli(capsys, "import", "pedar", src, "--out", tmp_path / "o.insrec"),
            "line 20, column 3 (left sensor 2): pressure -50 kPa is negative",
            "the file is damaged at line 20")
    assert not (tmp_path / "o.insrec").exists()


# --- 5. XSENSOR: a damaged first sensel ------------------------------------------------------


@pytest.mark.parametrize("column", [0, 3])
def test_xsensor_bad_sensel_is_named_wherever_it_is_in_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], column: int
) -> None:
    # QA: 'x' as the first cell of a sensel row said "fewer than 31 sensel rows; the file is
    # truncated"; elsewhere in the row it was named
    lines = need(XSENSOR).read_text(encoding="utf-8-sig").split("\n")
    first = next(k for k, ln in enumerate(lines) if ln.startswith("SENSELS"))
    row = next(k for k in range(first + 1, len(lines)) if lines[k].strip(", ")) + 4
    cells = lines[row].split(",")
    cells[column] = "x"
    lines[row] = ",".join(cells)
    src = tmp_path / "x.csv"
    src.write_text("\n".join(lines), encoding="utf-8")
    line = refused(cli(capsys, "import", "xsensor", src, "--out", tmp_path / "o.insrec"),
                   f"line {row + 1}: sensel value 'x' is not a number")
    assert "truncated" not in line


# --- 6. stAPPone: --side for a sole the file does not have -----------------------------------


def test_stappone_side_for_a_sole_not_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_stappone(tmp_path / "s.csv", [
        [1, 1000 + 16 * i] + [0] * 9 + [100 + i] * 12 + [0] for i in range(20)])
    line = refused(cli(capsys, "import", "stappone", src, "--side", "2=right", "--out",
                       tmp_path / "o.insrec"),
                   "no sole_id 2 in the file (--side 2=right)", "it has sole_id 1",
                   "--side 1=right")
    assert "no side given for sole_id 1" not in line


# --- 7. empty name, unreadable file, read-only folder ----------------------------------------


@pytest.mark.parametrize("fmt", ["pedar", "gaitndd", "xdf"])
def test_an_empty_file_name_asks_for_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    # QA: "PosixPath('.') has an empty name"
    refused(cli(capsys, "import", fmt, "", "--out", tmp_path / "x.insrec"),
            "the file name is empty; give the path of the file to import")


def test_a_folder_as_gaitndd_record_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for arg in (".", "./"):
        refused(cli(capsys, "import", "gaitndd", arg, "--out", "x.insrec"),
                "is a directory, not a record")


def test_an_unreadable_file_says_how_to_fix_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # QA: "noread.asc: permission denied", nothing more. Root reads every file, so the test
    # takes the read permission away where the importer asks for it (os.access), as the
    # system answers a user without it.
    src = tmp_path / "noread.asc"
    shutil.copyfile(need(PEDAR), src)
    access = os.access
    monkeypatch.setattr(importers.os, "access", lambda p, mode, **kw: False
                        if Path(p) == src and mode == os.R_OK else access(p, mode, **kw))
    refused(cli(capsys, "import", "pedar", src, "--out", tmp_path / "o.insrec"),
            f"pedar file '{src}' cannot be read (permission denied)",
            f"chmod u+r {src}")
    assert not (tmp_path / "o.insrec").exists()


def test_a_read_taken_away_after_the_check_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "p.asc"
    shutil.copyfile(need(PEDAR), src)
    read_bytes = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == src:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    refused(cli(capsys, "import", "pedar", src, "--out", tmp_path / "o.insrec"),
            "cannot be read (permission denied)", "chmod u+r")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads files without read permission")
def test_an_unreadable_file_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "noread.asc"
    shutil.copyfile(need(PEDAR), src)
    src.chmod(0)
    refused(cli(capsys, "import", "pedar", src, "--out", tmp_path / "o.insrec"),
            "cannot be read (permission denied)", "chmod u+r")


def test_a_read_only_output_folder_is_named_as_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # QA: "rodir/.ro.insrec.20786.part: cannot create ..." named the temporary file
    ro = tmp_path / "rodir"
    ro.mkdir()
    out = ro / "ro.insrec"
    line = refused(run_read_only(ro, ["import", "pedar", need(PEDAR), "--out", out], cli,
                                 capsys),
                   f"{out}: cannot create the recording", f"the folder {ro} is writable")
    assert ".part" not in line
    assert list(ro.iterdir()) == []
