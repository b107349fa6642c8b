"""Word, phoneme and mark timings, to the sample: a tiny voice speaks every phoneme (and each
word boundary, punctuation mark and sentence edge) for 6 frames at speed 1, so every time is
known before it speaks."""

from __future__ import annotations

import pytest

from lightspeech_cli.runtime.synthesizer import Synthesizer

from ..helpers import make_tiny_voice

FRAME = 256 / 22050  # the tiny voice's hop at 22,050 Hz
EDGE = 0.1


@pytest.fixture(scope="module")
def synthesizer(tmp_path_factory):
    return Synthesizer(make_tiny_voice(tmp_path_factory.mktemp("voice") / "framed", symbol_set="arpabet-2"))


def test_words_and_phonemes_to_the_frame(synthesizer):
    audio, timings = synthesizer.synthesize_timed("Hi there.", edge_silence=EDGE)
    # HH AY1 | DH EH1 R . : each symbol 6 frames, after EDGE seconds of lead silence.
    assert [(p.phoneme, p.start, p.end) for p in timings.phonemes] == [
        (name, pytest.approx(EDGE + 6 * FRAME * slot), pytest.approx(EDGE + 6 * FRAME * (slot + 1)))
        for name, slot in (("HH", 0), ("AY1", 1), ("DH", 3), ("EH1", 4), ("R", 5))
    ]
    (hi, there) = timings.words
    assert (hi.text, hi.offset, hi.phonemes, hi.ends_sentence) == ("Hi", (0, 2), ("HH", "AY1"), False)
    assert (there.text, there.offset, there.ends_sentence) == ("there.", (3, 9), True)
    assert hi.start == pytest.approx(EDGE) and there.end == pytest.approx(EDGE + 36 * FRAME)
    assert len(audio) == round(EDGE * 22050) * 2 + 7 * 6 * 256


def test_speed_pauses_and_sentences_move_the_times_exactly(synthesizer):
    _, fast = synthesizer.synthesize_timed("Hi there.", edge_silence=EDGE, speed=2.0)
    assert [w.end for w in fast.words] == [pytest.approx(EDGE + 6 * FRAME), pytest.approx(EDGE + 18 * FRAME)]
    one_sentence = EDGE + 7 * 6 * FRAME + EDGE  # "Hi there." and its edges
    _, paused = synthesizer.synthesize_timed('<speak>Hi there.<break time="700ms"/>Hi.</speak>', edge_silence=EDGE)
    assert paused.words[2].start == pytest.approx(one_sentence + 0.7 + EDGE)
    _, two = synthesizer.synthesize_timed("Hi there. Hi.", edge_silence=EDGE, sentence_silence=0.3)
    assert two.words[2].start == pytest.approx(one_sentence + 0.3 + EDGE)
    assert two.words[2].offset == (10, 13)


def test_marks_are_timed_at_the_word_they_come_before(synthesizer):
    ssml = '<speak><mark name="a"/>Hi <mark name="b"/>there.<mark name="c"/> Hi.<mark name="d"/></speak>'
    audio, timings = synthesizer.synthesize_timed(ssml, edge_silence=EDGE, sentence_silence=0.3)
    times = {m.name: m.time for m in timings.marks}
    assert [m.name for m in timings.marks] == ["a", "b", "c", "d"]
    assert times["a"] == pytest.approx(timings.words[0].start) == pytest.approx(EDGE)
    assert times["b"] == pytest.approx(timings.words[1].start)
    assert times["c"] == pytest.approx(timings.words[2].start)  # between sentences: where the next begins
    assert times["d"] == pytest.approx(len(audio) / 22050)  # after the last word: the end of the audio


def test_written_words_keep_the_inputs_own_text_and_offsets(synthesizer):
    text = "Pay $5.50 on Nov. 25, 2026 now 😀 please."
    _, timings = synthesizer.synthesize_timed(text)
    written = [(w.text, text[w.offset[0] : w.offset[1]]) for w in timings.words]
    # A stretch rewritten whole is one written word; the emoji, read as nothing, is none.
    assert written == [(t, t) for t in ("Pay", "$5.50", "on", "Nov. 25, 2026", "now", "please.")]
    assert all(a.end <= b.start for a, b in zip(timings.words, timings.words[1:], strict=False))


@pytest.mark.parametrize(
    "text, words, first_sentence_ends",
    [
        ('Stop."Go now.', ['Stop."', "Go", "now."], 0),
        ('He said "Wait!"Then left.', ["He", "said", '"Wait!"', "Then", "left."], 2),
        ("One.Two", ["One.", "Two"], 0),
    ],
)
def test_a_word_two_sentences_share_is_cut_at_the_sentence_end(synthesizer, text, words, first_sentence_ends):
    _, timings = synthesizer.synthesize_timed(text)
    assert [(w.text, text[w.offset[0] : w.offset[1]]) for w in timings.words] == [(w, w) for w in words]
    assert all(a.end <= b.start for a, b in zip(timings.words, timings.words[1:], strict=False))
    assert [w.ends_sentence for w in timings.words].index(True) == first_sentence_ends


def test_timings_dict_holds_phonemes_only_when_asked(synthesizer):
    _, timings = synthesizer.synthesize_timed("Hi.")
    assert set(timings.to_dict()) == {"words", "marks"}
    assert timings.to_dict(phonemes=True)["phonemes"][0]["phoneme"] == "HH"


def test_ssml_rate_and_words_per_minute_time_words_as_speed_does(synthesizer):
    from lightspeech_cli.runtime.synthesizer import words_per_minute_to_speed

    def times(timings):
        return [t for w in timings.words for t in (w.start, w.end)]

    _, fast = synthesizer.synthesize_timed("Hi there.", edge_silence=EDGE, speed=2.0)
    ssml = '<speak><prosody rate="200%">Hi there.</prosody></speak>'
    _, prosody = synthesizer.synthesize_timed(ssml, edge_silence=EDGE)
    _, per_minute = synthesizer.synthesize_timed("Hi there.", edge_silence=EDGE, speed=words_per_minute_to_speed(350))
    assert times(prosody) == pytest.approx(times(fast)) and times(per_minute) == pytest.approx(times(fast))
