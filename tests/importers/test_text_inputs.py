"""Text exports as users have them: other encodings, cut-off files, damaged lines, sides.

Every text importer decodes by one rule (`insole.sources.importers.decode_text`); a file cut off
or damaged is refused in one line naming the line in the file and the fix; a foot is given in
any case, and two devices on one foot are refused. Bad inputs are built in ``tmp_path`` from the
shared examples (``../shared/data``; tests that need one skip when it is absent) or written here.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import numpy as np
import pytest
from helpers_importers import write_stappone  # tests/ is on the path (tests/conftest.py)

from insole.cli import main
from insole.recordings.loader import load_recording
from insole.sources.importers import ImportFormatError, decode_text
from insole.sources.importers.moticon import import_moticon
from insole.sources.importers.pedar import import_pedar
from insole.sources.importers.stappone import import_stappone
from insole.sources.importers.table import import_table
from insole.sources.importers.xsensor import import_xsensor

DATA = Path(__file__).parents[2].parent / "shared" / "data"
EXPORTS = DATA / "commercial_exports"
GAITPDB = DATA / "gaitpdb" / "GaCo01_01.txt"
FUKUCHI = DATA / "running_forceplate" / "RBDS001runT25forces.txt"
PEDAR = EXPORTS / "pedar_example.asc"
STAPPONE = EXPORTS / "stappone_example.csv"
WALK = EXPORTS / "moticon_opengo_walk_230927_102114.txt"
FSCAN = EXPORTS / "fscan_testL.asf"
XSENSOR = EXPORTS / "xsensor_data.csv"

#: format -> (example, the options its import needs)
EXAMPLES = {
    "gaitpdb": (GAITPDB, []),
    "table": (FUKUCHI, ["--rate", "300", "--column", "Fy"]),
    "pedar": (PEDAR, []),
    "stappone": (STAPPONE, ["--side", "left"]),
    "moticon": (WALK, []),
    "fscan": (FSCAN, ["--side", "left"]),
    "xsensor": (XSENSOR, []),
}


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``insole ARGS``: status 2, one line, no traceback, no recording; the line."""
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    if "--out" in args:
        assert not Path(args[args.index("--out") + 1]).exists()
    return err


def same_counts(a: Path, b: Path) -> None:
    """Two recordings hold the same devices and the same samples."""
    ra, rb = load_recording(a), load_recording(b)
    assert [(d.side, d.n_sensors) for d in ra.devices] == [(d.side, d.n_sensors)
                                                            for d in rb.devices]
    for da, db in zip(ra.devices, rb.devices, strict=True):
        np.testing.assert_array_equal(da.counts, db.counts)


# --- encodings -------------------------------------------------------------------------------


def test_decode_text_rule() -> None:
    assert decode_text("N/cm² µ".encode()) == "N/cm² µ"
    assert decode_text("N/cm² €".encode("cp1252")) == "N/cm² €"  # Windows: code page 1252
    assert decode_text(b"a\x81b") == "a\x81b"  # undefined in cp1252: Latin-1
    for codec in ("utf-16", "utf-32"):
        assert decode_text("\ufeffN/cm²".encode(codec)) == "N/cm²"  # a BOM, and a kept one
    assert decode_text(codecs.BOM_UTF16_BE + "N/cm²".encode("utf-16-be")) == "N/cm²"
    assert decode_text(codecs.BOM_UTF8 + b"x") == "x"
    assert decode_text("N/cm²".encode("utf-16-le")) is None  # no BOM: NUL bytes, not text
    assert decode_text(b"\x00\x01\x02") is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "latin-1"])
