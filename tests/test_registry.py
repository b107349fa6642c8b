import json
import os
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lightspeech_cli import registry
from lightspeech_cli.cli import app
from lightspeech_cli.errors import VoiceError
from lightspeech_cli.voice import installed_voices_dir

from .conftest import make_tiny_voice
from .test_cli_text import assert_one_line_error

runner = CliRunner()


class Server:
    """A real HTTP server on 127.0.0.1 serving a folder, with Range support and faults on demand."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.truncate_next = 0  # this many responses stop halfway
        self.stall_seconds = 0.0
        self.ranges: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = server.folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if "Range" in self.headers:
                    server.ranges.append(self.headers["Range"])
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.stall_seconds:
                    time.sleep(server.stall_seconds)
                if server.truncate_next:
                    server.truncate_next -= 1
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A voice archive made by `voices export`, a manifest listing it, and a server."""
    voice = make_tiny_voice(tmp_path / "tiny-remote")
    served = tmp_path / "served"
    served.mkdir()
    archive = registry.export_archive(voice, served / "tiny-remote.tar.gz")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": 1, "base_url": "http://127.0.0.1:9/unused", "voices": [{
        "name": "tiny-remote", "language": "en-US", "quality": "test", "licence": "MIT", "description": "tiny",
        "file": archive.name, "size": archive.stat().st_size, "sha256": registry.sha256_of(archive)}]}))
    monkeypatch.setattr(registry, "MANIFEST", manifest)
    monkeypatch.setattr(registry, "READ_TIMEOUT", 1.0)
    server = Server(served)
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", server.url)
    yield server
    server.close()


def leftovers():
    """Anything half-written in the cache: temporary folders or partial voices."""
    voices = installed_voices_dir()
    return [p.name for p in voices.iterdir() if p.name.startswith(".")] if voices.exists() else []


def test_pull_then_speak_with_the_pulled_voice(mirror, tmp_path):
    result = runner.invoke(app, ["voices", "pull", "tiny-remote"])
    assert result.exit_code == 0, result.output
    assert (installed_voices_dir() / "tiny-remote" / "model.safetensors").exists()
    spoken = runner.invoke(app, ["say", "Hello.", "--voice", "tiny-remote", "-o", str(tmp_path / "x.wav")])
    assert spoken.exit_code == 0, spoken.output
    listing = runner.invoke(app, ["voices", "list"]).stdout
    assert "tiny-remote" in listing and "installed" in listing
    assert runner.invoke(app, ["voices", "rm", "tiny-remote"]).exit_code == 0
    assert not (installed_voices_dir() / "tiny-remote").exists()


def test_an_interrupted_pull_resumes_with_range(mirror):
    mirror.truncate_next = registry.ATTEMPTS  # every attempt of the first pull breaks halfway
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "tiny-remote"]), 5, "run the pull again to resume")
    partial = registry.cache_dir() / "downloads" / "tiny-remote.tar.gz.part"
    assert 0 < partial.stat().st_size
    assert not (installed_voices_dir() / "tiny-remote").exists()
    mirror.ranges.clear()
    assert runner.invoke(app, ["voices", "pull", "tiny-remote"]).exit_code == 0
    assert mirror.ranges and mirror.ranges[0] != "bytes=0-"  # it asked only for the rest
    assert not partial.exists()
    assert (installed_voices_dir() / "tiny-remote" / "config.json").exists()


def test_a_broken_transfer_is_retried_within_one_pull(mirror):
    mirror.truncate_next = 1
    assert runner.invoke(app, ["voices", "pull", "tiny-remote"]).exit_code == 0
    assert mirror.ranges


def test_checksum_mismatch_installs_nothing(mirror, monkeypatch):
    manifest = json.loads(registry.MANIFEST.read_text())
    manifest["voices"][0]["sha256"] = "0" * 64
    registry.MANIFEST.write_text(json.dumps(manifest))
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "tiny-remote"]), 5, "checksum")
    assert not (installed_voices_dir() / "tiny-remote").exists()
    assert not list((registry.cache_dir() / "downloads").iterdir())
    assert leftovers() == []


def test_404_is_a_clear_error(mirror):
    (mirror.folder / "tiny-remote.tar.gz").unlink()
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "tiny-remote"]), 5, "404")


