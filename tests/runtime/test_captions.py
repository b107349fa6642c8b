"""Caption cues, and the timings in each format, read back by the format's own library."""

from __future__ import annotations

import io
import json

import pytest
import srt
import webvtt
from praatio import textgrid

from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime.captions import CUE_SECONDS, LINE_CHARS, caption_format, cues, render
from lightspeech_cli.runtime.timings import MarkTime, PhonemeTime, Timings, WordTime


def word(text: str, start: float, end: float, ends_sentence: bool = False) -> WordTime:
    return WordTime(text, start, end, (0, len(text)), ("AH0",), ends_sentence)


def test_cues_break_after_a_sentence_a_long_pause_and_before_they_grow_too_long():
    words = [word("One", 0.0, 0.3), word("two.", 0.3, 0.6, ends_sentence=True), word("Three", 0.8, 1.1),
             word("four", 2.2, 2.5)]  # fmt: skip
    assert [c.lines for c in cues(words)] == [("One two.",), ("Three",), ("four",)]
    many = [word("word", 0.5 * i, 0.5 * i + 0.4) for i in range(40)]
    made = cues(many)
    assert all(c.end - c.start <= CUE_SECONDS for c in made)
    assert all(len(c.lines) <= 2 and all(len(line) <= LINE_CHARS for line in c.lines) for c in made)
    assert " ".join(" ".join(c.lines) for c in made) == " ".join(["word"] * 40)
    assert made[0].start == 0.0 and made[0].end == many[len(" ".join(made[0].lines).split()) - 1].end


TIMINGS = Timings(
    [word("Hello", 0.1, 0.5), word("world.", 0.5, 1.0, ends_sentence=True), word("Again", 1.4, 1.9)],
    [PhonemeTime("HH", 0.1, 0.2), PhonemeTime("AH0", 0.2, 0.5)],
    [MarkTime("m", 0.5)],
)


def test_srt_and_vtt_read_back():
    subtitles = list(srt.parse(render(TIMINGS, "srt", 2.0)))
    assert [(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subtitles] == [
        (0.1, 1.0, "Hello world."),
        (1.4, 1.9, "Again"),
    ]
    captions = webvtt.from_buffer(io.StringIO(render(TIMINGS, "vtt", 2.0))).captions
    assert [(c.start, c.end, c.text) for c in captions] == [
        ("00:00:00.100", "00:00:01.000", "Hello world."),
        ("00:00:01.400", "00:00:01.900", "Again"),
    ]


def test_json_and_textgrid_read_back(tmp_path):
    data = json.loads(render(TIMINGS, "json", 2.0, phonemes=True))
    assert data["words"][1] == {"text": "world.", "start": 0.5, "end": 1.0, "offset": [0, 6], "phonemes": ["AH0"]}
    assert data["marks"] == [{"name": "m", "time": 0.5}] and len(data["phonemes"]) == 2
    path = tmp_path / "out.TextGrid"
    path.write_text(render(TIMINGS, "textgrid", 2.0, phonemes=True))
    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    assert [tuple(e) for e in grid.getTier("words").entries] == [
        (0.1, 0.5, "Hello"), (0.5, 1.0, "world."), (1.4, 1.9, "Again")]  # fmt: skip
    assert grid.getTier("phones").entries[0].label == "HH" and grid.maxTimestamp == 2.0


@pytest.mark.parametrize(
    "name, kind", [("a.json", "json"), ("a.SRT", "srt"), ("x/a.vtt", "vtt"), ("a.TextGrid", "textgrid"), ("-", "json")]
)
def test_the_file_name_picks_the_format(name, kind):
    assert caption_format(name) == kind


@pytest.mark.parametrize("name", ["a.txt", "captions", "a.srt.bak"])
def test_an_unknown_format_is_named(name):
    with pytest.raises(InputError, match="use .json, .srt, .vtt or .TextGrid"):
        caption_format(name)


def test_chromium_plays_the_vtt_captions_of_said_audio_in_step(tmp_path, browser, tiny_voice):
    """`say -o talk.wav --timings talk.vtt`, then a page with <audio> and <track>: the cues
    Chromium reads are the words' times."""
    import functools
    import http.server
    import threading

    from selenium.webdriver.support.ui import WebDriverWait
    from typer.testing import CliRunner

    from lightspeech_cli.cli import app

    text = "Captions follow the voice. Each sentence is a cue of its own."
    site = tmp_path / "site"
    site.mkdir()
    for suffix in ("vtt", "json"):
        result = CliRunner().invoke(app, ["say", text, "-v", str(tiny_voice.folder), "-o", str(site / "talk.wav"),
                                          "--timings", str(site / f"talk.{suffix}")])  # fmt: skip
        assert result.exit_code == 0, result.output
    (site / "index.html").write_text(
        '<audio id="a" src="talk.wav" preload="auto"><track default kind="captions" src="talk.vtt"></audio>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        read_cues = (
            "const track = document.getElementById('a').textTracks[0]; track.mode = 'hidden';"
            "if (!track.cues || !track.cues.length) return null;"
            "return Array.from(track.cues, c => [c.startTime, c.endTime, c.text]);"
        )
        cues = WebDriverWait(browser, 20).until(lambda d: d.execute_script(read_cues))
    finally:
        server.shutdown()
    words = json.loads((site / "talk.json").read_text())["words"]
    first, second = words[:4], words[4:]
    assert [c[2] for c in cues] == ["Captions follow the voice.", "Each sentence is a cue of its own."]
    for cue, group in zip(cues, (first, second), strict=True):
        assert cue[0] == pytest.approx(group[0]["start"], abs=0.001)
        assert cue[1] == pytest.approx(group[-1]["end"], abs=0.001)
