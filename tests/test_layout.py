"""The package layout shows the data flow: no stage imports a later one (checked with `ast`).

The stages, in the order the data flows and the order a module may import from (docs/
architecture.md): the wire protocol (`firmware_protocol`, which knows nothing of `insole`), then
`insole.core`, `insole.recordings`, `insole.sources`, `insole.session`, `insole.live`,
`insole.commands`, and last the package root (`insole`, `insole.api`, `insole.cli`). A module
may import its own stage and earlier ones; `insole.errors` is shared by all.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("core", "recordings", "sources", "session", "live", "commands")
ROOT_MODULES = {"__init__", "__main__", "api", "cli", "errors"}


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path) -> list[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every import, lazy ones included."""
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found += [(node.lineno, target, alias.name) for alias in node.names]
    return found


def _rank(module: str) -> int:
    """The stage of an `insole` module: 0 for errors, 1..6 for the stages, 7 for the root."""
    parts = module.split(".")
    if parts[:2] == ["insole", "errors"]:
        return 0
    if len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1]) + 1
    return len(STAGES) + 1


def _target(module: str, name: str | None, known: dict[str, Path]) -> str:
    """What an import reaches: the submodule when ``from P import m`` names one, else P."""
    if name is not None and f"{module}.{name}" in known:
        return f"{module}.{name}"
    return module


INSOLE = _modules("insole")
PROTOCOL = _modules("firmware_protocol")


def test_the_package_root_holds_only_the_face():
    loose = sorted(p.stem for p in (ROOT / "insole").glob("*.py"))
    assert set(loose) <= ROOT_MODULES, loose
    folders = sorted(p.name for p in (ROOT / "insole").iterdir()
                     if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(STAGES)


def test_the_protocol_knows_nothing_of_insole():
    bad = [f"{m}:{line} imports {t}" for m, p in PROTOCOL.items()
           for line, t, _ in _imports(m, p) if t.split(".")[0] == "insole"]
    assert bad == []


@pytest.mark.parametrize("module", sorted(INSOLE))
def test_no_stage_imports_a_later_one(module):
    own = _rank(module)
    bad = []
    for line, target, name in _imports(module, INSOLE[module]):
        if target.split(".")[0] != "insole":
            continue
        reached = _target(target, name, INSOLE)
        if _rank(reached) > own:
            bad.append(f"line {line}: {reached}" + (f" ({name})" if reached == target else ""))
    assert bad == [], f"{module} (stage {own}) imports a later stage: {bad}"


@pytest.mark.parametrize("module", sorted(INSOLE))
def test_no_module_imports_another_modules_private_names(module):
    """``from M import _name`` only for a private module of the importer's own package."""
    path = INSOLE[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    bad = []
    for line, target, name in _imports(module, path):
        if target.split(".")[0] != "insole" or name is None or not name.startswith("_"):
            continue
        if name.startswith("__") or (target == package and f"{target}.{name}" in INSOLE):
            continue
        bad.append(f"line {line}: {name} from {target}")
    assert bad == []


@pytest.mark.parametrize("module", sorted(INSOLE))
def test_no_module_reads_private_attributes_of_what_it_imports(module):
    """No ``name._attr`` where ``name`` is a module or class imported from another module."""
    tree = ast.parse(INSOLE[module].read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                ("insole", "firmware_protocol"))):
            imported |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names
                         if a.name.startswith(("insole", "firmware_protocol"))}
    bad = [f"line {n.lineno}: {n.value.id}.{n.attr}" for n in ast.walk(tree)
           if isinstance(n, ast.Attribute) and n.attr.startswith("_")
           and not n.attr.startswith("__") and isinstance(n.value, ast.Name)
           and n.value.id in imported]
    assert bad == []


def test_every_package_says_what_lives_there_and_what_it_may_import():
    packages = [m for m, p in INSOLE.items() if p.name == "__init__.py" and m != "insole"]
    assert len(packages) >= len(STAGES)
    for package in packages:
        doc = ast.get_docstring(ast.parse(INSOLE[package].read_text())) or ""
        says = next((p for p in doc.split("\n\n") if p.startswith("Lives here")), "")
        assert "May import" in says, package
        assert len(says.splitlines()) <= 3, package


def test_test_devices_are_used_only_by_commands():
    """Emulators and the bumble backend live in one place, and no real source depends on them."""
    bad = []
    for module, path in INSOLE.items():
        if module.startswith(("insole.sources.devices", "insole.commands")):
            continue
        bad += [f"{module}:{line} imports {t}" for line, t, name in _imports(module, path)
                if _target(t, name, INSOLE).startswith("insole.sources.devices")]
    assert bad == []


#: Dotted names in the docs that are not Python names.
NOT_MODULES = {"insole.summary"}  # the Parquet metadata key of the summary (docs/api.md)


def _defined_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If):  # TYPE_CHECKING blocks and fallbacks
            for sub in node.body + node.orelse:
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
                elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                    names.add(sub.name)
                elif isinstance(sub, ast.Assign):
                    names |= {t.id for t in sub.targets if isinstance(t, ast.Name)}
    return names


def _is_api(name: str) -> bool:
    import insole

    return name in insole.__all__


def _stale_references(text: str) -> list[str]:
    """Paths (`insole/...`, `tests/...py`) that do not exist; `insole.a.b` that nothing defines."""
    bad = []
    for m in re.finditer(r"(?<![\w./-])(?:insole/[\w/.]*[\w/]|tests/[\w/]+\.py)", text):
        path = m.group(0).rstrip(".")
        if not (ROOT / path).exists():
            bad.append(path)
    for m in re.finditer(r"(?<![\w./-])insole(?:\.[A-Za-z_]\w*)+(?!<)", text):
        if m.group(0) in NOT_MODULES:
            continue
        parts = m.group(0).split(".")
        k = max(k for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in INSOLE)
        rest = parts[k:]
        names = _defined_names(INSOLE[".".join(parts[:k])])
        lazy = "__getattr__" in names and k > 1  # the root's lazy names are the API's alone
        if rest and rest[0] not in names and not lazy and not (k == 1 and _is_api(rest[0])):
            bad.append(m.group(0))
    return bad


def test_architecture_walk_names_every_folder_of_the_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    folders = sorted(str(p.relative_to(ROOT / "insole")) for p in (ROOT / "insole").rglob("*")
                     if p.is_dir() and p.name != "__pycache__")
    for folder in folders:
        top, _, sub = folder.partition("/")
        assert f"insole/{top}/" in text, folder
        if sub:
            assert f"{sub}/" in text, folder
    assert _stale_references(text) == []


@pytest.mark.parametrize("doc", ["README.md", "recordings/FORMAT.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_docs_name_only_modules_and_paths_that_exist(doc):
    assert _stale_references((ROOT / doc).read_text()) == []
