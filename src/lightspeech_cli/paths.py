"""Where lightspeech keeps user files; LIGHTSPEECH_HOME overrides all of them (tests, portable installs)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def config_dir() -> Path:
    if home := os.environ.get("LIGHTSPEECH_HOME"):
        return Path(home) / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir("lightspeech"))


def cache_dir() -> Path:
    if home := os.environ.get("LIGHTSPEECH_HOME"):
        return Path(home) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("lightspeech"))


def default_lexicon_path() -> Path:
    return config_dir() / "lexicon.txt"


@contextmanager
def replaced_folder(folder: Path) -> Iterator[Path]:
    """A staging folder beside `folder` to write into; when the block ends without an
    error it replaces `folder` whole, so a reader never sees half a voice or vocoder."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        yield staging
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
