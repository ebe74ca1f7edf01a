"""Public example data: ``insole data list | fetch | path``.

`fetch` downloads public recordings that nobody on this project made — PhysioNet gaitpdb and
gaitndd, one record of the Fukuchi et al. 2017 running data set, and example exports of
commercial insoles — from their **original sites** with `pooch`, checks each file's SHA-256
against the value recorded here, and stores it in a user data folder
(``platformdirs.user_data_dir("insole")/datasets``, or ``fetch --out-dir DIR``; ``list`` and
``path`` take ``--dir DIR``) under the same relative paths as ``../shared/data``
(``gaitpdb/GaCo01_01.txt``, ``gaitndd/hunt5.hea``, ...). The files are
not part of the repository; their licences are listed by ``insole data list`` and in
``docs/domain.md`` ("Public data sets").

``INSOLE_DATA_MIRROR=URL`` takes every file from ``URL/<dataset>/<file>`` instead (an
``http(s)://`` or ``ftp://`` mirror, or a local folder / ``file://`` URL with that layout, such
as ``../shared/data``); the SHA-256 check is the same.

`add_parsers` adds ``data`` to the main CLI. Errors the user can fix raise `DataError` (one
line naming the fix; exit status 2 in the CLI). `pooch` comes with ``insole[lab]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insole.errors import InsoleError

__all__ = [
    "DATASETS",
    "MIRROR_ENV",
    "DataError",
    "DataFile",
    "Dataset",
    "Fetched",
    "add_parsers",
    "default_data_dir",
    "fetch",
    "local_path",
    "resolve_records",
]

#: Environment variable naming a mirror with the layout ``<dataset>/<file>``.
MIRROR_ENV = "INSOLE_DATA_MIRROR"

#: The figshare API used to find a file's download link in an article (Fukuchi et al. 2017).
FIGSHARE_API = "https://api.figshare.com/v2"


class DataError(InsoleError, ValueError):
    """A data set or record that cannot be fetched; the message names the fix."""


@dataclass(frozen=True)
class DataFile:
    """One file of a public data set.

    Attributes
    ----------
    relpath : str
        Path relative to the data folder and to a mirror, ``<dataset>/<file name>``.
    sha256 : str
        Expected SHA-256 of the file (hex).
    source : str
        Where the file comes from originally: an ``https://`` URL, or
        ``figshare:ARTICLE_ID/FILE_NAME`` (resolved through the figshare API at download time).
    """

    relpath: str
    sha256: str
    source: str

    @property
    def name(self) -> str:
        """The file name."""
        return self.relpath.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    """A public data set: where it comes from, its licence and its records.

    Attributes
    ----------
    name : str
        Folder name and the name used on the command line.
    title : str
        What it is.
    licence : str
        Licence of the files.
    attribution : str
        Whom to cite.
    home : str
        Landing page of the original.
    records : dict of str to tuple of DataFile
        Each record's files (data files first, then the licence text where it travels with
        the data).
    """

    name: str
    title: str
    licence: str
    attribution: str
    home: str
    records: dict[str, tuple[DataFile, ...]]


# --- the registry ----------------------------------------------------------------------------
# SHA-256 values from ../shared/data/SHA256SUMS (the files the project validates against).

_GAITPDB_SHA256 = {
    "GaCo01_01": "81bcedc0f72c1c6804d7830627431a6c1b76e9ddb42de0cf1ae2f418848c13a4",
    "GaCo07_01": "da3abce1fcc869579532d403dd83e7721f5e7d26638b477de2d2f22ba3296751",
    "GaCo13_10": "7a2d4748f938373e353ed28ba1a11a0ea005c73b5a6c666419b6a12bf7e8682e",
    "GaCo14_01": "38cae7a4487154249b538166a8d9ad6bf6ba15291d8098b0cb82a44555b6bd2f",
    "GaCo14_10": "a2ca6aac91386106536642e5c6a4dcb09e4bc3a85bf07c268b77a7879bad275c",
    "GaPt03_01": "e2e55fb21fa64392eaa924005c5615ce1fac690d7d52f078404ec3ff7e2c7f3d",
    "GaPt12_01": "555745c48c6e4ecf21ec66faffb1d1cdd13bc272ceec58584553d6bbf079d85f",
    "GaPt25_01": "6d74aadacaf9a304214c22ddccbd7e1a055d25c4d91578124c939d85d0f9840e",
    "GaPt25_10": "82ffdbbbfdc1ede01291772cf48f3a239713bc02f94476a02566d0c22eaaca35",
    "JuCo01_01": "64e3af984dc5fce5878ec832d751ac9c76d3813b51768044956d7af3934aa42f",
    "JuCo05_01": "67792fb6ac3aa4464298ceb9decd70502285e0dbb9d56ffd924764bdffa081f3",
    "JuCo08_01": "90eb64cacd78d6f90c9a8fb5247e3a30e86f94df894488c939f7e56ff080e982",
    "JuCo09_01": "d54db336f1e556281deffaaa9b681f7a360349f3e97f201ff722fabd22c3fdb3",
    "JuCo20_01": "ff7b62484d5c57b8976a7ccf1b0b2410accd67607f79ff260bb80c5942e41300",
    "JuPt13_01": "1c7283c20c57ffb5d1e33fc2c4d5a1e11755ad07083c8cd88a8194356f2dd903",
    "JuPt23_01": "032c8e8eab56be3626caf7d0316b2c812254c34457e2b8233d0a0f797007c0f6",
    "SiCo01_01": "d9c72a50215bdbf335435dca8cb2d5e2231811ea925b057132a8d7841704115a",
    "SiPt12_01": "f70ea34ed05de16977c69953ab2fe1aba02f8af8fe28fa0dcd75018dc465042f",
    "SiPt22_01": "ea8732f457df6bd35fa6fe1ebe26d904cae281c196d71de6938bb3ed3ccecc57",
    "format": "8a91a8c4181e790474f247b59c8189d6af915fd5af45178a8b355c69a884bff6",
}

#: gaitndd record -> SHA-256 of its .hea, .let, .rit and .ts files.
_GAITNDD_SHA256 = {
    "als4": (
        "3d9d1c9148b855f721dcc0ee8dba0baa84c1cf8c69e4749bc0c5fa4c404f3ce9",
        "f476b1a728026532b71ade8a3b2a3847edf1e588e1342dff6e3854139709612d",
        "1bee2f9286b59423c84ae659a119986eb2fedeff8c5238b67b092527fe217cb3",
        "7c6290be41297120390084ad66cc4f69064d754b43b2d05cca444d40ca87c72f",
    ),
    "als5": (
        "f50f447e3760d1cedc9089efe13349f1048e02ae605a73389c3115ff411d481d",
        "b72f0bda78202c0c04727a16067fec93b9f9ef6e6bef80801f2b779a52956b80",
        "aac44ff0de32f85e7f8e9439a6518d5597f1b750abfb9a97561cee82b0997c6a",
        "b53dac71ad38b68531c3f10f0e49e14347a4955d8c8b061782f5e0b549421627",
    ),
    "control1": (
        "3034a3629f40a59191eea10603529be6294f180e4bdcc6db1fd07096f07afdc4",
        "0573148a9383b1e8e91be2ea93b90ddf7f1e916da28beb53b4fe5b906702fb29",
        "07d1fbf79d7efba02697993c6c3dd19dbcc72beb21d1022d44473106ac8caae3",
        "7a4141329960d75fb6a3c96dffb1e41d2f1e80fbee495874e363ab06bdf1c223",
    ),
    "control4": (
        "8a5fbfdf04b619b96b84493bc9076e5fb94d2bea3ade5e40ff423f9705038b92",
        "07cfca76453f8a989d7252564a43d8d69d6046b11dfc9532ef0e461b3c8f631f",
        "8db3d7d3fda5573844122d1b8814deef08189de63c7fe4bb8c65bb91e1779adb",
        "5d105cc3216658aaa29515049177abdfade9782bc28f6687557e209445bd1710",
    ),
    "control5": (
        "b3b8cf97876f3790181c43e1206d8e244f4a766e09d2428fd3994a20981ab044",
        "91c55caca5ea6f83c0526573e2f12fcdfb920b33fc6f91f367833cff2c944329",
        "c707c759cf8d887485fff65b00a7627042c27fd954b06f187a302c378c4db359",
        "382f1c0eb3d730f331b16ce2a83ce34c67967cb89afe895ecc84586622099b77",
    ),
    "hunt1": (
        "0102d0b137f412a0187d16bfff1e961aa342d04d4f3bad5fbd8ce3d09d759b6d",
        "7e748bdb2c0f83396b66bd2789b7b644178ca80934f45051aa70b30324357076",
        "36085ab225711e4df657b6b335cab1ce1ab5fdf59ba1059205a9ee2dc265de98",
        "b9fb4dae2dc1c9f345f2454889a06a3dfbf2ad5da60aad25cbfdd583b92eb3a7",
    ),
    "hunt4": (
        "66a73343e09cee2c81307066a5b1e6169e0702e828ac41a496db22be781c507b",
        "bbf2058d2c490642894ba98b234a604aa744ea4d2e914349ae00108f36cc0353",
        "dc042cacf679ceb08d266d0290c3a9c50bc4dc8dbe5f3b0ba6c7cd71b317dfc5",
        "ef9428ee130e91b8cef935e927efbd5253aad7f8aa88fd53c7931f9c325a100d",
    ),
    "hunt5": (
        "90a0b5aa642f9cf0f15994bd456c72c1eadc8a3a7c74fb6afa88734486d3d549",
        "17afb055c040afa2af38c6f7405a43ce01c18b1f39cf442dc851dcc9a4b9ec2b",
        "67c9c38abe96ef634ee2f542bf7dbc3dda6daf501d66149b3d880c1d90de9298",
        "eaef792e0150c862a1ab2878296fecbf4059620227a1ee5eb18c682f17c56fd4",
    ),
    "park1": (
        "16bd8546d40f49b6f25add06734f0fe42167a317d8a5a59c9e18984f6430c5a6",
        "dafa326809320348b452ecf3090d4010cdd004b2bd8f06ee42a11c5fd1ad0065",
        "eea0c2b1555899cc9afa51cd6cb87c9a582483ca18c8db962d1a0790bba5486c",
        "6d2b0af6dc5b20fffb0ed1ca5b297049a82afbea522aea03d29b9a00f7e4a105",
    ),
    "park4": (
        "cb9fb4949a7f65cab0619b961afe14bd66e1444482449af302123caf6a52e707",
        "921678028197dddfafd9f242e1658cd10ddcc20ac3d3ca52fcf3cc9ed2661042",
        "698dc78087db024282641c7162e6def8111cb4cac37ea37e76329e00046a09cb",
        "d1d04784abe9bc4d81ccd94489cc550fba9d7cbc124f913936692f1667bb21a0",
    ),
    "park5": (
        "823f4dde132c89f894b9b5ac41dcd0b6cc15e4a4809d999e084861775ca0868e",
        "bb4a5e9f32ceb35083bbb48d75ba49f9b1eb496c438fb8e6268df963221a21b5",
        "3136679f8e1304367d71afed158d48b383253b85a25739894ee53f62af5e9768",
        "1d5cff91eafa01e274d2743f256c2e63d88cad17dd1dbb4386552edf83456cbd",
    ),
}

_PHYSIONET = "https://physionet.org/files"
#: Figshare article of Fukuchi, Fukuchi & Duarte 2017 (doi:10.6084/m9.figshare.4543435).
_FUKUCHI_ARTICLE = 4543435
#: The pressuRe R package (Telfer et al.), whose inst/extdata holds the vendor example exports.
_PRESSURE_RAW = "https://raw.githubusercontent.com/Telfer/pressuRe/HEAD"
#: Moticon's own OpenGo Python library; its test data are real OpenGo text exports. Pinned to
#: the commits that hold the files whose SHA-256 is recorded here.
_MOTICON_RAW = "https://raw.githubusercontent.com/moticon-rego/moticon-opengo"
_MOTICON_WALK_COMMIT = "be7957ff476bdecc6a981a991cea9421df4bb179"
_MOTICON_EVENTS_COMMIT = "2ca588ae7efe26ac4e6cfce39841c9e1123ea97f"


def _physionet(name: str, title: str, attribution: str) -> Dataset:
    """A PhysioNet data set (v1.0.0, ODC-By 1.0) and its records' files at physionet.org."""
    base = f"{_PHYSIONET}/{name}/1.0.0"
    shas: dict[str, dict[str, str]] = (
        {rec: {"txt": sha} for rec, sha in _GAITPDB_SHA256.items()} if name == "gaitpdb" else {
            rec: dict(zip(("hea", "let", "rit", "ts"), four, strict=True))
            for rec, four in _GAITNDD_SHA256.items()
        }
    )
    records = {
        rec: tuple(DataFile(f"{name}/{rec}.{ext}", sha, f"{base}/{rec}.{ext}")
                   for ext, sha in by_ext.items())
        for rec, by_ext in shas.items()
    }
    return Dataset(name=name, title=title, licence="ODC-By 1.0", attribution=attribution,
                   home=f"https://physionet.org/content/{name}/1.0.0/", records=records)


