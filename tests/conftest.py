import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own config and cache folders, never the user's."""
    home = tmp_path / "lightspeech-home"
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(home))
    return home
