import numpy as np
import pytest

pytest.importorskip("hibari")

from lightspeech_cli.train.teacher import move_edges, to_misaki  # noqa: E402


def test_arpabet_maps_to_the_teachers_alphabet():
    assert [to_misaki(p) for p in "HH AH0 L OW1 | W ER1 L D .".split()] == [
        "h",
        "ə",
        "l",
        "ˈO",
        " ",
        "w",
        "ˈɜɹ",
        "l",
        "d",
        ".",
    ]


def test_the_edges_hold_the_silence_around_the_speech_and_the_first_phoneme_its_onset():
    # 60 teacher frames, audible from 20 to 35; the pad before the text ran to 24 and the
    # closing pad (the last symbol) starts at 44, inside the trailing silence
    levels = np.zeros(60)
    levels[20:36] = 0.05
    frames = np.array([24, 3, 5, 12, 16])
    first, last = move_edges(levels, frames)
    # speech from 18 to 38 (2 frames of margin); the first phoneme takes the pad's 6 frames
    # of onset, the last loses its 6 of silence; each edge is cut to 16 frames (200 ms)
    assert frames.tolist() == [16, 9, 5, 6, 16] and (first, last) == (2, 54)
    silent = np.array([10, 5, 5])
    assert move_edges(np.zeros(20), silent) == (0, 16) and silent.tolist() == [16, 0, 0]
