"""The voice mirror the registry and download tests pull from."""

import pytest

from lightspeech_cli.runtime import download, registry

from ..helpers import make_tiny_voice
from .helpers import Server, write_manifest


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
