"""The module under Debian's real speech-dispatcher, installed as the README says
(`lightspeech desktop install --default`), spoken to by its real clients (spd-say, and
python3-speechd as Orca uses it), its audio recorded from a PulseAudio null sink."""

from __future__ import annotations

import time

import numpy as np
import pytest

from .speechd_rig import LOUD, RATE, Desktop, lightspeech_command, missing_programs

MISSING = missing_programs()
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {', '.join(MISSING)} (apt install speech-dispatcher pulseaudio pulseaudio-utils python3-speechd)",
)
ORCA_UTTERANCE = (
    '<speak><mark name="0:5"/>Hello <mark name="6:11"/>world, <mark name="13:17"/>this '
    '<mark name="18:20"/>is <mark name="21:26"/>Orca.</speak>'
)
LONG_TEXT = " ".join(["This sentence is one of many in a long text that is stopped."] * 12)


@pytest.fixture(scope="module")
def desktop(tmp_path_factory):
    desktop = Desktop(tmp_path_factory.mktemp("desktop"))
    try:
        desktop.start_sound()
        installed = desktop.run(*lightspeech_command(), "desktop", "install", "--default")
        assert installed.returncode == 0, installed.stderr
        desktop.start_speechd()  # the user's config, as installed
        desktop.run("spd-say", "-w", "Ready.")  # the server opens the sound system on first use (seconds)
        yield desktop
    finally:
        desktop.close()


def spoken(desktop: Desktop, *arguments: str) -> tuple[float, float]:
    """spd-say -w ARGUMENTS: (when it started, seconds of sound heard)."""
    start = time.monotonic()
    done = desktop.run("spd-say", "-w", *arguments)
    assert done.returncode == 0, done.stderr
    desktop.recorder.wait_for_silence(start, quiet=0.3)
    return start, desktop.recorder.sound_seconds(start)


def test_install_adds_the_module_and_keeps_the_others(desktop):
    modules = desktop.run("spd-say", "-O").stdout.split()
    assert "lightspeech" in modules and "espeak-ng" in modules
    voices = desktop.run("spd-say", "-o", "lightspeech", "-L").stdout
    assert "en-us-lightspeech" in voices and "en-US" in voices


def test_spd_say_plays_lightspeech_audio_with_the_default_module(desktop):
    from lightspeech_cli.desktop.speaker import pieces
    from lightspeech_cli.runtime.synthesizer import Controls, Synthesizer

    start, seconds = spoken(desktop, "Hello world.")  # no -o: the default module speaks
    heard = desktop.recorder.samples(desktop.recorder.sound_times(start)[0] - 0.1)
    made = pieces(Synthesizer.load(threads=1), "<speak>Hello world.</speak>", Controls())
    expected = np.concatenate([samples for samples, _ in made])
    loud = np.nonzero(np.abs(expected * 32767) > LOUD)[0]
    assert abs(seconds - (loud[-1] - loud[0]) / RATE) < 0.05
    match = np.correlate(heard, expected, mode="valid")
    best = int(np.argmax(match))
    likeness = match[best] / (np.linalg.norm(expected) * np.linalg.norm(heard[best : best + len(expected)]))
    # The samples lightspeech makes (another voice scores near 0; a busy machine may make the
    # sound server drop a few milliseconds, which costs a little of the likeness).
    assert likeness > 0.8


def test_rate_spelling_characters_and_keys(desktop):
    _, normal = spoken(desktop, "Seven hundred and twelve small boats.")
    _, fast = spoken(desktop, "-r", "80", "Seven hundred and twelve small boats.")
    _, slow = spoken(desktop, "-r", "-60", "Seven hundred and twelve small boats.")
    assert fast < 0.6 * normal < 0.6 * slow
    _, word = spoken(desktop, "cat")
    _, spelled = spoken(desktop, "-s", "cat")
    assert spelled > 1.5 * word
    _, letter = spoken(desktop, "-c", "a")
    _, key = spoken(desktop, "-k", "shift_a")
    assert 0.1 < letter < key


