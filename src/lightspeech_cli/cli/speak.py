"""say, phonemize: parse, call the runtime, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Optional

import typer

from ..errors import InputError
from .app import app
from .common import check_text, controls, detail, load_phonemizer, make_synthesizer, out, read_text, set_verbosity, warn
from .options import (
    BACKEND,
    ENERGY,
    LEXICON,
    PITCH,
    QUIET,
    RATE,
    SAMPLE_RATE,
    SENTENCE_SILENCE,
    SPEED,
    SSML,
    THREADS,
    VERBOSE,
    VOCODER,
    VOICE,
    VOLUME,
    Backend,
)

WORDS = typer.Argument(
    None,
    help="Text to speak (unquoted words are joined); read from standard input when omitted or '-'.",
    show_default=False,
)


def stdin_lines() -> Iterator[tuple[int, str]]:
    """Standard input line by line, as each arrives (a pipe that stays open is spoken
    line by line), each decoded and checked on its own."""
    from ..text import MAX_TEXT_CHARS, decode_input

    limit = MAX_TEXT_CHARS * 4  # bytes: UTF-8 takes at most 4 a character
    for number, data in enumerate(iter(lambda: sys.stdin.buffer.readline(limit + 1), b""), 1):
        if len(data) > limit:
            raise InputError(f"line {number} of the input is too long (more than {MAX_TEXT_CHARS:,} characters)")
        yield number, decode_input(data, f"line {number} of the input")


def spoken_lines(synthesizer, lines: Iterator[tuple[int, str]], chosen, silence: float, ssml: Optional[bool]):
    """Audio for each line as it arrives, with its timings from the start of the first
    (`Spoken`). An SSML document (first line <speak ...>) is read whole; a line with nothing
    to say is skipped; between lines, the sentence silence."""
    from ..runtime.synthesizer import Spoken
    from ..runtime.timings import Timings
    from ..text import MAX_TEXT_CHARS

    spoke, samples = False, 0
    for number, line in lines:
        if not line.strip():
            continue
        if ssml or (ssml is None and not spoke and line.lstrip().startswith("<speak")):
            for _, rest in lines:  # the whole document, but no more than check_text takes
                line += rest
                if len(line) > MAX_TEXT_CHARS:
                    break
            ssml = True
        check_text(line, f"line {number} of the input")
        try:
            items = synthesizer.plan(line, ssml, warn)
        except InputError as e:
            if "nothing to say" not in str(e):
                raise
            detail(f"line {number}: nothing to say")
            continue
        line_start = samples
        for index, piece in enumerate(synthesizer.stream_timed_plan(items, chosen, silence)):
            if index == 0 and spoke and silence:
                pause = synthesizer.silence(silence)
                samples += len(pause)
                line_start = samples
                yield Spoken(pause, Timings())
            samples += len(piece.audio)
            yield Spoken(piece.audio, piece.timings.shifted(line_start / synthesizer.sample_rate))
        spoke = True
    if not spoke:
        raise InputError("nothing to say: the input has no English words or numbers")


@app.command()
def say(
    words: Optional[list[str]] = WORDS,
    file: Optional[str] = typer.Option(
        None,
        "--file",
        "-f",
        help="Read the text from this file ('-': standard input, spoken line by line as it arrives).",
        show_default=False,
        metavar="FILE",
    ),
    output: Optional[str] = typer.Option(
        None,
        "--output",
        "-o",
        help="Write to this file (.wav, .flac, .ogg, .mp3), or '-' for WAV on stdout.",
        show_default=False,
        metavar="FILE",
    ),
    raw: bool = typer.Option(False, "--raw", help="Write 16-bit mono PCM to stdout, sentence by sentence."),
    voice: Optional[str] = VOICE,
    vocoder: Optional[str] = VOCODER,
    backend: Optional[Backend] = BACKEND,
    threads: Optional[int] = THREADS,
    speed: Optional[float] = SPEED,
    rate: Optional[float] = RATE,
    pitch: float = PITCH,
    energy: float = ENERGY,
    volume: float = VOLUME,
    sentence_silence: float = SENTENCE_SILENCE,
    sample_rate: Optional[int] = SAMPLE_RATE,
    lexicon: Optional[Path] = LEXICON,
    ssml: Optional[bool] = SSML,
    timings: Optional[str] = typer.Option(
        None,
        "--timings",
        metavar="FILE",
        show_default=False,
        help="Also write when each word (and SSML mark) is spoken: .json, .srt or .vtt captions, .TextGrid, "
        "or '-' for JSON on stdout.",
    ),
    phonemes: bool = typer.Option(
        False, "--phonemes", help="With --timings: each phoneme's interval too (JSON, TextGrid)."
    ),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Speak text: play it, or write it with -o.

    Text comes from the arguments, a file (-f), or standard input, which is spoken line
    by line as it arrives. Long text is made sentence by sentence; playback and --raw
    start after the first sentence.
    """
    from ..runtime import audio
    from ..runtime.engine import check_threads
    from ..runtime.format.voice import find_voice
    from ..runtime.synthesizer import check_silence

    set_verbosity(quiet, verbose)
    if output == "":  # not "no -o", which plays through the speakers
        raise InputError("-o needs a file name, not an empty one (or '-' for standard output)")
    if raw and output:
        raise InputError("--raw writes to stdout; drop -o, or drop --raw to write a file")
    if words and file:
        raise InputError("give the text as arguments or with -f, not both")
    timings_format = check_timings_option(timings, phonemes, output, raw)
    chosen = controls(speed, rate, pitch, energy, volume)
    check_threads(threads, "--threads")
    check_silence(sentence_silence, "--sentence-silence")
    audio.check_sample_rate(sample_rate, "--sample-rate")
    if output and output != "-":
        audio.check_output_path(Path(output))
        audio.check_encodable(Path(output).suffix.lower(), sample_rate, "--sample-rate")
    streaming = (not words or words == ["-"]) and file in (None, "-")
    text = None
    if not streaming:
        if file is not None:
            text = check_text(_read_file(Path(file)), str(file))
        else:
            assert words is not None  # not streaming and no file: the text is in the arguments
            text = read_text(" ".join(words))
    elif sys.stdin is None or sys.stdin.isatty():
        raise InputError("no text: give it as arguments, with -f FILE, or on standard input")
    voice_folder = find_voice(voice)
    speaker = None
    if not output and not raw:
        speaker = audio.open_output_stream(sample_rate or voice_folder.config.audio.sample_rate)
    synthesizer = make_synthesizer(voice_folder, vocoder, backend, threads, lexicon)
    if streaming:
        pieces = spoken_lines(synthesizer, stdin_lines(), chosen, sentence_silence, ssml)
    else:
        # The whole text goes through the frontend first, so unspeakable text fails before any output starts.
        pieces = synthesizer.stream_timed_plan(synthesizer.plan(text, ssml, warn), chosen, sentence_silence)
    heard = Heard()
    chunks = heard.follow(pieces)
    rate_out = synthesizer.sample_rate
    if raw or output == "-":
        audio.write_stdout(chunks, rate_out, raw=raw, out_rate=sample_rate)
    elif output:
        samples = audio.collect(chunks, rate_out)  # at most audio.MAX_OUTPUT_SECONDS
        audio.write_file(Path(output), samples, rate_out, sample_rate)
        detail(f"wrote {output}: {len(samples) / rate_out:.2f} s of audio")
    else:
        if sample_rate:
            chunks = (audio.resample(chunk, rate_out, sample_rate) for chunk in chunks)
        audio.play(chunks, speaker)
    if timings is not None and timings_format is not None:
        write_timings(timings, timings_format, heard, rate_out, phonemes)


