import pytest

from lightspeech_cli.text.chunks import sentence_chunks
from lightspeech_cli.text.normalize import normalize


@pytest.mark.parametrize(
    "written, spoken",
    [
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
        ("at 3:05 or 12:00 or 7 a.m.", "at three oh five or twelve o'clock or seven A M."),
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
        ("He lives on Main St.", "He lives on Main street."),
        ("He met St. Patrick.", "He met saint Patrick."),
        ("cats, e.g. tabbies, i.e. cats, etc.", "cats, for example tabbies, that is cats, et cetera."),
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
        ("hello \U0001f600 \u4e16\u754c world", "hello world"),
        # inline phonemes pass through untouched
        ("say [[HH AH0 L OW1]] 2 me", "say [[HH AH0 L OW1]] two me"),
        # money: cents, zero, one cent, scales, other currencies
        ("$5.5", "five dollars and fifty cents"),
        ("$5.05", "five dollars and five cents"),
        ("$0", "zero dollars"),
        ("It costs $.50 now.", "It costs fifty cents now."),
        ("$.01 each", "one cent each"),
        ("32 March 2020", "thirty-two March twenty twenty"),
        ("$0.01 or $1.01", "one cent or one dollar and one cent"),
        ("$5k and $2bn and £3 million", "five thousand dollars and two billion dollars and three million pounds"),
        (
            "€2.50 and ¥1,000 and ₹100.75",
            "two euros and fifty cents and one thousand yen and one hundred rupees and seventy-five paise",
        ),
        # numbers too long to say are read digit by digit, never an error
        ("$" + "9" * 400, " ".join(["nine"] * 400) + " dollars"),
        ("9" * 30 + "th", " ".join(["nine"] * 29) + " ninth"),
        ("$1e999", "one times ten to the power of nine hundred ninety-nine"),
        # technical text
        ("v2.0 and v1.2.3", "version two point oh and version one point two point three"),
        ("2x faster on a 4x4", "two times faster on a four by four"),
        ("1/2 cup and 3/4 hour and 3/8 inch", "one half cup and three quarters hour and three eighths inch"),
        ("on 12/25", "on December twenty-fifth"),
        ("15/17 of them", "fifteen over seventeen of them"),
        ("10-20 people", "ten to twenty people"),
        ("3.5GHz and 16 GB", "three point five gigahertz and sixteen gigabytes"),
        ("5k steps and 2.5M users", "five thousand steps and two point five million users"),
        ("R&D vs. QA vs QC", "R and D versus QA versus QC"),
        (
            "Henry VIII and Louis XIV in World War II, Chapter IV",
            "Henry the eighth and Louis the fourteenth in World War two, Chapter four",
        ),
        ("I went to Washington DC", "I went to Washington DC"),
        ("#1 and item #3", "number one and item number three"),
        ("COVID-19 and MP3", "COVID nineteen and MP three"),
        ("1e9", "one times ten to the power of nine"),
        # initials and dotted abbreviations inside a sentence
        ("James T. Kirk met J. R. R. Tolkien in the U.S. Army", "James T Kirk met J R R Tolkien in the U S Army"),
        ("a Ph.D. in physics", "a P H D in physics"),
        # terminal colour codes are never read aloud
        ("\x1b[31mred\x1b[0m 31 m", "red thirty-one meters"),
        # ...nor any other ECMA-48 sequence: 8-bit CSI, OSC, DCS, APC, charset designations, ESC 7
        ("\x9b31mred", "red"),
        ("\x1bPqdata\x1b\\hi", "hi"),
        ("\x1b(Bhi", "hi"),
        ("\x1b]0;title\x07hi \x9d0;title\x9cthere", "hi there"),
        ("\x1b_app\x1b\\hi \x90dcs\x9cthere\x1b7", "hi there"),
        # versions: after a v, or with two dots or more, the parts are numbers and the dots never end a sentence
        ("v2.0 2x 1/2", "version two point oh two times one half"),
        ("Python 3.12.1 is out.", "Python three point twelve point one is out."),
        ("version 2.0.1 and 1.05.3", "version two point oh point one and one point oh five point three"),
        ("Get v2.1.", "Get version two point one."),
        ("192.168.0.1", "one nine two dot one six eight dot zero dot one"),
        ("on 25.12.2026", "on the twenty-fifth of December, twenty twenty-six"),
        # numbers around a slash
        ("open 24/7", "open twenty-four seven"),
        ("Windows 10/11", "Windows ten or eleven"),
        ("due 3/15 or by Mon 10/11", "due March fifteenth or by Mon October eleventh"),
        # ranges say the unit once, at the end
        ("1-2 pm", "one to two P M"),
        ("9am-5pm and 10:30-11:00", "nine A M to five P M and ten thirty to eleven o'clock"),
        (
            "$5-10 or $5.50-$10 or $1-2 million",
            "five to ten dollars or five dollars and fifty cents to ten dollars or one to two million dollars",
        ),
        ("50%-60% and 5-10%", "fifty to sixty percent and five to ten percent"),
        ("1.5-2x and 2x-3x", "one point five to two times and two to three times"),
        ("5-10 min and 5 km - 10 km", "five to ten minutes and five to ten kilometers"),
        ("Mon-Fri and Sat\u2013Sun", "Monday to Friday and Saturday to Sunday"),
        # multipliers and dimensions: a dimension has no space around its x, or one on each side
        ("x2 speed", "times two speed"),
        ("4x4x4 and 2 x 3", "four by four by four and two by three"),
        # decades
        ("1990s", "nineteen nineties"),
        ("the 90s and the '80s", "the nineties and the eighties"),
        ("1800s and 2000s", "eighteen hundreds and two thousands"),
        # units without a number
        ("km/h", "kilometers per hour"),
        ("GHz and MHz", "gigahertz and megahertz"),
        # hashtags, sharps, resolutions
        ("#hashtag and C#", "hashtag and C sharp"),
        ("4K video and 5k steps", "four K video and five thousand steps"),
    ],
)
def test_normalize(written, spoken):
    assert normalize(written) == spoken


