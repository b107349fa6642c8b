import io
import json
import os
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.errors import VoiceError
from lightspeech_cli.runtime import download, registry
from lightspeech_cli.runtime.format.voice import installed_voices_dir

from .conftest import make_tiny_voice
from .test_cli_text import assert_one_line_error

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


class Server:
    """A real HTTP server on 127.0.0.1 serving a folder, with Range support and faults on demand."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.truncate_next = 0  # this many responses stop halfway
        self.stall_seconds = 0.0
        self.errors_next = 0  # this many responses are HTTP 503
        self.mode = "normal"  # or: endless (never stops sending), trickle (a byte a second), ignore-range, redirect
        self.redirect_to = ""
        self.ranges: list[str] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests += 1
                if server.errors_next:
                    server.errors_next -= 1
                    self.send_error(503)
                    return
                if server.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.end_headers()
                    return
                path = server.folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if "Range" in self.headers and server.mode != "ignore-range":
                    server.ranges.append(self.headers["Range"])
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                if server.mode != "endless":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.stall_seconds:
                    time.sleep(server.stall_seconds)
                try:
                    if server.mode == "endless":
                        while True:
                            self.wfile.write(b"\0" * 65536)
                    if server.mode == "trickle":
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.5)
                    if server.truncate_next:
                        server.truncate_next -= 1
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def write_manifest(path: Path, entries: list[dict]) -> None:
    path.write_text(json.dumps({"format": 1, "base_url": "http://127.0.0.1:9/unused", "voices": entries}))


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A voice archive made by `voices export`, a manifest listing it, and a server."""
    voice = make_tiny_voice(tmp_path / "tiny-remote")
    served = tmp_path / "served"
    served.mkdir()
    archive = registry.export_archive(voice, served / "tiny-remote.tar.gz")
    manifest = tmp_path / "manifest.json"
    write_manifest(
        manifest,
        [
            {
                "name": "tiny-remote",
                "language": "en-US",
                "quality": "test",
                "licence": "MIT",
                "description": "tiny",
                "file": archive.name,
                "size": archive.stat().st_size,
                "sha256": download.sha256_of(archive),
            }
        ],
    )
    monkeypatch.setattr(registry, "MANIFEST", manifest)
    monkeypatch.setattr(download, "READ_TIMEOUT", 1.0)
    server = Server(served)
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", server.url)
    yield server
    server.close()


def leftovers():
    """Anything half-written in the cache: temporary folders or partial voices."""
    voices = installed_voices_dir()
    return [p.name for p in voices.iterdir() if p.name.startswith(".")] if voices.exists() else []


def test_pull_then_speak_with_the_pulled_voice(mirror, tmp_path):
    result = run("voices", "pull", "tiny-remote")
    assert result.exit_code == 0, result.output
    assert (installed_voices_dir() / "tiny-remote" / "model.onnx").exists()
    spoken = run("say", "Hello.", "--voice", "tiny-remote", "-o", tmp_path / "x.wav")
    assert spoken.exit_code == 0, spoken.output
    listing = run("voices", "list").stdout
    assert "tiny-remote" in listing and "installed" in listing
    assert run("voices", "rm", "tiny-remote").exit_code == 0
    assert not (installed_voices_dir() / "tiny-remote").exists()


def test_an_interrupted_pull_resumes_with_range(mirror):
    mirror.truncate_next = download.ATTEMPTS  # every attempt of the first pull breaks halfway
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "run the pull again to resume")
    partial = registry.cache_dir() / "downloads" / "tiny-remote.tar.gz.part"
    assert 0 < partial.stat().st_size
    assert not (installed_voices_dir() / "tiny-remote").exists()
    mirror.ranges.clear()
    assert run("voices", "pull", "tiny-remote").exit_code == 0
    assert mirror.ranges and mirror.ranges[0] != "bytes=0-"  # it asked only for the rest
    assert not partial.exists()
    assert (installed_voices_dir() / "tiny-remote" / "config.json").exists()


def test_a_server_that_ignores_range_restarts_the_file(mirror):
    mirror.truncate_next = 1
    mirror.mode = "ignore-range"
    assert run("voices", "pull", "tiny-remote").exit_code == 0  # the 200 answer replaced the partial file
    assert (installed_voices_dir() / "tiny-remote" / "config.json").exists()