def test_a_stalled_server_times_out(mirror, monkeypatch):
    monkeypatch.setattr(registry, "ATTEMPTS", 2)
    mirror.stall_seconds = 3
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "tiny-remote"]), 5, "timed out")
    assert not (installed_voices_dir() / "tiny-remote").exists()


def test_no_network_is_a_clear_error(mirror, monkeypatch):
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setattr(registry, "ATTEMPTS", 1)
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "tiny-remote"]), 5, "interrupted")


def test_unknown_voice(mirror):
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "nobody"]), 5, "unknown voice")


def test_two_concurrent_pulls_install_one_good_voice(mirror):
    errors = []

    def pull():
        try:
            registry.pull("tiny-remote")
        except Exception as e:  # noqa: BLE001 - collected for the assertion below
            errors.append(e)

    threads = [threading.Thread(target=pull) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert registry.Voice(installed_voices_dir() / "tiny-remote").load_model() is not None
    assert leftovers() == []


def test_malicious_archives_are_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        payload = tmp_path / "payload"
        payload.write_text("owned")
        tar.add(payload, arcname="../../escaped.txt")
    assert_one_line_error(runner.invoke(app, ["voices", "import", str(evil)]), 5, "unsafe path")
    assert not (tmp_path.parent / "escaped.txt").exists()
    link = tmp_path / "link.tar.gz"
    with tarfile.open(link, "w:gz") as tar:
        info = tarfile.TarInfo("config.json")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    assert_one_line_error(runner.invoke(app, ["voices", "import", str(link)]), 5, "not a regular file")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(os.urandom(1000))
    assert_one_line_error(runner.invoke(app, ["voices", "import", str(garbage)]), 5, "not a valid voice archive")
    assert leftovers() == []


def test_export_then_import(tmp_path):
    voice = make_tiny_voice(tmp_path / "mine")
    archive = tmp_path / "mine.tar.gz"
    result = runner.invoke(app, ["voices", "export", str(voice.folder), "-o", str(archive)])
    assert result.exit_code == 0 and "sha256" in result.stdout
    assert runner.invoke(app, ["voices", "import", str(archive), "--name", "imported"]).exit_code == 0
    assert (installed_voices_dir() / "imported" / "config.json").exists()
    info = runner.invoke(app, ["voices", "info", "imported"])
    assert info.exit_code == 0 and '"name": "mine"' in info.stdout


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch, mirror):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(blocker / "home"))
    assert_one_line_error(runner.invoke(app, ["voices", "pull", "tiny-remote"]), 3, "cannot write to the cache")


def test_mirror_from_config_file(isolated_home, monkeypatch):
    monkeypatch.delenv("LIGHTSPEECH_MIRROR", raising=False)
    (isolated_home / "config").mkdir(parents=True)
    (isolated_home / "config" / "config.json").write_text('{"mirror": "http://mirror.invalid/voices"}')
    assert registry.mirror("http://default") == "http://mirror.invalid/voices"
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://env")
    assert registry.mirror("http://default") == "http://env"


def test_cache_shows_and_cleans(mirror):
    registry.pull("tiny-remote")
    shown = runner.invoke(app, ["cache"]).stdout
    assert "voices" in shown
    runner.invoke(app, ["cache", "--clean", "--all"])
    assert not (installed_voices_dir() / "tiny-remote").exists()


def test_pull_of_a_voice_error_is_voice_error():
    with pytest.raises(VoiceError):
        registry.find_entry("no-such-voice-anywhere")


def test_the_shipped_voice_is_listed_and_described_offline(monkeypatch):
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://127.0.0.1:9")  # nothing there: no network needed
    listing = runner.invoke(app, ["voices", "list"])
    assert listing.exit_code == 0 and "en-us-lightspeech" in listing.stdout and "embedded, default" in listing.stdout
    info = runner.invoke(app, ["voices", "info", "en-us-lightspeech"])
    assert info.exit_code == 0 and '"architecture": "lightspeech"' in info.stdout and "hibari-tts" in info.stdout


def test_the_manifest_lists_the_archive_voices_export_makes(tmp_path):
    from lightspeech_cli.voice import find_voice

    _, entries = registry.read_manifest()
    entry = next(e for e in entries if e.name == "en-us-lightspeech")
    archive = registry.export_archive(find_voice("en-us-lightspeech"), tmp_path / entry.file)
    assert archive.stat().st_size == entry.size
    assert registry.sha256_of(archive) == entry.sha256
