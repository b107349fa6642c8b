"""sd_lightspeech spoken to as speech-dispatcher speaks to it, over its standard input and
output: replies, the order of events, the audio between index marks, STOP and PAUSE."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lightspeech_cli.desktop.protocol import escape_audio
from lightspeech_cli.desktop.speaker import DESKTOP_EDGE_SILENCE, pieces
from lightspeech_cli.desktop.speechd import ModuleConfig

MODULE = str(Path(sys.executable).with_name("sd_lightspeech"))
TWO_SENTENCES = (
    '<speak><mark name="0:5"/>Hello <mark name="6:11"/>world.<mark name="__spd_0"/> '
    'A second sentence.<mark name="__spd_1"/></speak>'
)


class Server:
    """speech-dispatcher's side of the pipe."""

    def __init__(self, config: Path | None = None):
        arguments = [MODULE] + ([str(config)] if config else [])
        # Its log (standard error) goes where pytest captures it, shown when a test fails.
        self.process = subprocess.Popen(arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(line + "\n" for line in lines).encode())
        self.process.stdin.flush()

    def read(self) -> list[bytes]:
        """One reply or event: its lines, up to the one whose fourth character is a space."""
        assert self.process.stdout is not None
        lines = []
        while True:
            line = self.process.stdout.readline()
            assert line, "the module closed its output"
            lines.append(line)
            if len(line) < 4 or line[3:4] == b" ":
                return lines

    def ask(self, *lines: str) -> list[bytes]:
        self.send(*lines)
        return self.read()

    def start(self) -> None:
        assert self.ask("INIT")[-1] == b"299 OK LOADED SUCCESSFULLY\n"
        assert self.ask("AUDIO") == [b"207 OK RECEIVING AUDIO SETTINGS\n"]
        assert self.ask("audio_output_method=server", ".") == [b"203 OK AUDIO INITIALIZED\n"]

    def message(self, kind: str, text: str, settings: dict | None = None) -> None:
        assert self.ask("SET") == [b"203 OK RECEIVING SETTINGS\n"]
        values = {"rate": 0, "pitch": 0, "volume": 100, "punctuation_mode": "none", "spelling_mode": "off"}
        values.update(settings or {})
        assert self.ask(*(f"{k}={v}" for k, v in values.items()), ".") == [b"203 OK SETTINGS RECEIVED\n"]
        assert self.ask(kind) == [b"202 OK RECEIVING MESSAGE\n"]
        escaped = ["." + line if line.startswith(".") else line for line in text.split("\n")]
        assert self.ask(*escaped, ".") == [b"200 OK SPEAKING\n"]

    def events(self) -> list[tuple[str, object]]:
        """Until the message's last event: ("audio", samples), ("mark", name), or the event line."""
        seen: list[tuple[str, object]] = []
        while True:
            lines = self.read()
            if lines[-1] == b"705 AUDIO\n":
                seen.append(("audio", audio_of(lines)))
            elif lines[-1] == b"700 INDEX MARK\n":
                seen.append(("mark", lines[0][4:-1].decode()))
            else:
                seen.append((lines[-1].decode().strip(), None))
                if lines[-1][:3] in (b"702", b"703", b"704"):
                    return seen

    def quit(self) -> int:
        assert self.ask("QUIT") == [b"210 OK QUIT\n"]
        return self.process.wait(10)


def audio_of(lines: list[bytes]) -> np.ndarray:
    fields = dict(line[4:-1].split(b"=", 1) for line in lines if b"=" in line and not line.startswith(b"705-AUDIO"))
    assert fields[b"bits"] == b"16" and fields[b"num_channels"] == b"1" and fields[b"big_endian"] == b"0"
    payload = next(line for line in lines if line.startswith(b"705-AUDIO\0"))[len(b"705-AUDIO\0") : -1]
    data = payload.replace(b"\x7d\x2a", b"\x0a").replace(b"\x7d\x5d", b"\x7d")
    samples = np.frombuffer(data, "<i2")
    assert len(samples) == int(fields[b"num_samples"])
    return samples


