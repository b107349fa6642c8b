"""The teacher: hibari-tts (Apache-2.0), a 6M-parameter English voice distilled from
Kokoro-82M's af_heart, run on *our* phonemes so its durations line up with our tokens.

hibari's ONNX graph computes a duration per input id but does not output it; we add
that tensor (the graph's only Clip node, `/Clip_output_0`) as an extra output. Units
are 25 ms: twice a duration is the number of the model's 12.5 ms frames (hop 300 at
24 kHz), and the frames add up exactly to the audio.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LightspeechError
from ..text.symbols import PUNCTUATION, WORD_BOUNDARY

TEACHER_RATE = 24000
TEACHER_HOP = 300
DURATION_OUTPUT = "/Clip_output_0"

# ARPAbet -> misaki (Kokoro's alphabet), stress marks going before the vowel.
VOWELS = {
    "AA": "ɑ",
    "AE": "æ",
    "AO": "ɔ",
    "AW": "W",
    "AY": "I",
    "EH": "ɛ",
    "EY": "A",
    "IH": "ɪ",
    "IY": "i",
    "OW": "O",
    "OY": "Y",
    "UH": "ʊ",
    "UW": "u",
}
CONSONANTS = {
    "B": "b",
    "CH": "ʧ",
    "D": "d",
    "DH": "ð",
    "F": "f",
    "G": "ɡ",
    "HH": "h",
    "JH": "ʤ",
    "K": "k",
    "L": "l",
    "M": "m",
    "N": "n",
    "NG": "ŋ",
    "P": "p",
    "R": "ɹ",
    "S": "s",
    "SH": "ʃ",
    "T": "t",
    "TH": "θ",
    "V": "v",
    "W": "w",
    "Y": "j",
    "Z": "z",
    "ZH": "ʒ",
}
STRESS = {"0": "", "1": "ˈ", "2": "ˌ"}


def to_misaki(symbol: str) -> str:
    """One of our symbols as the teacher's characters."""
    if symbol == WORD_BOUNDARY:
        return " "
    if symbol in PUNCTUATION:
        return symbol
    if symbol in CONSONANTS:
        return CONSONANTS[symbol]
    vowel, stress = symbol[:-1], symbol[-1]
    if vowel == "AH":
        return "ə" if stress == "0" else STRESS[stress] + "ʌ"
    if vowel == "ER":
        return "əɹ" if stress == "0" else STRESS[stress] + "ɜɹ"
    return STRESS[stress] + VOWELS[vowel]


@dataclass
class TeacherOutput:
    audio: np.ndarray  # float32 at 24 kHz, leading silence cut
    frames: np.ndarray  # teacher frames (12.5 ms) per symbol; the last symbol keeps the trailing silence
    f0: np.ndarray  # Hz per teacher frame, aligned with `audio`
    # The pulse train its DSP filtered to make the voiced sound (24 kHz, aligned with `audio`):
    # its phase runs from the first frame of the sentence, so the F0 alone cannot rebuild it.
    pulses: np.ndarray


class Teacher:
    def __init__(self, cache: Path, threads: int = 1):
        try:
            import hibari
            import onnx
            import onnxruntime
        except ImportError:
            raise LightspeechError("training needs the teacher: pip install '.[train]'") from None
        from hibari import dsp

        self.dsp = dsp
        assets = Path(hibari.__file__).parent / "assets"
        self.vocab = json.loads((assets / "vocab.json").read_text(encoding="utf-8"))
        model_path = cache / "hibari-with-durations.onnx"
        if not model_path.exists():
            cache.mkdir(parents=True, exist_ok=True)
            graph = onnx.load(str(assets / "hibari.onnx"))
            graph.graph.output.append(onnx.helper.make_tensor_value_info(DURATION_OUTPUT, onnx.TensorProto.FLOAT, None))
            staging = model_path.with_suffix(".part")
            onnx.save(graph, str(staging))
            os.replace(staging, model_path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def __call__(self, symbols: list[str], seed: int) -> TeacherOutput:
        ids, owner = [0], [-1]  # the pad before the text belongs to nobody
        for index, symbol in enumerate(symbols):
            for character in to_misaki(symbol):
                ids.append(self.vocab[character])
                owner.append(index)
        ids.append(0)
        owner.append(len(symbols) - 1)  # the closing pad is the pause after the final punctuation
        outputs = self.session.run(None, {"ids": np.asarray([ids], np.int64), "speed": np.asarray([1.0], np.float32)})
        *frame_outputs, durations = outputs
        lh, theta, ln, lr, phi, f0 = (o[0] for o in frame_outputs)
        audio = self.dsp.synth(lh, theta, ln, lr, phi, f0, np.random.default_rng(seed)).astype(np.float32)
        frames_per_id = np.rint(durations * 2).astype(np.int64)
        frames = np.zeros(len(symbols), np.int64)
        np.add.at(frames, np.asarray(owner[1:]), frames_per_id[1:])
        lead = int(frames_per_id[0])
        pulses = self.dsp.pulses(f0).astype(np.float32)
        cut = lead * TEACHER_HOP
        return TeacherOutput(audio[cut:], frames, f0[lead:].astype(np.float32), pulses[cut : len(audio)])
