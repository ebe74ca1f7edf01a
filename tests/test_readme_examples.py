"""The README's examples run as shown, on a fresh clone, without ``../shared``.

Every fenced ``sh`` (or ``console``) block of README.md is run, command by command and block by
block in README order, with ``bash -c`` in one empty working folder that holds a copy of the
repository's ``recordings/``. ``insole`` is this environment's; ``INSOLE_DATA_MIRROR`` points
at ``../shared/data`` served on loopback (there is no internet here), so ``insole data fetch``
really downloads over HTTP and checks SHA-256. The user data folder is a temporary one.

- A block preceded by ``<!-- readme-test: skip REASON -->`` is skipped with that reason
  (package installs, hardware).
- Without ``../shared/data``, blocks that fetch public data skip.
- A command ending in ``&`` runs in the background; the next command starts once it printed its
  first line (``insole emulate serial`` prints its pty path); it must end by itself and exit 0.
- ``"key": value`` in a command's comment must appear in its output.

Also here: no file cites the old out-of-repository design brief (its facts are in
``docs/domain.md``), every section cited in ``docs/domain.md`` exists, and ``scripts/demo``
falls back as documented when extras cannot be installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers_data_mirror import SHARED_DATA, serve_folder

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

_FENCE = re.compile(r"^```(sh|console)\s*$")
_SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s+(.+?)\s*-->\s*$")
_CLAIM = re.compile(r'"\w+": [-+\w.]+')
_FETCHES = re.compile(r"insole data fetch|(^|\s)data/")


@dataclass
class Command:
    line: int
    text: str
    comment: str

    @property
    def background(self) -> bool:
        words = shlex.split(self.text, comments=True)
        return bool(words) and words[-1] == "&"

    @property
    def claims(self) -> list[str]:
        return _CLAIM.findall(self.comment)


@dataclass
class Block:
    line: int
    commands: list[Command]
    skip: str | None


def _comment(physical_line: str) -> str:
    match = re.search(r"\s#\s(.*)$", physical_line)
    return match.group(1) if match else ""


def readme_blocks(text: str) -> list[Block]:
    """The ``sh``/``console`` blocks of a README, with their commands and skip markers."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        prev = next((ln for ln in reversed(lines[:i]) if ln.strip()), "")
        skip = _SKIP.match(prev.strip())
        block = Block(i + 1, [], skip.group(1) if skip else None)
        i += 1
        pending: list[str] = []
        start = 0
        while i < len(lines) and not lines[i].startswith("```"):
            raw = lines[i]
            i += 1
            if fence.group(1) == "console" and not pending:
                if not raw.startswith("$ "):
                    continue  # output shown in the block
                raw = raw[2:]
            if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
                continue
            if not pending:
                start = i
            pending.append(raw)
            if not raw.rstrip().endswith("\\"):
                block.commands.append(Command(start, "\n".join(pending), _comment(pending[-1])))
                pending = []
        i += 1
        blocks.append(block)
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def _env(work: Path, mirror: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSOLE_", "XDG_"))}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(work.parent / "home"),
        XDG_DATA_HOME=str(work.parent / "home" / "data"),
        XDG_CONFIG_HOME=str(work.parent / "home" / "config"),
        XDG_CACHE_HOME=str(work.parent / "home" / "cache"),
        QT_QPA_PLATFORM="offscreen",
        PYTHONUNBUFFERED="1",
    )
    if mirror:
        env["INSOLE_DATA_MIRROR"] = mirror
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder with the repository's example recordings, like a fresh clone's."""
    work = tmp_path_factory.mktemp("readme") / "work"
    work.mkdir()
    shutil.copytree(ROOT / "recordings", work / "recordings")
    return work


@pytest.fixture(scope="module")
def mirror() -> Iterator[str | None]:
    if not SHARED_DATA.is_dir():
        yield None
        return
    with serve_folder(SHARED_DATA) as (url, _):
        yield url


def _first_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    got: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return got[0] if got else ""


def _shows(output: str, claim: str) -> bool:
    """True if `output` has the ``"key": value`` of `claim` (not just a prefix of the value)."""
    return re.search(re.escape(claim) + r"(?![\w.])", output) is not None


def _run_block(block: Block, work: Path, env: dict[str, str]) -> None:
    background: list[tuple[Command, subprocess.Popen[str]]] = []
    try:
        for cmd in block.commands:
            where = f"README.md:{cmd.line}: {cmd.text}"
            if cmd.background:
                script = re.sub(r"&\s*(#.*)?$", "", cmd.text.rstrip())
                proc = subprocess.Popen(
                    ["bash", "-c", script], cwd=work, env=env, text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                )
                background.append((cmd, proc))
                assert _first_line(proc, 20.0), f"{where}: printed nothing within 20 s"
                continue
            t0 = time.monotonic()
            done = subprocess.run(
                ["bash", "-c", cmd.text], cwd=work, env=env, text=True,
                capture_output=True, timeout=120,
            )
            assert done.returncode == 0, (
                f"{where}: exit {done.returncode} after {time.monotonic() - t0:.1f} s\n"
                f"{done.stderr[-3000:]}"
            )
            for claim in cmd.claims:
                assert _shows(done.stdout, claim), (
                    f"{where}: output lacks {claim}\n{done.stdout[:3000]}")
        for cmd, proc in background:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, f"README.md:{cmd.line}: background exit " \
                f"{proc.returncode}\n{err[-3000:]}"
            for claim in cmd.claims:
                assert _shows(out, claim), f"README.md:{cmd.line}: output lacks {claim}"
    finally:
        for _, proc in background:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.line}" for b in BLOCKS])
def test_readme_block_runs_as_shown(block: Block, workdir: Path, mirror: str | None) -> None:
    if block.skip:
        pytest.skip(f"README.md:{block.line}: {block.skip}")
    if mirror is None and any(_FETCHES.search(c.text) for c in block.commands):
        pytest.skip(f"README.md:{block.line} fetches public data: ../shared/data is not here")
    _run_block(block, workdir, _env(workdir, mirror))


def test_readme_examples_are_found_and_need_no_shared_folder() -> None:
    runnable = [b for b in BLOCKS if not b.skip]
    commands = [c for b in runnable for c in b.commands]
    assert len(runnable) >= 3
    assert len(commands) >= 15
    assert any(c.text.startswith("insole data fetch gaitpdb") for c in commands)
    assert any(c.text.startswith("insole import gaitndd") for c in commands)
    assert any(c.background for c in commands)
    assert any(c.claims for c in commands)
    for block in BLOCKS:
        for c in block.commands:
            assert "../shared" not in c.text, f"README.md:{c.line} uses ../shared"
    # The hardware and set-up blocks say why they are not run.
    skipped = [b.skip for b in BLOCKS if b.skip]
    assert any("pip" in s for s in skipped)
    assert any("Bluetooth" in s for s in skipped)


def test_parser_joins_continuations_and_reads_markers() -> None:
    text = (
        "x\n\n<!-- readme-test: skip needs a display -->\n```sh\ninsole live sim:\n```\n"
        "```console\n$ insole a \\\n    --b 1   # \"n\": 3, \"m\": 1.5\nsome output\n"
        "$ insole emulate serial &  # bg\n```\n```python\nprint(1)\n```\n"
    )
    first, second = readme_blocks(text)
    assert first.skip == "needs a display"
    assert [c.text for c in first.commands] == ["insole live sim:"]
    assert second.skip is None
    assert [c.text for c in second.commands] == [
        'insole a \\\n    --b 1   # "n": 3, "m": 1.5', "insole emulate serial &  # bg"]
    assert second.commands[0].claims == ['"n": 3', '"m": 1.5']
    assert [c.background for c in second.commands] == [False, True]


# --- docs/domain.md replaces the out-of-repository design brief ------------------------------

_OLD_BRIEF = "DESIGN" + ".md"
_TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".json",
                  ".c", ".h", ".html", ".csv", ".sh", ""}


def _repo_text_files() -> list[Path]:
    skip_dirs = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                 ".hypothesis", "node_modules"}
    out = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs and not d.endswith(".egg-info")]
        for name in filenames:
            path = Path(dirpath, name)
            if path.suffix in _TEXT_SUFFIXES and path.stat().st_size < 5_000_000:
                out.append(path)
    return out


def test_no_file_cites_the_old_design_brief() -> None:
    files = _repo_text_files()
    assert ROOT / "insole" / "core" / "events.py" in files
    citing = [
        str(p.relative_to(ROOT))
        for p in files
        if _OLD_BRIEF in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert citing == [], f"cite docs/domain.md instead of {_OLD_BRIEF} in: {citing}"


def test_sections_cited_in_domain_md_exist() -> None:
    domain = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (.+)$", domain, flags=re.MULTILINE))
    assert {"Invariants", "Events", "Per-step load", "Warnings", "Hardware facts",
            "Public data sets"} <= sections
    cited: list[tuple[str, str]] = []
    for path in _repo_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in re.findall(r'docs/domain\.md "([^"]+)"', text):
            cited.append((str(path.relative_to(ROOT)), name))
        for name in re.findall(r"\[domain\.md\]\(domain\.md\) \*([^*]+)\*", text):
            cited.append((str(path.relative_to(ROOT)), name))
        for anchor in re.findall(r"domain\.md#([\w-]+)", text):
            cited.append((str(path.relative_to(ROOT)), anchor))
    anchors = {s.lower().replace(" ", "-") for s in sections}
    assert len(cited) >= 15
    missing = [(f, n) for f, n in cited if n not in sections and n not in anchors]
    assert missing == []


# --- scripts/demo installs every extra, with fallbacks ---------------------------------------


def _fake_setup(tmp_path: Path, failing: set[str]) -> tuple[Path, dict[str, str]]:
    """A copy of scripts/demo with a fake python3 whose pip fails for the `failing` specs."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "demo", tmp_path / "scripts" / "demo")
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    log = tmp_path / "calls.log"
    venv_python = (
        "#!/bin/sh\n"
        f'echo "pip $*" >> "{log}"\n'
        'for spec in "$@"; do :; done\n'
        f'case " {" ".join(sorted(failing))} " in *" $spec "*) exit 1;; esac\n'
        "exit 0\n"
    )
    insole = f'#!/bin/sh\necho "insole $*" >> "{log}"\n'
    python3 = (
        "#!/bin/sh\n"
        '[ "$1 $2" = "-m venv" ] || exit 9\n'
        'mkdir -p "$3/bin"\n'
        f"cat > \"$3/bin/python\" <<'EOF'\n{venv_python}EOF\n"
        f"cat > \"$3/bin/insole\" <<'EOF'\n{insole}EOF\n"
        'chmod +x "$3/bin/python" "$3/bin/insole"\n'
    )
    (fake_bin / "python3").write_text(python3)
    (fake_bin / "python3").chmod(0o755)
    env = {"PATH": f"{fake_bin}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path)}
    return log, env


_ALL = ".[all]"
_NO_GUI = ".[ble,serial,import,emulators,formats,lab]"
_README_NEEDS = ".[ble,serial,import,lab]"


@pytest.mark.parametrize(
    ("failing", "specs", "note"),
    [
        (set(), [_ALL], None),
        ({_ALL}, [_ALL, _NO_GUI], "without the GUI packages"),
        ({_ALL, _NO_GUI}, [_ALL, _NO_GUI, _README_NEEDS], "extras the README's examples need"),
        ({_ALL, _NO_GUI, _README_NEEDS}, [_ALL, _NO_GUI, _README_NEEDS, "."], "no extras"),
    ],
    ids=["all", "no-gui", "readme-extras", "bare"],
)
def test_demo_script_installs_every_extra_or_falls_back(
    tmp_path: Path, failing: set[str], specs: list[str], note: str | None
) -> None:
    log, env = _fake_setup(tmp_path, failing)
    done = subprocess.run([str(tmp_path / "scripts" / "demo"), "--speed", "max"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert [c.rsplit(" ", 1)[-1] for c in calls[:-1]] == specs
    assert all(c.startswith("pip -m pip install -q --disable-pip-version-check -e ")
               for c in calls[:-1])
    assert calls[-1] == "insole demo --speed max"
    if note is None:
        assert done.stderr == ""
    else:
        assert note in done.stderr
