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
