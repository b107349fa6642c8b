"""Pulling a voice from a mirror (runtime/download.py): ranges, retries, deadlines, sizes and
checksums against a real HTTP server with faults on demand; only http and https URLs."""

import json
import threading
import time

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime import download, registry
from lightspeech_cli.runtime.format.voice import installed_voices_dir

from ..helpers import assert_one_line_error

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


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


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.exact
@pytest.mark.parametrize("url", ["https://example.org/voices", "http://127.0.0.1:8000/"])
def test_http_and_https_mirrors_are_usable(url):
    assert download.check_url(url) == url


@pytest.mark.exact
@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/", "https://", "example.org/voices", "http://[::1", ""]
)
def test_other_mirror_urls_are_refused(url):
    with pytest.raises(InputError, match="unusable"):
        download.check_url(url)


@pytest.mark.exact
def test_an_unusable_mirror_error_names_the_url_and_where_it_came_from():
    with pytest.raises(InputError) as caught:
        download.check_url("ftp://example.org/v")
    assert str(caught.value) == (
        "the mirror URL 'ftp://example.org/v' is unusable: give an http:// or https:// "
        'address (LIGHTSPEECH_MIRROR, or "mirror" in config.json)'
    )
    with pytest.raises(InputError, match="^the download URL"):
        download.check_url("file:///x", "download")
