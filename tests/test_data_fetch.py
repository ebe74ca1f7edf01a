"""``insole data``: fetch over real HTTP on loopback, SHA-256 checks, one-line errors.

``../shared/data`` served by ``http.server`` on 127.0.0.1 stands in for the original sites
(``INSOLE_DATA_MIRROR``); tests that need it skip when the folder is absent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import sys
from pathlib import Path

import pytest
from helpers_data_mirror import SHARED_DATA, serve_folder

from insole.cli import main
from insole.sources import public_data as data

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "SHA256SUMS").is_file(), reason="../shared/data is not available"
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sums() -> dict[str, str]:
    out = {}
    for line in (SHARED_DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        out[name.removeprefix("./")] = digest
    return out


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@needs_shared
def test_registry_matches_shared_sha256sums() -> None:
    sums = _sums()
    registered = {
        f.relpath: f.sha256
        for ds in data.DATASETS.values()
        for files in ds.records.values()
        for f in files
    }
    assert registered == {k: v for k, v in sums.items() if k != "README.md"}


@needs_shared
def test_fetch_from_loopback_mirror_then_reuse_and_repair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "d"
    with serve_folder(SHARED_DATA) as (url, requests):
        monkeypatch.setenv(data.MIRROR_ENV, url)
        code, out, err = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01", "--dir",
                              str(out_dir))
        assert code == 0, err
        target = out_dir / "gaitpdb" / "GaCo01_01.txt"
        assert _sha256(target) == _sums()["gaitpdb/GaCo01_01.txt"]
        assert out.splitlines() == [
            f"{target.resolve()}  (downloaded from {url}/gaitpdb/GaCo01_01.txt; SHA-256 ok)"
        ]
        assert "ODC-By 1.0" in err
        assert requests == ["/gaitpdb/GaCo01_01.txt"]

        # Present and intact: no download.
        code, out, _ = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01.txt", "--dir",
                            str(out_dir))
        assert code == 0
        assert "already there" in out
        assert requests == ["/gaitpdb/GaCo01_01.txt"]

        # Damaged locally: downloaded again and replaced.
        target.write_bytes(b"not the file")
        code, out, _ = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01", "--dir",
                            str(out_dir))
        assert code == 0
        assert "downloaded from" in out
        assert _sha256(target) == _sums()["gaitpdb/GaCo01_01.txt"]
        assert len(requests) == 2

        # A WFDB record is four files; `data path` names it without extension.
        code, out, err = _run(capsys, "data", "fetch", "gaitndd", "hunt5", "--dir", str(out_dir))
        assert code == 0, err
        assert sorted(requests[2:]) == [f"/gaitndd/hunt5.{e}" for e in ("hea", "let", "rit", "ts")]
        for ext in ("hea", "let", "rit", "ts"):
            path = out_dir / "gaitndd" / f"hunt5.{ext}"
            assert _sha256(path) == _sums()[f"gaitndd/hunt5.{ext}"]
    code, out, _ = _run(capsys, "data", "path", "gaitndd", "hunt5", "--dir", str(out_dir))
    assert out.strip() == str(out_dir / "gaitndd" / "hunt5")
    assert not list(out_dir.rglob("tmp*")), "no temporary files left behind"


@needs_shared
def test_commercial_export_comes_with_its_licence_and_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_folder(SHARED_DATA) as (url, requests):
        monkeypatch.setenv(data.MIRROR_ENV, url)
        code, out, err = _run(capsys, "data", "fetch", "commercial_exports", "fscan_testL",
                              "--dir", str(tmp_path), "--json")
    assert code == 0, err
    fetched = json.loads(out)
    assert [Path(f["path"]).name for f in fetched] == ["fscan_testL.asf", "LICENSE-pressuRe.md"]
    assert sorted(requests) == ["/commercial_exports/LICENSE-pressuRe.md",
                                "/commercial_exports/fscan_testL.asf"]
    asf = tmp_path / "commercial_exports" / "fscan_testL.asf"
    code, _, err = _run(capsys, "import", "fscan", str(asf), "--side", "left", "--out",
                        str(tmp_path / "f.insrec"))
    assert code == 0, err


@needs_shared
def test_local_folder_as_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.MIRROR_ENV, str(SHARED_DATA))
    code, _, err = _run(capsys, "data", "fetch", "running_forceplate", "RBDS001runT25forces",
                        "--dir", str(tmp_path))
    assert code == 0, err
    path = tmp_path / "running_forceplate" / "RBDS001runT25forces.txt"
    assert _sha256(path) == _sums()["running_forceplate/RBDS001runT25forces.txt"]


@needs_shared
def test_hash_mismatch_is_one_line_and_keeps_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "mirror" / "gaitpdb"
    bad.mkdir(parents=True)
    text = (SHARED_DATA / "gaitpdb" / "GaCo01_01.txt").read_bytes()
    (bad / "GaCo01_01.txt").write_bytes(text.replace(b"0.", b"1.", 1))  # one digit changed
    out_dir = tmp_path / "d"
    with serve_folder(tmp_path / "mirror") as (url, requests):
        monkeypatch.setenv(data.MIRROR_ENV, url)
        code, out, err = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01", "--dir",
                              str(out_dir))
    assert code == 2
    assert requests == ["/gaitpdb/GaCo01_01.txt"]
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("insole data: error: gaitpdb/GaCo01_01.txt from ")
    assert "SHA-256 differs" in err
    assert data.MIRROR_ENV in err
    assert not (out_dir / "gaitpdb" / "GaCo01_01.txt").exists()
    assert not [p for p in out_dir.rglob("*") if p.is_file()]


def test_missing_file_and_unreachable_site_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    with serve_folder(tmp_path / "empty") as (url, _):
        monkeypatch.setenv(data.MIRROR_ENV, url)
        code, _, err = _run(capsys, "data", "fetch", "gaitndd", "hunt5", "--dir", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1
    assert "HTTP 404" in err
    assert f"{url}/gaitndd/hunt5.hea" in err

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(data.MIRROR_ENV, f"http://127.0.0.1:{port}")
    code, _, err = _run(capsys, "data", "fetch", "gaitndd", "hunt5", "--dir", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1
    assert f"cannot reach 127.0.0.1:{port}" in err
    assert data.MIRROR_ENV in err


def test_figshare_file_resolved_to_its_latest_upload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running record comes from figshare: the API lists the files, the latest wins."""
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    (info,) = data.DATASETS["running_forceplate"].records["RBDSinfo"]
    site = tmp_path / "site"
    (site / "api" / "articles" / "4543435").mkdir(parents=True)
    (site / "dl").mkdir()
    good = b"Subject\tFileName\n1\tRBDS001static.txt\n"
    (site / "dl" / "old").write_bytes(b"Subject\n")
    (site / "dl" / "new").write_bytes(good)
    monkeypatch.setitem(data.DATASETS["running_forceplate"].records, "RBDSinfo",
                        (dataclasses.replace(info, sha256=hashlib.sha256(good).hexdigest()),))
    with serve_folder(site) as (url, requests):
        listing = [
            {"id": 10, "name": "RBDSinfo.txt", "download_url": f"{url}/dl/old"},
            {"id": 20, "name": "RBDSinfo.txt", "download_url": f"{url}/dl/new"},
            {"id": 15, "name": "RBDS001runT25forces.txt", "download_url": f"{url}/dl/x"},
        ]
        (site / "api" / "articles" / "4543435" / "files").write_text(json.dumps(listing))
        monkeypatch.setattr(data, "FIGSHARE_API", f"{url}/api")
        code, out, err = _run(capsys, "data", "fetch", "running_forceplate", "RBDSinfo",
                              "--dir", str(tmp_path / "d"))
    assert code == 0, err
    assert requests[0].startswith("/api/articles/4543435/files?")
    assert requests[1:] == ["/dl/new"]
    assert (tmp_path / "d" / "running_forceplate" / "RBDSinfo.txt").read_bytes() == good
    assert f"downloaded from {url}/dl/new" in out

    # figshare unreachable: the error names the API host, not the file's pseudo-URL.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(data, "FIGSHARE_API", f"http://127.0.0.1:{port}/api")
    code, _, err = _run(capsys, "data", "fetch", "running_forceplate", "RBDSinfo",
                        "--dir", str(tmp_path / "e"))
    assert code == 2
    assert err.startswith(f"insole data: error: running_forceplate/RBDSinfo.txt: cannot reach "
                          f"127.0.0.1:{port} (ConnectionError)")
    assert data.MIRROR_ENV in err


