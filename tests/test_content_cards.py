"""The shipped vocoder's model card states what its training log and weights support."""

import json
import re

from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.vocoder import embedded_vocoders_dir
from lightspeech_cli.runtime.format.voice import find_voice


def test_the_vocoder_card_figures_are_the_logs_and_the_weights():
    folder = embedded_vocoders_dir() / "en-us-istft"
    card = (folder / "MODEL_CARD.md").read_text()
    log = [json.loads(line) for line in (folder / "training-log.jsonl").read_text().splitlines() if line.strip()]
    last = log[-1]
    assert f"| Steps | {last['step']:,} x" in card
    assert f"| {last['validation']['mel_l1']:.3f} (`training-log.jsonl`" in card
    parameters = load_vocoder("en-us-istft", find_voice(None).config.audio).parameters
    assert f"| Parameters | {parameters:,} |" in card
    # No figure the log does not hold: no HiFi-GAN loss that no script measured, no training hours.
    assert not re.search(r"HiFi-GAN V1 universal: 0\.\d+", card)
    assert not re.search(r"\d h of training", card)


def test_the_pulse_vocoder_card_figures_are_the_logs_the_checkpoint_and_the_weights():
    name = "en-us-istft-pulses"
    folder = embedded_vocoders_dir() / name
    card = (folder / "MODEL_CARD.md").read_text()
    log = [json.loads(line) for line in (folder / "training-log.jsonl").read_text().splitlines() if line.strip()]
    last = log[-1]
    assert f"| Steps | {last['step']:,} x" in card and last["settings"]["source"] == "pulses"
    assert f"| {last['validation']['mel_l1']:.3f} (HiFi-GAN V1 universal: " in card
    parameters = load_vocoder(name, find_voice(None).config.audio).parameters
    assert f"| Parameters | {parameters:,} |" in card and "pulse train from an F0" in card
    assert f"--steps {last['step']} --lr 0.004 --source pulses\n" in card