@pytest.mark.parametrize("fmt", list(EXAMPLES))
def test_every_text_importer_reads_utf16_and_latin1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, encoding: str
) -> None:
    # iconv -t utf-16 (a BOM; a UTF-8 BOM of the source kept as a character), or Latin-1
    src, options = EXAMPLES[fmt]
    text = need(src).read_text(encoding="utf-8")
    if encoding == "latin-1":
        raw = text.lstrip("\ufeff").encode("latin-1")
    elif encoding == "utf-16-be":
        raw = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    else:
        raw = text.encode(encoding)
    converted = tmp_path / f"converted{src.suffix}"
    converted.write_bytes(raw)
    for source, out in ((src, "utf8.insrec"), (converted, "other.insrec")):
        assert main(["import", fmt, str(source), *options, "--out", str(tmp_path / out)]) == 0
    capsys.readouterr()
    same_counts(tmp_path / "utf8.insrec", tmp_path / "other.insrec")


def test_moticon_latin1_export_reads_its_unit(tmp_path: Path) -> None:
    # was: "pressure unit 'N/cm�'; only N/cm² is read (export again with the default units)"
    src = tmp_path / "m.txt"
    src.write_bytes(need(WALK).read_text(encoding="utf-8").encode("latin-1"))
    result = import_moticon(src, tmp_path / "m.insrec")
    assert result.samples == import_moticon(WALK, tmp_path / "ref.insrec").samples


def test_xsensor_unit_in_code_page_1252(tmp_path: Path) -> None:
    # was: "unknown pressure unit 'N/cm�'"
    text = need(XSENSOR).read_text(encoding="utf-8-sig")
    src = tmp_path / "x.csv"
    src.write_bytes(text.replace("Units:,mmHg", "Units:,N/cm²", 1).encode("cp1252"))
    import_xsensor(src, tmp_path / "x.insrec")
    units = load_recording(tmp_path / "x.insrec").header["extra"]["import"]["units"]
    assert (units["pressure"], units["kpa_per_unit"]) == ("N/cm²", 10.0)


def test_table_latin1_header_column_can_be_selected(tmp_path: Path) -> None:
    # was: the column showed as 'Fy_Gr��e' and --column Fy_Größe found nothing
    header, rest = need(FUKUCHI).read_text().split("\n", 1)
    names = ["Fy_Größe" if h == "Fy" else h for h in header.split("\t")]
    src = tmp_path / "plate.txt"
    src.write_bytes(("\t".join(names) + "\n" + rest).encode("latin-1"))
    import_table(src, tmp_path / "a.insrec", columns=["Fy_Größe"], sampling_rate_hz=300)
    import_table(FUKUCHI, tmp_path / "b.insrec", columns=["Fy"], sampling_rate_hz=300)
    same_counts(tmp_path / "a.insrec", tmp_path / "b.insrec")
    with pytest.raises(ImportFormatError, match="its columns are Time, Fx, Fy_Größe, Fz"):
        import_table(src, tmp_path / "c.insrec", columns=["Fv"], sampling_rate_hz=300)


def test_pedar_unit_error_is_not_mojibake(tmp_path: Path) -> None:
    # was: "the header says 'pressure values in N/cmÂ²'" (UTF-8 read as Latin-1)
    src = tmp_path / "p.asc"
    src.write_text(need(PEDAR).read_text().replace("values in  kPa", "values in  N/cm²", 1),
                   encoding="utf-8")
    with pytest.raises(ImportFormatError) as exc:
        import_pedar(src, tmp_path / "p.insrec")
    assert "'pressure values in  N/cm²'; export the file again with pressures in kPa" in str(
        exc.value)
    assert "Â" not in str(exc.value)


# --- cut-off and damaged files ---------------------------------------------------------------


