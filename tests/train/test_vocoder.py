import math

import pytest
import torch

pytest.importorskip("hibari")

from lightspeech_cli.errors import InputError  # noqa: E402
from lightspeech_cli.model.istft import IstftVocoder  # noqa: E402
from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig  # noqa: E402
from lightspeech_cli.runtime.format.voice import AudioConfig  # noqa: E402
from lightspeech_cli.train.fit import training_phases  # noqa: E402
from lightspeech_cli.train.vocoder import DEFAULT_SETTINGS, VocoderLoss, training_commands  # noqa: E402


def test_the_phase_weight_scales_only_the_phase_losses():
    config = IstftVocoderConfig(channels=16, hidden=32, layers=2)
    torch.manual_seed(0)
    model = IstftVocoder(config)  # with a pulse source: the losses take its pulses and F0 where given
    mel = torch.randn(2, 8, 80) - 4
    wave = torch.randn(2, 8 * 256 + 2 * model.left_pad) * 0.1
    audio = AudioConfig()
    apnet, lighter = (
        VocoderLoss(config, audio)(model, mel, wave)[0],
        VocoderLoss(config, audio, 10.0)(model, mel, wave)[0],
    )
    assert apnet["phase"] > 0 and torch.equal(apnet["phase"], lighter["phase"])
    torch.testing.assert_close(apnet["total"] - lighter["total"], 90.0 * apnet["phase"])
    # F0: log error over the voiced frames only, voicing by cross-entropy
    f0 = torch.tensor([[0.0] * 4 + [200.0] * 4, [0.0] * 8])
    with_f0 = VocoderLoss(config, audio)(model, mel, wave, torch.zeros_like(wave), f0)[0]
    log_f0, voicing = model.pitch(model.features(mel))
    torch.testing.assert_close(with_f0["f0"], (log_f0[0, 4:] - math.log(200.0)).abs().mean())
    voiced = (f0 > 0).float()
    torch.testing.assert_close(
        with_f0["voicing"], torch.nn.functional.binary_cross_entropy_with_logits(voicing, voiced)
    )
    torch.testing.assert_close(with_f0["amplitude"], apnet["amplitude"])  # silent pulses add nothing


def phases_of(entries, checkpoint=None):
    return training_phases(entries, checkpoint, DEFAULT_SETTINGS)


def test_the_vocoder_card_repeats_each_phase_of_training_and_older_logs_read_as_the_defaults():
    old = {"adversarial": False, "predicted_share": 0.5, "peak_lr": 1e-3}  # before phase_weight was logged
    entries = [
        {"step": 1000},  # before settings were logged
        {"step": 2000, "settings": old},
        {"step": 3000, "settings": {**old, "phase_weight": 100.0}},
        {"step": 4000, "settings": {**old, "adversarial": True, "phase_weight": 10.0}},
        {"step": 5000, "settings": {**old, "adversarial": True, "phase_weight": 10.0, "peak_lr": 5e-4}},
    ]
    phases = phases_of(entries)
    assert [start for start, _ in phases] == [1000, 4000, 5000]
    assert training_commands("v", phases, entries, 5200).splitlines() == [
        "lightspeech train vocoder WORK --voice v --steps 3000",
        "lightspeech train vocoder WORK --voice v --steps 4000 --adversarial --predicted-share 0.5 --phase-weight 10",
        "lightspeech train vocoder WORK --voice v --steps 5200 --adversarial --predicted-share 0.5 --lr 0.0005"
        " --phase-weight 10",
    ]
    # stopped at 5,600, before the first entry of a phase with other settings: the checkpoint's settings
    stopped = {"step": 5600, "settings": {**old, "adversarial": True, "phase_weight": 2.0}}
    phases = phases_of(entries, stopped)
    assert [start for start, _ in phases] == [1000, 4000, 5000, 5600]
    assert training_commands("v", phases, entries, 5600).splitlines()[2:] == [
        "lightspeech train vocoder WORK --voice v --steps 5000 --adversarial --predicted-share 0.5 --lr 0.0005"
        " --phase-weight 10",
        "lightspeech train vocoder WORK --voice v --steps 5600 --adversarial --predicted-share 0.5 --phase-weight 2",
    ]
    # the same settings as the last entry's, or an older checkpoint without settings: no new phase
    assert phases_of(entries, {**stopped, "settings": entries[-1]["settings"]}) == phases_of(entries)
    assert phases_of(entries, {"step": 5600}) == phases_of(entries)
    # a share of the voice's mels other than the default, and a bounded corpus, are repeated too
    later = [*entries, {"step": 6000, "settings": {**old, "predicted_share": 0.7, "utterances": 8000}}]
    assert training_commands("v", phases_of(later), later, 6000).splitlines()[-1] == (
        "lightspeech train vocoder WORK --voice v --steps 6000 --predicted-share 0.7 --utterances 8000"
    )


def test_a_run_starts_where_a_shipped_vocoder_folder_ends(tmp_path):
    from lightspeech_cli.model.istft import load_istft_vocoder
    from lightspeech_cli.runtime.format.vocoder import find_vocoder_folder
    from lightspeech_cli.train.fit import read_checkpoint, read_log, restore_checkpoint
    from lightspeech_cli.train.vocoder import start_from_folder, vocoder_optimizer

    folder = find_vocoder_folder("en-us-istft-pulses")
    shipped_log = read_log(folder.folder / "training-log.jsonl")
    assert start_from_folder(tmp_path, folder) == shipped_log[-1]["step"]
    assert read_log(tmp_path / "vocoder" / "log.jsonl") == shipped_log
    model = IstftVocoder(folder.config)
    state = read_checkpoint(tmp_path / "vocoder" / "checkpoint.pt")
    assert restore_checkpoint(state, tmp_path, model, vocoder_optimizer(model))[0] == shipped_log[-1]["step"]
    shipped = load_istft_vocoder(folder).state_dict()
    assert all(torch.equal(model.state_dict()[name], shipped[name]) for name in shipped)
    with pytest.raises(InputError, match="--init starts a run"):
        start_from_folder(tmp_path, folder)