def test_server_errors_are_retried_then_reported(mirror):
    mirror.errors_next = 1
    assert run("voices", "pull", "tiny-remote").exit_code == 0
    mirror.errors_next = download.ATTEMPTS
    run("voices", "rm", "tiny-remote")
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "HTTP 503")


def test_a_body_longer_than_the_manifest_says_is_cut_and_refused(mirror):
    mirror.mode = "endless"
    started = time.time()
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "more than the")
    assert time.time() - started < 30
    partial = registry.cache_dir() / "downloads" / "tiny-remote.tar.gz.part"
    size = json.loads(registry.MANIFEST.read_text())["voices"][0]["size"]
    assert not partial.exists() or partial.stat().st_size <= size  # never more than declared on disk


def test_a_trickling_mirror_hits_the_deadline(mirror, monkeypatch):
    monkeypatch.setattr(download, "MIN_DEADLINE_SECONDS", 2.0)
    monkeypatch.setattr(download, "MIN_BYTES_PER_SECOND", 10**9)
    mirror.mode = "trickle"
    started = time.time()
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "too slow")
    assert time.time() - started < 10


def test_a_stalled_server_times_out(mirror, monkeypatch):
    monkeypatch.setattr(download, "ATTEMPTS", 2)
    mirror.stall_seconds = 3
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "timed out")
    assert not (installed_voices_dir() / "tiny-remote").exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("notaurl", "unusable"),
        ("ftp://example.org/voices", "unusable"),
        ("file:///etc", "unusable"),
        ("http://", "unusable"),
    ],
)
def test_unusable_mirror_urls_are_named(mirror, monkeypatch, url, message):
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", url)
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 2, message)


def test_a_redirect_to_a_local_file_is_refused(mirror):
    mirror.mode = "redirect"
    mirror.redirect_to = "file:///etc/passwd"
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 2, "only http and https")


def test_no_network_is_a_clear_error(mirror, monkeypatch):
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setattr(download, "ATTEMPTS", 1)
    assert_one_line_error(
        run("voices", "pull", "tiny-remote"), 5, "cannot reach 127.0.0.1:9 (Connection refused); check the network"
    )


def test_404_and_checksum_mismatch_install_nothing(mirror):
    manifest = json.loads(registry.MANIFEST.read_text())
    manifest["voices"][0]["sha256"] = "0" * 64
    registry.MANIFEST.write_text(json.dumps(manifest))
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "checksum")
    assert not (installed_voices_dir() / "tiny-remote").exists()
    assert not list((registry.cache_dir() / "downloads").iterdir())
    (mirror.folder / "tiny-remote.tar.gz").unlink()
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, "404")
    assert leftovers() == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "../../victim"),
        ("name", "/tmp/victim"),
        ("name", ""),
        ("file", "../../etc/passwd"),
        ("size", -5),
        ("sha256", "xyz"),
    ],
)
def test_hostile_manifest_entries_are_refused(mirror, field, value):
    manifest = json.loads(registry.MANIFEST.read_text())
    manifest["voices"][0][field] = value
    registry.MANIFEST.write_text(json.dumps(manifest))
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, repr(field))


def test_unknown_voice(mirror):
    assert_one_line_error(run("voices", "pull", "nobody"), 5, "unknown voice")


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
    registry.verify_voice(registry.Voice(installed_voices_dir() / "tiny-remote"))
    assert leftovers() == []


# --- archives: built in the test, one hostile property each ------------------------------------