def cut_in_half(src: Path, dest: Path, extra: int = 7) -> tuple[int, str]:
    """``head -c $((size/2+extra))``: the cut file's last line number and that line."""
    raw = src.read_bytes()
    cut = raw[: len(raw) // 2 + extra]
    dest.write_bytes(cut)
    text = cut.decode("utf-8")
    return text.count("\n") + 1, text.rsplit("\n", 1)[-1]


def test_cut_moticon_export_is_truncated_not_invalid_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: exit 0, "... 13 invalid values" (the missing cells of the cut line)
    line, last = cut_in_half(need(WALK), tmp_path / "cut.txt")
    err = refused(capsys, "import", "moticon", str(tmp_path / "cut.txt"), "--out",
                  str(tmp_path / "m.insrec"))
    fields = len(last.split("\t"))
    assert 1 < fields < 53
    assert f"line {line} has {fields} fields but the header has 53: the file is truncated" in err


def test_cut_pedar_and_gaitpdb_name_the_file_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "the number of columns changed from 199 to 148 at row 752; use `usecols` ..."
    for fmt, src, reference in (("pedar", PEDAR, "the column header has 199"),
                                ("gaitpdb", GAITPDB, "line 1 has 19")):
        cut = tmp_path / f"cut{src.suffix}"
        line, last = cut_in_half(need(src), cut, extra=0)
        err = refused(capsys, "import", fmt, str(cut), "--out", str(tmp_path / "o.insrec"))
        assert f"line {line} has {len(last.split())} values but {reference}: the file is " \
               "truncated (its last line is cut off); copy or export it again" in err
        assert "usecols" not in err


def test_pedar_bad_value_names_the_file_line_not_the_data_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was: "row 9, column 3" for what is line 20 of the file
    lines = need(PEDAR).read_text().splitlines(keepends=True)
    first_data = next(k for k, ln in enumerate(lines) if ln.startswith("time[")) + 1
    row = first_data + 9
    fields = lines[row].split("\t")
    fields[2] = " x"
    lines[row] = "\t".join(fields)
    src = tmp_path / "x.asc"
    src.write_text("".join(lines))
    err = refused(capsys, "import", "pedar", str(src), "--out", str(tmp_path / "o.insrec"))
    assert f"line {row + 1}, column 3: 'x' is not a number: the file is damaged at line " \
           f"{row + 1}" in err


# --- stAPPone values -------------------------------------------------------------------------


def stappone_file(path: Path, pressure_01: str = "100", corrupt: int = 0) -> Path:
    """One sole of 40 samples at 62.5 Hz; line 12 (sample 10) gets `pressure_01`, `corrupt`."""
    return write_stappone(path, [
        [1, 1_700_000_000_000 + 16 * k] + [0] * 9
        + [pressure_01 if k == 10 else str(100 + k)] + [200 + i for i in range(11)]
        + [corrupt if k == 10 else 0]
        for k in range(40)
    ])


@pytest.mark.parametrize("value", ["-5", "99999999", "12.5", "nan"])
def test_stappone_reading_out_of_range_names_file_line_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    # was: "values span -5 .. 756 counts, which does not fit counts 0 .. 65534 ..." (no file)
    src = stappone_file(tmp_path / "s.csv", value)
    err = refused(capsys, "import", "stappone", str(src), "--side", "left", "--out",
                  str(tmp_path / "s.insrec"))
    assert f"stAPPone file '{src}': line 12, column 'pressure_01': {value} is not a raw ADC " \
           "reading" in err
    assert "set the line's 'corrupt' field to 1" in err
    # the fix the message gives works: the sample is stored as invalid
    stappone_file(src, value, corrupt=1)
    assert import_stappone(src, tmp_path / "s.insrec", sides="left").invalid_samples == 12


def test_values_that_do_not_fit_16_bits_name_the_file(tmp_path: Path) -> None:
    src = tmp_path / "wide.csv"
    src.write_text("F\n0\n1e12\n5\n")
    with pytest.raises(ImportFormatError) as exc:
        import_table(src, tmp_path / "o.insrec", columns=["F"], sampling_rate_hz=100)
    assert f"table file '{src}', left side: values span 0 .. 1e+12 N" in str(exc.value)


# --- sides -----------------------------------------------------------------------------------


PLATE = "Time\tFy\tFz\n" + "".join(f"{k}\t{10 * k}\t{5 * k}\n" for k in range(30))


@pytest.mark.parametrize(("sides", "words"), [
    (["left", "left"], "column 'Fy' and column 'Fz' are both on the left foot"),
    (["left"], "column 'Fy' and column 'Fz' are both on the left foot"),
    (["Right", "RIGHT"], "both on the right foot"),
    (["both", "right"], "on the same foot (one of them is a plate under both feet)"),
    (["left", "both"], "on the same foot (one of them is a plate under both feet)"),
])
def test_table_refuses_two_columns_on_one_foot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sides: list[str], words: str
) -> None:
    src = tmp_path / "plate.tsv"
    src.write_text(PLATE)
    args = [a for s in sides for a in ("--side", s)]
    err = refused(capsys, "import", "table", str(src), "--rate", "100", "--column", "Fy",
                  "--column", "Fz", *args, "--out", str(tmp_path / "t.insrec"))
    assert words in err
    assert "add them up as one foot" in err


