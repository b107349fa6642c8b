"""Stage 2: mel spectrograms, per-phoneme pitch and energy, normalization statistics.

Pitch is the mean log F0 of a phoneme's voiced frames, interpolated across phonemes
with none (unvoiced consonants, pauses), as FastSpeech 2 does at phoneme level;
energy is the mean log mel energy of its frames. Both are z-scored with statistics
of the training split, which the voice config keeps.

    features/00001.npz    mel (float16), durations, ids (the framed sentence), pitch and energy (logs)
    features/stats.json   means and deviations of the logs, which the dataset z-scores with,
                          and the symbol set of the ids
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..model.spectrogram import MelSpectrogram
from ..paths import atomic_write, parse_json, read_limited
from ..runtime.format.voice import AudioConfig
from ..text.symbols import DEFAULT_SYMBOL_SET, SYMBOL_SETS, SymbolSet
from .corpus import read_metadata, save_npz

VOICED_HZ = 40.0


def per_phoneme(values: np.ndarray, valid: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Mean of `values` over each phoneme's valid frames; phonemes with none are
    interpolated from their neighbours."""
    ends = np.cumsum(durations)
    starts = ends - durations
    means = np.full(len(durations), np.nan, np.float32)
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        chosen = values[start:end][valid[start:end]]
        if len(chosen):
            means[i] = chosen.mean()
    known = ~np.isnan(means)
    if not known.any():
        return np.zeros(len(durations), np.float32)
    positions = np.arange(len(durations))
    return np.interp(positions, positions[known], means[known]).astype(np.float32)


def is_current(path: Path, ids: np.ndarray) -> bool:
    """Whether a features file exists and was made for these ids (a corpus of an older format,
    or another symbol set, frames its sentences otherwise)."""
    try:
        with np.load(path) as stored:
            return np.array_equal(stored["ids"], ids)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # missing or unreadable: made again
        return False


def extract_features(
    corpus: Path,
    folder: Path,
    symbol_set: str = DEFAULT_SYMBOL_SET,
    audio: AudioConfig = AudioConfig(),
    progress=None,
) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    symbols = SymbolSet(symbol_set)
    mel_spectrogram = MelSpectrogram(audio)
    raw = {}
    entries = read_metadata(corpus)
    for done, entry in enumerate(entries, 1):
        path = folder / f"{entry['id']}.npz"
        ids = np.asarray(symbols.sentence_ids(entry["phonemes"]), np.int64)
        if not is_current(path, ids):
            utterance = np.load(corpus / "utterances" / f"{entry['id']}.npz")
            durations = utterance["durations"]
            if len(durations) != len(ids):
                raise InputError(
                    f"{corpus} frames its sentences otherwise than symbol set {symbol_set} "
                    "(an older corpus): run `lightspeech train corpus` on it again"
                )
            wave = torch.from_numpy(utterance["audio"].astype(np.float32) / 32767).unsqueeze(0)
            with torch.no_grad():
                mel = mel_spectrogram(wave)[0].numpy()
            f0 = utterance["f0"][: len(mel)]
            log_energy = np.log(np.exp(mel).sum(1) + 1e-5)
            pitch = per_phoneme(np.log(np.maximum(f0, 1.0)), f0 > VOICED_HZ, durations)
            energy = per_phoneme(log_energy, np.ones(len(mel), bool), durations)
            save_npz(
                path,
                mel=mel.astype(np.float16),
                durations=durations,
                pitch=pitch,
                energy=energy,
                ids=ids,
            )
        raw[entry["id"]] = (path, entry["split"])
        if progress:
            progress(done, len(entries))
    stats = {**statistics(raw), "symbol_set": symbol_set}
    with atomic_write(folder / STATS_FILE, "w", encoding="utf-8") as f:
        f.write(json.dumps(stats, indent=2) + "\n")
    return stats


STATS_FILE = "stats.json"
STATS_KEYS = ("pitch_log_mean", "pitch_log_std", "energy_log_mean", "energy_log_std")


def read_stats(features: Path) -> dict[str, float]:
    """features/stats.json, checked: four finite numbers, the deviations positive (the
    model divides by them). Anything else is one InputError naming the file."""
    path = features / STATS_FILE
    if not path.exists():
        raise InputError(f"{features} has no {STATS_FILE}; run `lightspeech train features` first")
    try:
        stats = parse_json(read_limited(path, 64 * 1024, str(path), regular_only=True).decode("utf-8"))
    except ValueError:
        stats = None
    if not (
        isinstance(stats, dict)
        and all(type(stats.get(key)) in (int, float) and math.isfinite(stats[key]) for key in STATS_KEYS)
        and stats["pitch_log_std"] > 0
        and stats["energy_log_std"] > 0
    ):
        raise InputError(f"{path} is corrupt; run `lightspeech train features` again")
    return {key: float(stats[key]) for key in STATS_KEYS}


def read_symbol_set(features: Path) -> str:
    """The symbol set the features' ids are in (stats.json made before it was recorded: arpabet-1)."""
    path = features / STATS_FILE
    try:
        stats = parse_json(read_limited(path, 64 * 1024, str(path), regular_only=True).decode("utf-8"))
    except ValueError:
        stats = None
    version = stats.get("symbol_set", "arpabet-1") if isinstance(stats, dict) else None
    if version not in SYMBOL_SETS:
        raise InputError(f"{path} names no symbol set this lightspeech knows; run `lightspeech train features` again")
    return version


def statistics(raw: dict) -> dict:
    pitches: list[np.ndarray] = []
    energies: list[np.ndarray] = []
    for path, split in raw.values():
        if split == "train":
            data = np.load(path)
            voiced = data["pitch"] > np.log(VOICED_HZ)
            pitches.append(data["pitch"][voiced])
            energies.append(data["energy"])
    if not pitches:
        raise InputError("the corpus has no training utterances; run `lightspeech train corpus` again")
    pitch, energy = np.concatenate(pitches), np.concatenate(energies)
    return {
        "pitch_log_mean": float(pitch.mean()),
        "pitch_log_std": float(pitch.std()),
        "energy_log_mean": float(energy.mean()),
        "energy_log_std": float(energy.std()),
    }