def test_bad_names_and_missing_pooch_name_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _run(capsys, "data", "fetch", "gaitpbd", "GaCo01_01")
    assert code == 2
    assert "unknown data set 'gaitpbd'" in err
    assert "insole data list" in err

    code, _, err = _run(capsys, "data", "fetch", "gaitndd", "hunt9", "--dir", str(tmp_path))
    assert code == 2
    assert "no record 'hunt9'" in err
    assert "hunt5" in err
    assert "insole data list gaitndd" in err

    code, _, err = _run(capsys, "data", "fetch", "gaitndd", "--dir", str(tmp_path))
    assert code == 2
    assert "--all" in err

    monkeypatch.setitem(sys.modules, "pooch", None)  # as if not installed
    code, _, err = _run(capsys, "data", "fetch", "gaitndd", "hunt5", "--dir", str(tmp_path))
    assert code == 2
    assert err.strip().endswith("pip install 'insole[lab]'")
    assert not list(tmp_path.iterdir())


def test_list_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "data", "list", "--json", "--dir", str(tmp_path))
    assert code == 0
    listed = {d["dataset"]: d for d in json.loads(out)}
    assert set(listed) == {"gaitpdb", "gaitndd", "running_forceplate", "commercial_exports"}
    assert listed["gaitpdb"]["licence"] == "ODC-By 1.0"
    assert listed["running_forceplate"]["licence"] == "CC BY 4.0"
    hunt5 = next(r for r in listed["gaitndd"]["records"] if r["record"] == "hunt5")
    assert hunt5["sources"][0] == "https://physionet.org/files/gaitndd/1.0.0/hunt5.hea"
    assert hunt5["fetched"] is False

    code, out, _ = _run(capsys, "data", "path", "--dir", str(tmp_path))
    assert out.strip() == str(tmp_path)
    code, out, _ = _run(capsys, "data", "path", "commercial_exports", "xsensor_data",
                        "--dir", str(tmp_path))
    assert out.strip() == str(tmp_path / "commercial_exports" / "xsensor_data.csv")



