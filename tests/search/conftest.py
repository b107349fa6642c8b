"""A training folder for the search's tests: corpus and features as `lightspeech train`
writes them, with random content."""

import json

import numpy as np
import pytest

from lightspeech_cli.text.symbols import SymbolSet


@pytest.fixture
def training_folder(tmp_path):
    """A corpus and features as `lightspeech train` writes them, with random content."""
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