class Heard:
    """The timings of the audio given out, and how long it is."""

    def __init__(self) -> None:
        from ..runtime.timings import Timings

        self.timings, self.samples = Timings(), 0

    def follow(self, pieces) -> Iterator:
        """The audio of timed pieces, their timings gathered as they are given out (a mark
        alone has no audio to give)."""
        for piece in pieces:
            self.timings.extend(piece.timings)
            self.samples += len(piece.audio)
            if len(piece.audio) or not piece.timings.marks:
                yield piece.audio


def check_timings_option(path: Optional[str], phonemes: bool, output: Optional[str], raw: bool) -> Optional[str]:
    """The format --timings asks for, checked with the rest before any synthesis."""
    from ..paths import check_writable
    from ..runtime.captions import caption_format

    if path is None:
        if phonemes:
            raise InputError("--phonemes adds phoneme intervals to --timings: give --timings FILE too")
        return None
    kind = caption_format(path)
    if path == "-" and (raw or output == "-"):
        raise InputError("--timings - and the audio cannot both go to standard output: name a file for one of them")
    if phonemes and kind not in ("json", "textgrid"):
        raise InputError("--phonemes needs --timings FILE.json or FILE.TextGrid (captions hold words)")
    if path != "-":
        # Through links too: the timings written over the audio would leave no audio.
        if output not in (None, "-") and Path(path).resolve() == Path(output).resolve():
            raise InputError(f"--timings {path} and -o {output} are the same file: name another for the timings")
        check_writable(Path(path))
    return kind


def write_timings(path: str, kind: str, heard: Heard, rate: int, phonemes: bool) -> None:
    from ..paths import atomic_write
    from ..runtime.captions import render

    text = render(heard.timings, kind, heard.samples / rate, phonemes)
    if path == "-":
        out(text.rstrip("\n"))
        return
    with atomic_write(Path(path), "w", encoding="utf-8") as f:
        f.write(text)
    detail(f"wrote {path}: {len(heard.timings.words)} words timed")


def _read_file(path: Path) -> str:
    from ..paths import read_limited
    from ..text import MAX_TEXT_CHARS, decode_input

    data = read_limited(path, MAX_TEXT_CHARS * 4, str(path), "split it into lines and use 'lightspeech render'")
    return decode_input(data, str(path))


@app.command()
def phonemize(
    words: Optional[list[str]] = WORDS,
    lexicon: Optional[Path] = LEXICON,
    show_words: bool = typer.Option(
        False, "--words", help="Also show each word, its phonemes and where they came from."
    ),
    ssml: Optional[bool] = SSML,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Print the normalized text and its ARPAbet phonemes, sentence by sentence.

    Words are separated by '|'. Copy a word's phonemes into [[...]] in your text, or
    into a lexicon file, to change how it is said.
    """
    from ..text import Mark, Pause, Sentence, plan_speech

    set_verbosity(quiet, verbose)
    items = plan_speech(read_text(" ".join(words) if words else None), load_phonemizer(lexicon), ssml, warn)
    if not any(isinstance(item, Sentence) for item in items):
        raise InputError("nothing to say: the text has no English words or numbers")
    for item in items:
        if isinstance(item, Pause):
            out(f"pause:    {item.seconds:g} s")
            continue
        if isinstance(item, Mark):
            out(f"mark:     {item.name}")
            continue
        out(f"text:     {item.text}")
        out(f"phonemes: {' '.join(item.phonemes)}")
        if show_words:
            for word in item.words:
                if word.source != "punctuation":
                    out(f"  {word.text:<20} {' '.join(word.phonemes):<32} {word.source}")
