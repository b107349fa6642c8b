import json
import os
import shutil
import threading

import numpy as np
import pytest

from lightspeech_cli.text.symbols import SymbolSet

from .helpers import make_tiny_voice


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own config and cache folders, never the user's."""
    home = tmp_path / "lightspeech-home"
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(home))
    monkeypatch.delenv("LIGHTSPEECH_MIRROR", raising=False)
    return home


@pytest.fixture
def tiny_voice(tmp_path):
    return make_tiny_voice(tmp_path / "tiny-voice")


@pytest.fixture
def endless_fifo(tmp_path):
    """A FIFO that gives far more than any limit (50 MB, no newline) and never ends: what
    /dev/zero is to a reader, without touching /dev. Reading it whole would hang."""
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    done = threading.Event()

    def feed():
        try:
            with open(fifo, "wb") as f:
                for _ in range(800):
                    f.write(b"a" * 65536)
                done.wait(300)
        except BrokenPipeError:  # the reader stopped at its limit: what we want
            pass

    threading.Thread(target=feed, daemon=True).start()
    yield fifo
    done.set()


@pytest.fixture
def browser(tmp_path):
    """Debian's chromium and chromedriver, driven by selenium, headless and offline."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=900,720",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    yield driver
    driver.quit()


@pytest.fixture
def training_folder(tmp_path):
    """A corpus and features as `lightspeech train` writes them, with random content: what
    the search and its benchmarks train on."""
    rng = np.random.default_rng(0)
    work = tmp_path / "work"
    (work / "corpus").mkdir(parents=True)
    (work / "features").mkdir()
    n_symbols = len(SymbolSet())
    with open(work / "corpus" / "metadata.jsonl", "w") as f:
        for number in range(1, 11):
            entry = {"id": f"{number:05d}", "split": "heldout" if number > 8 else "train", "text": "x", "phonemes": []}
            f.write(json.dumps(entry) + "\n")
            durations = rng.integers(1, 5, 8)
            np.savez(
                work / "features" / f"{entry['id']}.npz",
                ids=rng.integers(1, n_symbols, 8),
                durations=durations,
                pitch=rng.normal(5, 0.2, 8).astype(np.float32),
                energy=rng.normal(0, 1, 8).astype(np.float32),
                mel=rng.normal(-5, 1, (durations.sum(), 80)).astype(np.float16),
            )
    (work / "features" / "stats.json").write_text(
        json.dumps({"pitch_log_mean": 5.0, "pitch_log_std": 0.2, "energy_log_mean": 0.0, "energy_log_std": 1.0})
    )
    return work