def _fukuchi(name: str, sha: str) -> DataFile:
    return DataFile(f"running_forceplate/{name}", sha, f"figshare:{_FUKUCHI_ARTICLE}/{name}")


_PRESSURE_LICENCE = DataFile(
    "commercial_exports/LICENSE-pressuRe.md",
    "b136b2ab2cc1cfa4ed27b91065752e00acf56fa60239f39cb0a81b6381d49b2a",
    f"{_PRESSURE_RAW}/LICENSE.md",
)
_MOTICON_LICENCE = DataFile(
    "commercial_exports/LICENSE-moticon-opengo.txt",
    "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
    f"{_MOTICON_RAW}/{_MOTICON_EVENTS_COMMIT}/LICENSE",
)


def _pressure(name: str, sha: str) -> tuple[DataFile, ...]:
    return (
        DataFile(f"commercial_exports/{name}", sha, f"{_PRESSURE_RAW}/inst/extdata/{name}"),
        _PRESSURE_LICENCE,
    )


#: Every data set `fetch` knows, by name.
DATASETS: dict[str, Dataset] = {
    "gaitpdb": _physionet(
        "gaitpdb",
        title="PhysioNet Gait in Parkinson's Disease v1.0.0: force-sensing insoles, 8 sensors "
        "per foot, 100 Hz, walking (19 of its walks)",
        attribution="Hausdorff, Yogev, Frenkel-Toledo et al.; Goldberger et al., PhysioBank, "
        "PhysioToolkit and PhysioNet, Circulation 101(23):e215-e220 (2000)",
    ),
    "gaitndd": _physionet(
        "gaitndd",
        title="PhysioNet Gait Dynamics in Neuro-Degenerative Disease v1.0.0: one footswitch "
        "per foot, 300 Hz, 5-minute walks with stride annotations (11 of its records)",
        attribution="Hausdorff et al., J Appl Physiol 88:2045-2053 (2000); Goldberger et al., "
        "Circulation 101(23):e215-e220 (2000)",
    ),
    "running_forceplate": Dataset(
        name="running_forceplate",
        title="Fukuchi, Fukuchi & Duarte 2017 running data set (RBDS): instrumented-treadmill "
        "forces, 300 Hz, one runner at 2.5 m/s, and the participants' table",
        licence="CC BY 4.0",
        attribution="Fukuchi RK, Fukuchi CA, Duarte M, PeerJ 5:e3298 (2017); data "
        "doi:10.6084/m9.figshare.4543435",
        home="https://doi.org/10.6084/m9.figshare.4543435",
        records={
            "RBDS001runT25forces": (_fukuchi(
                "RBDS001runT25forces.txt",
                "aeba42cd0d3e73f890a525c6d3802acb4cefada05998864a678eb643e28bf88a",
            ),),
            "RBDSinfo": (_fukuchi(
                "RBDSinfo.txt",
                "e600b58f8108310d56221459cb99547bafb5d7a8e4c0ad8471592622bde4af0f",
            ),),
        },
    ),
    "commercial_exports": Dataset(
        name="commercial_exports",
        title="example exports of commercial pressure insoles: pedar, stAPPone, F-Scan and "
        "XSENSOR (from the pressuRe R package), Moticon OpenGo (from moticon-opengo)",
        licence="MIT (pressuRe examples); Apache-2.0 (Moticon OpenGo examples); the licence "
        "text is fetched with each file",
        attribution="pressuRe authors (Telfer, Li), https://github.com/Telfer/pressuRe; "
        "Moticon ReGo AG, https://github.com/moticon-rego/moticon-opengo",
        home="https://github.com/Telfer/pressuRe",
        records={
            "pedar_example": _pressure(
                "pedar_example.asc",
                "47d56d0689ea2bcf9e7e66589b9c9c24aac1b5b866e79ac50e9a9efb5714184f",
            ),
            "stappone_example": _pressure(
                "stappone_example.csv",
                "e76528fa52bf3ec4202f4a9cf826fef4182080adae4bb74598752c92c7837af5",
            ),
            "fscan_testL": _pressure(
                "fscan_testL.asf",
                "659ae2a45c607ad692ff51e53845aa95837e12ba03473618ffb5e998ea315194",
            ),
            "xsensor_data": _pressure(
                "xsensor_data.csv",
                "30237e5e55709a5ef74dcb45bd1d95a58123b538a1c29b05438cd86f646ad0ac",
            ),
            "moticon_opengo_walk_230927_102114": (
                DataFile(
                    "commercial_exports/moticon_opengo_walk_230927_102114.txt",
                    "4efca7822b603b4469bf838c05b25900ed35aecfd170853ce6542523fa9210ed",
                    f"{_MOTICON_RAW}/{_MOTICON_WALK_COMMIT}/tests/testdata/230927_102114.txt",
                ),
                _MOTICON_LICENCE,
            ),
            "moticon_opengo_walk_events": (
                DataFile(
                    "commercial_exports/moticon_opengo_walk_events.txt",
                    "37635888aa612f9010593a4302ce3195fc94cb1720e6fdbef5e794ca2f0e7236",
                    f"{_MOTICON_RAW}/{_MOTICON_EVENTS_COMMIT}/tests/testdata/"
                    "walk_data_with_events/text_export.txt",
                ),
                _MOTICON_LICENCE,
            ),
        },
    ),
}