def test_a_chosen_voice_speaks(desktop):
    _, seconds = spoken(desktop, "-o", "lightspeech", "-y", "en-us-lightspeech", "Chosen.")
    assert seconds > 0.2
    voices = desktop.client([{"set": {"output_module": "lightspeech"}, "client": 0}, {"voices": True}])
    assert ["en-us-lightspeech", "en-US", "none"] in voices[-1]["voices"]


def test_stop_silences_a_long_text_and_the_next_message_speaks_at_once(desktop):
    events = desktop.client(
        [
            {"speak": LONG_TEXT},
            {"wait": "begin"},
            {"sleep": 1.5},
            {"cancel": True},
            {"sleep": 0.5},
            {"speak": "Next."},
            {"wait": "end"},
        ]
    )
    cancelled = next(e["time"] for e in events if e.get("sent") == "cancel")
    next_sent = next(e["time"] for e in events if e.get("text") == "Next.")
    assert [e["event"] for e in events if "event" in e] == ["begin", "cancel", "begin", "end"]
    heard = desktop.recorder.sound_times(cancelled - 1.0)
    assert len(heard[heard < cancelled]) > 0.5 * RATE  # it was speaking when stopped
    stopped_sound = heard[(heard > cancelled) & (heard < next_sent)]
    assert len(stopped_sound) == 0 or stopped_sound[-1] - cancelled < 0.1
    assert heard[heard > next_sent][0] - next_sent < 0.25


def test_orca_marks_are_reported_as_they_are_spoken(desktop):
    events = desktop.client(
        [{"set": {"data_mode": "ssml", "priority": "message"}}, {"speak": ORCA_UTTERANCE}, {"wait": "end"}]
    )
    marks = [e for e in events if e.get("event") == "index_marks"]
    assert [m["mark"] for m in marks] == ["0:5", "6:11", "13:17", "18:20", "21:26"]
    times = [m["time"] for m in marks]
    assert times == sorted(times) and times[-1] - times[0] > 0.5  # spread over the speech, not sent at once
    sound = desktop.recorder.first_sound(next(e["time"] for e in events if e.get("sent")))
    assert abs(times[0] - sound) < 0.2
    end = next(e["time"] for e in events if e.get("event") == "end")
    assert times[-1] < end


def test_two_clients_at_once_are_both_heard(desktop):
    events = desktop.client(
        [
            {"client": 0, "speak": "The first client speaks."},
            {"client": 1, "speak": "The second client speaks too."},
            {"wait": "end", "count": 2},
        ]
    )
    ends = {e["client"] for e in events if e.get("event") == "end"}
    assert ends == {0, 1}
    start = min(e["time"] for e in events if e.get("sent"))
    desktop.recorder.wait_for_silence(start, quiet=0.3)
    assert desktop.recorder.sound_seconds(start) > 2.5  # one after the other, not one cut off


def test_the_module_plays_audio_itself_where_told_to(desktop):
    config = desktop.root / "home" / ".config" / "speech-dispatcher" / "modules" / "lightspeech.conf"
    original = config.read_text()
    config.write_text(original + 'LightspeechAudio "module"\n')
    try:
        desktop.stop_speechd()
        desktop.start_speechd()
        _, seconds = spoken(desktop, "The module plays this itself.")
        assert seconds > 1.0
    finally:
        config.write_text(original)
        desktop.stop_speechd()
        desktop.start_speechd()


def test_uninstall_removes_the_module(tmp_path):
    desktop = Desktop(tmp_path)
    try:
        assert desktop.run(*lightspeech_command(), "desktop", "install").returncode == 0
        desktop.start_speechd()
        assert "lightspeech" in desktop.run("spd-say", "-O").stdout.split()
        desktop.stop_speechd()
        removed = desktop.run(*lightspeech_command(), "desktop", "uninstall")
        assert removed.returncode == 0 and "removed" in removed.stdout
        desktop.start_speechd()
        modules = desktop.run("spd-say", "-O").stdout.split()
        assert "lightspeech" not in modules and "espeak-ng" in modules
    finally:
        desktop.close()
