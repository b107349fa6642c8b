"""A voice on disk, and the schema of its config. No torch: speaking reads this.

    voice/
      config.json        format, name, language, symbol set, default vocoder, audio, model, normalization
      model.onnx         the acoustic model, compiled (format 2); what the runtime runs
      model.safetensors  its weights: the source of truth for training and the torch backends
      MODEL_CARD.md      data, teacher, steps, licence, the command that made it
      training-log.jsonl

Format 1 voices (older ones, search candidates) have no model.onnx; the runtime
compiles them once into the cache (engine.py). Every field of config.json is checked
here for type and range, so a hostile or corrupt file becomes one VoiceError rather
than a crash, a huge allocation or noise later. model/arch.py, which parses the
architecture description, is plain Python: the voice format includes it.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import VoiceError
from ..paths import cache_dir, checked_name, shown
from ..text.symbols import SYMBOL_SETS

FORMAT_VERSIONS = (1, 2)
CURRENT_FORMAT = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
MODEL_CARD_FILE = "MODEL_CARD.md"
LOG_FILE = "training-log.jsonl"
VOICE_FILES = frozenset({CONFIG_FILE, WEIGHTS_FILE, ONNX_FILE, MODEL_CARD_FILE, LOG_FILE})
MAX_CONFIG_BYTES = 64 * 1024
DEFAULT_VOICE = "en-us-lightspeech"


# --- a small schema: each field is a check that returns the clean value or raises ---------


class SchemaError(ValueError):
    pass


Check = Callable[[Any], Any]


def integer(low: int, high: int) -> Check:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(f"must be a whole number, not {shown(value)}")
        if not low <= value <= high:
            raise SchemaError(f"must be from {low} to {high}, not {value}")
        return value
    return check


def number(low: float, high: float, low_open: bool = False) -> Check:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"must be a number, not {shown(value)}")
        value = float(value)
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bound = f"above {low}" if low_open else f"from {low}"
            raise SchemaError(f"must be {bound} to {high}, not {value}")
        return value
    return check


def text(limit: int, pattern: str | None = None) -> Check:
    def check(value):
        if not isinstance(value, str):
            raise SchemaError(f"must be text, not {shown(value)}")
        if len(value) > limit or not value.isprintable():
            raise SchemaError(f"must be printable text of at most {limit} characters, not {shown(value)}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise SchemaError(f"is not valid: {shown(value)}")
        return value
    return check


def one_of(values) -> Check:
    def check(value):
        if not isinstance(value, str) or value not in values:
            raise SchemaError(f"must be one of {', '.join(values)}, not {shown(value)}")
        return value
    return check


def name(value):
    return checked_name(value, "name", error=SchemaError)


def architecture(value):
    from ..model.arch import Architecture

    text(400)(value)
    try:
        Architecture.parse(value)
    except ValueError as e:
        raise SchemaError(str(e)) from None
    return value


REQUIRED = object()


def read_section(data: object, schema: dict[str, tuple[Check, Any]], where: str) -> dict:
    """`data` checked against `schema` (field -> (check, default or REQUIRED)); unknown
    fields are refused, so a typo never silently falls back to a default."""
    if not isinstance(data, dict):
        raise VoiceError(f"{where}: expected a JSON object, not {shown(data)}")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise VoiceError(f"{where}: unknown setting {shown(unknown[0])}")
    clean = {}
    for key, (check, default) in schema.items():
        if key not in data:
            if default is REQUIRED:
                raise VoiceError(f"{where}: missing {key!r}")
            clean[key] = default
            continue
        try:
            clean[key] = check(data[key])
        except SchemaError as e:
            raise VoiceError(f"{where}: {key!r} {e}") from None
    return clean


# --- the sections of config.json -------------------------------------------------------


@dataclass(frozen=True)
class AudioConfig:
    """The mel spectrogram a voice predicts: HiFi-GAN V1's by default."""

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0

    SCHEMA = {
        "sample_rate": (integer(8000, 96000), 22050), "n_fft": (integer(64, 8192), 1024),
        "hop_length": (integer(16, 8192), 256), "win_length": (integer(16, 8192), 1024),
        "n_mels": (integer(1, 512), 80), "fmin": (number(0.0, 48000.0), 0.0), "fmax": (number(0.0, 48000.0), 8000.0),
    }

    @classmethod
    def parse(cls, data: object, where: str) -> "AudioConfig":
        clean = read_section(data, cls.SCHEMA, where)
        if clean["n_fft"] % clean["hop_length"] or clean["win_length"] != clean["n_fft"]:
            raise VoiceError(f"{where}: n_fft must be a multiple of hop_length, and win_length equal to n_fft")
        if not clean["fmin"] < clean["fmax"] <= clean["sample_rate"] / 2:
            raise VoiceError(f"{where}: need fmin < fmax <= sample_rate / 2")
        return cls(**clean)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModelConfig:
    """What a voice's config says about its acoustic model; model/acoustic.py builds it."""

    architecture: str = "lightspeech"
    n_symbols: int = len(SYMBOL_SETS["arpabet-1"])
    n_mels: int = 80
    dropout: float = 0.1
    predictor_kernel: int = 3
    variance_bins: int = 256
    # Range of the z-scored pitch and energy the embeddings quantize.
    variance_min: float = -4.0
    variance_max: float = 4.0
    # Standard deviations of log F0 and log energy in the training data: they turn
    # the user's multiplicative controls into shifts of the z-scored values.
    pitch_log_std: float = 0.2
    energy_log_std: float = 0.5

    @classmethod
    def schema(cls) -> dict:
        defaults = cls()
        return {
            "architecture": (architecture, REQUIRED),
            "n_symbols": (integer(1, 10_000), defaults.n_symbols),
            "n_mels": (integer(1, 512), defaults.n_mels),
            "dropout": (number(0.0, 0.9), defaults.dropout),
            "predictor_kernel": (integer(1, 31), defaults.predictor_kernel),
            "variance_bins": (integer(2, 4096), defaults.variance_bins),
            "variance_min": (number(-100.0, 100.0), defaults.variance_min),
            "variance_max": (number(-100.0, 100.0), defaults.variance_max),
            "pitch_log_std": (number(0.0, 100.0, low_open=True), defaults.pitch_log_std),
            "energy_log_std": (number(0.0, 100.0, low_open=True), defaults.energy_log_std),
        }

    @classmethod
    def parse(cls, data: object, where: str) -> "ModelConfig":
        clean = read_section(data, cls.schema(), where)
        if clean["predictor_kernel"] % 2 == 0:
            raise VoiceError(f"{where}: 'predictor_kernel' must be odd, not {clean['predictor_kernel']}")
        if clean["variance_min"] >= clean["variance_max"]:
            raise VoiceError(f"{where}: 'variance_min' must be below 'variance_max'")
        return cls(**clean)

    @property
    def arch(self):
        from ..model.arch import Architecture

        return Architecture.parse(self.architecture)

    def to_dict(self) -> dict:
        return asdict(self)


