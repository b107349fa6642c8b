"""Architecture descriptions: the one thing that says what an acoustic model is.

Written as in the paper, encoder layers, `|`, decoder layers, then settings:

    sep5 sep25 sep13 sep9 | sep17 sep21 sep9 sep13 hidden=256 predictor=sep

FastSpeech 2, LightSpeech and every candidate of the search are such strings; the
search writes them and `--arch` reads them. This module is plain Python (no torch):
a voice's config holds a description, and the runtime validates it without building
the model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# The paper's search space, one token per operation; model/ops.py maps each to a layer.
SEP_KERNELS = (1, 5, 9, 13, 17, 21, 25)
ATTENTION_HEADS = (2, 4, 8)
SEARCH_SPACE = tuple(f"sep{k}" for k in SEP_KERNELS) + tuple(f"att{h}" for h in ATTENTION_HEADS) + ("ffn", "identity")
PREDICTOR_TYPES = ("conv", "sep")
# Far beyond any sensible voice (FastSpeech 2 has 28.8M parameters), and small enough that
# a hostile config cannot make the model builder allocate gigabytes.
MAX_HIDDEN = 1024
MAX_LAYERS = 12
MAX_OPS_PER_LAYER = 3
MAX_LAYER_PARAMETERS = 100_000_000
MAX_DESCRIPTION_CHARS = 400


def operation_parameters(op: str, hidden: int) -> int:
    """Parameters of one operation of the search space (tests check it against torch)."""
    h = hidden
    if op.startswith("sep"):
        kernel = int(op[3:])
        return 2 * h + 2 * (h * kernel + h + h * h + h)  # norm, then twice depthwise + pointwise
    if op.startswith("att"):
        return 2 * h + 3 * h * h + 3 * h + h * h + h  # norm, qkv, output
    if op == "ffn":
        return 2 * h + h * 4 * h * 9 + 4 * h + 4 * h * h + h  # norm, kernel-9 expansion, projection
    return 0


@dataclass(frozen=True)
class Architecture:
    encoder: tuple[str, ...]
    decoder: tuple[str, ...]
    hidden: int = 256
    predictor: str = "sep"  # variance predictors: "conv" (FastSpeech 2) or "sep" (LightSpeech)
    postnet: bool = False  # Tacotron 2's 5-layer convolutional post-net after the mel projection

    def __post_init__(self):
        for layer in self.encoder + self.decoder:
            ops = layer.split("+")
            if len(ops) > MAX_OPS_PER_LAYER:
                raise ValueError(f"a layer joins at most {MAX_OPS_PER_LAYER} operations, not {len(ops)}")
            for op in ops:
                if op not in SEARCH_SPACE:
                    raise ValueError(f"unknown operation {op[:30]!r}; the search space is {' '.join(SEARCH_SPACE)}")
        if self.predictor not in PREDICTOR_TYPES:
            raise ValueError(f"unknown predictor {self.predictor[:30]!r}; use {' or '.join(PREDICTOR_TYPES)}")
        if not 8 <= self.hidden <= MAX_HIDDEN or self.hidden % 8:
            raise ValueError(f"hidden size must be a multiple of 8 from 8 to {MAX_HIDDEN}, not {self.hidden}")
        if not self.encoder or not self.decoder:
            raise ValueError("an architecture needs at least one encoder and one decoder layer")
        if max(len(self.encoder), len(self.decoder)) > MAX_LAYERS:
            raise ValueError(f"an encoder or decoder has at most {MAX_LAYERS} layers")
        layer_parameters = sum(
            operation_parameters(op, self.hidden) for layer in self.encoder + self.decoder for op in layer.split("+")
        )
        if layer_parameters > MAX_LAYER_PARAMETERS:
            raise ValueError(
                f"the layers would hold {layer_parameters:,} parameters; at most {MAX_LAYER_PARAMETERS:,} are allowed"
            )

    def __str__(self) -> str:
        return (
            f"{' '.join(self.encoder)} | {' '.join(self.decoder)} "
            f"hidden={self.hidden} predictor={self.predictor} postnet={int(self.postnet)}"
        )

    def with_hidden(self, hidden: int) -> "Architecture":
        return replace(self, hidden=hidden)

    @classmethod
    def parse(cls, text: str) -> "Architecture":
        """A preset name or a description string."""
        if len(text) > MAX_DESCRIPTION_CHARS:
            raise ValueError(f"an architecture description is at most {MAX_DESCRIPTION_CHARS} characters")
        text = text.strip()
        if text in PRESETS:
            return PRESETS[text]
        if text.count("|") != 1:
            raise ValueError(
                f"an architecture is a preset ({', '.join(PRESETS)}) or "
                f"'ENCODER LAYERS | DECODER LAYERS [hidden=N] [predictor=conv|sep]', not {text!r}"
            )
        encoder_part, decoder_part = text.split("|")
        settings = {}
        decoder = []
        for token in decoder_part.split():
            if "=" in token:
                key, value = token.split("=", 1)
                settings[key] = value
            else:
                decoder.append(token)
        unknown = set(settings) - {"hidden", "predictor", "postnet"}
        if unknown:
            raise ValueError(f"unknown architecture setting {sorted(unknown)[0]!r}")
        if not settings.get("hidden", "256").isascii() or not settings.get("hidden", "256").isdigit():
            raise ValueError(f"hidden must be a number, not {settings['hidden']!r}")
        if settings.get("postnet", "0") not in ("0", "1"):
            raise ValueError(f"postnet must be 0 or 1, not {settings['postnet']!r}")
        return cls(
            tuple(encoder_part.split()),
            tuple(decoder),
            hidden=int(settings.get("hidden", 256)),
            predictor=settings.get("predictor", "sep"),
            postnet=settings.get("postnet") == "1",
        )


PRESETS = {
    # The paper's baseline: four transformer blocks (2-head attention + feed-forward)
    # on each side, convolutional variance predictors, a post-net.
    "fastspeech2": Architecture(("att2+ffn",) * 4, ("att2+ffn",) * 4, hidden=256, predictor="conv", postnet=True),
    # The architecture LightSpeech's search found (paper, Table 3).
    "lightspeech": Architecture(
        ("sep5", "sep25", "sep13", "sep9"), ("sep17", "sep21", "sep9", "sep13"), hidden=256, predictor="sep"
    ),
}
