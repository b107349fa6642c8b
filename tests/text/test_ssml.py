import numpy as np
import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime.synthesizer import Synthesizer
from lightspeech_cli.text import Boundary, Pause, Prosody, Run, plan_speech
from lightspeech_cli.text.speech import Mark, Sentence
from lightspeech_cli.text.ssml import ipa_to_arpabet, parse_ssml

from ..helpers import assert_one_line_error

HOP = 256


def texts(ssml):
    return [item.text for item in plan_speech(ssml) if not isinstance(item, Pause)]


def test_plain_speak_reads_like_text():
    assert texts("<speak>Hello there. How are you?</speak>") == ["Hello there.", "How are you?"]
    assert texts('<speak xmlns="http://www.w3.org/2001/10/synthesis" version="1.1">Hi.</speak>') == ["Hi."]


@pytest.mark.parametrize(
    "element, seconds",
    [
        ('<break time="750ms"/>', 0.75),
        ('<break time="2s"/>', 2.0),
        ('<break strength="strong"/>', 0.7),
        ('<break strength="none"/>', 0.0),
        ("<break/>", 0.4),
        ('<break time="90s"/>', 10.0),
    ],
)
def test_breaks(element, seconds):
    items = plan_speech(f"<speak>One {element} two.</speak>")
    assert [type(i).__name__ for i in items] == ["Sentence", "Pause", "Sentence"]
    assert items[1].seconds == seconds


def test_paragraphs_and_sentences_are_boundaries():
    items = plan_speech("<speak><p>One two</p><p><s>Three</s><s>four</s></p></speak>")
    assert [getattr(i, "text", i) for i in items] == ["One two", Pause(0.5), "Three", "four", Pause(0.5)]


def test_prosody_is_per_phoneme():
    items = plan_speech('<speak>Slow <prosody rate="50%" pitch="+10%" volume="+6dB">down here</prosody> now.</speak>')
    sentence = items[0]
    assert sentence.text == "Slow down here now."
    words = [w.text for w in sentence.words]
    assert words[:4] == ["Slow", "down", "here", "now"]
    rates = {round(r, 2) for r, _, _ in sentence.prosody}
    assert rates == {1.0, 0.5}
    changed = [(p, pr) for p, pr in zip(sentence.phonemes, sentence.prosody, strict=True) if pr[0] == 0.5]
    assert [p for p, _ in changed] == ["|", "D", "AW1", "N", "|", "HH", "IY1", "R"]
    assert changed[1][1][1] == pytest.approx(1.1) and changed[1][1][2] == pytest.approx(10 ** (6 / 20))


@pytest.mark.parametrize(
    "attributes, rate, pitch, volume",
    [
        ('rate="x-slow"', 0.5, 1, 1),
        ('rate="fast"', 1.25, 1, 1),
        ('rate="+20%"', 1.2, 1, 1),
        ('rate="1.5"', 1.5, 1, 1),
        ('pitch="high"', 1, 1.1, 1),
        ('pitch="-2st"', 1, 2 ** (-2 / 12), 1),
        ('volume="soft"', 1, 1, 0.6),
        ('volume="-6dB"', 1, 1, 10 ** (-6 / 20)),
        ('volume="silent"', 1, 1, 0),
        ('rate="1000%"', 4.0, 1, 1),
    ],
)
def test_prosody_values(attributes, rate, pitch, volume):
    items = parse_ssml(f"<speak><prosody {attributes}>hi</prosody></speak>")
    assert items[0].prosody == pytest.approx(Prosody(rate, pitch, volume)) or (
        items[0].prosody.rate,
        items[0].prosody.pitch,
        items[0].prosody.volume,
    ) == pytest.approx((rate, pitch, volume))


def test_nested_prosody_multiplies_and_emphasis_is_prosody():
    items = parse_ssml(
        '<speak><prosody rate="50%"><prosody rate="50%">a</prosody></prosody>'
        '<emphasis level="strong">b</emphasis><emphasis level="reduced">c</emphasis></speak>'
    )
    assert items[0].prosody.rate == pytest.approx(0.25)
    assert items[1].prosody == Prosody(0.85, 1.1, 1.3) and items[2].prosody == Prosody(1.1, 0.95, 0.85)


