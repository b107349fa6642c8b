"""Vocoder speed: the iSTFT vocoder against HiFi-GAN V1, and end to end against hibari-tts.

    python bench/vocoder_speed.py [--vocoder en-us-istft] [--threads 1] [--repeats 5]

One process, one thread by default. Three measurements, each the median of `repeats`:
1. vocoder alone: the default voice's mels for the texts below, through HiFi-GAN V1
   (eager, its default) and through the new vocoder on each backend; real-time factor
   (seconds of compute per second of audio) and the ratio to HiFi-GAN;
2. end to end, text to waveform (frontend, acoustic model, vocoder, as `say` runs them),
   with the new vocoder and with HiFi-GAN;
3. hibari-tts on the same texts in the same process (its own G2P and ONNX model), when
   installed ('.[test]' or '.[train]').
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lightspeech_cli.export import compile_module
from lightspeech_cli.model.acoustic import count_parameters
from lightspeech_cli.paths import cache_dir
from lightspeech_cli.synthesize import Controls, Synthesizer
from lightspeech_cli.text import frontend
from lightspeech_cli.text.symbols import SymbolSet
from lightspeech_cli.vocoder import load_vocoder
from lightspeech_cli.voice import find_voice

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "On the 3rd of March 2024, 1,250 people paid $9.99 each to hear it read at 7:30 pm.",
    "When all other means of communication fail, try words.",
    "A journey of a thousand miles begins with a single step, and then a great many more of them.",
    "Is it raining in Paris today?",
]


def median_seconds(function, repeats: int) -> float:
    function()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocoder", default="en-us-istft")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    voice = find_voice(None)
    audio = voice.config.audio
    symbols = SymbolSet(voice.config.symbol_set)
    model = voice.load_model()
    mels = []
    with torch.inference_mode():
        for text in TEXTS:
            for sentence in frontend(text):
                one = torch.tensor(1.0)
                mels.append(model(torch.tensor([symbols.to_ids(sentence.phonemes)]), one, one, one)[0])
    audio_seconds = sum(m.shape[1] for m in mels) * audio.hop_length / audio.sample_rate
    print(f"{len(mels)} sentences, {audio_seconds:.1f} s of audio; {args.threads} thread(s); median of "
          f"{args.repeats}; torch {torch.__version__}")

    print("\n1. vocoder alone (real-time factor: compute seconds per audio second)")
    runs = [("hifigan", "eager"), (args.vocoder, "eager"), (args.vocoder, "torchscript")]
    factors = {}
    for name, backend in runs:
        module = load_vocoder(name, audio)
        runner = compile_module(module, "vocoder", backend, cache_dir() / "compiled", args.threads)
        seconds = median_seconds(lambda: [runner(mel) for mel in mels], args.repeats)
        factors[(name, backend)] = seconds / audio_seconds
        print(f"  {name:12} {backend:12} {count_parameters(module):>11,} parameters  RTF {seconds / audio_seconds:.5f}"
              f"  ({audio_seconds / seconds:,.0f}x faster than real time)")
    best = min(factors[(args.vocoder, b)] for b in ("eager", "torchscript"))
    print(f"  {args.vocoder} is {factors[('hifigan', 'eager')] / best:.1f}x faster than HiFi-GAN V1")

    print("\n2. end to end, text to waveform, default backends")
    end_to_end = {}
    for name in (args.vocoder, "hifigan"):
        synthesizer = Synthesizer(voice, vocoder=name, threads=args.threads)

        def speak():
            return [synthesizer.synthesize(s, Controls()) for text in TEXTS for s in synthesizer.sentences(text)]

        spoken = sum(len(u.audio) for u in speak()) / synthesizer.sample_rate
        seconds = median_seconds(speak, args.repeats)
        end_to_end[name] = seconds / spoken
        print(f"  lightspeech + {name:12} RTF {seconds / spoken:.4f}  ({spoken / seconds:,.0f}x faster than real time)")

    try:
        from hibari import Hibari
    except ImportError:
        print("\n3. hibari-tts: not installed")
        return
    teacher = Hibari(threads=args.threads)
    spoken = sum(len(teacher(text, seed=1)) for text in TEXTS) / teacher.sample_rate
    seconds = median_seconds(lambda: [teacher(text, seed=1) for text in TEXTS], args.repeats)
    print(f"\n3. hibari-tts (same texts, same process)\n  hibari-tts{'':18} RTF {seconds / spoken:.4f}  "
          f"({spoken / seconds:,.0f}x faster than real time)")
    ratio = (seconds / spoken) / end_to_end[args.vocoder]
    print(f"  lightspeech + {args.vocoder} is {ratio:.2f}x {'faster' if ratio > 1 else 'slower'} than hibari-tts "
          "end to end")


if __name__ == "__main__":
    main()