def test_sentences_split_at_sentence_ends_only():
    from lightspeech_cli.text import frontend

    text = "Dr. Smith arrived. Was he late? No! He paid $5.50 at 3 p.m. Then left."
    assert [s.text for s in frontend(text)] == [
        "doctor Smith arrived.",
        "Was he late?",
        "No!",
        "He paid five dollars and fifty cents at three P M.",
        "Then left.",
    ]


def test_long_sentences_are_chunked_at_commas_then_spaces():
    sentence = ", ".join(["the quick brown fox jumps over the lazy dog"] * 20) + "."
    chunks = [sentence[a:b] for a, b in sentence_chunks(sentence, max_chars=100)]
    assert all(len(c) <= 100 for c in chunks)
    assert " ".join(chunks).replace(", ", " ").split() == sentence.replace(",", "").split()
    unbroken = "a" * 1000
    assert [unbroken[a:b] for a, b in sentence_chunks(unbroken, max_chars=300)] == ["a" * 300] * 3 + ["a" * 100]


@pytest.mark.parametrize(
    "hostile",
    [
        "'" * 100_000,
        "." * 100_000,
        "1.2." * 25_000,
        " ," * 50_000,
        "- " * 50_000,
        "$1 " * 30_000,
        "1/2/" * 25_000,
        "a." * 50_000,
        "Mr. " * 25_000,
        "A. " * 30_000,
        "1x" * 50_000,
        "$1-" * 33_000,
        "1%-" * 33_000,
        "1:1-" * 25_000,
        "1 km-" * 20_000,
        "\x1b]" + "a" * 99_998,
        "\x9b" + "0" * 99_999,
        "'90s" * 25_000,
    ],
)
def test_the_frontend_is_fast_on_hostile_text(hostile):
    import time

    from lightspeech_cli.text import frontend

    started = time.perf_counter()
    frontend(hostile)
    assert time.perf_counter() - started < 10  # every pattern is linear: about a second on this machine


@pytest.mark.parametrize(
    "written, ending",
    [
        ("$" + "9" * 5000, "nine nine dollars"),
        ("$5-" + "9" * 5000, "nine nine dollars"),
        ("9" * 5000 + "th", "nine ninth"),
        ("0" * 5000 + "21st", "twenty-first"),
        ("$" + "0" * 5000 + "1", "one dollar"),
    ],
)
def test_numbers_of_more_digits_than_int_takes_are_read(written, ending):
    # int() refuses more than 4300 digits; a line may hold 100,000
    assert normalize(written).endswith(ending)
