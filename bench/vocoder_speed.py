"""Vocoder speed: the iSTFT vocoder against HiFi-GAN V1, and end to end against hibari-tts.

    python bench/vocoder_speed.py [--vocoder en-us-istft] [--against en-us-istft-pulses]
        [--threads 1] [--repeats 7] > bench/vocoder_speed.txt

One process, one thread by default; pause anything else that runs while it measures. Three
measurements, each timed `repeats` times after a warm-up, the systems taking turns within
each repeat (so a slow moment of the machine hits all of them); every figure is printed as
the median with the minimum and maximum, and every ratio as the median of the per-repeat
ratios with their minimum and maximum:
1. vocoder alone: the default voice's mels for the texts below, through HiFi-GAN V1 and
   through the iSTFT vocoder, on the onnx and torchscript backends; real-time factor
   (seconds of compute per second of audio) and the speed-up over HiFi-GAN;
2. end to end, text to waveform (frontend, acoustic model, vocoder, as `say` runs them),
   with the iSTFT vocoder and with HiFi-GAN, default (onnx) backend;
3. hibari-tts on the same texts in the same process, when installed ('.[test]' or '.[train]'),
   against (2).
Each --against vocoder joins the turns of (1) and (2), with its time relative to --vocoder's.
The header names the machine, the date and the library versions.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import time

import numpy as np
from machine_info import machine, version

from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import find_voice
from lightspeech_cli.runtime.synthesizer import Controls, Synthesizer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "On the 3rd of March 2024, 1,250 people paid $9.99 each to hear it read at 7:30 pm.",
    "When all other means of communication fail, try words.",
    "A journey of a thousand miles begins with a single step, and then a great many more of them.",
    "Is it raining in Paris today?",
]


def take_turns(functions: dict[str, callable], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, `repeats` rounds after one warm-up round; in each
    round every function runs once, in turn."""
    for function in functions.values():
        function()
    seconds = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def spread(values: list[float], digits: int = 4, scale: float = 1.0) -> str:
    """median (min-max)"""
    median, low, high = (scale * v for v in (statistics.median(values), min(values), max(values)))
    return f"{median:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def ratio_spread(slow: list[float], fast: list[float]) -> str:
    """How many times faster `fast` is than `slow`: per repeat, then median (min-max)."""
    return spread([s / f for s, f in zip(slow, fast, strict=True)], 2) + "x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocoder", default="en-us-istft-pulses")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--texts", type=int, default=len(TEXTS), help="use the first N texts (a quick check)")
    parser.add_argument("--no-hifigan", action="store_true", help="leave HiFi-GAN out (a quick check)")
    parser.add_argument("--against", action="append", default=[], help="another vocoder timed in the same turns")
    args = parser.parse_args()
    texts = TEXTS[: args.texts]
    voice = find_voice(None)
    audio = voice.config.audio
    speaker = Synthesizer(voice, vocoder="griffinlim", threads=args.threads)
    mels = []
    for text in texts:
        for sentence in speaker.sentences(text):
            ids = np.asarray([speaker.symbols.sentence_ids(sentence.phonemes)], np.int64)
            ones = np.ones(ids.shape, np.float32)
            mels.append(speaker.acoustic(ids, ones, ones, ones)[0])
    audio_seconds = sum(m.shape[1] for m in mels) * audio.hop_length / audio.sample_rate
    print(f"# bench/vocoder_speed.py, {datetime.date.today().isoformat()}; machine: {machine()}")
    print(
        f"# python {platform.python_version()}, onnxruntime {version('onnxruntime')}, torch {version('torch')}, "
        f"lightspeech {version('lightspeech')}"
    )
    print(
        f"{len(mels)} sentences, {audio_seconds:.1f} s of audio; {args.threads} thread(s); {args.repeats} repeats, "
        "each figure the median (min-max)"
    )

    print("\n1. vocoder alone (real-time factor: compute seconds per audio second)")
    runs = [] if args.no_hifigan else [("hifigan", "onnx")]
    runs += [(args.vocoder, "onnx"), (args.vocoder, "torchscript")] + [(other, "onnx") for other in args.against]
    vocoders = {f"{name} {backend}": load_vocoder(name, audio, backend, args.threads) for name, backend in runs}
    seconds = take_turns({label: (lambda v=v: [v(mel) for mel in mels]) for label, v in vocoders.items()}, args.repeats)
    for label, values in seconds.items():
        parameters = vocoders[label].parameters
        counted = f"{parameters:>11,} parameters" if parameters else f"{'':>22}"
        print(f"  {label:28} {counted}  RTF {spread(values, 5, 1 / audio_seconds)}")
    if not args.no_hifigan:
        for backend in ("onnx", "torchscript"):
            print(
                f"  {args.vocoder} {backend} is "
                f"{ratio_spread(seconds['hifigan onnx'], seconds[f'{args.vocoder} {backend}'])}"
                " faster than HiFi-GAN V1 (onnx)"
            )
    for other in args.against:
        times = [o / v for o, v in zip(seconds[f"{other} onnx"], seconds[f"{args.vocoder} onnx"], strict=True)]
        print(f"  {other} onnx takes {spread(times, 2)}x the time of {args.vocoder} onnx")

    print("\n2. end to end, text to waveform, onnx backend")
    names = [args.vocoder, *args.against] + ([] if args.no_hifigan else ["hifigan"])
    synthesizers = {name: Synthesizer(voice, vocoder=name, threads=args.threads) for name in names}
    spoken = {
        name: sum(len(s.utterance(sentence, Controls()).audio) for text in texts for sentence in s.sentences(text))
        / s.sample_rate
        for name, s in synthesizers.items()
    }
    end_to_end = take_turns(
        {
            name: (lambda s=s: [s.utterance(sentence, Controls()) for text in texts for sentence in s.sentences(text)])
            for name, s in synthesizers.items()
        },
        args.repeats,
    )
    for name, values in end_to_end.items():
        print(f"  lightspeech + {name:14} RTF {spread(values, 4, 1 / spoken[name])}")
    for other in args.against:
        per_second = [
            (o / spoken[other]) / (v / spoken[args.vocoder])
            for o, v in zip(end_to_end[other], end_to_end[args.vocoder], strict=True)
        ]
        print(f"  lightspeech + {other} takes {spread(per_second, 2)}x the time per second of audio")

    try:
        from hibari import Hibari
    except ImportError:
        print("\n3. hibari-tts: not installed")
        return
    teacher = Hibari(threads=args.threads)
    teacher_spoken = sum(len(teacher(text, seed=1)) for text in texts) / teacher.sample_rate
    ours = synthesizers[args.vocoder]
    both = take_turns(
        {
            "hibari": lambda: [teacher(text, seed=1) for text in texts],
            "ours": lambda: [
                ours.utterance(sentence, Controls()) for text in texts for sentence in ours.sentences(text)
            ],
        },
        args.repeats,
    )
    print(f"\n3. hibari-tts (same texts, same process, taking turns with lightspeech + {args.vocoder})")
    print(f"  hibari-tts{'':18} RTF {spread(both['hibari'], 4, 1 / teacher_spoken)}")
    print(f"  lightspeech + {args.vocoder:14} RTF {spread(both['ours'], 4, 1 / spoken[args.vocoder])}")
    per_repeat = [
        (h / teacher_spoken) / (o / spoken[args.vocoder]) for h, o in zip(both["hibari"], both["ours"], strict=True)
    ]
    verdict = "faster" if statistics.median(per_repeat) > 1 else "slower"
    print(
        f"  lightspeech + {args.vocoder} vs hibari-tts, per second of audio: {spread(per_repeat, 2)}x "
        f"(above 1 = lightspeech faster; median: {verdict})"
    )


if __name__ == "__main__":
    main()
