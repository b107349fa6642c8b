import pytest

LONG_NAME = "x" * 300  # beyond the 255 bytes a file name may have


def test_a_voice_or_vocoder_path_too_long_is_an_input_error(tmp_path):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.format.vocoder import find_vocoder_folder
    from lightspeech_cli.runtime.format.voice import find_voice

    with pytest.raises(InputError, match="File name too long"):
        find_voice(str(tmp_path / LONG_NAME / "voice"))
    with pytest.raises(InputError, match="File name too long"):
        find_vocoder_folder(str(tmp_path / LONG_NAME / "vocoder"))
