"""The teacher: hibari-tts (Apache-2.0), a 6M-parameter English voice distilled from
Kokoro-82M's af_heart, run on *our* phonemes so its durations line up with our tokens.

hibari's ONNX graph computes a duration per input id but does not output it; we add
that tensor (the graph's only Clip node, `/Clip_output_0`) as an extra output. Units
are 25 ms: twice a duration is the number of the model's 12.5 ms frames (hop 300 at
24 kHz), and the frames add up exactly to the audio.

The edges are not where the durations say. The pad before the text lasts until after the
first phoneme has begun (the "Th" of "Thunder" lies wholly inside it), and the last phonemes
run on into silence. So the edges are found in the audio: silence is what stays below
SILENCE_RMS, a speech edge is moved EDGE_MARGIN frames out into it, and what is left of the
silence (at most MAX_EDGE_FRAMES) belongs to the word boundaries that frame the sentence.
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
SILENCE_RMS = 1e-3  # -60 dBFS over a 12.5 ms frame; the teacher's pauses are digital silence
EDGE_MARGIN = 2  # frames (25 ms) of the quiet attack or release kept with the speech
MAX_EDGE_FRAMES = 16  # 200 ms: the teacher pads with up to 400 ms, which teaches nothing more

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
    audio: np.ndarray  # float32 at 24 kHz, its edge silences cut to at most MAX_EDGE_FRAMES
    # Teacher frames (12.5 ms) per symbol of the framed sentence: the leading silence, each
    # symbol, the trailing silence. They add up to the audio's frames.
    frames: np.ndarray
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
        frames = np.zeros(len(symbols) + 2, np.int64)  # framed: the edges are symbols 0 and -1
        frames[0] = frames_per_id[0]
        np.add.at(frames, np.asarray(owner[1:]) + 1, frames_per_id[1:])
        pulses = self.dsp.pulses(f0).astype(np.float32)
        first, last = move_edges(frame_levels(audio, len(f0)), frames)
        cut = slice(first * TEACHER_HOP, last * TEACHER_HOP)
        return TeacherOutput(audio[cut], frames, f0[first:last].astype(np.float32), pulses[cut])


def frame_levels(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS of each 12.5 ms teacher frame."""
    padded = np.zeros(n_frames * TEACHER_HOP, np.float64)
    padded[: min(len(audio), len(padded))] = audio[: len(padded)]
    return np.sqrt((padded.reshape(n_frames, TEACHER_HOP) ** 2).mean(1))


def move_edges(levels: np.ndarray, frames: np.ndarray) -> tuple[int, int]:
    """Give the edge symbols (frames[0], frames[-1]) exactly the silence before and after the
    speech, taking it from or giving it to their neighbours, and cap it at MAX_EDGE_FRAMES.
    Changes `frames` in place; returns the first and the end frame of the audio to keep."""
    total = int(frames.sum())
    loud = np.flatnonzero(levels[:total] > SILENCE_RMS)
    if len(loud) == 0:  # nothing audible: all of it is the leading edge's
        frames[:] = 0
        frames[0] = min(total, MAX_EDGE_FRAMES)
        return 0, int(frames[0])
    onset = max(0, int(loud[0]) - EDGE_MARGIN)
    end = min(total, int(loud[-1]) + 1 + EDGE_MARGIN)
    _set_edge(frames, onset)
    _set_edge(frames[::-1], total - end)  # a view: the trailing edge
    first = max(0, onset - MAX_EDGE_FRAMES)
    last = min(total, end + MAX_EDGE_FRAMES)
    frames[0] -= first
    frames[-1] -= total - last
    return first, last


def _set_edge(frames: np.ndarray, silence: int) -> None:
    """Make frames[0] hold `silence` frames: the frames between the edge's old length and the
    new one move to (or come from) the symbols after it, in order."""
    surplus = int(frames[0]) - silence
    frames[0] = silence
    if surplus > 0:  # the edge held speech: it goes to the first symbol
        frames[1] += surplus
        return
    need = -surplus  # the first symbols hold silence: take it from them, in order
    for i in range(1, len(frames)):
        taken = min(need, int(frames[i]))
        frames[i] -= taken
        need -= taken
        if need == 0:
            return
