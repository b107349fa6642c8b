"""Architecture descriptions: the one thing that says what an acoustic model is.

Written as in the paper, encoder layers, `|`, decoder layers, then settings:

    sep5 sep25 sep13 sep9 | sep17 sep21 sep9 sep13 hidden=256 predictor=sep

FastSpeech 2, LightSpeech and every candidate of the search are such strings; the
search writes them and `--arch` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .ops import SEARCH_SPACE

PREDICTOR_TYPES = ("conv", "sep")


@dataclass(frozen=True)
class Architecture:
    encoder: tuple[str, ...]
    decoder: tuple[str, ...]
    hidden: int = 256
    predictor: str = "sep"  # variance predictors: "conv" (FastSpeech 2) or "sep" (LightSpeech)
    postnet: bool = False  # Tacotron 2's 5-layer convolutional post-net after the mel projection

    def __post_init__(self):
        for layer in self.encoder + self.decoder:
            for op in layer.split("+"):
                if op not in SEARCH_SPACE:
                    raise ValueError(f"unknown operation {op!r}; the search space is {' '.join(SEARCH_SPACE)}")
        if self.predictor not in PREDICTOR_TYPES:
            raise ValueError(f"unknown predictor {self.predictor!r}; use {' or '.join(PREDICTOR_TYPES)}")
        if self.hidden < 8 or self.hidden % 8:
            raise ValueError(f"hidden size must be a positive multiple of 8, not {self.hidden}")
        if not self.encoder or not self.decoder:
            raise ValueError("an architecture needs at least one encoder and one decoder layer")

    def __str__(self) -> str:
        return (f"{' '.join(self.encoder)} | {' '.join(self.decoder)} "
                f"hidden={self.hidden} predictor={self.predictor} postnet={int(self.postnet)}")

    def with_hidden(self, hidden: int) -> "Architecture":
        return replace(self, hidden=hidden)

    @classmethod
    def parse(cls, text: str) -> "Architecture":
        """A preset name or a description string."""
        text = text.strip()
        if text in PRESETS:
            return PRESETS[text]
        if text.count("|") != 1:
            raise ValueError(f"an architecture is a preset ({', '.join(PRESETS)}) or "
                             f"'ENCODER LAYERS | DECODER LAYERS [hidden=N] [predictor=conv|sep]', not {text!r}")
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
        if not settings.get("hidden", "256").isdigit():
            raise ValueError(f"hidden must be a number, not {settings['hidden']!r}")
        if settings.get("postnet", "0") not in ("0", "1"):
            raise ValueError(f"postnet must be 0 or 1, not {settings['postnet']!r}")
        return cls(tuple(encoder_part.split()), tuple(decoder), hidden=int(settings.get("hidden", 256)),
                   predictor=settings.get("predictor", "sep"), postnet=settings.get("postnet") == "1")


PRESETS = {
    # The paper's baseline: four transformer blocks (2-head attention + feed-forward)
    # on each side, convolutional variance predictors, a post-net.
    "fastspeech2": Architecture(("att2+ffn",) * 4, ("att2+ffn",) * 4, hidden=256, predictor="conv", postnet=True),
    # The architecture LightSpeech's search found (paper, Table 3).
    "lightspeech": Architecture(("sep5", "sep25", "sep13", "sep9"), ("sep17", "sep21", "sep9", "sep13"),
                                hidden=256, predictor="sep"),
}
