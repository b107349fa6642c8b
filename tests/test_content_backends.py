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


def test_a_postnet_voice_keeps_its_int64_batch_norm_counters_and_runs_on_every_backend(tmp_path):
    """Weights are float16 or float32, but a postnet's batch norms count their steps in
    int64: such a voice must save, load and give the same mel on every backend (the type
    check refused it once), and a counter of another type is still refused."""
    import pytest
    import torch
    from safetensors.torch import load_file, save_file

    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.voice import Voice

    from .conftest import make_tiny_voice

    voice = make_tiny_voice(tmp_path / "postnet", architecture="sep5 | sep5 hidden=16 postnet=1")
    weights = load_file(voice.weights_path)
    assert weights["postnet.convs.1.num_batches_tracked"].dtype == torch.int64
    ids = np.asarray([[10, 20, 30, 3]], np.int64)
    ones = np.ones((1, 4), np.float32)
    mels = [engine.acoustic_model(voice, backend, threads=1)(ids, ones, ones, ones)[0] for backend in ("eager", "onnx")]
    assert mels[0].shape[1] > 0
    np.testing.assert_allclose(mels[1], mels[0], rtol=0, atol=1e-4)

    weights["postnet.convs.1.num_batches_tracked"] = weights["postnet.convs.1.num_batches_tracked"].float()
    save_file(weights, voice.weights_path)
    with pytest.raises(VoiceError, match=r"holds 'postnet.convs.1.num_batches_tracked' as 'F32', not I64 \(int64\)$"):
        Voice(voice.folder)


def test_a_folders_graph_reads_its_weights_from_its_safetensors_file(tmp_path, tiny_voice):
    """model.onnx holds no second copy of the weights: each of its weights is external data
    at a tensor's exact place in model.safetensors (transposed ones too: the acoustic
    model's Linear layers), and what it still embeds is the exporter's few constants."""
    import json

    import onnx

    from .conftest import make_tiny_vocoder

    make_tiny_vocoder(tmp_path / "vocoder", source="pulses")
    for folder in (tiny_voice.folder, tmp_path / "vocoder"):
        raw = (folder / "model.safetensors").read_bytes()
        data_start = 8 + int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:data_start])
        places = {
            (data_start + entry["data_offsets"][0], entry["data_offsets"][1] - entry["data_offsets"][0])
            for name, entry in header.items()
            if name != "__metadata__"
        }
        graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
        external = [tensor for tensor in graph.initializer if tensor.data_location == onnx.TensorProto.EXTERNAL]
        for tensor in external:
            fields = {entry.key: entry.value for entry in tensor.external_data}
            assert fields["location"] == "model.safetensors", fields
            assert (int(fields["offset"]), int(fields["length"])) in places, (tensor.name, fields)
        embedded = sum(len(t.raw_data) for t in graph.initializer) + sum(
            len(a.t.raw_data) for node in graph.node for a in node.attribute if a.type == onnx.AttributeProto.TENSOR
        )
        assert embedded < 8_000, (folder, embedded)
