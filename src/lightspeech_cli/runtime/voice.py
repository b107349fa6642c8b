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
than a crash, a huge allocation or noise later. runtime/format/arch.py, which parses the
architecture description, is plain Python: the voice format includes it.

Loading a folder (`Voice`, and vocoder.py's `VocoderFolder`) also checks its files
before anything runs: each one read is a regular file (never a FIFO that would hang
the read), and the weights' tensor names and shapes, read from the safetensors header,
are those the config's model needs (the ONNX model would otherwise run on regardless).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..errors import InputError, VoiceError
from ..paths import NAME_PATTERN, cache_dir, checked_name, readable_folder, shown
from ..text.symbols import DEFAULT_SYMBOL_SET, SYMBOL_SETS

FORMAT_VERSIONS = (1, 2)
CURRENT_FORMAT = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
ACOUSTIC_OUTPUTS = ["mel", "durations"]  # what a voice's graph gives (model/export.py, export_acoustic)
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


def name_check(value):
    return checked_name(value, "name", error=SchemaError)


def architecture(value):
    from .format.arch import Architecture

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
        "sample_rate": (integer(8000, 96000), 22050),
        "n_fft": (integer(64, 8192), 1024),
        "hop_length": (integer(16, 8192), 256),
        "win_length": (integer(16, 8192), 1024),
        "n_mels": (integer(1, 512), 80),
        "fmin": (number(0.0, 48000.0), 0.0),
        "fmax": (number(0.0, 48000.0), 8000.0),
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
    n_symbols: int = len(SYMBOL_SETS[DEFAULT_SYMBOL_SET])
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
        from .format.arch import Architecture

        return Architecture.parse(self.architecture)

    def expected_weights(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor an acoustic model of this config holds: the modules
        of model/acoustic.py and model/ops.py, spelled out without torch (a test checks this
        against the torch model's state_dict for every kind of layer). A voice's weights
        must have exactly these (`check_weights`)."""
        arch, h = self.arch, self.arch.hidden
        shapes: dict[str, tuple[int, ...]] = {}

        def norm(prefix: str, size: int = h) -> None:
            shapes[f"{prefix}.weight"], shapes[f"{prefix}.bias"] = (size,), (size,)

        def layer(prefix: str, weight: tuple[int, ...]) -> None:  # Linear, Conv1d, Embedding: bias = output size
            shapes[f"{prefix}.weight"], shapes[f"{prefix}.bias"] = weight, weight[:1]

        def stack(prefix: str, layers: tuple[str, ...]) -> None:
            for i, spec in enumerate(layers):
                for j, op in enumerate(spec.split("+")):
                    at = f"{prefix}.layers.{i}.ops.{j}"
                    if op.startswith("sep"):
                        norm(f"{at}.norm")
                        for block in range(2):
                            layer(f"{at}.blocks.{block}.0", (h, 1, int(op[3:])))
                            layer(f"{at}.blocks.{block}.1", (h, h, 1))
                    elif op.startswith("att"):
                        norm(f"{at}.norm")
                        layer(f"{at}.qkv", (3 * h, h))
                        layer(f"{at}.out", (h, h))
                    elif op == "ffn":
                        norm(f"{at}.norm")
                        layer(f"{at}.expand", (4 * h, h, 9))
                        layer(f"{at}.project", (h, 4 * h, 1))
            norm(f"{prefix}.norm")

        shapes["encoder.embedding.weight"] = (self.n_symbols, h)
        stack("encoder.stack", arch.encoder)
        k = self.predictor_kernel
        for predictor in ("duration_predictor", "pitch_predictor", "energy_predictor"):
            for block in range(2):
                at = f"{predictor}.blocks.{block}"
                if arch.predictor == "sep":
                    layer(f"{at}.0", (h, 1, k))
                    layer(f"{at}.1", (h, h, 1))
                    norm(f"{at}.3.module")
                else:
                    layer(f"{at}.0", (h, h, k))
                    norm(f"{at}.2.module")
            layer(f"{predictor}.project", (1, h))
        shapes["pitch_embedding.weight"] = shapes["energy_embedding.weight"] = (self.variance_bins, h)
        stack("decoder", arch.decoder)
        layer("mel_projection", (self.n_mels, h))
        if arch.postnet:  # five convolutions of 512 channels, each with a batch norm
            channels = [self.n_mels] + [512] * 4 + [self.n_mels]
            for i in range(5):
                index = 4 * i  # conv, norm, tanh, dropout
                layer(f"postnet.convs.{index}", (channels[i + 1], channels[i], 5))
                norm(f"postnet.convs.{index + 1}", channels[i + 1])
                shapes[f"postnet.convs.{index + 1}.running_mean"] = shapes[f"postnet.convs.{index + 1}.running_var"] = (
                    channels[i + 1],
                )
                shapes[f"postnet.convs.{index + 1}.num_batches_tracked"] = ()
        return shapes

    def to_dict(self) -> dict:
        return asdict(self)

    def graph_settings(self) -> dict:
        """The fields an exported graph computes with: all but dropout, which training alone uses."""
        return {key: value for key, value in self.to_dict().items() if key != "dropout"}


NORMALIZATION_SCHEMA = {
    key: (number(-1000.0, 1000.0), REQUIRED)
    for key in ("pitch_log_mean", "pitch_log_std", "energy_log_mean", "energy_log_std")
}


@dataclass
class VoiceConfig:
    name: str
    model: ModelConfig
    audio: AudioConfig = field(default_factory=AudioConfig)
    language: str = "en-US"
    symbol_set: str = DEFAULT_SYMBOL_SET
    vocoder: str = "en-us-istft"
    licence: str = "MIT"
    description: str = ""
    # Means and deviations of log F0 and log energy in the training data (for the record).
    normalization: dict = field(default_factory=dict)
    format: int = CURRENT_FORMAT

    SCHEMA: ClassVar[dict[str, tuple[Check, Any]]] = {
        "format": (integer(min(FORMAT_VERSIONS), max(FORMAT_VERSIONS)), REQUIRED),
        "name": (name_check, REQUIRED),
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
            raise VoiceError(
                f"{where}: voice format {shown(data.get('format'))} is not one this lightspeech "
                f"reads ({', '.join(map(str, FORMAT_VERSIONS))}); upgrade lightspeech"
            )
        clean = read_section(data, cls.SCHEMA, where)
        audio = AudioConfig.parse(clean["audio"], f"{where} audio")
        model = ModelConfig.parse(clean["model"], f"{where} model")
        if model.n_symbols != len(SYMBOL_SETS[clean["symbol_set"]]):
            raise VoiceError(f"{where}: the model's n_symbols does not match symbol set {clean['symbol_set']}")
        if model.n_mels != audio.n_mels:
            raise VoiceError(f"{where}: the model's n_mels does not match the audio's")
        normalization = clean["normalization"]
        normalization = (
            {}
            if normalization in (None, {})
            else read_section(normalization, NORMALIZATION_SCHEMA, f"{where} normalization")
        )
        return cls(
            name=clean["name"],
            model=model,
            audio=audio,
            language=clean["language"],
            symbol_set=clean["symbol_set"],
            vocoder=clean["vocoder"],
            licence=clean["licence"],
            description=clean["description"],
            normalization=normalization,
            format=clean["format"],
        )

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "name": self.name,
            "language": self.language,
            "symbol_set": self.symbol_set,
            "vocoder": self.vocoder,
            "licence": self.licence,
            "description": self.description,
            "audio": self.audio.to_dict(),
            "model": self.model.to_dict(),
            "normalization": self.normalization,
        }


# --- the files of a voice or vocoder folder --------------------------------------------


def check_folder(folder: Path, what: str) -> None:
    """Refuse `folder` unless it is a folder. A path the system cannot look up (a name
    too long, a folder not searchable) is one InputError, not an OSError from deep inside."""
    try:
        found = folder.is_dir()
    except OSError as e:
        raise InputError(f"cannot use {shown(str(folder), 100)} as a {what} folder: {e.strerror or e}") from None
    if not found:
        raise VoiceError(f"no {what} folder at {folder}")


def regular_file(path: Path) -> Path:
    """`path` if it is a regular file (links followed). Files in a folder the user names
    are opened only after this: a FIFO would wait for a writer forever, a device might
    never end. A missing file stays a FileNotFoundError, for the caller to word."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise VoiceError(f"{path} is not a regular file (a folder, FIFO, device or socket)")
    return path


def check_file(path: Path, owner: str) -> None:
    """That a file `owner` (a voice or vocoder) needs is there and is a regular file."""
    try:
        regular_file(path)
    except FileNotFoundError:
        raise VoiceError(f"{owner}: {path} is missing") from None
    except OSError as e:
        raise VoiceError(f"{owner}: cannot read {path}: {e.strerror or e}") from None


# What a weights file's tensors may be: float32, or float16 as export stores them since
# 2026-12-03 (model/export.py, half_precision_copy); batch norm's step counter (a postnet's)
# is an int64.
WEIGHT_DTYPES = ("F32", "F16")
COUNTER_SUFFIX, COUNTER_DTYPES = ".num_batches_tracked", ("I64",)
DTYPE_NAMES = {"F32": "float32", "F16": "float16", "I64": "int64"}


# The ONNX metadata entry that names the weights file layout a graph reads its weights from
# (model/export.py, read_weights_beside): the graph holds byte offsets into that file.
WEIGHTS_LAYOUT_KEY = "lightspeech.weights_layout"


def weights_header(stored: bytes) -> bytes:
    """The JSON header of a safetensors file's bytes: its tensors' names, types, shapes and
    byte offsets, counted from the header's end (8 + its length)."""
    return stored[8 : 8 + int.from_bytes(stored[:8], "little")]


def weights_layout(stored: bytes) -> str:
    """A hash of a safetensors file's header, which is all that a graph reading weights
    from the file depends on."""
    import hashlib

    return hashlib.sha256(weights_header(stored)).hexdigest()


# The ONNX metadata entry that records the config.json section a folder's graph was exported
# from (model/export.py, read_weights_beside), as `section_digest`: the graph holds that
# section's values (sizes, the architecture, pitch_log_std), so an edit of it, which the torch
# backends follow, must not run on the graph's old values.
GRAPH_SOURCE_KEY = "lightspeech.graph_source"


def section_digest(section: dict) -> str:
    """A hash of a config section (names to numbers and text) that does not depend on the
    order of its fields or on how a whole number is written (4 or 4.0)."""
    import hashlib

    canonical = {
        key: float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        for key, value in section.items()
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class GraphSource:
    """The config.json section a folder's graph is made from, for the engine to compare
    with what the graph records (GRAPH_SOURCE_KEY)."""

    owner: str  # "voice NAME", "vocoder NAME"
    section: str  # its key in config.json
    settings: dict

    @property
    def digest(self) -> str:
        return section_digest(self.settings)


def check_weights(path: Path, expected: dict[str, tuple[int, ...]], owner: str) -> None:
    """That a safetensors file holds exactly the `expected` tensors (name -> shape), each
    float32 or float16 (a batch norm's counter int64), so weights of another architecture,
    size or type are refused before any model runs. Reads only the file's header (about a
    millisecond)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="numpy") as weights:
            tensors = {name: weights.get_slice(name) for name in weights.keys()}
            shapes = {name: tuple(tensor.get_shape()) for name, tensor in tensors.items()}
            dtypes = {name: tensor.get_dtype() for name, tensor in tensors.items()}
    except (SafetensorError, OSError, ValueError) as e:
        raise VoiceError(f"{owner}: {path.name} is corrupt ({str(e)[:200]})") from None
    problems = [f"{shown(name)} is missing" for name in sorted(set(expected) - set(shapes))]
    problems += [f"{shown(name)} is not part of it" for name in sorted(set(shapes) - set(expected))]
    problems += [
        f"{shown(name)} has shape {list(shapes[name])}, not {list(expected[name])}"
        for name in sorted(set(expected) & set(shapes))
        if shapes[name] != expected[name]
    ]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VoiceError(f"{owner}: its weights do not fit the model its config describes: {problems[0]}{more}")

    def allowed(name: str) -> tuple[str, ...]:
        return COUNTER_DTYPES if name.endswith(COUNTER_SUFFIX) else WEIGHT_DTYPES

    odd = next((name for name in sorted(dtypes) if dtypes[name] not in allowed(name)), None)
    if odd is not None:
        codes = " or ".join(allowed(odd))
        names = " or ".join(DTYPE_NAMES[dtype] for dtype in allowed(odd))
        raise VoiceError(f"{owner}: {path.name} holds {shown(odd)} as {shown(dtypes[odd])}, not {codes} ({names})")


def read_json(path: Path, what: str) -> object:
    """A small JSON file from outside: a regular file, size-limited, UTF-8, duplicate
    keys refused (a second "name" must not silently win)."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        duplicated = next((k for k in keys if keys.count(k) > 1), None)
        if duplicated is not None:
            raise ValueError(f"duplicate key {shown(duplicated)}")
        return dict(pairs)

    try:
        with open(regular_file(path), "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise VoiceError(f"{path} is too large for a {what} (more than {MAX_CONFIG_BYTES:,} bytes)")
        return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except FileNotFoundError:
        raise VoiceError(f"{path.parent} is not a {what}: it has no {path.name}") from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise VoiceError(f"{path} is corrupt: its JSON nests too deep") from None
    except OSError as e:
        raise VoiceError(f"cannot read {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise VoiceError(f"{path} is corrupt: {e}") from None


class Voice:
    """A voice folder with a checked config, and the files it needs: regular files, the
    weights fitting the config. Loading the model is the engine's job."""

    def __init__(self, folder: Path):
        self.folder = folder
        check_folder(folder, "voice")
        self.config = VoiceConfig.parse(read_json(folder / CONFIG_FILE, "voice"), str(folder / CONFIG_FILE))
        owner = f"voice {self.name}"
        if self.has_onnx:
            check_file(self.onnx_path, owner)
        check_file(self.weights_path, owner)
        check_weights(self.weights_path, self.config.model.expected_weights(), owner)

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

    @property
    def graph_source(self) -> GraphSource:
        """The acoustic graph depends on the model section alone: of the audio settings, only
        n_mels, which the model section holds too (and parsing checks they agree)."""
        return GraphSource(f"voice {self.name}", "model", self.config.model.graph_settings())


def embedded_voices_dir() -> Path:
    return Path(__file__).parent.parent / "assets" / "voices"


def installed_voices_dir() -> Path:
    return readable_folder(cache_dir() / "voices")


def holds_config(folder: Path) -> bool:
    """Whether `folder` holds a config.json; one that cannot be looked up (in a folder not
    readable) counts, so that loading the folder says why it cannot."""
    try:
        return (folder / CONFIG_FILE).is_file()
    except OSError:
        return True


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
            if holds_config(entry):
                names.add(entry.name)
    return sorted(names)


def looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith(".") or name.startswith("~")


def is_local_folder(name: str) -> bool:
    """A folder of the current directory written without "./" (`-v MyVoice`): a path, when
    it holds a config.json and nothing of that name is installed."""
    return (Path(name) / CONFIG_FILE).is_file()


def find_voice(name: str | None) -> Voice:
    """A voice by name (installed, else embedded) or by the path of its folder."""
    if name == "":
        raise InputError("the voice name is empty: give a name or a folder, or leave it out for the default voice")
    name = name or DEFAULT_VOICE
    if looks_like_path(name):
        return Voice(Path(name).expanduser())
    if NAME_PATTERN.fullmatch(name):
        for folder in (installed_voices_dir(), embedded_voices_dir()):
            if holds_config(folder / name):
                return Voice(folder / name)
    if is_local_folder(name):
        return Voice(Path(name))
    checked_name(name, error=InputError)
    known = ", ".join(installed_voice_names()) or "none"
    if name == DEFAULT_VOICE:
        raise VoiceError(
            f"the default voice {DEFAULT_VOICE} is not installed (installed voices: {known}); "
            "give a voice folder with --voice PATH"
        )
    raise VoiceError(f"unknown voice {name!r}; installed voices: {known}")
