"""Training a voice (train/fit.py): the whole pipeline on a tiny corpus, from sentences to a
voice and a vocoder that speak; what a damaged checkpoint, log or corpus is."""

import json
import math
import random
import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("hibari")

from lightspeech_cli.errors import InputError  # noqa: E402
from lightspeech_cli.model.acoustic import load_acoustic_model  # noqa: E402
from lightspeech_cli.model.istft import IstftVocoder  # noqa: E402
from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig  # noqa: E402
from lightspeech_cli.runtime.format.voice import ModelConfig  # noqa: E402
from lightspeech_cli.runtime.synthesizer import Controls, Synthesizer  # noqa: E402
from lightspeech_cli.train.corpus import build_corpus, read_metadata, resample  # noqa: E402
from lightspeech_cli.train.export import export_voice  # noqa: E402
from lightspeech_cli.train.features import extract_features  # noqa: E402
from lightspeech_cli.train.fit import (  # noqa: E402
    MEL_SEGMENT_FRAMES,
    fit,
    load_split,
    mel_segments,
    read_log,
    save_model_only,
)
from lightspeech_cli.train.teacher import Teacher  # noqa: E402
from lightspeech_cli.train.vocoder import VocoderData, add_pulse_source, export_vocoder, fit_vocoder  # noqa: E402

SENTENCES = [
    "Hello there, how are you?",
    "The quick brown fox jumps over the lazy dog.",
    "She paid $5.50 on Nov. 25, 2026.",
    "Is it raining in Paris today?",
]