@needs_shared
def test_fetch_out_dir_is_the_documented_name_and_dir_a_hidden_alias(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_folder(SHARED_DATA) as (url, requests):
        monkeypatch.setenv(data.MIRROR_ENV, url)
        code, out, err = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01", "--out-dir",
                              str(tmp_path / "d"))
        assert code == 0, err
        target = tmp_path / "d" / "gaitpdb" / "GaCo01_01.txt"
        assert _sha256(target) == _sums()["gaitpdb/GaCo01_01.txt"]
        assert out.startswith(f"{target.resolve()}  (downloaded from ")
        # the old name still works, into the same folder: nothing downloaded again
        code, out, _ = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01", "--dir",
                            str(tmp_path / "d"))
        assert code == 0
        assert "already there" in out
        assert requests == ["/gaitpdb/GaCo01_01.txt"]
    # list and path read the folder (--dir); the fetch flag is taken there too
    for flag in ("--dir", "--out-dir"):
        code, out, _ = _run(capsys, "data", "path", "gaitpdb", "GaCo01_01", flag,
                            str(tmp_path / "d"))
        assert out.strip() == str(target)
        code, out, _ = _run(capsys, "data", "list", "gaitpdb", "--json", flag,
                            str(tmp_path / "d"))
        rec = next(r for r in json.loads(out)[0]["records"] if r["record"] == "GaCo01_01")
        assert rec["fetched"] is True


def test_data_help_names_out_dir_for_fetch(capsys: pytest.CaptureFixture[str]) -> None:
    def help_of(*argv: str) -> str:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        return capsys.readouterr().out

    fetch = help_of("data", "fetch")
    assert "--out-dir DIR" in fetch
    assert "--dir" not in fetch  # a hidden alias
    for action in ("list", "path"):
        text = help_of("data", action)
        assert "--dir DIR" in text
        assert "--out-dir" not in text
    assert "fetch --out-dir DIR" in help_of("data")


@pytest.mark.parametrize(("mirror", "kind"), [("ftp://mirror.example", "FTPDownloader"),
                                              ("sftp://mirror.example", "SFTPDownloader")])
def test_ftp_and_sftp_mirrors_get_pooch_downloaders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: str, kind: str
) -> None:
    pooch = pytest.importorskip("pooch")
    chosen = []
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: chosen.append((url, kw)))
    if kind == "SFTPDownloader":  # it needs paramiko only to be made, not to be chosen
        monkeypatch.setattr(pooch.downloaders, "SFTPDownloader",
                            type("SFTPDownloader", (), {"__init__": lambda self, **kw: None}))
    data_file = data.DATASETS["gaitpdb"].records["GaCo01_01"][0]
    target = tmp_path / data_file.relpath
    url = data._download(pooch, data_file, target, mirror)
    assert url == f"{mirror}/gaitpdb/GaCo01_01.txt"
    ((got_url, kw),) = chosen
    assert got_url == url
    assert type(kw["downloader"]).__name__ == kind


def test_out_dir_that_is_a_file_is_named_not_blamed_on_the_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.MIRROR_ENV, "ftp://mirror.example")  # never reached
    a_file = tmp_path / "README.md"
    a_file.write_text("not a folder")
    for out_dir, words in ((a_file, f"--out-dir {a_file}: is a file, not a folder"),
                           (a_file / "sub", f"{a_file} is a file, not a folder")):
        code, _, err = _run(capsys, "data", "fetch", "gaitpdb", "GaCo01_01", "--out-dir",
                            str(out_dir))
        assert code == 2
        assert err.count("\n") == 1
        assert words in err
        assert "give a folder to download into" in err
        assert "try again later" not in err
        assert "network" not in err
    with pytest.raises(data.DataError, match="is a file, not a folder"):
        data.fetch("gaitpdb", ["GaCo01_01"], data_dir=a_file)


def test_a_write_error_in_the_data_folder_is_not_blamed_on_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pooch")
    folder = tmp_path / "d"

    def refuse(pooch, data_file, target, mirror):
        raise PermissionError(13, "Permission denied", str(target) + ".part")

    monkeypatch.setattr(data, "_download", refuse)
    with pytest.raises(data.DataError) as info:
        data.fetch("gaitpdb", ["GaCo01_01"], data_dir=folder)
    message = str(info.value)
    assert f"cannot write {folder.resolve() / 'gaitpdb' / 'GaCo01_01.txt.part'}" in message
    assert "Permission denied" in message
    assert f"check the data folder {folder.resolve()}" in message
    assert "try again later" not in message
