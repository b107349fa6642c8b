import pytest

from ..helpers import make_tiny_vocoder, make_tiny_voice


@pytest.fixture(scope="module")
def voice_and_vocoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    make_tiny_vocoder(folder / "vocoder")
    return str(make_tiny_voice(folder / "fuzz-voice").folder), str(folder / "vocoder")