@pytest.fixture
def server():
    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.process.kill()
    server.process.wait()


def test_audio_escaping_leaves_no_line_end_and_comes_back():
    data = bytes(range(256)) * 3
    escaped = escape_audio(data)
    assert b"\n" not in escaped
    assert escaped.replace(b"\x7d\x2a", b"\x0a").replace(b"\x7d\x5d", b"\x7d") == data


def test_replies_to_settings_voices_and_bad_commands(server):
    assert server.ask("LIST VOICES") == [b"200-en-us-lightspeech\ten-US\tnone\n", b"200 OK VOICE LIST SENT\n"]
    assert server.ask("LIST VOICES en") == [b"200-en-us-lightspeech\ten-US\tnone\n", b"200 OK VOICE LIST SENT\n"]
    assert server.ask("LIST VOICES fr-FR") == [b"304 CANT LIST VOICES\n"]
    assert server.ask("SET") == [b"203 OK RECEIVING SETTINGS\n"]
    assert server.ask("rate=300", ".") == [b"303 ERROR INVALID PARAMETER OR VALUE\n"]
    assert server.ask("SPEAK") == [b"202 OK RECEIVING MESSAGE\n"]
    assert server.ask("", ".") == [b"301 ERROR CANT SPEAK\n"]
    assert server.ask("CHAR") == [b"202 OK RECEIVING MESSAGE\n"]
    assert server.ask("a", "b", ".") == [b"305 DATA MORE THAN ONE LINE\n"]
    assert server.ask("FLY") == [b"300 ERR UNKNOWN COMMAND\n"]
    server.send("STOP")  # while idle: no reply
    assert server.ask("LOGLEVEL") == [b"207 OK RECEIVING LOGLEVEL SETTINGS\n"]
    assert server.ask("log_level=4", ".") == [b"203 OK LOGLEVEL SET\n"]
    assert server.quit() == 0


def test_events_come_in_order_with_marks_at_their_samples(server):
    from lightspeech_cli.runtime.synthesizer import Controls, Synthesizer

    server.message("SPEAK", TWO_SENTENCES)
    events = server.events()
    assert events[0] == ("701 BEGIN", None) and events[-1] == ("702 END", None)
    assert [value for kind, value in events if kind == "mark"] == ["0:5", "6:11", "__spd_0", "__spd_1"]
    expected_audio, expected_marks, made = [], {}, 0
    for samples, marks in pieces(Synthesizer.load(threads=1), TWO_SENTENCES, Controls()):
        expected_marks.update({name: made + at for at, name in marks})
        expected_audio.append(samples)
        made += len(samples)
    sent, at_marks = 0, {}
    for kind, value in events:
        if kind == "audio":
            sent += len(value)
        elif kind == "mark":
            at_marks[value] = sent
    assert at_marks == expected_marks and sent == made
    heard = np.concatenate([value for kind, value in events if kind == "audio"])
    assert np.abs(heard - np.clip(np.concatenate(expected_audio), -1, 1) * 32767).max() <= 1
    assert server.quit() == 0


def test_pieces_are_the_synthesizers_audio_cut_after_the_last_word():
    from lightspeech_cli.runtime.synthesizer import Controls, Synthesizer

    synthesizer = Synthesizer.load(threads=1)
    rate = synthesizer.sample_rate
    whole = list(synthesizer.stream_timed(TWO_SENTENCES, ssml=True, edge_silence=DESKTOP_EDGE_SILENCE))
    made = list(pieces(synthesizer, TWO_SENTENCES, Controls()))
    assert [[name for _, name in marks] for _, marks in made] == [["0:5", "6:11"], ["__spd_0"], ["__spd_1"]]
    offset = 0
    for (samples, marks), spoken in zip(made, whole, strict=True):
        if spoken.timings.words:
            end = round((spoken.timings.words[-1].end + DESKTOP_EDGE_SILENCE) * rate) - offset
            assert 0 < end <= len(spoken.audio) and np.array_equal(samples, spoken.audio[:end])
        else:
            assert len(samples) == len(spoken.audio) == 0
        for (at, _), mark in zip(marks, spoken.timings.marks, strict=True):
            assert at == min(round(mark.time * rate) - offset, len(samples))
        offset += len(spoken.audio)
    assert list(pieces(synthesizer, "", Controls())) == []


