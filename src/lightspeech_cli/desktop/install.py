"""Registering the module with speech-dispatcher for one user, without root.

speech-dispatcher (0.11 and later) loads, besides its own modules, every `sd_NAME` program
in ~/.local/libexec/speech-dispatcher-modules as module NAME, with the config file
~/.config/speech-dispatcher/modules/NAME.conf, unless the user's speechd.conf lists its
modules itself (AddModule lines), in which case one more line lists this one. Making it the
default voice takes a DefaultModule line in the user's speechd.conf, which, where the user
has none, starts as a copy of the system's (speech-dispatcher reads one or the other).

What is added to speechd.conf sits between two marker lines, so `uninstall` removes exactly
that; every file is written atomically and nothing outside these folders is touched.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, OutputError
from ..paths import atomic_write, check_replaceable

MODULE = "lightspeech"
PROGRAM = f"sd_{MODULE}"
SYSTEM_CONFIG = Path("/etc/speech-dispatcher/speechd.conf")
BLOCK_START = "# --- lightspeech: added by `lightspeech desktop install`; `lightspeech desktop uninstall` removes it"
BLOCK_END = "# --- end of lightspeech"
MODULE_CONFIG_HEADER = (
    "# lightspeech's speech-dispatcher module (sd_lightspeech), written by `lightspeech desktop install`"
)


@dataclass(frozen=True)
class Places:
    """Where speech-dispatcher looks, for the user whose environment this is."""

    config: Path  # ~/.config/speech-dispatcher
    modules: Path  # ~/.local/libexec/speech-dispatcher-modules
    data: Path  # ~/.local/share: speech-dispatcher finds the modules folder as data/../libexec

    @classmethod
    def of_user(cls) -> "Places":
        home = Path.home()
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return cls(config / "speech-dispatcher", data.parent / "libexec" / "speech-dispatcher-modules", data)

    @property
    def speechd_conf(self) -> Path:
        return self.config / "speechd.conf"

    @property
    def module_conf(self) -> Path:
        return self.config / "modules" / f"{MODULE}.conf"

    @property
    def program_link(self) -> Path:
        return self.modules / PROGRAM


def module_program() -> Path:
    """The installed `sd_lightspeech` of this lightspeech: beside its Python's scripts."""
    candidates = [Path(sysconfig.get_path("scripts")) / PROGRAM]
    if found := shutil.which(PROGRAM):
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    raise InputError(f"{PROGRAM} is not installed beside lightspeech: reinstall lightspeech (pipx install ...)")


def module_config_text(voice: str | None) -> str:
    voice_line = f'LightspeechVoice "{voice}"' if voice else '# LightspeechVoice "en-us-lightspeech"'
    return f"""{MODULE_CONFIG_HEADER}
# The voice: a name from `lightspeech voices list`, or a voice folder (the default voice if unset).
{voice_line}
# The vocoder, if not the voice's own.
# LightspeechVocoder "en-us-istft-pulses"
# Who plays the audio: "server" (speech-dispatcher, which offers it from 0.11 on) or "module".
# LightspeechAudio "server"
# Cores for speaking; one keeps up with speech in real time and leaves the rest to the desktop.
# LightspeechThreads 1
"""


def install(places: Places, make_default: bool, voice: str | None) -> list[str]:
    """Register the module; returns what was done, a line each."""
    if voice is not None:  # checked now, not when speech-dispatcher starts the module
        from ..runtime.format.folder import looks_like_path
        from ..runtime.format.voice import find_voice

        voice = str(Path(voice).expanduser().resolve()) if looks_like_path(voice) else find_voice(voice).name
        find_voice(voice)
        if '"' in voice or "\n" in voice:
            raise InputError("the voice folder's path cannot hold a quote or a line break")
    program = module_program()
    done = []
    places.data.mkdir(parents=True, exist_ok=True)
    places.modules.mkdir(parents=True, exist_ok=True)
    link = places.program_link
    if link.is_symlink() or link.exists():
        if not link.is_symlink():
            raise OutputError(f"{link} exists and is not a link lightspeech made: move it away first")
        link.unlink()
    link.symlink_to(program)
    done.append(f"linked {link} -> {program}")

    places.module_conf.parent.mkdir(parents=True, exist_ok=True)
    if voice is not None or not places.module_conf.exists():
        _write(places.module_conf, module_config_text(voice))
        done.append(f"wrote {places.module_conf}")

    conf = places.speechd_conf
    text = conf.read_text(encoding="utf-8") if conf.exists() else None
    lists_modules = text is not None and any(line.split()[:1] == ["AddModule"] for line in _outside_block(text))
    if make_default or lists_modules:
        if text is None:
            text = system_config()
            done.append(f"copied {SYSTEM_CONFIG} to {conf}")
        block = [BLOCK_START]
        if lists_modules:  # a list of modules turns off loading them from the folder
            block.append(f'AddModule "{MODULE}" "{PROGRAM}" "{MODULE}.conf"')
        if make_default:
            block.append(f"DefaultModule {MODULE}")
        block.append(BLOCK_END)
        _write(conf, "\n".join([*_outside_block(text), *block]) + "\n")
        done.append(f"added to {conf}: " + "; ".join(block[1:-1]))
    elif text is not None and BLOCK_START in text:  # installed as the default before, not now
        _write(conf, "\n".join(_outside_block(text)) + "\n")
        done.append(f"removed lightspeech's lines from {conf}")
    return done


def uninstall(places: Places) -> list[str]:
    done = []
    link = places.program_link
    if link.is_symlink() and Path(os.readlink(link)).name == PROGRAM:
        link.unlink()
        done.append(f"removed {link}")
    conf = places.speechd_conf
    if conf.is_file():
        text = conf.read_text(encoding="utf-8")
        if BLOCK_START in text:
            rest = _outside_block(text)
            if SYSTEM_CONFIG.is_file() and rest == system_config().splitlines():  # the copy install made, unchanged
                check_replaceable(conf)
                conf.unlink()
                done.append(f"removed {conf}, the same as {SYSTEM_CONFIG} without lightspeech's lines")
            else:
                _write(conf, "\n".join(rest) + "\n")
                done.append(f"removed lightspeech's lines from {conf}")
    module_conf = places.module_conf
    if module_conf.is_file() and module_conf.read_text(encoding="utf-8").startswith(MODULE_CONFIG_HEADER):
        module_conf.unlink()
        done.append(f"removed {module_conf}")
    return done


def system_config() -> str:
    """The system's speechd.conf, which `install --default` copies; none is an empty one."""
    return SYSTEM_CONFIG.read_text(encoding="utf-8") if SYSTEM_CONFIG.is_file() else ""


def _outside_block(text: str) -> list[str]:
    """The lines of `text` outside lightspeech's block."""
    kept, inside = [], False
    for line in text.splitlines():
        if line == BLOCK_START:
            inside = True
        elif line == BLOCK_END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return kept


def _write(path: Path, text: str) -> None:
    check_replaceable(path)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