@pytest.mark.parametrize(
    "attributes, rate, pitch, volume",
    [
        ('pitch="+99999st"', 1, 4.0, 1),  # 2 ** (99999 / 12) overflows a float
        ('pitch="-99999st"', 1, 0.25, 1),
        ('pitch="+99999%"', 1, 4.0, 1),
        ('pitch="+1.5e3%"', 1, 4.0, 1),
        ('volume="+99999dB"', 1, 1, 4.0),
        ('volume="-99999dB"', 1, 1, 0.0),
        ('rate="-500%"', 0.25, 1, 1),
        ('rate="99999"', 4.0, 1, 1),
    ],
)
def test_prosody_numbers_past_the_range_are_clamped(attributes, rate, pitch, volume):
    items = parse_ssml(f"<speak><prosody {attributes}>hi</prosody></speak>")
    assert items[0].prosody == pytest.approx(Prosody(rate, pitch, volume))


def test_an_overflowing_factor_inside_silence_stays_silent():
    document = '<speak><prosody volume="silent"><prosody volume="+99999dB">hi</prosody></prosody></speak>'
    assert parse_ssml(document)[0].prosody == Prosody(1.0, 1.0, 0.0)


def test_say_clamps_a_pitch_too_high_to_compute(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    document = '<speak><prosody pitch="+99999st" volume="+99999dB">Hi.</prosody></speak>'
    result = CliRunner().invoke(app, ["say", document, "-v", str(tiny_voice.folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 44


NOT_FINITE = [
    ('<prosody pitch="nan%">', "<prosody pitch='nan%'>"),
    ('<prosody pitch="+1e999st">', "<prosody pitch='+1e999st'>"),
    ('<prosody pitch="-inf st">', None),  # no number with a unit: not understood, a warning
    ('<prosody rate="inf">', "<prosody rate='inf'>"),
    ('<prosody rate="NaN">', "<prosody rate='NaN'>"),
    ('<prosody rate="' + "9" * 400 + '%">', "<prosody rate='99999"),
    ('<prosody volume="1e999dB">', "<prosody volume='1e999dB'>"),
    ('<prosody volume="+Infinity%">', "<prosody volume='+Infinity%'>"),
    ('<break time="1e999s"/>', "<break time='1e999s'>"),
    ('<break time="nanms"/>', "<break time='nanms'>"),
    ('<break time="inf s"/>', "<break time='inf s'>"),
    ('<break time="' + "9" * 400 + 'ms"/>', "<break time='99999"),
]


@pytest.mark.parametrize("element, named", [case for case in NOT_FINITE if case[1]])
def test_a_prosody_or_break_value_that_is_no_finite_number_is_a_one_line_error(element, named, tiny_voice, tmp_path):
    closing = "" if element.endswith("/>") else "</prosody>"
    document = f"<speak>Hi {element}there{closing}.</speak>"
    with pytest.raises(InputError, match="is not a finite number") as refused:
        parse_ssml(document)
    assert str(refused.value).startswith(named) and len(str(refused.value)) < 150
    out = tmp_path / "x.wav"
    result = CliRunner().invoke(app, ["say", document, "-v", str(tiny_voice.folder), "-o", str(out)])
    assert_one_line_error(result, 2, named)
    assert not out.exists()


def test_a_signed_infinity_without_a_number_grammar_is_a_warning():
    heard: list[str] = []
    items = parse_ssml('<speak><prosody pitch="-inf st" rate="-inf">hi</prosody></speak>', heard.append)
    assert items[0].prosody == Prosody() and len(heard) == 2


@pytest.mark.parametrize(
    "element",
    [
        '<prosody rate="{}">hi</prosody>',
        '<prosody pitch="{}st">hi</prosody>',
        '<break time="{}"/>',
        '<break strength="{}"/>',
        '<emphasis level="{}">hi</emphasis>',
        '<say-as interpret-as="{}">hi</say-as>',
        '<say-as interpret-as="date" format="{}">1/2</say-as>',
    ],
)
def test_an_absurdly_long_value_is_cut_in_its_warning(element):
    heard: list[str] = []
    parse_ssml("<speak>" + element.format("x" * 100_000) + "</speak>", heard.append)
    assert len(heard) == 1 and len(heard[0]) < 200 and "xxx..." in heard[0]


def test_an_absurdly_long_alphabet_is_cut_in_its_error():
    with pytest.raises(InputError, match="is not supported") as refused:
        parse_ssml('<speak><phoneme alphabet="' + "x" * 100_000 + '" ph="a">a</phoneme></speak>')
    assert len(str(refused.value)) < 150


@pytest.mark.parametrize("written", ["1/1/" + "9" * 5000, "9" * 5000, "1/1/10000"])
def test_a_date_with_a_field_of_more_than_four_digits_is_no_date(written):
    heard: list[str] = []
    document = f'<speak><say-as interpret-as="date">{written}</say-as></speak>'
    assert parse_ssml(document, heard.append) == [Run(written)]
    assert heard == [f"<say-as interpret-as='date'>: {written[:30]!r} is not a date; read as it is"]
    result = CliRunner().invoke(app, ["phonemize", document])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("written", ["12/25/02026", "0" * 5000 + "12/25/2026"])
def test_a_zero_padded_date_is_still_a_date(written):
    document = f'<speak><say-as interpret-as="date">{written}</say-as></speak>'
    assert parse_ssml(document) == [Run("December twenty-fifth, twenty twenty-six")]


@pytest.mark.parametrize(
    "element, spoken",
    [
        ('<say-as interpret-as="characters">abc</say-as>', "[[EY1]] [[B IY1]] [[S IY1]]"),
        ('<say-as interpret-as="spell-out">A1</say-as>', "[[EY1]] one"),
        ('<say-as interpret-as="cardinal">1,234</say-as>', "one thousand two hundred thirty-four"),
        ('<say-as interpret-as="ordinal">3</say-as>', "third"),
        ('<say-as interpret-as="ordinal">21st</say-as>', "twenty-first"),
        ('<say-as interpret-as="date" format="mdy">12/25/2026</say-as>', "December twenty-fifth, twenty twenty-six"),
        ('<say-as interpret-as="date" format="dmy">25-12-2026</say-as>', "December twenty-fifth, twenty twenty-six"),
        ('<say-as interpret-as="date" format="ym">2026-11</say-as>', "November twenty twenty-six"),
        ('<say-as interpret-as="time">3:45pm</say-as>', "three forty-five P M"),
        (
            '<say-as interpret-as="telephone">555-123-4567</say-as>',
            "five five five, one two three, four five six seven",
        ),
        ('<sub alias="World Wide Web Consortium">W3C</sub>', "World Wide Web Consortium"),
    ],
)
def test_say_as_and_sub(element, spoken):
    assert plan_speech(f"<speak>{element}</speak>")[0].text == spoken


@pytest.mark.parametrize(
    "element, spoken, warned",
    [
        ('<say-as interpret-as="date">2026-11-25</say-as>', "November twenty-fifth, twenty twenty-six", False),
        ('<say-as interpret-as="date">11/25/2026</say-as>', "November twenty-fifth, twenty twenty-six", False),
        ('<say-as interpret-as="date" format="dm">29/2</say-as>', "February twenty-ninth", False),
        ('<say-as interpret-as="date">2/30/2024</say-as>', "two slash thirty over two thousand twenty-four", True),
        (
            '<say-as interpret-as="date" format="ymd">2023-02-29</say-as>',
            "twenty twenty-three to two to twenty-nine",
            True,
        ),
    ],
)
def test_say_as_date_without_a_format_and_days_the_month_lacks(element, spoken, warned):
    """An ISO date needs no format (it read right, but with a false warning); a day its month
    lacks is no date, with a warning, and the text is read as it is."""
    warnings = []
    assert plan_speech(f"<speak>{element}</speak>", warn=warnings.append)[0].text == spoken
    written = element.split(">")[1].split("<")[0]
    assert warnings == ([f"<say-as interpret-as='date'>: {written!r} is not a date; read as it is"] if warned else [])


def test_characters_are_spelled_even_a_single_a():
    sentence = plan_speech('<speak><say-as interpret-as="characters">a</say-as></speak>')[0]
    assert sentence.phonemes == ["EY1", "."]  # the letter, not the article


def test_phonemes_in_arpabet_and_ipa():
    arpabet = plan_speech('<speak><phoneme alphabet="arpabet" ph="T AH0 M EY1 T OW2">tomato</phoneme></speak>')[0]
    assert arpabet.phonemes == ["T", "AH0", "M", "EY1", "T", "OW2", "."]
    ipa = plan_speech('<speak><phoneme alphabet="ipa" ph="təˈmeɪtoʊ">tomato</phoneme></speak>')[0]
    assert ipa.phonemes == ["T", "AH0", "M", "EY1", "T", "OW0", "."]


@pytest.mark.parametrize(
    "ipa, arpabet",
    [
        ("ˈhɛloʊ", "HH EH1 L OW0"),
        ("θɪŋk", "TH IH0 NG K"),
        ("ˈtʃɜːtʃ", "CH ER1 CH"),
        ("dʒʌmp", "JH AH1 M P"),
        ("ˈaɪ", "AY1"),
        ("ˌbɔɪ", "B OY2"),
        ("ʃuː", "SH UW0"),
        ("ˈʒɑ", "ZH AA1"),
        ("ðə", "DH AH0"),
        ("ˈbʌtɚ", "B AH1 T ER0"),
    ],
)
def test_ipa_maps_to_arpabet(ipa, arpabet):
    assert " ".join(ipa_to_arpabet(ipa)) == arpabet


def test_ipa_that_cannot_be_mapped_is_a_clear_error():
    with pytest.raises(InputError, match="cannot map 'ʀ'"):
        plan_speech('<speak><phoneme alphabet="ipa" ph="ʀu">rue</phoneme></speak>')
    with pytest.raises(InputError, match="not ARPAbet"):
        plan_speech('<speak><phoneme alphabet="arpabet" ph="QQ1">x</phoneme></speak>')
    with pytest.raises(InputError, match="not supported"):
        plan_speech('<speak><phoneme alphabet="sampa" ph="x">x</phoneme></speak>')


def test_unknown_elements_are_skipped_with_a_warning():
    heard = []
    items = plan_speech(
        '<speak><voice name="x">Hello</voice> <mark name="m"/>there <audio src="a.wav">beep</audio>'
        '<prosody rate="sideways">now</prosody></speak>',
        warn=heard.append,
    )
    assert items[0].text == "Hello there beep now"
    assert any("<voice>" in w for w in heard) and any("<audio>" in w for w in heard)
    assert any("sideways" in w for w in heard) and not any("<mark>" in w for w in heard)
    assert items[0].marks == [("m", 1)]  # a mark is kept, before the word it precedes


@pytest.mark.parametrize(
    "mark", ["<mark/>", '<mark name=""/>', f'<mark name="{"x" * 201}"/>', '<mark name="a&#10;b"/>']
)
def test_a_mark_needs_a_short_printable_name(mark):
    with pytest.raises(InputError, match="needs a name of printable text"):
        plan_speech(f"<speak>Hello {mark}there.</speak>")


def test_marks_alone_and_between_sentences_are_kept_in_order():
    items = plan_speech('<speak><mark name="a"/>One. <mark name="b"/>Two.<mark name="c"/></speak>')
    assert [i.marks for i in items if isinstance(i, Sentence)] == [[("a", 0)], [("b", 0)]]
    assert isinstance(items[-1], Mark) and items[-1].name == "c"


def test_several_marks_after_the_last_word_follow_it_in_order():
    # Orca closes a message with its marks; the second one crashed (exit 70) where the first stood alone.
    items = plan_speech('<speak>Hello.<mark name="a"/><mark name="b"/> <mark name="c"/></speak>')
    assert [item.name for item in items[1:]] == ["a", "b", "c"] and all(isinstance(i, Mark) for i in items[1:])


@pytest.mark.parametrize("ssml", [False, True])
def test_a_word_too_long_to_read_is_skipped_with_a_warning(ssml):
    welsh = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"  # 58 letters
    text = f"Say {welsh} now."
    heard: list[str] = []
    (sentence,) = plan_speech(f"<speak>{text}</speak>" if ssml else text, warn=heard.append)
    assert [word.source for word in sentence.words if word.text == welsh] == ["skipped"]
    assert heard == [f"'{welsh}' is not read: longer than 45 letters, it is taken for noise"]
    result = CliRunner().invoke(app, ["phonemize", text])
    assert result.exit_code == 0 and "warning: 'Llanfair" in result.stderr


@pytest.mark.parametrize(
    "document, message",
    [
        ("<speak>Hello", "not well-formed"),
        ("<speak><b>bold</speak>", "not well-formed"),
        ("<p>Hello</p>", "must start with <speak>"),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            "<speak>&lol2;</speak>",
            "DTD or entities",
        ),
        ('<!DOCTYPE speak [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><speak>&xxe;</speak>', "DTD or entities"),
        ("<speak>&undefined;</speak>", "not well-formed"),
        ("<speak>" + "<s>" * 5000 + "deep" + "</s>" * 5000 + "</speak>", "nests elements more than 100 deep"),
    ],
)
def test_malformed_and_hostile_documents_are_one_line_errors(document, message):
    with pytest.raises(InputError, match=message):
        plan_speech(document, ssml=True)
    result = CliRunner().invoke(app, ["phonemize", "--ssml", document])
    assert_one_line_error(result, 2, message)


@pytest.mark.parametrize(
    "start", ["\ufeff", "  \ufeff\n", '<?xml version="1.0" encoding="UTF-8"?>\n', '\ufeff<?xml version="1.0"?>']
)
def test_a_document_after_a_byte_order_mark_or_an_xml_declaration_is_ssml(start):
    document = start + '<speak>Hello <break time="1s"/> there.</speak>'
    assert texts(document) == ["Hello", "there."] and Pause(1.0) in plan_speech(document)


def test_a_document_with_a_doctype_is_ssml_and_refused():
    with pytest.raises(InputError, match="DTD"):
        plan_speech("<!DOCTYPE speak><speak>Hello</speak>")


def test_ssml_nested_as_deep_as_allowed_is_read():
    assert texts("<speak>" + "<s>" * 99 + "deep" + "</s>" * 99 + "</speak>") == ["deep"]


def test_tags_are_read_aloud_only_when_asked_not_to_parse():
    assert "less than" not in " ".join(texts("<speak>Hello</speak>"))
    plain = plan_speech("<speak>Hello</speak>", ssml=False)
    assert "speak" in plain[0].text


def test_ssml_changes_the_audio_where_it_says(tiny_voice):
    synthesizer = Synthesizer(tiny_voice)
    plain = synthesizer.synthesize("Hello world.")
    slow = synthesizer.synthesize('<speak>Hello <prosody rate="50%">world</prosody>.</speak>')
    # "world" (the boundary before it, W ER1 L D, and the sentence's end) takes twice its 6 frames per phoneme
    assert len(slow) - len(plain) == 6 * 6 * HOP
    paused = synthesizer.synthesize('<speak>Hello <break time="500ms"/> world.</speak>')
    assert len(paused) > len(plain) + int(0.45 * 22050)
    quiet = synthesizer.synthesize('<speak><prosody volume="-6dB">Hello world.</prosody></speak>')
    assert np.abs(quiet).max() == pytest.approx(np.abs(plain).max() * 10 ** (-6 / 20), rel=0.02)


def test_say_reads_ssml_from_a_file(tiny_voice, tmp_path):
    document = tmp_path / "doc.ssml"
    document.write_text('<speak>Hi <break time="1s"/> there.</speak>')
    result = CliRunner().invoke(
        app, ["say", "-f", str(document), "-v", str(tiny_voice.folder), "-o", str(tmp_path / "x.wav")]
    )
    assert result.exit_code == 0, result.output


def test_runs_make_sentences_across_tags():
    items = plan_speech("<speak>I <emphasis>really</emphasis> mean it. Then <sub alias='go'>leave</sub>.</speak>")
    assert [i.text for i in items] == ["I really mean it.", "Then go."]
    question = plan_speech("<speak>Is it <emphasis>you</emphasis>?</speak>")[0]
    assert question.text == "Is it you?" and question.phonemes[-1] == "?"
    assert isinstance(Run("x"), Run) and Boundary() == Boundary()


runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_the_pauses_of_one_ssml_document_are_bounded():
    from lightspeech_cli.text.ssml import MAX_BREAK_SECONDS, MAX_DOCUMENT_PAUSE_SECONDS

    breaks = int(MAX_DOCUMENT_PAUSE_SECONDS // MAX_BREAK_SECONDS)
    at_most = "<speak>hi" + f"<break time='{MAX_BREAK_SECONDS:g}s'/>" * breaks + "</speak>"
    assert run("phonemize", at_most).exit_code == 0
    assert_one_line_error(run("phonemize", at_most.replace("hi", "hi<p>there</p>")), 2, "minutes of pauses")
