"""Per-component latency and size, as the LightSpeech paper breaks FastSpeech 2 down.

Each component of the acoustic model is timed with forward hooks on its module, so
the model runs exactly its own forward; the text frontend and the vocoder are timed
around their calls. Untrained architectures get a fixed duration per phoneme, so
their decoders expand as much as a trained model's would and comparisons are fair.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from .model.acoustic import AcousticModel, count_parameters, load_acoustic_model, untrained_model
from .runtime.format.voice import AudioConfig
from .text import frontend
from .text.symbols import DEFAULT_SYMBOL_SET, SymbolSet

DEFAULT_TEXT = (
    "The quick brown fox jumps over the lazy dog, and then it runs back home before the sun sets over the hills."
)
ACOUSTIC_COMPONENTS = (
    "encoder",
    "duration_predictor",
    "pitch_predictor",
    "energy_predictor",
    "length_regulator",
    "decoder",
    "mel_projection",
    "postnet",
)


@dataclass
class Row:
    component: str
    parameters: int
    milliseconds: float
    share: float = 0.0


@dataclass
class Profile:
    name: str
    architecture: str
    rows: list[Row]
    acoustic_ms: float  # the whole acoustic forward, timed without hooks
    acoustic_parameters: int
    audio_seconds: float
    frames: int

    @property
    def total_ms(self) -> float:
        return sum(r.milliseconds for r in self.rows)

    @property
    def real_time_factor(self) -> float:
        return self.total_ms / 1000 / self.audio_seconds if self.audio_seconds else float("nan")

    @property
    def vocoder_real_time_factor(self) -> float | None:
        vocoder = next((r for r in self.rows if r.component.startswith("vocoder")), None)
        return vocoder.milliseconds / 1000 / self.audio_seconds if vocoder and self.audio_seconds else None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "architecture": self.architecture,
            "frames": self.frames,
            "audio_seconds": self.audio_seconds,
            "acoustic_ms": self.acoustic_ms,
            "acoustic_parameters": self.acoustic_parameters,
            "total_ms": self.total_ms,
            "real_time_factor": self.real_time_factor,
            "vocoder_real_time_factor": self.vocoder_real_time_factor,
            "components": [r.__dict__ for r in self.rows],
        }


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def profile_model(
    name: str,
    model: AcousticModel,
    ids: torch.Tensor,
    vocoder,
    frontend_ms: float,
    runs: int,
    audio: AudioConfig = AudioConfig(),
) -> Profile:
    """Time each component of `model` (torch, eager) and then `vocoder` (the runtime's,
    as `say` runs it) on the phoneme ids `ids`."""
    timings: dict[str, list[float]] = {c: [] for c in ACOUSTIC_COMPONENTS}
    started: dict[str, float] = {}
    handles = []
    for component in ACOUSTIC_COMPONENTS:
        module = getattr(model, component)
        if module is None:
            continue
        handles.append(
            module.register_forward_pre_hook(lambda _m, _i, c=component: started.__setitem__(c, time.perf_counter()))
        )
        handles.append(
            module.register_forward_hook(
                lambda _m, _i, _o, c=component: timings[c].append(time.perf_counter() - started[c])
            )
        )
    one = torch.tensor(1.0)
    vocoder_times = []
    with torch.inference_mode():
        mel, _ = model(ids, one, one, one)  # warm-up
        for _ in range(runs):
            mel, _ = model(ids, one, one, one)
        for handle in handles:
            handle.remove()
        whole = []
        for _ in range(runs):
            start = time.perf_counter()
            mel, _ = model(ids, one, one, one)
            whole.append(time.perf_counter() - start)
        if vocoder is not None:
            mel_array = mel.numpy()
            vocoder(mel_array)
            for _ in range(max(1, runs // 2)):
                start = time.perf_counter()
                vocoder(mel_array)
                vocoder_times.append(time.perf_counter() - start)
    rows = [Row("text frontend", 0, frontend_ms)]
    for component in ACOUSTIC_COMPONENTS:
        module = getattr(model, component)
        if module is None:
            continue
        parameters = count_parameters(module)
        if component == "encoder":
            label = "encoder (with embedding)"
        elif component == "pitch_predictor":
            parameters += count_parameters(model.pitch_embedding)
            label = "pitch predictor (with embedding)"
        elif component == "energy_predictor":
            parameters += count_parameters(model.energy_embedding)
            label = "energy predictor (with embedding)"
        else:
            label = component.replace("_", " ")
        rows.append(Row(label, parameters, _median_ms(timings[component])))
    if vocoder is not None:
        rows.append(Row(f"vocoder ({vocoder.name})", vocoder_parameters(vocoder), _median_ms(vocoder_times)))
    profile = Profile(
        name,
        str(model.config.arch),
        rows,
        _median_ms(whole),
        count_parameters(model),
        mel.shape[1] * audio.hop_length / audio.sample_rate,
        mel.shape[1],
    )
    for row in rows:
        row.share = row.milliseconds / profile.total_ms if profile.total_ms else 0.0
    return profile


# A long paragraph; FastSpeech 2's self-attention over 100,000 characters as one sequence
# would ask for tens of gigabytes.
MAX_PROFILE_PHONEMES = 5_000


def phoneme_ids(text: str, symbol_set: str) -> tuple[torch.Tensor, float]:
    """The text's phoneme ids (all sentences joined) and the frontend's median time."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        sentences = frontend(text)
        times.append(time.perf_counter() - start)
    phonemes = [p for s in sentences for p in s.phonemes]
    from .errors import InputError

    if not phonemes:
        raise InputError("nothing to say: the text has no English words or numbers")
    if len(phonemes) > MAX_PROFILE_PHONEMES:  # attention's memory grows with the square of the length
        raise InputError(
            f"the text makes {len(phonemes):,} phonemes, profiled as one sequence; give at most "
            f"{MAX_PROFILE_PHONEMES:,} (a paragraph)"
        )
    return torch.tensor([SymbolSet(symbol_set).sentence_ids(phonemes)]), _median_ms(times)


