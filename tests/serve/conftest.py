import pytest

from lightspeech_cli import Synthesizer

from .helpers import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("home"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def synthesizer():
    return Synthesizer.load(threads=1)  # the server's voice, on one thread as each of its workers
