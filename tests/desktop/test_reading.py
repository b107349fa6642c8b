"""What the module reads for speech-dispatcher's messages and settings."""

from __future__ import annotations

import pytest

from lightspeech_cli.desktop.reading import MODES, Settings, char_ssml, key_ssml, speak_ssml
from lightspeech_cli.text import plan_speech
from lightspeech_cli.text.speech import Sentence


def words(ssml: str) -> str:
    """The words the synthesizer will say for `ssml`."""
    return " ".join(item.text for item in plan_speech(ssml, ssml=True) if isinstance(item, Sentence))


def test_settings_map_to_controls():
    settings = Settings()
    settings.update({"rate": "100", "pitch": "-100", "volume": "0", "synthesis_voice": "NULL", "language": "en"})
    controls = settings.controls()
    assert controls.speed == pytest.approx(3.0) and controls.pitch == pytest.approx(2**-0.5)
    assert controls.volume == pytest.approx(0.5) and settings.synthesis_voice is None and settings.language == "en"
    settings.update({"rate": "-100", "volume": "100"})
    assert settings.controls().speed == pytest.approx(1 / 3) and settings.controls().volume == 1.0
    for bad in ({"rate": "101"}, {"pitch": "x"}, {"punctuation_mode": "loud"}):
        with pytest.raises(ValueError):
            Settings().update(bad)


def test_punctuation_modes_name_the_marks_they_cover():
    text = "<speak>Wait (really) - 5 ~ 6 ^ home, ok?</speak>"
    spoken = {mode: words(speak_ssml(text, Settings(punctuation_mode=mode))) for mode in MODES}
    assert "tilde" not in spoken["none"] and "paren" not in spoken["none"]
    assert "tilde" in spoken["some"] and "caret" in spoken["some"] and "left paren" not in spoken["some"]
    assert "left paren" in spoken["most"] and "comma" not in spoken["most"]
    assert "comma" in spoken["all"] and "question" in spoken["all"]


def test_spelling_mode_spells_the_text_not_the_marks():
    ssml = '<speak><mark name="0:3"/>cat<mark name="__spd_0"/></speak>'
    spelled = speak_ssml(ssml, Settings(spelling_mode=True))
    assert words(spelled) == words('<speak><say-as interpret-as="characters">cat</say-as></speak>')
    assert words(spelled) != words(ssml) and '<mark name="0:3"/>' in spelled


LETTER_A = words('<speak><say-as interpret-as="characters">a</say-as></speak>')


def test_characters_and_keys():
    assert words(char_ssml("a", Settings())) == LETTER_A
    assert words(char_ssml("A", Settings(cap_let_recogn="spell"))) == f"capital {LETTER_A}"
    assert words(char_ssml("A", Settings())) == LETTER_A
    assert words(char_ssml("space", Settings())) == "space"
    assert words(char_ssml("?", Settings())) == "question"
    assert words(char_ssml("<", Settings())) == "less than"
    assert words(key_ssml("shift_a", Settings())) == f"shift {LETTER_A}"
    assert words(key_ssml("control_alt_delete", Settings())) == "control alt delete"
    assert words(key_ssml("kp-enter", Settings())) == "keypad enter"
    assert words(key_ssml("f5", Settings())) == "F five"
    assert words(key_ssml("prior", Settings())) == "page up"
    assert words(key_ssml("underscore", Settings())) == "underscore"
    assert words(key_ssml("double-quote", Settings())) == "double quote"