def test_stappone_refuses_a_sole_on_two_feet_and_two_soles_on_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = stappone_file(tmp_path / "s.csv")
    err = refused(capsys, "import", "stappone", str(src), "--side", "1=left", "--side",
                  "1=right", "--out", str(tmp_path / "s.insrec"))
    assert "sole_id 1 is given two sides (left and right)" in err
    rows = list(csv.reader(src.read_text().splitlines()))
    two = tmp_path / "two.csv"
    with open(two, "w", newline="") as f:
        csv.writer(f).writerows(rows + [["2", *r[1:]] for r in rows[1:]])
    with pytest.raises(ImportFormatError, match="sole_id 1 and sole_id 2 are both on the left"):
        import_stappone(two, tmp_path / "t.insrec", sides={1: "left", 2: "Left"})
    import_stappone(two, tmp_path / "t.insrec", sides={1: "Left", 2: "RIGHT"})
    assert [d.side for d in load_recording(tmp_path / "t.insrec").devices] == ["left", "right"]


@pytest.mark.parametrize(("fmt", "side", "stored"), [
    ("fscan", "Left", ["left"]),
    ("xsensor", "RIGHT", ["right"]),
    ("stappone", "Left", ["left"]),
    ("stappone", "1=Right", ["right"]),
    ("table", "Both", ["left"]),
])
def test_sides_in_any_case(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str,
                           side: str, stored: list[str]) -> None:
    # was: fscan and xsensor refused "--side Left" (argparse choices)
    src, options = EXAMPLES[fmt]
    options = [o for o in options if o not in ("--side", "left")]
    out = tmp_path / "o.insrec"
    assert main(["import", fmt, str(need(src)), *options, "--side", side, "--out",
                 str(out)]) == 0
    capsys.readouterr()
    assert [d.side for d in load_recording(out).devices] == stored
    err = refused(capsys, "import", fmt, str(src), *options, "--side", "up", "--out",
                  str(tmp_path / "no.insrec"))
    assert "--side must be" in err


# --- an insole recording is not an export ----------------------------------------------------


def test_a_recording_given_to_an_importer_needs_no_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "plate.tsv"
    src.write_text(PLATE)
    rec = tmp_path / "plate.insrec"
    import_table(src, rec, columns=["Fy"], sampling_rate_hz=100)
    extra = {"table": ["--rate", "100", "--column", "Fy"], "fscan": ["--side", "left"],
             "stappone": ["--side", "left"]}
    for fmt in EXAMPLES:
        err = refused(capsys, "import", fmt, str(rec), *extra.get(fmt, []), "--out",
                      str(tmp_path / "z.insrec"))
        assert f"already an insole recording, which needs no import: use it as it is (e.g. " \
               f"insole analyze {rec})" in err, fmt
    err = refused(capsys, "import", str(rec), "--out", str(tmp_path / "z.insrec"))
    assert err.strip().endswith(
        f"{rec} is already an insole recording and needs no import: use it as it is, e.g. "
        f"insole analyze {rec}")
