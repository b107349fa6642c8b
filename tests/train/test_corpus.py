import numpy as np
import pytest

pytest.importorskip("hibari")

from lightspeech_cli.errors import InputError  # noqa: E402
from lightspeech_cli.runtime.format.voice import AudioConfig  # noqa: E402
from lightspeech_cli.train.corpus import HELD_OUT, read_metadata, voice_durations  # noqa: E402


def test_durations_follow_boundaries_and_fill_the_mel():
    # teacher frames of 12.5 ms -> voice frames of 256 / 22050 s
    durations = voice_durations(np.array([8, 0, 16, 4]), 120, AudioConfig())
    assert durations.sum() == 120 and durations[1] == 0
    assert durations[0] == round(8 * 0.0125 * 22050 / 256)


def test_held_out_size_is_what_the_issue_asks():
    assert HELD_OUT >= 100


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "../../../victim/evil", "split": "train", "phonemes": ["AH0"]}', "not an utterance"),
        ('{"id": "00001", "split": "test", "phonemes": ["AH0"]}', "not an utterance"),
        ('{"id": "00001", "split": "train"}', "not an utterance"),
        ("[" * 50_000, "not JSON"),
        ("garbage", "not JSON"),
    ],
)
def test_corpus_metadata_is_checked_before_its_ids_name_files(tmp_path, line, message):
    (tmp_path / "metadata.jsonl").write_text(line + "\n")
    with pytest.raises(InputError, match=f"metadata.jsonl:1: {message}"):
        read_metadata(tmp_path)
    with pytest.raises(InputError, match="run `lightspeech train corpus` first"):
        read_metadata(tmp_path / "missing")


def test_teachers_in_worker_processes_write_what_one_teacher_writes(tmp_path):
    from lightspeech_cli.train.corpus import build_corpus

    sentences = ["Hello there.", "The cat sat on the mat.", "It rained all day.", "Call me at noon."]
    seen = []
    assert build_corpus(sentences, tmp_path / "one", heldout=["Good night."]) == 5
    assert (
        build_corpus(
            sentences,
            tmp_path / "two",
            heldout=["Good night."],
            jobs=2,
            progress=lambda done, total: seen.append((done, total)),
        )
        == 5
    )
    assert seen == [(n, 5) for n in range(1, 6)]
    for one in sorted((tmp_path / "one" / "utterances").glob("*.npz")):
        with np.load(one) as a, np.load(tmp_path / "two" / "utterances" / one.name) as b:
            assert a.files == b.files and all(np.array_equal(a[name], b[name]) for name in a.files)
    assert (tmp_path / "one" / "metadata.jsonl").read_text() == (tmp_path / "two" / "metadata.jsonl").read_text()
