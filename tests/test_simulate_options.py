"""Options of ``insole simulate`` and of ``sim:`` URLs: one range each, refused in one line.

The ranges are `insole.sources.sim.limits`; the command line and the source URL must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from insole.cli import build_parser, main
from insole.sources.readers import ReaderError, open_reader
from insole.sources.sim import limits

RECORDING = Path(__file__).resolve().parents[1] / "recordings" / "walk_20s.insrec"


def _fails(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--duration", "inf", "argument --duration: must be greater than 0 and at most 604800 s"),
    ("--duration", "1e7", "at most 604800 s (a week)"),
    ("--duration", "nan", "argument --duration"),
    ("--garbage", "-1", "argument --garbage: must be 0..60 insertions per minute, got -1"),
    ("--garbage", "nan", "argument --garbage"),
    ("--seed", "-1", "argument --seed: must be 0..4294967295, got -1"),
    ("--seed", "1.5", "argument --seed"),
    ("--sensors", "0", "argument --sensors: must be 4..64 sensors per insole, got 0"),
    ("--drift-ppm", "1e9", "argument --drift-ppm: must be -1000..1000 ppm"),
    ("--drift-ppm", "nan", "argument --drift-ppm: expected a finite number"),
    ("--rate", "5", "argument --rate: must be 10..2000 Hz"),
    ("--cadence", "1000", "argument --cadence: must be 40..260 steps/min"),
    ("--asymmetry", "nan", "argument --asymmetry"),
    ("--pronation", "5", "argument --pronation: must be -1..1"),
    ("--mass-kg", "0", "argument --mass-kg: must be greater than 0 and at most 400 kg"),
    ("--stand", "inf", "argument --stand"),
])
def test_simulate_refuses_a_bad_option_in_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, words: str
) -> None:
    args = {"--duration": "5", option: value}
    err = _fails(capsys, "simulate", "--out", tmp_path / "x.insrec",
                 *(x for kv in args.items() for x in kv))
    assert words in err
    assert "single_sensor_layout" not in err  # the library's hint, not the command's
    assert "lam" not in err  # numpy's words
    assert not (tmp_path / "x.insrec").exists()


@pytest.mark.parametrize(("option", "key", "low", "high", "outside"), [
    ("--rate", "rate", limits.MIN_RATE_HZ, limits.MAX_RATE_HZ, ("5", "2001")),
    ("--seed", "seed", 0, limits.MAX_SEED, ("-1", str(limits.MAX_SEED + 1))),
    ("--sensors", "sensors", limits.MIN_SENSORS, limits.MAX_SENSORS, ("3", "65")),
    ("--garbage", "garbage", 0, limits.MAX_GARBAGE_PER_MIN, ("-1", "61")),
    ("--drift-ppm", "drift_ppm", -limits.MAX_DRIFT_PPM, limits.MAX_DRIFT_PPM,
     ("-1001", "1e9")),
    ("--duration", "duration", 0.5, limits.MAX_DURATION_S, ("0", "inf")),
    ("--stand", "stand", 0, 100, ("-1", "inf")),  # a feed stands within its gait block
    ("--cadence", "cadence", 40, 260, ("39", "261")),
])
def test_simulate_and_sim_urls_accept_the_same_ranges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, key: str, low: float,
    high: float, outside: tuple[str, str],
) -> None:
    parser = build_parser()
    base = ["simulate", "--out", str(tmp_path / "x.insrec"), "--duration", "5"]
    for value in (low, high):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        parser.parse_args([*base, option, text])
        open_reader(f"sim:?{key}={text}")  # made, not started
    for text in outside:
        with pytest.raises(SystemExit):
            parser.parse_args([*base, option, text])
        assert option in capsys.readouterr().err
        with pytest.raises(ReaderError, match=f"option {key}="):
            open_reader(f"sim:?{key}={text}")


@pytest.mark.parametrize(("option", "low", "high", "outside"), [
    ("--rate", limits.MIN_RATE_HZ, limits.MAX_RATE_HZ, ("5", "2001")),
    ("--seed", 0, limits.MAX_SEED, ("-1", str(limits.MAX_SEED + 1))),
    ("--sensors", limits.MIN_SENSORS, limits.MAX_SENSORS, ("3", "65")),
    ("--garbage", 0, limits.MAX_GARBAGE_PER_MIN, ("-1", "61", "1e6")),
    ("--drift-ppm", -limits.MAX_DRIFT_PPM, limits.MAX_DRIFT_PPM, ("-1001", "1e9")),
])
def test_the_serial_emulator_accepts_the_simulators_ranges(
    capsys: pytest.CaptureFixture[str], option: str, low: float, high: float,
    outside: tuple[str, ...],
) -> None:
    parser = build_parser()
    for value in (low, high):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        parser.parse_args(["emulate", "serial", option, text])
    for text in outside:
        with pytest.raises(SystemExit):
            parser.parse_args(["emulate", "serial", option, text])
        assert f"argument {option}: must be" in capsys.readouterr().err


def test_record_to_a_folder_says_a_file_path_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    err = _fails(capsys, "record", "sim:", "--out", folder, "--duration", "1")
    assert f"{folder}: is a directory; give the recording file to create as a file path" in err
    assert "already exists" not in err
    assert "--overwrite" not in err
    assert not list(folder.iterdir())


def test_outputs_in_a_missing_folder_name_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent"
    err = _fails(capsys, "report", RECORDING, "--out", missing / "r.html")
    assert f"the folder {missing} does not exist" in err
    assert "no such file" not in err
    err = _fails(capsys, "record", "sim:", "--out", missing / "r.insrec", "--duration", "1")
    assert f"the folder {missing} does not exist" in err
    err = _fails(capsys, "simulate", "--duration", "1", "--out", tmp_path / "x.insrec",
                 "--truth", missing / "t.csv")
    assert "argument --truth" in err
    assert f"the folder {missing} does not exist" in err
    assert not missing.exists()
