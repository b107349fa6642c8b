"""`lightspeech desktop install|uninstall`: what is written where, and what is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lightspeech_cli.desktop import install as installer
from lightspeech_cli.desktop.install import BLOCK_START, Places, install, uninstall
from lightspeech_cli.errors import OutputError, VoiceError

SYSTEM = "# the system's speechd.conf\nLogLevel 3\nDefaultVolume 100\n"


@pytest.fixture
def places(tmp_path, monkeypatch):
    system = tmp_path / "etc" / "speechd.conf"
    system.parent.mkdir()
    system.write_text(SYSTEM)
    monkeypatch.setattr(installer, "SYSTEM_CONFIG", system)
    home = tmp_path / "home"
    return Places(home / ".config" / "speech-dispatcher", home / ".local" / "libexec" / "speech-dispatcher-modules",
                  home / ".local" / "share")  # fmt: skip


def test_install_links_the_module_and_leaves_speechd_conf_alone(places):
    install(places, make_default=False, voice=None)
    assert places.program_link.resolve() == installer.module_program().resolve()
    assert places.data.is_dir()  # speech-dispatcher finds the modules folder through it
    assert places.module_conf.read_text().startswith(installer.MODULE_CONFIG_HEADER)
    assert not places.speechd_conf.exists()


def test_default_copies_the_system_config_and_adds_one_block(places):
    install(places, make_default=True, voice=None)
    install(places, make_default=True, voice="en-us-lightspeech")  # again: still one block
    text = places.speechd_conf.read_text()
    assert text.startswith(SYSTEM) and text.count(BLOCK_START) == 1 and "DefaultModule lightspeech" in text
    assert 'LightspeechVoice "en-us-lightspeech"' in places.module_conf.read_text()
    install(places, make_default=False, voice=None)  # no longer the default
    assert places.speechd_conf.read_text() == SYSTEM


def test_a_list_of_modules_gets_this_one_added(places):
    places.config.mkdir(parents=True)
    places.speechd_conf.write_text('AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"\n')
    install(places, make_default=False, voice=None)
    assert 'AddModule "lightspeech" "sd_lightspeech" "lightspeech.conf"' in places.speechd_conf.read_text()


def test_uninstall_removes_exactly_what_install_added(places):
    places.config.mkdir(parents=True)
    places.speechd_conf.write_text("# mine\nLogLevel 5\n")
    install(places, make_default=True, voice=None)
    with places.speechd_conf.open("a") as f:
        f.write("DefaultRate 20\n")  # the user edits the file afterwards
    removed = uninstall(places)
    assert len(removed) == 3
    assert places.speechd_conf.read_text() == "# mine\nLogLevel 5\nDefaultRate 20\n"
    assert not places.program_link.exists() and not places.module_conf.exists()
    assert uninstall(places) == []


def test_uninstall_removes_the_copy_of_the_system_config_that_install_made(places):
    install(places, make_default=True, voice=None)
    assert places.speechd_conf.read_text().startswith(SYSTEM)
    assert (
        uninstall(places)[1]
        == f"removed {places.speechd_conf}, the same as {installer.SYSTEM_CONFIG} without lightspeech's lines"
    )
    assert not places.speechd_conf.exists()  # later changes to the system's file apply again


def test_a_module_config_of_the_users_own_stays(places):
    places.module_conf.parent.mkdir(parents=True)
    places.module_conf.write_text("LightspeechThreads 2\n")
    install(places, make_default=False, voice=None)
    uninstall(places)
    assert places.module_conf.read_text() == "LightspeechThreads 2\n"


def test_install_refuses_to_replace_a_program_it_did_not_make(places):
    places.modules.mkdir(parents=True)
    places.program_link.write_text("#!/bin/sh\n")
    with pytest.raises(OutputError, match="not a link lightspeech made"):
        install(places, make_default=False, voice=None)
    assert places.program_link.read_text() == "#!/bin/sh\n"


def test_an_unknown_voice_is_refused_before_anything_is_written(places):
    with pytest.raises(VoiceError, match="unknown voice"):
        install(places, make_default=True, voice="no-such-voice")
    assert not places.config.exists() and not places.modules.exists()


def test_the_command_installs_for_the_user_in_the_environment(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data" / "share")}  # fmt: skip
    command = [str(Path(sys.executable).with_name("lightspeech")), "desktop"]
    done = subprocess.run([*command, "install"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "libexec" / "speech-dispatcher-modules" / "sd_lightspeech").is_symlink()
    assert "pkill -x speech-dispatcher" in done.stderr
    bad = subprocess.run([*command, "install", "--voice", "../nowhere"], env=env, capture_output=True, text=True)
    assert bad.returncode == 5 and bad.stderr.count("\n") == 1
    done = subprocess.run([*command, "uninstall"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "removed" in done.stdout
