"""Speaking never loads torch or onnx: the runtime is ONNX Runtime and numpy alone."""

import json
import os
import subprocess
import sys

import pytest

# Runs a CLI command in a fresh interpreter, then prints which heavy modules it imported.
PROBE = """
import json, sys
from lightspeech_cli.cli import app
code = 0
try:
    app(sys.argv[1:], prog_name="lightspeech")
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in ("torch", "onnx", "lightgbm", "ray", "scipy.signal") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def imported_by(args, tmp_path, stdin=None):
    env = dict(os.environ, LIGHTSPEECH_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], input=stdin, capture_output=True, env=env, cwd=tmp_path, timeout=120
    )
    report = json.loads(done.stderr.decode().strip().splitlines()[-1])
    assert report["code"] in (0, None), done.stderr.decode()
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
