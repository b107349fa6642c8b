"""sd_lightspeech: a speech-dispatcher output module that keeps a voice loaded.

speech-dispatcher starts it with the path of its config file and talks to it on standard
input and output (the protocol of speech-dispatcher 0.11 and later: INIT, AUDIO, LOGLEVEL,
SET, SPEAK, CHAR, KEY, SOUND_ICON, STOP, PAUSE, LIST VOICES, QUIT). This thread reads the
commands and replies; the speaker thread speaks, so STOP is heard while a message is spoken.
The log goes to standard error, which speech-dispatcher writes to its log folder.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import __version__
from ..errors import AudioDeviceError, LightspeechError
from ..runtime.format.voice import same_language
from .protocol import Message, Output
from .reading import Settings, char_ssml, key_ssml, speak_ssml
from .speaker import LocalAudio, ServerAudio, Speaker, Voices, log

LOG_LEVELS = {0: logging.CRITICAL, 1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
ONE_LINE_MESSAGES = ("CHAR", "KEY", "SOUND_ICON")
MAX_THREADS = 64


@dataclass
class ModuleConfig:
    """The module's config file (lightspeech.conf), in speech-dispatcher's dotconf syntax."""

    voice: str | None = None  # LightspeechVoice: a voice name or folder; the default voice if unset
    vocoder: str | None = None  # LightspeechVocoder: the voice's own if unset
    audio: str = "server"  # LightspeechAudio: "server" where speech-dispatcher offers to play it, or "module"
    threads: int = 1  # LightspeechThreads: one core is plenty for speech in real time, and leaves the rest

    @classmethod
    def read(cls, path: Path) -> "ModuleConfig":
        """The settings in `path`; a missing file is the defaults (speech-dispatcher passes
        the path whether it exists or not). A bad line is a ValueError naming it."""
        config = cls()
        if not path.is_file():
            return config
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            where = f"{path}:{number}"
            if len(words) != 2:
                raise ValueError(f"{where}: expected a key and one value, not {line.strip()[:80]!r}")
            key, value = words
            if key == "LightspeechVoice":
                config.voice = value
            elif key == "LightspeechVocoder":
                config.vocoder = value
            elif key == "LightspeechAudio":
                if value not in ("server", "module"):
                    raise ValueError(f"{where}: LightspeechAudio is server or module, not {value[:40]!r}")
                config.audio = value
            elif key == "LightspeechThreads":
                if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= MAX_THREADS:
                    raise ValueError(f"{where}: LightspeechThreads is a whole number from 1 to {MAX_THREADS}")
                config.threads = int(value)
            else:
                log.warning("%s: unknown setting %s is ignored", where, key[:40])
        return config


class Module:
    def __init__(self, commands: BinaryIO, output: Output, config: ModuleConfig | None, config_error: str = ""):
        self.commands, self.output = commands, output
        self.config, self.config_error = config, config_error
        self.settings = Settings()
        self.voices: Voices | None = None
        self.audio: ServerAudio | LocalAudio | None = None
        self.speaker: Speaker | None = None

    def run(self) -> int:
        """Answer commands until QUIT or the end of input (the server went away)."""
        while (line := self._line()) is not None:
            command = line.strip()
            if command == "QUIT":
                if self.speaker is not None:
                    self.speaker.stop()
                self.output.reply(210, "OK QUIT")
                return 0
            self._answer(command)
        if self.speaker is not None:
            self.speaker.stop()
        return 0

    def _line(self) -> str | None:
        raw = self.commands.readline()
        return raw.decode("utf-8", errors="replace").removesuffix("\n") if raw else None

    def _block(self) -> list[str]:
        """The lines up to a line holding only ".", a leading "." of each taken off (the
        server doubles a leading "." so that a line of text cannot end the block)."""
        lines = []
        while (line := self._line()) is not None and line != ".":
            lines.append(line[1:] if line.startswith(".") else line)
        return lines

    def _settings_block(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self._block() if "=" in line)

    def _answer(self, command: str) -> None:
        if command == "INIT":
            self._init()
        elif command == "AUDIO":
            self.output.reply(207, "OK RECEIVING AUDIO SETTINGS")
            self._audio(self._settings_block())
        elif command == "LOGLEVEL":
            self.output.reply(207, "OK RECEIVING LOGLEVEL SETTINGS")
            level = self._settings_block().get("log_level", "")
            log.setLevel(LOG_LEVELS.get(int(level) if level.isdigit() else 3, logging.DEBUG))
            self.output.reply(203, "OK LOGLEVEL SET")
        elif command.startswith("DEBUG"):  # the log goes to standard error either way
            self.output.reply(200, "OK DEBUGGING " + ("OFF" if command.endswith("OFF") else "ON"))
        elif command == "SET":
            self.output.reply(203, "OK RECEIVING SETTINGS")
            self._set(self._settings_block())
        elif command in ("SPEAK", *ONE_LINE_MESSAGES):
            self.output.reply(202, "OK RECEIVING MESSAGE")
            self._message(command, self._block())
        elif command == "STOP":
            if self.speaker is not None:
                self.speaker.stop()
        elif command == "PAUSE":
            if self.speaker is not None:
                self.speaker.pause()
        elif command.startswith("LIST VOICES"):
            self._list_voices(command.split()[2:])
        else:
            self.output.reply(300, "ERR UNKNOWN COMMAND")

    def _init(self) -> None:
        if self.config is None:
            self.output.reply(399, "ERR CANT INIT MODULE", [self.config_error])
            return
        try:
            self.voices = Voices(self.config.voice, self.config.vocoder, self.config.threads)
        except LightspeechError as error:
            log.error("cannot load the voice: %s", error)
            self.output.reply(399, "ERR CANT INIT MODULE", [str(error)])
            return
        name = self.voices.default.voice.name
        log.info("lightspeech %s: voice %s loaded", __version__, name)
        self.output.reply(299, "OK LOADED SUCCESSFULLY", [f"lightspeech {__version__}, voice {name}"])

    def _audio(self, values: dict[str, str]) -> None:
        """The server offers to play the audio first (audio_output_method=server); a refusal
        brings a second offer, of the sound system, for the module to play it itself."""
        offered = values.get("audio_output_method", "")
        if offered == "server":
            if self.config is None or self.config.audio == "server":
                self.audio = ServerAudio(self.output)
                self.output.reply(203, "OK AUDIO INITIALIZED")
            else:
                self.output.reply(303, "ERROR INVALID PARAMETER OR VALUE")
            return
        try:
            self.audio = LocalAudio(self.output)
        except AudioDeviceError as error:
            log.error("%s", error)
            self.output.reply(300, "ERR AUDIO NOT INITIALIZED")
            return
        self.output.reply(203, "OK AUDIO INITIALIZED")

    def _set(self, values: dict[str, str]) -> None:
        try:
            self.settings.update(values)
        except ValueError as error:
            log.warning("SET refused: %s", error)
            self.output.reply(303, "ERROR INVALID PARAMETER OR VALUE")
            return
        self.output.reply(203, "OK SETTINGS RECEIVED")

    def _message(self, kind: str, lines: list[str]) -> None:
        text = "\n".join(lines)
        if kind in ONE_LINE_MESSAGES and len(lines) > 1:
            self.output.reply(305, "DATA MORE THAN ONE LINE")
            return
        if self.voices is None or not text.strip():
            self.output.reply(301, "ERROR CANT SPEAK")
            return
        if self.speaker is None:
            # A server that never sent AUDIO (older than 0.11 sends it too): the module plays.
            try:
                self.audio = self.audio or LocalAudio(self.output)
            except AudioDeviceError as error:
                log.error("%s", error)
                self.output.reply(301, "ERROR CANT SPEAK")
                return
            self.speaker = Speaker(self.output, self.voices, self.audio)
        settings = dataclasses.replace(self.settings)
        tone_first = False
        if kind == "SPEAK":
            ssml: str | None = speak_ssml(text, settings)
        elif kind == "CHAR":
            ssml = char_ssml(text, settings)
            tone_first = settings.cap_let_recogn == "icon" and text.isupper()
        elif kind == "KEY":
            ssml = key_ssml(text, settings)
        else:
            ssml = None
        self.output.reply(200, "OK SPEAKING")
        self.speaker.speak(Message(kind, ssml, settings, tone_first))

    def _list_voices(self, wanted: list[str]) -> None:
        """Every voice with its language, or (speech-dispatcher 0.12 asks so) those that
        speak the language asked for."""
        if self.voices is None:
            self.output.reply(304, "CANT LIST VOICES")
            return
        voices = [(n, lang) for n, lang in self.voices.listing() if not wanted or same_language(lang, wanted[0])]
        if not voices:
            self.output.reply(304, "CANT LIST VOICES")
            return
        self.output.reply(200, "OK VOICE LIST SENT", [f"{name}\t{language}\tnone" for name, language in voices])


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    # The protocol owns standard output: anything else that prints (a library's notice)
    # goes to standard error, the module's log, instead of corrupting it.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    config, error = None, ""
    try:
        config = ModuleConfig.read(Path(arguments[0])) if arguments else ModuleConfig()
    except (OSError, UnicodeDecodeError, ValueError) as problem:
        error = f"bad config: {problem}"
        log.error("%s", error)
    try:
        return Module(sys.stdin.buffer, Output(protocol), config, error).run()
    except (BrokenPipeError, KeyboardInterrupt):  # the server went away
        return 0
