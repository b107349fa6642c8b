import os

import pytest

from ...helpers import assert_one_line, make_tiny_voice, run_process


@pytest.mark.parametrize("name", ["config.json", "model.onnx", "model.safetensors"])
def test_a_voice_file_that_is_a_fifo_is_refused(tmp_path, name):
    folder = make_tiny_voice(tmp_path / "voice").folder
    (folder / name).unlink()
    os.mkfifo(folder / name)  # opened for reading, it would wait for a writer forever
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, f"{folder / name} is not a regular file")


@pytest.mark.parametrize("name", ["config.json", "model.onnx", "model.safetensors"])
def test_a_vocoder_file_that_is_a_fifo_is_refused(tmp_path, tiny_voice, name):
    from ...helpers import make_tiny_vocoder

    folder = tmp_path / "vocoder"
    make_tiny_vocoder(folder)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    process = run_process(
        "say", "hi", "-v", tiny_voice.folder, "--vocoder", folder, "-o", tmp_path / "a.wav", timeout=60
    )
    assert_one_line(process, 5, f"{folder / name} is not a regular file")