# --- looking things up -----------------------------------------------------------------------


def default_data_dir() -> Path:
    """The folder `fetch` writes to by default: ``user_data_dir("insole")/datasets``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("insole")) / "datasets"


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """`data_dir`, or `default_data_dir` when it is None."""
    return Path(data_dir) if data_dir is not None else default_data_dir()


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"unknown data set {name!r}; known: {', '.join(DATASETS)} (see 'insole data list')"
        ) from None


def resolve_records(dataset: str, records: Sequence[str]) -> list[tuple[str, tuple[DataFile, ...]]]:
    """Look up records of a data set; a name may carry its file extension.

    Parameters
    ----------
    dataset : str
        A key of `DATASETS`.
    records : sequence of str
        Record names (``GaCo01_01``, ``hunt5``, ``fscan_testL.asf``, ...).

    Returns
    -------
    list of (str, tuple of DataFile)
        Each record's name and files, in the order given (duplicates dropped).

    Raises
    ------
    DataError
        Unknown data set or record; the message lists what exists.
    """
    ds = _dataset(dataset)
    out: dict[str, tuple[DataFile, ...]] = {}
    for given in records:
        name = given
        if name not in ds.records:
            stem = name.rsplit(".", 1)[0]
            name = stem if stem in ds.records else name
        if name not in ds.records:
            raise DataError(
                f"{dataset} has no record {given!r} with a known SHA-256; records: "
                f"{', '.join(ds.records)} (see 'insole data list {dataset}')"
            )
        out.setdefault(name, ds.records[name])
    return list(out.items())


def local_path(data_file: DataFile, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where `fetch` puts a file: ``data_dir/<dataset>/<file>``."""
    base = _data_dir(data_dir)
    return base / data_file.relpath


