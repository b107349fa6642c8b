"""What several test files use: tiny voices and vocoders made in the test, the CLI in a child
process, the one-line error checks, test signals."""

import json
import os
import resource
import subprocess
import sys

import numpy as np

TINY_ARCHITECTURE = "sep5 att2 | ffn sep9 hidden=16 predictor=sep"


def make_tiny_voice(folder, architecture=TINY_ARCHITECTURE, vocoder="griffinlim", onnx=True, symbol_set=None):
    """A real voice folder (format 2: config, weights, ONNX) with an untrained tiny model
    whose durations are 6 frames per phoneme (and per edge, where the symbol set frames its
    sentences); with onnx=False, an older format-1 folder."""
    from lightspeech_cli.model.acoustic import untrained_model
    from lightspeech_cli.model.folders import save_voice
    from lightspeech_cli.runtime.format.voice import ModelConfig, Voice, VoiceConfig
    from lightspeech_cli.text.symbols import DEFAULT_SYMBOL_SET

    model = untrained_model(architecture, ModelConfig().n_symbols)
    config = VoiceConfig(
        name=folder.name, model=model.config, vocoder=vocoder, symbol_set=symbol_set or DEFAULT_SYMBOL_SET
    )
    voice = save_voice(folder, config, model)
    if not onnx:
        (folder / "model.onnx").unlink()
        config = json.loads((folder / "config.json").read_text())
        config["format"] = 1
        (folder / "config.json").write_text(json.dumps(config))
        voice = Voice(folder)
    return voice


def make_tiny_vocoder(folder, seed=0, phase_estimation="parallel", source="pulses"):
    """A trained-vocoder folder (format 2) with a small untrained iSTFT network; returns the
    network as the folder holds it (its parameters rounded to half precision)."""
    import torch

    from lightspeech_cli.model.export import half_precision_copy
    from lightspeech_cli.model.folders import save_vocoder
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    torch.manual_seed(seed)
    config = IstftVocoderConfig(channels=16, hidden=32, layers=2, phase_estimation=phase_estimation, source=source)
    module = IstftVocoder(config).eval()
    save_vocoder(folder, module, "# card\n", {"training-log.jsonl": "{}\n"})
    return half_precision_copy(module)[0]


def assert_one_line_error(result, code, message):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def run_process(*args, stdin=None, stdout=subprocess.PIPE, timeout=120, file_size_limit=None, close_stdout=False):
    """The CLI in a child process: for standard streams and resource limits."""

    def limit():
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        if close_stdout:  # as a shell's >&- does
            os.close(1)

    return subprocess.run(
        [sys.executable, "-m", "lightspeech_cli", *map(str, args)],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=timeout,
        preexec_fn=limit,
    )


def assert_one_line(process, code, message):
    lines = process.stderr.decode().strip().splitlines()
    assert process.returncode == code, process.stderr.decode()
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], lines


def buzz(seconds=0.3, frequency=150.0, rate=22050):
    """A harmonic-rich sound, closer to a voice than a sine."""
    import torch

    t = torch.arange(int(seconds * rate)) / rate
    return sum(0.1 / k * torch.sin(2 * np.pi * frequency * k * t) for k in range(1, 30)).unsqueeze(0)


def tone(seconds=0.5, frequency=220.0, rate=22050):
    import torch

    t = torch.arange(int(seconds * rate)) / rate
    return (0.5 * torch.sin(2 * np.pi * frequency * t)).unsqueeze(0)
