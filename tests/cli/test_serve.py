"""`lightspeech serve`'s options (cli/serve.py): what cannot be served is one line."""

import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app


def assert_one_line_error(code: int, stderr: str, returncode: int, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert returncode == code, stderr
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], stderr


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "nothing to serve: give --http HOST:PORT"),
        (["--http", "localhost"], "--http must be HOST:PORT or PORT"),
        (["--wyoming", "udp://127.0.0.1:10200"], "--wyoming must be tcp://HOST:PORT or PORT"),
        (["--http", "5000", "--workers", "0"], "Invalid value for '--workers'"),
        (["--http", "5000", "--max-chars", "1000000"], "--max-chars must be at most 100,000"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    result = CliRunner().invoke(app, ["serve", *args])
    assert_one_line_error(2, result.stderr, result.exit_code, message)


def test_a_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "wyoming", None)  # as if the [serve] extra were not installed
    result = CliRunner().invoke(app, ["serve", "--http", "5000"])
    assert_one_line_error(
        6,
        result.stderr,
        result.exit_code,
        "lightspeech serve needs wyoming, which is not installed: pip install 'lightspeech[serve]'",
    )


def test_a_port_in_use_is_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lightspeech_cli", "serve", "--http", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LIGHTSPEECH_HOME": str(tmp_path)},
        )
    assert_one_line_error(
        2, result.stderr, result.returncode, f"--http: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
