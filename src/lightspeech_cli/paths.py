"""Where lightspeech keeps user files; LIGHTSPEECH_HOME overrides all of them (tests, portable installs)."""

from __future__ import annotations

import os
from pathlib import Path


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