def archive_of(path: Path, members: dict[str, bytes], types: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if types and name in types:
                info.type, info.linkname, info.size = types[name], "/etc/passwd", 0
                tar.addfile(info)
            else:
                tar.addfile(info, io.BytesIO(data))
    return path


def voice_files(tmp_path, **config_changes) -> dict[str, bytes]:
    voice = make_tiny_voice(tmp_path / "source-voice")
    files = {p.name: p.read_bytes() for p in voice.folder.iterdir()}
    config = json.loads(files["config.json"])
    for dotted, value in config_changes.items():
        target = config
        *parents, key = dotted.split("__")
        for parent in parents:
            target = target[parent]
        target[key] = value
    files["config.json"] = json.dumps(config).encode()
    return files


@pytest.fixture
def victim(tmp_path):
    """A folder outside the cache that no archive or name may touch."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "precious.txt").write_text("keep me")
    return folder


@pytest.mark.parametrize(
    "name", ["../../victim", "ABSOLUTE", "", ".", "..", "a/b", "bad\nname", "\x1b[31mred", "x" * 65]
)
def test_hostile_names_in_an_archive_config_are_refused(tmp_path, victim, isolated_home, name):
    name = str(victim) if name == "ABSOLUTE" else name
    archive = archive_of(tmp_path / "evil.tar.gz", voice_files(tmp_path, name=name))
    result = run("voices", "import", archive)
    assert_one_line_error(result, 5, "name")
    assert "\x1b" not in result.stderr and "\n" not in result.stderr.strip()
    assert (victim / "precious.txt").read_text() == "keep me"
    assert installed_voice_folders() == []


def installed_voice_folders():
    voices = installed_voices_dir()
    return sorted(p.name for p in voices.iterdir()) if voices.exists() else []


@pytest.mark.parametrize("name", ["../../victim", "ABSOLUTE", "", ".", "Upper"])
def test_hostile_import_names_are_refused(tmp_path, victim, name):
    archive = archive_of(tmp_path / "ok.tar.gz", voice_files(tmp_path))
    name = str(victim) if name == "ABSOLUTE" else name
    assert_one_line_error(run("voices", "import", archive, "--name", name), 2, "invalid voice name")
    assert (victim / "precious.txt").read_text() == "keep me"


def test_voices_rm_never_deletes_outside_the_cache(victim):
    for target in (str(victim), "../victim", "../../victim", ".", ""):
        result = run("voices", "rm", target)
        assert result.exit_code in (2, 5), result.output
    assert (victim / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model__variance_bins": -3}, "variance_bins"),
        ({"model__variance_bins": 2.5}, "variance_bins"),
        ({"model__predictor_kernel": "3"}, "predictor_kernel"),
        ({"model__architecture": "sep5 | sep5 hidden=99999"}, "hidden"),
        ({"model__dropout": 5}, "dropout"),
        ({"language": 5}, "language"),
        ({"licence": ["MIT"]}, "licence"),
        ({"vocoder": 5}, "vocoder"),
        ({"vocoder": "../x"}, "vocoder"),
        ({"audio__sample_rate": -1}, "sample_rate"),
        ({"audio__n_fft": 0}, "n_fft"),
        ({"audio__hop_length": 0}, "hop_length"),
        ({"format": True}, "format"),
        ({"model__pitch_log_std": 0}, "pitch_log_std"),
        ({"description": "a\x1b[2Jb"}, "description"),
    ],
)
def test_hostile_config_fields_are_refused_at_import(tmp_path, change, message):
    archive = archive_of(tmp_path / "bad.tar.gz", voice_files(tmp_path, **change))
    result = run("voices", "import", archive)
    assert_one_line_error(result, 5, message)
    assert "bad.tar.gz: config.json" in result.output and ".incoming." not in result.output  # not the staging folder
    assert installed_voice_folders() == []


def test_importing_a_folder_or_a_device_says_what_it_is(tmp_path):
    assert_one_line_error(run("voices", "import", tmp_path), 2, "it is a folder; give the .tar.gz")
    assert_one_line_error(run("voices", "import", "/dev/null"), 2, "/dev/null: not a regular file")
    assert_one_line_error(run("voices", "import", tmp_path / "missing.tar.gz"), 2, "no such file")


def test_archive_structure_checks_are_each_load_bearing(tmp_path):
    good = voice_files(tmp_path)
    cases = {
        "traversal": ({"../../escaped.txt": b"x", **good}, None, "unsafe path"),
        "unexpected": ({**good, "run.sh": b"rm -rf ~"}, None, "unexpected file"),
        "link": ({**good, "MODEL_CARD.md": b""}, {"MODEL_CARD.md": tarfile.SYMTYPE}, "not a regular file"),
        "missing weights": ({k: v for k, v in good.items() if k != "model.safetensors"}, None, "model.safetensors"),
    }
    for label, (members, types, message) in cases.items():
        archive = archive_of(tmp_path / f"{label}.tar.gz", members, types)
        assert_one_line_error(run("voices", "import", archive), 5, message)
    duplicated = tmp_path / "duplicated.tar.gz"
    with tarfile.open(duplicated, "w:gz") as tar:
        for name, data in list(good.items()) + [("config.json", good["config.json"])]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert_one_line_error(run("voices", "import", duplicated), 5, "appears twice")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(os.urandom(1000))
    assert_one_line_error(run("voices", "import", garbage), 5, "not a valid voice archive")
    assert installed_voice_folders() == []


def test_weights_that_do_not_load_are_never_installed(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    files = voice_files(tmp_path)
    weights_path = tmp_path / "weights.safetensors"
    weights_path.write_bytes(files["model.safetensors"])
    state = load_file(weights_path)
    state["decoder.norm.weight"] = torch.full_like(state["decoder.norm.weight"], float("nan"))
    save_file(state, weights_path)
    nan_archive = archive_of(tmp_path / "nan.tar.gz", {**files, "model.safetensors": weights_path.read_bytes()})
    assert_one_line_error(run("voices", "import", nan_archive), 5, "NaN")
    broken_onnx = archive_of(tmp_path / "onnx.tar.gz", {**files, "model.onnx": b"\x08\x07garbage"})
    assert_one_line_error(run("voices", "import", broken_onnx), 5, "does not load")
    assert installed_voice_folders() == []


def test_export_then_import_under_another_name(tmp_path):
    voice = make_tiny_voice(tmp_path / "mine")
    archive = tmp_path / "mine.tar.gz"
    result = run("voices", "export", voice.folder, "-o", archive)
    assert result.exit_code == 0 and "sha256" in result.stdout
    imported = run("voices", "import", archive, "--name", "imported")
    assert imported.exit_code == 0 and "installed imported in" in imported.stderr
    assert (installed_voices_dir() / "imported" / "config.json").exists()
    info = run("voices", "info", "imported", "--json")
    assert info.exit_code == 0 and json.loads(info.stdout)["config"]["name"] == "mine"


def test_a_killed_import_leaves_nothing_that_breaks_listing(tmp_path, mirror):
    voices = installed_voices_dir()
    stale = voices / ".incoming.abc123"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    (voices / "broken").mkdir()
    (voices / "broken" / "config.json").write_text("{half")
    listing = run("voices", "list")
    assert listing.exit_code == 0 and "broken: " in listing.stdout and ".incoming" not in listing.stdout
    assert json.loads(run("voices", "list", "--json").stdout)
    assert run("cache", "--clean").exit_code == 0
    assert not stale.exists() and (voices / "broken").exists()  # leftovers swept, voices kept


def test_cache_clean_scopes(mirror):
    registry.pull("tiny-remote")
    compiled = registry.cache_dir() / "compiled"
    compiled.mkdir(parents=True, exist_ok=True)
    (compiled / "acoustic-x.onnx").write_bytes(b"x")
    shown = run("cache").stdout
    assert "voices" in shown and "compiled" in shown
    assert_one_line_error(run("cache", "--all"), 2, "--clean")
    assert run("cache", "--clean").exit_code == 0
    assert not compiled.exists() and (installed_voices_dir() / "tiny-remote").exists()
    assert run("cache", "--clean", "--all").exit_code == 0
    assert not (installed_voices_dir() / "tiny-remote").exists()


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch, mirror):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(blocker / "home"))
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 3, "cannot write to the cache")


def test_mirror_from_config_file(isolated_home, monkeypatch):
    (isolated_home / "config").mkdir(parents=True)
    (isolated_home / "config" / "config.json").write_text('{"mirror": "http://mirror.invalid/voices"}')
    assert registry.mirror("http://default") == "http://mirror.invalid/voices"
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://env")
    assert registry.mirror("http://default") == "http://env"


def test_pull_of_an_unknown_voice_is_a_voice_error():
    with pytest.raises(VoiceError):
        registry.find_entry("no-such-voice-anywhere")


def test_the_shipped_voice_is_listed_and_described_offline(monkeypatch):
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://127.0.0.1:9")  # nothing there: no network needed
    listing = run("voices", "list")
    assert listing.exit_code == 0 and "en-us-lightspeech" in listing.stdout and "embedded, default" in listing.stdout
    info = run("voices", "info", "en-us-lightspeech")
    assert info.exit_code == 0 and '"architecture": "lightspeech"' in info.stdout and "hibari-tts" in info.stdout


def test_the_manifest_lists_the_archive_voices_export_makes(tmp_path):
    from lightspeech_cli.runtime.format.voice import find_voice

    _, entries = registry.read_manifest()
    entry = next(e for e in entries if e.name == "en-us-lightspeech")
    archive = registry.export_archive(find_voice("en-us-lightspeech"), tmp_path / entry.file)
    assert archive.stat().st_size == entry.size
    assert download.sha256_of(archive) == entry.sha256