# --- fetching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One file `fetch` made available.

    Attributes
    ----------
    record : str
        The record it belongs to, as `resolve_records` names it.
    path : Path
        Where it is now (absolute).
    url : str or None
        Where it was downloaded from; None when a verified copy was already there.
    """

    record: str
    path: Path
    url: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"record": self.record, "path": str(self.path), "url": self.url}


def _file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mirror_location(mirror: str, relpath: str) -> tuple[str, Path | None]:
    """The URL (and local file, for a folder mirror) of a file on a mirror."""
    scheme = urllib.parse.urlsplit(mirror).scheme.lower()
    if scheme in ("http", "https", "ftp", "sftp"):
        return f"{mirror.rstrip('/')}/{urllib.parse.quote(relpath)}", None
    if scheme == "file":
        folder = Path(urllib.parse.unquote(urllib.parse.urlsplit(mirror).path))
    elif scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        raise DataError(
            f"{MIRROR_ENV}={mirror!r}: unsupported scheme {scheme!r}; give an http(s):// or "
            "ftp:// URL, or a local folder with the layout <dataset>/<file>"
        )
    else:
        folder = Path(mirror)
    if not folder.is_dir():
        raise DataError(
            f"{MIRROR_ENV}={mirror!r}: no such folder; give an http(s):// URL or an existing "
            "folder with the layout <dataset>/<file>"
        )
    local = folder / relpath
    return local.resolve().as_uri(), local


def _figshare_download_url(article_id: int, name: str) -> str:
    """The download link of a file of a figshare article (the latest upload of that name)."""
    import requests

    files: list[dict[str, Any]] = []
    page = 1
    while True:
        response = requests.get(
            f"{FIGSHARE_API}/articles/{article_id}/files",
            params={"page": page, "page_size": 1000},
            timeout=30,
        )
        response.raise_for_status()
        batch = response.json()
        files.extend(batch)
        if len(batch) < 1000:
            break
        page += 1
    matches = [f for f in files if f.get("name") == name]
    if not matches:
        raise DataError(
            f"figshare article {article_id} has no file {name!r} any more; set {MIRROR_ENV} "
            "to a mirror that has it"
        )
    # The running set holds some names twice (an early and a complete upload): take the latest.
    return str(max(matches, key=lambda f: int(f.get("id", 0)))["download_url"])


def _import_pooch() -> Any:
    try:
        import pooch
    except ModuleNotFoundError:
        raise DataError(
            "fetching data needs the Python package 'pooch'; install it with: "
            "pip install 'insole[lab]'"
        ) from None
    pooch.get_logger().setLevel("WARNING")
    return pooch


def _download(pooch: Any, data_file: DataFile, target: Path, mirror: str | None) -> str:
    """Download one file to `target` with pooch (temporary file, SHA-256 check, move)."""
    downloader: Callable[..., Any] | None = None
    if mirror:
        url, local = _mirror_location(mirror, data_file.relpath)
        if local is not None:
            if not local.is_file():
                raise DataError(
                    f"{local}: not on the mirror {MIRROR_ENV}={mirror!r}; check the mirror's "
                    "layout (<dataset>/<file>) or unset it to download from the original site"
                )

            def downloader(_url: str, output_file: Any, _pooch: Any) -> None:
                with local.open("rb") as src:
                    if isinstance(output_file, str):
                        with open(output_file, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                    else:
                        shutil.copyfileobj(src, output_file)
    elif data_file.source.startswith("figshare:"):
        article, _, name = data_file.source.removeprefix("figshare:").partition("/")
        url = _figshare_download_url(int(article), name)
    else:
        url = data_file.source
    if downloader is None and url.lower().startswith(("http://", "https://")):
        downloader = pooch.HTTPDownloader(progressbar=False, timeout=60)
    elif downloader is None:  # ftp:// or sftp:// mirrors (pooch picks by the URL's scheme)
        downloader = pooch.downloaders.choose_downloader(url, progressbar=False)
    pooch.retrieve(
        url,
        known_hash=f"sha256:{data_file.sha256}",
        fname=target.name,
        path=target.parent,
        downloader=downloader,
        progressbar=False,
    )
    return url


def _fetch_error(
    exc: BaseException, data_file: DataFile, url: str, mirror: str | None, folder: Path
) -> str:
    """One line: what went wrong with a download into `folder` and how to fix it."""
    where = f"the mirror {MIRROR_ENV}={mirror}" if mirror else "the original site"
    other = (
        f"fix the mirror, or unset {MIRROR_ENV} to download from the original site"
        if mirror
        else f"try again later, or set {MIRROR_ENV}=URL to a mirror with the layout "
        "<dataset>/<file>"
    )
    text = " ".join(str(exc).split())
    if isinstance(exc, ValueError) and "hash" in text.lower():
        return (
            f"{data_file.relpath} from {url}: SHA-256 differs from the recorded "
            f"{data_file.sha256[:16]}…, so the file was not kept (it changed at the source or "
            f"was damaged in transit); {other}"
        )
    if isinstance(exc, OSError) and exc.filename and Path(str(exc.filename)).is_relative_to(
            folder):  # writing into the data folder, not the network
        return (f"{data_file.relpath}: cannot write {exc.filename} "
                f"({exc.strerror or type(exc).__name__}); check the data folder {folder}")
    import requests

    failed_url = getattr(getattr(exc, "request", None), "url", None)
    if isinstance(exc, requests.RequestException) and failed_url:
        url = str(failed_url)  # the URL that failed (e.g. the figshare API, not the file)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return (
            f"{data_file.relpath}: {where} answered HTTP {exc.response.status_code} for {url}; "
            f"{other}"
        )
    if isinstance(exc, requests.RequestException | OSError):  # OSError: ftp:// and sftp://
        host = urllib.parse.urlsplit(url).netloc or url
        reason = type(exc).__name__
        return f"{data_file.relpath}: cannot reach {host} ({reason}); check the network, or {other}"
    return f"{data_file.relpath} from {url}: {text}; {other}"


def _check_folder(base: Path) -> None:
    """Refuse, in one line, a data folder that is a file or lies inside one."""
    for folder in (base, *base.parents):
        if folder.exists():
            if not folder.is_dir():
                raise DataError(
                    f"{base}: {'it' if folder == base else folder} is a file, not a folder; "
                    "give a folder to download into (it is created if missing)")
            break


def fetch(
    dataset: str,
    records: Sequence[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    on_file: Callable[[Fetched], None] | None = None,
) -> list[Fetched]:
    """Download records of a public data set and check their SHA-256.

    A file already in the data folder with the right SHA-256 is not downloaded again; one with
    another SHA-256 is replaced. Each file is downloaded to a temporary name and kept only when
    its SHA-256 matches.

    Parameters
    ----------
    dataset : str
        ``gaitpdb``, ``gaitndd``, ``running_forceplate`` or ``commercial_exports``.
    records : sequence of str
        Record names (`resolve_records`).
    data_dir : path-like, optional
        Folder to write to (default `default_data_dir`); files go to ``<dataset>/<file>``.
    mirror : str, optional
        Base URL or local folder with the layout ``<dataset>/<file>``; default: the environment
        variable ``INSOLE_DATA_MIRROR``, else the original sites.
    on_file : callable, optional
        Called with each `Fetched` as soon as the file is in place.

    Returns
    -------
    list of Fetched
        Every file of the records (licence texts included), in order.

    Raises
    ------
    DataError
        Unknown data set or record, missing ``pooch``, a SHA-256 mismatch, an unreachable site,
        a data folder that is a file or cannot be written; one line naming the fix.
    """
    wanted = resolve_records(dataset, records)
    mirror = mirror if mirror is not None else (os.environ.get(MIRROR_ENV) or None)
    base = _data_dir(data_dir)
    base = base.expanduser().resolve()
    _check_folder(base)
    pooch = None
    done: list[Fetched] = []
    seen: set[str] = set()
    for record, files in wanted:
        for data_file in files:
            if data_file.relpath in seen:
                continue
            seen.add(data_file.relpath)
            target = base / data_file.relpath
            if target.is_file() and _file_sha256(target) == data_file.sha256:
                item = Fetched(record, target, None)
            else:
                pooch = pooch or _import_pooch()
                url = data_file.source
                try:
                    url = _download(pooch, data_file, target, mirror)
                except DataError:
                    raise
                except Exception as exc:  # requests / pooch errors -> one line with the fix
                    if mirror:
                        url = _mirror_location(mirror, data_file.relpath)[0]
                    raise DataError(_fetch_error(exc, data_file, url, mirror, base)) from exc
                item = Fetched(record, target, url)
            done.append(item)
            if on_file is not None:
                on_file(item)
    return done


# --- CLI -------------------------------------------------------------------------------------


def _cmd_list(args: argparse.Namespace) -> int:
    names = [args.dataset] if args.dataset else list(DATASETS)
    base = _data_dir(args.dir)
    out: list[dict[str, Any]] = []
    for name in names:
        ds = _dataset(name)
        recs: list[dict[str, Any]] = []
        for rec, files in ds.records.items():
            present = all((base / f.relpath).is_file() for f in files)
            recs.append({"record": rec, "files": [f.relpath for f in files],
                         "sources": [f.source for f in files], "fetched": present})
        out.append({"dataset": ds.name, "title": ds.title, "licence": ds.licence,
                    "attribution": ds.attribution, "home": ds.home, "records": recs})
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for i, ds_info in enumerate(out):
        if i:
            print()
        print(f"{ds_info['dataset']}: {ds_info['title']}")
        print(f"  licence   {ds_info['licence']}")
        print(f"  cite      {ds_info['attribution']}")
        print(f"  source    {ds_info['home']}")
        if args.dataset:
            for r in ds_info["records"]:
                mark = "fetched" if r["fetched"] else "-"
                print(f"  {r['record']:<36} {mark:<8} {', '.join(r['sources'][:1])}")
        else:
            print(f"  records   {', '.join(r['record'] for r in ds_info['records'])}")
    if not args.dataset:
        print(f"\nfetch with: insole data fetch DATASET RECORD... (into {base})")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    ds = _dataset(args.dataset)
    if args.dir is not None and args.dir.exists() and not args.dir.is_dir():
        raise DataError(f"--out-dir {args.dir}: is a file, not a folder; give a folder to "
                        "download into (it is created if missing)")
    records = list(ds.records) if args.all else args.records
    if not records:
        raise DataError(
            f"name the records to fetch, e.g. 'insole data fetch {ds.name} "
            f"{next(iter(ds.records))}', or --all (records: 'insole data list {ds.name}')"
        )

    def report(item: Fetched) -> None:
        if args.json:
            return
        how = f"downloaded from {item.url}" if item.url else "already there"
        print(f"{item.path}  ({how}; SHA-256 ok)", flush=True)

    done = fetch(ds.name, records, data_dir=args.dir, on_file=report)
    if args.json:
        print(json.dumps([d.as_dict() for d in done], indent=2))
    else:
        print(f"{ds.name}: {ds.licence}; cite {ds.attribution}", file=sys.stderr)
    return 0


def _cmd_path(args: argparse.Namespace) -> int:
    if not args.dataset:
        print(_data_dir(args.dir))
        return 0
    wanted = resolve_records(args.dataset, args.records or list(_dataset(args.dataset).records))
    for _, files in wanted:
        path = local_path(files[0], args.dir)  # the data file (licence texts come after it)
        # a WFDB record is named without extension: what 'insole import gaitndd' takes
        print(path.with_suffix("") if args.dataset == "gaitndd" else path)
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``data`` (``list``, ``fetch``, ``path``) to the main CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The object returned by the main parser's ``add_subparsers``.
    """
    p = sub.add_parser(
        "data",
        help="download public example recordings (PhysioNet, Fukuchi 2017, vendor exports)",
        description="Public example data from their original sites, checked by SHA-256, in a "
        f"user data folder (or fetch --out-dir DIR). {MIRROR_ENV}=URL fetches from a mirror "
        "with the layout <dataset>/<file> instead.",
    )
    cmd = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    cmd.required = True

    def dir_option(q: argparse.ArgumentParser, *, out: bool = False) -> None:
        # 'fetch' writes the folder: --out-dir, the name of a folder of outputs (issue 13's
        # CLI conventions); 'list' and 'path' read it: --dir. Each takes the other name too
        # (hidden), so one folder flag works for all three, and older scripts' --dir keeps
        # working with fetch.
        shown, hidden = ("--out-dir", "--dir") if out else ("--dir", "--out-dir")
        q.add_argument(shown, dest="dir", type=Path, metavar="DIR",
                       help="data folder to " + ("download into" if out else "look in")
                       + " (default: the user data folder, see 'insole data path')")
        q.add_argument(hidden, dest="dir", type=Path, help=argparse.SUPPRESS)

    q = cmd.add_parser("list", help="what can be fetched, with licences and sources",
                       description="List the data sets and records 'insole data fetch' knows, "
                       "their licences, whom to cite, and which records are already fetched.")
    q.add_argument("dataset", nargs="?", help="one data set: list its records and sources")
    dir_option(q)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=_cmd_list)

    q = cmd.add_parser("fetch", help="download records and check their SHA-256",
                       description="Download records from the original site (PhysioNet, "
                       "figshare, GitHub), check each file's SHA-256 and print where it went. "
                       "Files already present and intact are not downloaded again.")
    q.add_argument("dataset", help=f"data set: {', '.join(DATASETS)}")
    q.add_argument("records", nargs="*", metavar="RECORD",
                   help="record names, e.g. GaCo01_01 (see 'insole data list DATASET')")
    q.add_argument("--all", action="store_true", help="every record of the data set")
    dir_option(q, out=True)
    q.add_argument("--json", action="store_true", help="print what was fetched as JSON")
    q.set_defaults(func=_cmd_fetch)

    q = cmd.add_parser("path", help="the data folder, or where records are (once fetched)",
                       description="Print the data folder, or the local path of each record's "
                       "file (whether fetched or not).")
    q.add_argument("dataset", nargs="?", help="data set")
    q.add_argument("records", nargs="*", metavar="RECORD", help="records (default: all)")
    dir_option(q)
    q.set_defaults(func=_cmd_path)