def test_a_leading_dot_is_unescaped_and_settings_change_the_audio(server):
    def samples(settings: dict, text: str = "<speak>.5 percent of the time.</speak>") -> int:
        server.message("SPEAK", text, settings)
        return sum(len(v) for k, v in server.events() if k == "audio")

    normal = samples({})
    assert samples({"rate": 100}) < 0.5 * normal
    server.message("SPEAK", "<speak>Quiet.</speak>", {"volume": -100})
    assert all(np.abs(v).max() == 0 for k, v in server.events() if k == "audio")
    assert samples({}, "<speak>\n.5 percent of the time.</speak>") == normal  # ".5" on a line of its own


def test_stop_ends_the_message_at_once_and_the_next_one_speaks(server):
    server.message("SPEAK", "<speak>" + "This is a long text that will be stopped soon. " * 30 + "</speak>")
    assert server.read() == [b"701 BEGIN\n"]
    assert server.read()[-1] == b"705 AUDIO\n"
    server.send("STOP")
    sent = 0
    while (lines := server.read())[-1] != b"703 STOP\n":
        assert lines[-1] == b"705 AUDIO\n"
        sent += len(audio_of(lines))
    assert sent < 22050 * 10  # of about 90 s of speech: stopped in its first sentences
    server.send("STOP")  # the server sends a second STOP: ignored
    server.message("SPEAK", "<speak>Next.</speak>")
    events = server.events()
    assert events[0] == ("701 BEGIN", None) and events[-1] == ("702 END", None)
    assert server.quit() == 0


def test_pause_stops_at_the_next_server_mark(server):
    server.message("SPEAK", TWO_SENTENCES)
    server.send("PAUSE")
    events = server.events()
    assert events[-1] == ("704 PAUSE", None)
    assert [value for kind, value in events if kind == "mark"][-1] == "__spd_0"


def test_char_key_and_sound_icon_speak(server):
    lengths = {}
    for kind, text in (("CHAR", "a"), ("KEY", "control_alt_delete"), ("SOUND_ICON", "message"), ("CHAR", "space")):
        server.message(kind, text)
        events = server.events()
        assert events[-1] == ("702 END", None)
        lengths[text] = sum(len(v) for k, v in events if k == "audio")
    assert 0 < lengths["message"] < lengths["a"] < lengths["control_alt_delete"]
    assert lengths["space"] > 0


def test_a_bad_config_fails_init_with_its_reason(tmp_path):
    config = tmp_path / "lightspeech.conf"
    config.write_text('LightspeechThreads "many"\n')
    server = Server(config)
    reply = server.ask("INIT")
    assert reply[-1] == b"399 ERR CANT INIT MODULE\n" and b"LightspeechThreads" in reply[0]
    assert server.quit() == 0


def test_a_missing_voice_fails_init(tmp_path):
    config = tmp_path / "lightspeech.conf"
    config.write_text('LightspeechVoice "no-such-voice"\n')
    server = Server(config)
    reply = server.ask("INIT")
    assert reply[-1] == b"399 ERR CANT INIT MODULE\n" and b"no-such-voice" in reply[0]
    assert server.quit() == 0


def test_config_file_settings(tmp_path):
    config = tmp_path / "lightspeech.conf"
    config.write_text('# a comment\nLightspeechVoice "/a voice"\nLightspeechAudio module\nLightspeechThreads 2\nX 1\n')
    assert ModuleConfig.read(config) == ModuleConfig("/a voice", None, "module", 2)
    assert ModuleConfig.read(tmp_path / "missing.conf") == ModuleConfig()
    for bad in ("LightspeechAudio speakers", "LightspeechThreads 0", "LightspeechVoice a b"):
        config.write_text(bad + "\n")
        with pytest.raises(ValueError):
            ModuleConfig.read(config)
