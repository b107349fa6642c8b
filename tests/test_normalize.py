import pytest

from lightspeech_cli.text.normalize import normalize, split_sentences


@pytest.mark.parametrize("written, spoken", [
    # cardinals, decimals, negatives
    ("I have 3 cats and 1,234 fish.", "I have three cats and one thousand two hundred thirty-four fish."),
    ("Pi is 3.14.", "Pi is three point one four."),
    ("It was -5 outside.", "It was minus five outside."),
    ("1000000 people", "one million people"),
    # ordinals and years
    ("the 1st, 2nd, 3rd and 22nd", "the first, second, third and twenty-second"),
    ("In 1999 and 2026 and 2005", "In nineteen ninety-nine and twenty twenty-six and two thousand five"),
    # currency
    ("It costs $5.50.", "It costs five dollars and fifty cents."),
    ("£3 or €10", "three pounds or ten euros"),
    ("$1.2 million", "one point two million dollars"),
    ("$1 and $0.99", "one dollar and ninety-nine cents"),
    # percentages
    ("50% and 3.5%", "fifty percent and three point five percent"),
    # times
    ("at 3:45 pm", "at three forty-five P M"),
    ("at 3:05 or 12:00 or 7 a.m. Then", "at three oh five or twelve o'clock or seven A M. Then"),
    ("15:30", "fifteen thirty"),
    # dates
    ("2026-11-25", "November twenty-fifth, twenty twenty-six"),
    ("Nov. 25, 2026", "November twenty-fifth, twenty twenty-six"),
    ("on 11/25/2026", "on November twenty-fifth, twenty twenty-six"),
    ("25 December 2026", "the twenty-fifth of December, twenty twenty-six"),
    ("in Sept. we go", "in September we go"),
    # phone numbers
    ("Call (555) 123-4567.", "Call five five five, one two three, four five six seven."),
    ("+1 555-987-6543", "one, five five five, nine eight seven, six five four three"),
    # abbreviations
    ("Mr. and Mrs. Jones met Dr. Smith.", "mister and missus Jones met doctor Smith."),
    ("He lives on Main St. He met St. Patrick.", "He lives on Main street. He met saint Patrick."),
    ("cats, e.g. tabbies, i.e. cats, etc. The end", "cats, for example tabbies, that is cats, et cetera. The end"),
    # units
    ("5 km and 10 kg and 1 kg", "five kilometers and ten kilograms and one kilogram"),
    ("60 mph at 20°C", "sixty miles per hour at twenty degrees Celsius"),
    # symbols
    ("Tom & Jerry + friends @ home", "Tom and Jerry plus friends at home"),
    ("ages 5-10", "ages five to ten"),
    ("item #3", "item number three"),
    # URLs and e-mail
    ("See https://www.example.com/docs now", "See example dot com slash docs now"),
    ("Mail john.doe@example.org.", "Mail john dot doe at example dot org."),
    # Unicode punctuation and accented letters
    ("\u201cCaf\u00e9\u201d \u2014 na\u00efve\u2026", "Cafe, naive."),
    ("Zo\u00eb\u2019s cr\u00e8me br\u00fbl\u00e9e", "Zoe's creme brulee"),
    # acronyms are kept in capitals for the G2P, which spells them
    ("The FBI and NASA", "The FBI and NASA"),
    # what cannot be read is dropped
    ("hello \U0001F600 \u4e16\u754c world", "hello world"),
    # inline phonemes pass through untouched
    ("say [[HH AH0 L OW1]] 2 me", "say [[HH AH0 L OW1]] two me"),
])
def test_normalize(written, spoken):
    assert normalize(written) == spoken


def test_sentences_split_at_sentence_ends_only():
    text = normalize("Dr. Smith arrived. Was he late? No! He paid $5.50 at 3 p.m. Then left.")
    assert split_sentences(text) == [
        "doctor Smith arrived.", "Was he late?", "No!",
        "He paid five dollars and fifty cents at three P M.", "Then left.",
    ]


def test_long_sentences_are_chunked_at_commas_then_spaces():
    sentence = ", ".join(["the quick brown fox jumps over the lazy dog"] * 20) + "."
    chunks = split_sentences(sentence, max_chars=100)
    assert all(len(c) <= 100 for c in chunks)
    assert " ".join(chunks).replace(", ", " ").split() == sentence.replace(",", "").split()
    unbroken = "a" * 1000
    assert split_sentences(unbroken, max_chars=300) == ["a" * 300] * 3 + ["a" * 100]