def test_pipeline_on_a_tiny_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr("lightspeech_cli.train.corpus.HELD_OUT", 1)
    work = tmp_path / "work"
    total = build_corpus(SENTENCES, work / "corpus")
    metadata = read_metadata(work / "corpus")
    assert total == len(metadata) == 4 and [e["split"] for e in metadata].count("heldout") == 1
    first = np.load(work / "corpus" / "utterances" / "00001.npz")
    assert first["durations"].sum() == len(first["audio"]) // 256 == len(first["f0"])
    assert len(first["durations"]) == len(metadata[0]["phonemes"]) + 2  # framed by its edge silences
    lead, trail = first["durations"][0] * 256, first["durations"][-1] * 256
    assert 0 < lead <= round(0.2 * 22050) and 0 < trail <= round(0.2 * 22050) + 256
    edges = max(np.abs(first["audio"][:lead]).max(), np.abs(first["audio"][-trail:]).max())
    assert edges < 100  # below -50 dBFS
    assert np.abs(first["audio"][lead : lead + 1024]).max() > 2 * edges  # the first phoneme starts at once
    assert 150 < np.median(first["f0"][first["f0"] > 40]) < 350  # a female teacher voice
    # a second run resumes: nothing is synthesized again
    mtime = (work / "corpus" / "utterances" / "00001.npz").stat().st_mtime_ns
    build_corpus(SENTENCES, work / "corpus")
    assert (work / "corpus" / "utterances" / "00001.npz").stat().st_mtime_ns == mtime

    stats = extract_features(work / "corpus", work / "features")
    assert 4.8 < stats["pitch_log_mean"] < 5.9 and stats["pitch_log_std"] > 0
    features = np.load(work / "features" / "00001.npz")
    assert features["mel"].shape == (first["durations"].sum(), 80)
    assert json.loads((work / "features" / "stats.json").read_text())["symbol_set"] == "arpabet-2"
    # features of unframed ids (made before arpabet-2) are made again; an unframed corpus is refused
    np.savez(work / "features" / "00001.npz", **{**dict(features), "ids": features["ids"][1:-1]})
    extract_features(work / "corpus", work / "features")
    np.testing.assert_array_equal(np.load(work / "features" / "00001.npz")["ids"], features["ids"])
    older = tmp_path / "older"
    shutil.copytree(work / "corpus", older)
    kept = dict(np.load(older / "utterances" / "00001.npz"))
    np.savez(older / "utterances" / "00001.npz", **{**kept, "durations": kept["durations"][1:-1]})
    with pytest.raises(InputError, match=r"frames its sentences otherwise.*train corpus"):
        extract_features(older, tmp_path / "older-features")

    config = ModelConfig(
        architecture="sep5 | sep5 hidden=16",
        pitch_log_std=stats["pitch_log_std"],
        energy_log_std=stats["energy_log_std"],
    )
    fit(work / "corpus", work / "features", work / "run", config, steps=2, checkpoint_every=1, validate_every=1)
    fit(work / "corpus", work / "features", work / "run", config, steps=4, checkpoint_every=1, validate_every=2)
    log = read_log(work / "run" / "log.jsonl")
    assert [entry["step"] for entry in log] == [1, 2, 4]  # the second fit resumed at step 2
    assert torch.load(work / "run" / "checkpoint.pt", weights_only=True)["step"] == 4
    other = ModelConfig(architecture="sep9 | sep9 hidden=8")  # a search winner tried in the same folder
    with pytest.raises(InputError, match=r"another architecture \(sep5 \| sep5 hidden=16\).*--run NAME"):
        fit(work / "corpus", work / "features", work / "run", other, steps=5)

    # adversarial fine-tuning continues the run: mel discriminators join, and a resumed run keeps them
    def fit_in(folder, steps, adversarial=False):
        fit(work / "corpus", work / "features", work / folder, config, steps, adversarial=adversarial)

    def adam_steps(state):  # the updates an Adam optimizer's moments have seen
        return int(state["state"][0]["step"])

    fit_in("run", 5, adversarial=True)
    fit_in("run", 6, adversarial=True)
    log = read_log(work / "run" / "log.jsonl")
    assert [entry["step"] for entry in log] == [1, 2, 4, 5, 6] and "adversarial" not in log[2]["train"]
    assert log[-1]["settings"] == {"adversarial": True} and log[-1]["train"]["discriminator"] > 0
    checkpoint = torch.load(work / "run" / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 6 and adam_steps(checkpoint["mel_discriminator_optimizer"]) == 2
    # a plain run on it keeps the discriminators for a later adversarial one
    fit_in("run", 7)
    plain = torch.load(work / "run" / "checkpoint.pt", weights_only=True)
    assert plain["settings"] == {"adversarial": False} and adam_steps(plain["mel_discriminator_optimizer"]) == 2
    for name, weights in checkpoint["mel_discriminators"].items():
        assert torch.equal(plain["mel_discriminators"][name], weights)
    with pytest.raises(InputError, match=r"is at step 7: give --steps above it"):
        fit_in("run", 7)
    # the repository's checkpoint holds the model alone; a run goes on from it with fresh moments
    (work / "committed").mkdir()
    save_model_only(work / "run" / "checkpoint.pt", work / "committed" / "checkpoint.pt")
    committed = torch.load(work / "committed" / "checkpoint.pt", weights_only=True)
    assert set(committed) == {"model", "step", "seconds", "config", "machine", "settings"}
    fit_in("committed", 8)
    assert adam_steps(torch.load(work / "committed" / "checkpoint.pt", weights_only=True)["optimizer"]) == 1

    voice = export_voice(work, tmp_path / "voice", "tiny-trained", sentences=4, vocoder="griffinlim")
    card = (tmp_path / "voice" / "MODEL_CARD.md").read_text()
    assert "hibari-tts" in card and "sep5 | sep5 hidden=16" in card and "4 utterances" in card
    assert "lightspeech train corpus WORK --sentences 4\n" in card  # no --heldout: the corpus chose its own
    fit_commands = "\n".join(
        f"lightspeech train fit WORK --arch 'sep5 | sep5 hidden=16' --steps {steps}" for steps in (4, 6, 7)
    )
    assert fit_commands.replace("--steps 6", "--steps 6 --adversarial") in card  # one command a phase
    assert voice.has_onnx  # an exported voice speaks without torch
    assert voice.config.symbol_set == "arpabet-2"  # the features' ids are framed sentences
    synthesizer = Synthesizer(voice, vocoder="griffinlim")
    utterance = synthesizer.utterance(synthesizer.sentences("Hello.")[0], Controls(), edge_silence=0.0)
    assert len(utterance.audio) == sum(utterance.durations) * 256

    # the vocoder learns from the voice's prediction of each utterance, made in batches
    model = load_acoustic_model(voice)
    data = VocoderData(work, model, "train")
    utterances = load_split(work / "corpus", work / "features", "train")
    for utterance, predicted in zip(utterances, data.predicted, strict=True):
        alone = model.training_forward(
            *(getattr(utterance, name)[None] for name in ("ids", "durations", "pitch", "energy"))
        )["mel"][0]
        assert predicted.shape == utterance.mel.shape
        torch.testing.assert_close(predicted.float(), alone.detach(), atol=1e-2, rtol=1e-2)

    # with a pulse source, each utterance's pulses are the ones the teacher filtered, resampled
    # and cut like its audio
    tiny = IstftVocoderConfig(channels=16, hidden=32, layers=2)
    data = VocoderData(work, model, "train", config=tiny)
    f0 = first["f0"]
    spoken = Teacher(work / "corpus" / "teacher")(metadata[0]["phonemes"], seed=1)
    teacher_pulses = resample(spoken.pulses, 22050)[: len(first["audio"])]
    assert len(data.pulses[0]) == len(data.audio[0]) and (f0 > 40).any()
    torch.testing.assert_close(data.pulses[0], torch.from_numpy(teacher_pulses).half())
    # a corpus from before the pulses were kept: building it again adds them, and only them
    second = work / "corpus" / "utterances" / "00002.npz"
    kept = dict(np.load(second))
    np.savez(second, **{name: kept[name] for name in ("audio", "durations", "f0")})
    with pytest.raises(InputError, match=r"before corpora kept the teacher's pulses.*train corpus"):
        VocoderData(work, model, "train", config=tiny)
    mtime = (work / "corpus" / "utterances" / "00001.npz").stat().st_mtime_ns
    build_corpus(SENTENCES, work / "corpus")
    assert (work / "corpus" / "utterances" / "00001.npz").stat().st_mtime_ns == mtime
    remade = np.load(second)
    np.testing.assert_array_equal(remade["pulses"], kept["pulses"])
    np.testing.assert_array_equal(remade["audio"], kept["audio"])
    _, wave, pulses, segment_f0 = data.segment(0, 8, 384, 256, random.Random(3), predicted=False)
    start = int(np.flatnonzero(np.isin(f0, segment_f0.numpy()))[0])
    assert wave.shape == pulses.shape == (8 * 256 + 2 * 384,)
    torch.testing.assert_close(pulses[384:-384], data.pulses[0][start * 256 : (start + 8) * 256].float())

    # the iSTFT vocoder trains on the same folder, resumes, and exports as a vocoder folder
    plain = IstftVocoderConfig(channels=16, hidden=32, layers=2, source="none")
    fit_vocoder(work, load_acoustic_model(voice), steps=2, config=plain, checkpoint_every=1, validate_every=1)
    fit_vocoder(work, load_acoustic_model(voice), steps=3, checkpoint_every=1, validate_every=1)
    # a pulse source joins a run without one: the filter starts as the network's amplitude head
    before = torch.load(work / "vocoder" / "checkpoint.pt", weights_only=True)["model"]
    # adversarial fine-tuning continues the same run, on the voice's own mels
    fit_vocoder(
        work,
        load_acoustic_model(voice),
        steps=5,
        source="pulses",
        checkpoint_every=1,
        validate_every=1,
        adversarial=True,
        predicted_share=1.0,
        phase_weight=10.0,
    )
    log = read_log(work / "vocoder" / "log.jsonl")
    assert [entry["step"] for entry in log] == [1, 2, 3, 4, 5] and log[-1]["validation"]["mel_l1"] > 0
    assert "adversarial" in log[-1]["train"] and "discriminator" in log[-1]["train"]
    assert "adversarial" not in log[2]["train"] and log[-1]["validation"]["predicted_mel_l1"] > 0
    checkpoint = torch.load(work / "vocoder" / "checkpoint.pt", weights_only=True)
    assert "discriminators" in checkpoint and checkpoint["settings"]["phase_weight"] == 10.0
    assert checkpoint["config"]["source"] == "pulses" and "f0" in log[-1]["train"] and "f0" not in log[2]["train"]
    converted = IstftVocoder(tiny)
    add_pulse_source(converted, before)
    torch.testing.assert_close(converted.source_head.weight[:513], before["head.weight"][:513])
    torch.testing.assert_close(converted.source_head.bias[:513], before["head.bias"][:513] - math.log(256))
    torch.testing.assert_close(converted.head.bias[:513], before["head.bias"][:513] - 1.5)
    assert not converted.source_head.weight[513:].any() and not converted.source_head.bias[513:].any()
    with pytest.raises(InputError, match="can be added to a run but not removed"):
        fit_vocoder(work, load_acoustic_model(voice), steps=6, source="none")
    with pytest.raises(InputError, match="another configuration"):
        fit_vocoder(
            work, load_acoustic_model(voice), steps=6, config=IstftVocoderConfig(channels=8, hidden=8, layers=1)
        )
    export_vocoder(work, tmp_path / "vocoder", "tiny-istft", "tiny-trained", sentences=12, heldout="held out.txt")
    card = (tmp_path / "vocoder" / "MODEL_CARD.md").read_text()
    assert "hibari-tts" in card and "5 x 16 segments" in card
    assert "lightspeech train corpus WORK --sentences 12 --heldout 'held out.txt'\n" in card
    assert "parallel phase estimation" in card and "pulse train from an F0" in card and "voicing" in card
    assert "from step 4, also adversarial" in card and "--steps 3\n" in card
    assert "--steps 5 --adversarial --predicted-share 1 --phase-weight 10 --source pulses\n" in card
    assert "50% then 100%" in card
    synthesizer = Synthesizer(voice, vocoder=str(tmp_path / "vocoder"))
    utterance = synthesizer.utterance(synthesizer.sentences("Hello.")[0], Controls(), edge_silence=0.0)
    assert len(utterance.audio) == sum(utterance.durations) * 256


def test_mel_segments_are_the_same_window_of_both_mels_inside_each_utterance():
    lengths = [MEL_SEGMENT_FRAMES + 30, MEL_SEGMENT_FRAMES + 5]
    frames = torch.arange(max(lengths), dtype=torch.float32)
    target = frames[None, :, None].expand(2, -1, 3).clone()  # each frame holds its index
    frame_mask = (frames[None, :] < torch.tensor(lengths)[:, None]).float().unsqueeze(-1)
    target = target * frame_mask
    for seed in range(20):
        segments = mel_segments(target, target + 1000, frame_mask, random.Random(seed))
        assert segments is not None
        real, fake = segments
        assert real.shape == (2, MEL_SEGMENT_FRAMES, 3)
        torch.testing.assert_close(fake, real + 1000)
        for row, length in zip(real[:, :, 0], lengths, strict=True):
            assert row[-1] < length and torch.equal(torch.diff(row), torch.ones(MEL_SEGMENT_FRAMES - 1))
    short = (frames[None, :] < 20).float().unsqueeze(-1).expand(2, -1, -1)
    segments = mel_segments(target, target, short, random.Random(0))
    assert segments is not None and segments[0].shape == (2, 20, 3)  # the shortest utterance bounds the window
    too_short = (frames[None, :] < 3).float().unsqueeze(-1).expand(2, -1, -1)
    assert mel_segments(target, target, too_short, random.Random(0)) is None  # below the coarsest time scale


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated"])
def test_a_corrupt_checkpoint_is_one_input_error(tmp_path, content):
    from lightspeech_cli.train.fit import read_checkpoint

    (tmp_path / "checkpoint.pt").write_bytes(content)
    with pytest.raises(InputError, match="checkpoint.pt is corrupt .*; move it away to start the run afresh"):
        read_checkpoint(tmp_path / "checkpoint.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(InputError, match="not a lightspeech checkpoint"):
        read_checkpoint(tmp_path / "list.pt")
    torch.save({"model": {"w": torch.tensor([1.0, float("nan")])}, "step": 5}, tmp_path / "diverged.pt")
    with pytest.raises(InputError, match="holds NaN or infinite weights: the run diverged"):
        read_checkpoint(tmp_path / "diverged.pt")


def test_a_damaged_log_is_one_input_error_but_a_line_cut_by_a_kill_is_skipped(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 1, "validation": {}}\n{"step": 2, "valid')
    assert [entry["step"] for entry in read_log(log)] == [1]
    log.write_text('{"step": 1, "validation": {}}\ngarbage\n{"step": 2, "validation": {}}\n')
    with pytest.raises(InputError, match="log.jsonl:2: not a log entry"):
        read_log(log)
    log.write_text('{"step": 5}\n')
    with pytest.raises(InputError, match="log.jsonl:1: not a log entry as training writes them"):
        read_log(log)
    assert read_log(tmp_path / "missing.jsonl") == []


def test_a_corpus_without_held_out_utterances_is_one_input_error(tmp_path):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.train.fit import load_split

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "metadata.jsonl").write_text('{"id": "00001", "split": "train", "phonemes": ["AH0"]}\n')
    with pytest.raises(InputError, match="has no heldout utterances; run `lightspeech train corpus` again"):
        load_split(tmp_path / "corpus", tmp_path / "features", "heldout")
