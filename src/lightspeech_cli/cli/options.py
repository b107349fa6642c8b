"""The options the commands share, and their typed choices (a bad value is a usage error
before anything loads). Checks that need more than typer's own (finite numbers, a training
folder) are callbacks from common.py."""

from __future__ import annotations

from enum import Enum

import typer

QUIET = typer.Option(False, "--quiet", "-q", help="Print nothing but errors (and the output asked for).")

VERBOSE = typer.Option(
    False, "--verbose", "--debug", help="Print details: timings, what was loaded, and a traceback on an internal error."
)


class Backend(str, Enum):
    onnx = "onnx"
    torchscript = "torchscript"
    eager = "eager"


class VocoderSource(str, Enum):
    none = "none"
    pulses = "pulses"


class CaptionFormat(str, Enum):
    srt = "srt"
    vtt = "vtt"
    json = "json"


class AudioFormat(str, Enum):
    wav = "wav"
    flac = "flac"
    ogg = "ogg"
    mp3 = "mp3"


VOICE = typer.Option(None, "--voice", "-v", metavar="VOICE", help="Voice name, or the path of a voice folder.")

VOCODER = typer.Option(
    None,
    "--vocoder",
    metavar="VOCODER",
    help="The shipped vocoder (en-us-istft-pulses), hifigan, griffinlim, or a vocoder folder (default: the voice's).",
)

BACKEND = typer.Option(
    None,
    "--backend",
    show_default=False,
    case_sensitive=False,
    help="Inference engine for both models (default: onnx, ONNX Runtime; torchscript and eager load torch).",
)

THREADS = typer.Option(
    None, "--threads", "-t", metavar="N", help="CPU threads (default: ONNX Runtime's choice, the physical cores)."
)

SPEED = typer.Option(
    None,
    "--speed",
    metavar="FACTOR",
    help="Speaking rate factor: 1.5 is 50% faster (0.25 to 4; default 1).",
    show_default=False,
)

RATE = typer.Option(
    None,
    "--rate",
    "-r",
    metavar="WPM",
    help="Speaking rate in words per minute (175 is --speed 1), as espeak-ng's -s and say's -r.",
    show_default=False,
)

PITCH = typer.Option(
    1.0,
    "--pitch",
    metavar="FACTOR",
    help="Pitch factor: 1.1 is 10% higher (0.25 to 4; the default voice follows only about 0.9 to 1.4).",
)

ENERGY = typer.Option(
    1.0,
    "--energy",
    metavar="FACTOR",
    help="The voice's own energy factor (0.25 to 2): its effort "
    "and timbre as the model makes them; for plain loudness use --volume.",
)

VOLUME = typer.Option(1.0, "--volume", metavar="GAIN", help="Gain on the audio: 0.5 is half as loud (0 to 4).")

SENTENCE_SILENCE = typer.Option(
    0.2, "--sentence-silence", metavar="SECONDS", help="Seconds of silence between sentences (Piper's name)."
)

SAMPLE_RATE = typer.Option(
    None,
    "--sample-rate",
    metavar="HZ",
    help="Resample the output to this rate in Hz (e.g. 16000 for telephony and voice assistants).",
    show_default=False,
)

LEXICON = typer.Option(
    None,
    "--lexicon",
    metavar="FILE",
    help="Pronunciation file: one 'WORD PH ON EMES' per line "
    "(default: ~/.config/lightspeech/lexicon.txt if it exists).",
    dir_okay=False,
)

SSML = typer.Option(
    None, "--ssml/--no-ssml", help="Read the input as SSML (default: when it starts with <speak>).", show_default=False
)