def vocoder_parameters(vocoder) -> int:
    if vocoder.parameters is not None:
        return vocoder.parameters
    from .model.hifigan import load_hifigan  # the only vocoder whose count needs its torch module

    return count_parameters(load_hifigan())


@dataclass
class Report:
    threads: int
    text: str
    profiles: list[Profile]
    architectures: int  # the last `architectures` profiles are the compared architectures

    @property
    def compression(self) -> float | None:
        if self.architectures < 2:
            return None
        return self.profiles[-self.architectures].acoustic_parameters / self.profiles[-1].acoustic_parameters

    @property
    def speedup(self) -> float | None:
        if self.architectures < 2:
            return None
        return self.profiles[-self.architectures].acoustic_ms / self.profiles[-1].acoustic_ms

    def to_dict(self) -> dict:
        summary = {"compression": self.compression, "speedup": self.speedup} if self.architectures >= 2 else {}
        return {"threads": self.threads, "text": self.text, "profiles": [p.to_dict() for p in self.profiles], **summary}


def run_profile(
    voice: str | None, architectures: list[str], text: str | None, vocoder: str | None, threads: int, runs: int
) -> Report:
    """The default (or named) voice if installed, then each architecture untrained, on the
    same text; the vocoder is the voice's unless one is named (Griffin-Lim without a voice)."""
    from .errors import InputError, VoiceError
    from .runtime.engine import load_vocoder
    from .runtime.format.arch import Architecture
    from .runtime.format.voice import find_voice

    torch.set_num_threads(threads)
    for description in architectures:
        try:
            Architecture.parse(description)
        except ValueError as e:
            raise InputError(f"--arch: {e}") from None
    content = text if text is not None else DEFAULT_TEXT
    try:
        chosen = find_voice(voice)
    except VoiceError:
        if voice is not None:
            raise
        chosen = None  # no default voice installed: profile the architectures alone
    audio = chosen.config.audio if chosen else AudioConfig()
    vocoder_module = load_vocoder(
        vocoder or (chosen.config.vocoder if chosen else "griffinlim"), audio, threads=threads
    )
    profiles = []
    if chosen is not None:
        ids, frontend_ms = phoneme_ids(content, chosen.config.symbol_set)
        profiles.append(
            profile_model(
                f"voice {chosen.name}", load_acoustic_model(chosen), ids, vocoder_module, frontend_ms, runs, audio
            )
        )
    ids, frontend_ms = phoneme_ids(content, DEFAULT_SYMBOL_SET)
    for description in architectures:
        model = untrained_model(description, len(SymbolSet(DEFAULT_SYMBOL_SET)))
        name = description if description in ("fastspeech2", "lightspeech") else "custom"
        profiles.append(profile_model(name, model, ids, vocoder_module, frontend_ms, runs))
    return Report(threads, content, profiles, len(architectures))