NORMALIZATION_SCHEMA = {key: (number(-1000.0, 1000.0), REQUIRED) for key in
                        ("pitch_log_mean", "pitch_log_std", "energy_log_mean", "energy_log_std")}


@dataclass
class VoiceConfig:
    name: str
    model: ModelConfig
    audio: AudioConfig = field(default_factory=AudioConfig)
    language: str = "en-US"
    symbol_set: str = "arpabet-1"
    vocoder: str = "en-us-istft"
    licence: str = "MIT"
    description: str = ""
    # Means and deviations of log F0 and log energy in the training data (for the record).
    normalization: dict = field(default_factory=dict)
    format: int = CURRENT_FORMAT

    SCHEMA = {
        "format": (integer(min(FORMAT_VERSIONS), max(FORMAT_VERSIONS)), REQUIRED),
        "name": (name, REQUIRED),
        "language": (text(35, r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*"), "en-US"),
        "symbol_set": (one_of(tuple(SYMBOL_SETS)), REQUIRED),
        "vocoder": (lambda v: checked_name(v, "vocoder name", error=SchemaError), "en-us-istft"),
        "licence": (text(100), ""),
        "description": (text(500), ""),
        "audio": (lambda v: v, REQUIRED),
        "model": (lambda v: v, REQUIRED),
        "normalization": (lambda v: v, None),
    }

    @classmethod
    def parse(cls, data: object, where: str) -> "VoiceConfig":
        if isinstance(data, dict) and data.get("format") not in FORMAT_VERSIONS:
            raise VoiceError(f"{where}: voice format {shown(data.get('format'))} is not one this lightspeech "
                             f"reads ({', '.join(map(str, FORMAT_VERSIONS))}); upgrade lightspeech")
        clean = read_section(data, cls.SCHEMA, where)
        audio = AudioConfig.parse(clean["audio"], f"{where} audio")
        model = ModelConfig.parse(clean["model"], f"{where} model")
        if model.n_symbols != len(SYMBOL_SETS[clean["symbol_set"]]):
            raise VoiceError(f"{where}: the model's n_symbols does not match symbol set {clean['symbol_set']}")
        if model.n_mels != audio.n_mels:
            raise VoiceError(f"{where}: the model's n_mels does not match the audio's")
        normalization = clean["normalization"]
        normalization = {} if normalization in (None, {}) else read_section(normalization, NORMALIZATION_SCHEMA,
                                                                       f"{where} normalization")
        return cls(name=clean["name"], model=model, audio=audio, language=clean["language"],
                   symbol_set=clean["symbol_set"], vocoder=clean["vocoder"], licence=clean["licence"],
                   description=clean["description"], normalization=normalization, format=clean["format"])

    def to_dict(self) -> dict:
        return {"format": self.format, "name": self.name, "language": self.language,
                "symbol_set": self.symbol_set, "vocoder": self.vocoder, "licence": self.licence,
                "description": self.description, "audio": self.audio.to_dict(), "model": self.model.to_dict(),
                "normalization": self.normalization}


def read_json(path: Path, what: str) -> object:
    """A small JSON file from outside: size-limited, UTF-8, duplicate keys refused (a
    second "name" must not silently win)."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        duplicated = next((k for k in keys if keys.count(k) > 1), None)
        if duplicated is not None:
            raise ValueError(f"duplicate key {shown(duplicated)}")
        return dict(pairs)

    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise VoiceError(f"{path} is too large for a {what} ({path.stat().st_size:,} bytes)")
        return json.loads(path.read_bytes().decode("utf-8"), object_pairs_hook=no_duplicates)
    except FileNotFoundError:
        raise VoiceError(f"{path.parent} is not a {what}: it has no {path.name}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise VoiceError(f"{path} is corrupt: {getattr(e, 'strerror', None) or e}") from None


class Voice:
    """A voice folder with a checked config. Loading the model is the engine's job."""

    def __init__(self, folder: Path):
        self.folder = folder
        if not folder.is_dir():
            raise VoiceError(f"no voice folder at {folder}")
        self.config = VoiceConfig.parse(read_json(folder / CONFIG_FILE, "voice"), str(folder / CONFIG_FILE))
        if self.config.format >= 2 and not self.onnx_path.is_file():
            raise VoiceError(f"voice {self.name}: {self.onnx_path} is missing (format {self.config.format} "
                             "voices carry their compiled model)")
        if not self.weights_path.is_file():
            raise VoiceError(f"voice {self.name}: {self.weights_path} is missing")

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def weights_path(self) -> Path:
        return self.folder / WEIGHTS_FILE

    @property
    def onnx_path(self) -> Path:
        return self.folder / ONNX_FILE

    @property
    def has_onnx(self) -> bool:
        return self.config.format >= 2

    def load_model(self):
        """The torch acoustic model with its weights (builders, torch backends)."""
        from ..model.acoustic import load_acoustic_model

        return load_acoustic_model(self)


def embedded_voices_dir() -> Path:
    return Path(__file__).parent.parent / "assets" / "voices"


def installed_voices_dir() -> Path:
    return cache_dir() / "voices"


def installed_voice_names() -> list[str]:
    """Voices found by name: installed and embedded folders with a config (staging
    folders, which start with '.', and anything else are ignored)."""
    names = set()
    for folder in (embedded_voices_dir(), installed_voices_dir()):
        try:
            entries = list(folder.iterdir()) if folder.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            try:
                checked_name(entry.name)
            except Exception:  # noqa: BLE001 - not a name we could have written: not a voice
                continue
            if (entry / CONFIG_FILE).is_file():
                names.add(entry.name)
    return sorted(names)


def looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith(".") or name.startswith("~")


def find_voice(name: str | None) -> Voice:
    """A voice by name (installed, else embedded) or by the path of its folder."""
    from ..errors import InputError

    name = name or DEFAULT_VOICE
    if looks_like_path(name):
        path = Path(name).expanduser()
        if not path.is_dir():
            raise VoiceError(f"no voice folder at {path}")
        return Voice(path)
    checked_name(name, error=InputError)
    for folder in (installed_voices_dir(), embedded_voices_dir()):
        if (folder / name / CONFIG_FILE).is_file():
            return Voice(folder / name)
    known = ", ".join(installed_voice_names()) or "none"
    if name == DEFAULT_VOICE:
        raise VoiceError(f"the default voice {DEFAULT_VOICE} is not installed (installed voices: {known}); "
                         "give a voice folder with --voice PATH")
    raise VoiceError(f"unknown voice {name!r}; installed voices: {known}")
