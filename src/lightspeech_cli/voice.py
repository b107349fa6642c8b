"""A voice on disk: `config.json` (what it is) and `model.safetensors` (its weights).

    voice/
      config.json        name, language, symbol set, model config (with architecture), audio, vocoder
      model.safetensors  acoustic model weights
      MODEL_CARD.md      data, teacher, steps, licence, the command that made it

Everything read from a voice is checked here, so a corrupt or foreign file becomes
one clear VoiceError rather than a traceback deep in torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import VoiceError
from .spectrogram import AudioConfig
from .text.symbols import SYMBOL_SETS, SymbolSet

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class VoiceConfig:
    name: str
    model: dict  # ModelConfig fields
    audio: AudioConfig = field(default_factory=AudioConfig)
    language: str = "en-US"
    symbol_set: str = "arpabet-1"
    vocoder: str = "hifigan"
    licence: str = "MIT"
    description: str = ""
    # Means and deviations of log F0 and log energy in the training data.
    normalization: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, "name": self.name, "language": self.language,
                "symbol_set": self.symbol_set, "vocoder": self.vocoder, "licence": self.licence,
                "description": self.description, "audio": self.audio.to_dict(), "model": self.model,
                "normalization": self.normalization}


def _require(data: dict, key: str, kind: type, where: str):
    if key not in data:
        raise VoiceError(f"{where}: missing {key!r}")
    value = data[key]
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise VoiceError(f"{where}: {key!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


def parse_config(data: object, where: str) -> VoiceConfig:
    """Validate a config.json's content against the schema this version reads."""
    from .model.acoustic import ModelConfig
    from .model.arch import Architecture

    if not isinstance(data, dict):
        raise VoiceError(f"{where}: expected a JSON object")
    if data.get("format") != FORMAT_VERSION:
        raise VoiceError(f"{where}: voice format {data.get('format')!r} is not {FORMAT_VERSION}; upgrade lightspeech")
    symbol_set = _require(data, "symbol_set", str, where)
    if symbol_set not in SYMBOL_SETS:
        raise VoiceError(f"{where}: unknown symbol set {symbol_set!r}")
    audio = _require(data, "audio", dict, where)
    audio_types = {f.name: f.type for f in fields(AudioConfig)}
    unknown = set(audio) - set(audio_types)
    if unknown:
        raise VoiceError(f"{where}: unknown audio setting {sorted(unknown)[0]!r}")
    audio_config = AudioConfig(**{k: _require(audio, k, int if audio_types[k] == "int" else float, where)
                                  for k in audio})
    model = _require(data, "model", dict, where)
    model_fields = {f.name for f in fields(ModelConfig)}
    if set(model) - model_fields:
        raise VoiceError(f"{where}: unknown model setting {sorted(set(model) - model_fields)[0]!r}")
    try:
        Architecture.parse(_require(model, "architecture", str, where))
    except ValueError as e:
        raise VoiceError(f"{where}: {e}") from None
    if model.get("n_symbols", len(SymbolSet(symbol_set))) != len(SymbolSet(symbol_set)):
        raise VoiceError(f"{where}: n_symbols does not match symbol set {symbol_set}")
    if model.get("n_mels", audio_config.n_mels) != audio_config.n_mels:
        raise VoiceError(f"{where}: the model's n_mels does not match the audio's")
    return VoiceConfig(
        name=_require(data, "name", str, where), model=model, audio=audio_config,
        language=data.get("language", "en-US"), symbol_set=symbol_set,
        vocoder=data.get("vocoder", "hifigan"), licence=data.get("licence", ""),
        description=data.get("description", ""), normalization=data.get("normalization", {}),
    )


class Voice:
    def __init__(self, folder: Path):
        self.folder = folder
        config_path = folder / CONFIG_FILE
        try:
            data = json.loads(config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VoiceError(f"{folder} is not a voice: it has no {CONFIG_FILE}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise VoiceError(f"{config_path} is corrupt: {e}") from None
        self.config = parse_config(data, str(config_path))

    @property
    def name(self) -> str:
        return self.config.name

    def model_config(self):
        from .model.acoustic import ModelConfig

        return ModelConfig(**self.config.model)

    def load_model(self):
        """The acoustic model with its weights, in eval mode."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from .model.acoustic import AcousticModel

        model = AcousticModel(self.model_config())
        path = self.folder / WEIGHTS_FILE
        try:
            state = load_file(path)
        except FileNotFoundError:
            raise VoiceError(f"voice {self.name}: {path} is missing") from None
        except (SafetensorError, OSError, ValueError) as e:
            raise VoiceError(f"voice {self.name}: {path} is corrupt ({e})") from None
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            first = str(e).split("\n")[1].strip() if "\n" in str(e) else str(e)
            raise VoiceError(f"voice {self.name}: weights do not fit the architecture ({first})") from None
        return model.eval()


def save_voice(folder: Path, config: VoiceConfig, model, model_card: str = "") -> Voice:
    """Write a voice atomically: into a temporary folder beside `folder`, then renamed."""
    from safetensors.torch import save_file

    from .paths import replaced_folder

    with replaced_folder(folder) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, staging / WEIGHTS_FILE)
        if model_card:
            (staging / "MODEL_CARD.md").write_text(model_card, encoding="utf-8")
    return Voice(folder)


DEFAULT_VOICE = "en-us-lightspeech"


def embedded_voices_dir() -> Path:
    return Path(__file__).parent / "assets" / "voices"


def installed_voices_dir() -> Path:
    from .paths import cache_dir

    return cache_dir() / "voices"


def installed_voice_names() -> list[str]:
    names = set()
    for folder in (embedded_voices_dir(), installed_voices_dir()):
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if (p / CONFIG_FILE).exists())
    return sorted(names)


def find_voice(name: str | None) -> Voice:
    """A voice by name (installed or embedded) or by the path of its folder."""
    name = name or DEFAULT_VOICE
    if os.sep in name or name.startswith("."):
        path = Path(name).expanduser()
        if not path.is_dir():
            raise VoiceError(f"no voice folder at {path}")
        return Voice(path)
    for folder in (installed_voices_dir(), embedded_voices_dir()):
        if (folder / name / CONFIG_FILE).exists():
            return Voice(folder / name)
    known = ", ".join(installed_voice_names()) or "none"
    if name == DEFAULT_VOICE:
        raise VoiceError(f"the default voice {DEFAULT_VOICE} is not installed (installed voices: {known}); "
                         "give a voice folder with --voice PATH")
    raise VoiceError(f"unknown voice {name!r}; installed voices: {known}")
