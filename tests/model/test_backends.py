"""Every backend computes the same mel: the acoustic model's output compared directly,
before any vocoder (Griffin-Lim's iterations would blur a real difference into noise)."""

import numpy as np

from lightspeech_cli.runtime import engine
from lightspeech_cli.runtime.synthesizer import Synthesizer
from lightspeech_cli.text.symbols import SymbolSet


def test_every_backend_gives_the_same_mel_and_durations(tiny_voice):
    sentence = Synthesizer(tiny_voice, vocoder="griffinlim").sentences("Hello world.")[0]
    ids = np.asarray([SymbolSet(tiny_voice.config.symbol_set).sentence_ids(sentence.phonemes)], np.int64)
    count = ids.shape[1]
    # Per-phoneme controls away from 1.0, so a backend that drops an input cannot pass.
    speed = np.resize(np.asarray([0.75, 1.0, 1.5, 2.0], np.float32), count)[None]  # 6 frames -> 8, 6, 4, 3
    pitch = np.linspace(1.3, 0.7, count, dtype=np.float32)[None]
    energy = np.full((1, count), 1.2, np.float32)
    outputs = {
        backend: engine.acoustic_model(tiny_voice, backend, threads=1)(ids, speed, pitch, energy)
        for backend in ("eager", "torchscript", "onnx")
    }
    eager_mel, eager_durations = outputs["eager"]
    assert eager_durations.tolist() == [[round(6 / s) for s in speed[0]]]
    assert eager_mel.shape == (1, int(eager_durations.sum()), tiny_voice.config.audio.n_mels)
    for backend in ("torchscript", "onnx"):
        mel, durations = outputs[backend]
        assert durations.tolist() == eager_durations.tolist(), backend
        assert mel.shape == eager_mel.shape, backend
        np.testing.assert_allclose(mel, eager_mel, rtol=0, atol=1e-4, err_msg=backend)
