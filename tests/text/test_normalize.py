import importlib
import re

import pytest


@pytest.mark.exact
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


@pytest.mark.exact
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


@pytest.mark.exact
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


# --- at the edges: each case pins one reading that a one-character change would alter ---------


normalize_module = importlib.import_module("lightspeech_cli.text.normalize")
normalize = normalize_module.normalize


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        # every character of a web address or e-mail is spoken, digits one by one
        (
            "https://example.com/a_b?c=d&e~f#g+h-i",
            "example dot com slash a underscore b question mark c equals d and e tilde f hash g plus h dash i",
        ),
        ("http://localhost.com:8080/a", "localhost dot com colon eight zero eight zero slash a"),
        ("Mail bob99@mail.com now", "Mail bob nine nine at mail dot com now"),
        ("Visit https://example.com/ now.", "Visit example dot com now."),  # a trailing slash is not read
        ("See example.com/BOX.", "See example dot com slash BOX."),  # the sentence's period is not the address's
    ],
)
def test_addresses_are_spoken_character_by_character(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "address, spoken",
    [
        ("a.b", "a dot b"),
        ("a@b", "a at b"),
        ("a/b", "a slash b"),
        ("a:b", "a colon b"),
        ("a-b", "a dash b"),
        ("a_b", "a underscore b"),
        ("a?b", "a question mark b"),
        ("a=b", "a equals b"),
        ("a&b", "a and b"),
        ("a~b", "a tilde b"),
        ("a#b", "a hash b"),
        ("a+b", "a plus b"),
        ("a42", "a four two "),
    ],
)
def test_each_address_character_has_its_own_reading(address, spoken):
    """The address reader itself, not the symbol pass after it, says every character."""
    assert normalize_module._speak_address(address).split() == spoken.split()


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("See example.com/#install", "See example dot com slash hash install"),  # not a hashtag
        ("Visit example.com/X today", "Visit example dot com slash X today"),  # a last X is the address's
    ],
)
def test_an_address_keeps_what_later_passes_would_read_otherwise(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("On 2020-01-01 it began.", "On January first, twenty twenty it began."),
        ("On 2020-12-31 it began.", "On December thirty-first, twenty twenty it began."),
        ("On 1/1/2020 we met.", "On January first, twenty twenty we met."),
        ("On 12/1/2020 we met.", "On December first, twenty twenty we met."),  # month first while it can be a month
        ("On 13/1/2020 we met.", "On January thirteenth, twenty twenty we met."),  # else day first
        ("On 31/12/2020 we met.", "On December thirty-first, twenty twenty we met."),
        ("On 1/31/49 we met.", "On January thirty-first, twenty forty-nine we met."),  # two-digit years: 00-49 ...
        ("On 1/31/50 we met.", "On January thirty-first, nineteen fifty we met."),  # ... and 50-99
        ("On 2/12/00 we met.", "On February twelfth, two thousand we met."),
        ("On 12/31/99 we met.", "On December thirty-first, nineteen ninety-nine we met."),
        ("On 1/1/0100 we met.", "On January first, one hundred we met."),  # four digits: the year as written
        ("Born March 1 2020.", "Born March first, twenty twenty."),
        ("Born March 31, 2020.", "Born March thirty-first, twenty twenty."),
        ("Born Sept. 5, 1990.", "Born September fifth, nineteen ninety."),
        ("Born 5 Sept. 1990.", "Born the fifth of September, nineteen ninety."),
        ("Born Feb. 29, 2024.", "Born February twenty-ninth, twenty twenty-four."),  # a leap year
        ("On 29.2.2000 we met.", "On the twenty-ninth of February, two thousand we met."),  # 2000 is one
        ("By Feb 29 we meet.", "By February twenty-ninth we meet."),  # no year: it may be a leap one
        ("On 1.1.2020 we met.", "On the first of January, twenty twenty we met."),  # dotted: day first
        ("On 31.12.2020 we met.", "On the thirty-first of December, twenty twenty we met."),
        ("On May 4th we met.", "On May fourth we met."),  # no year
        ("On Dec 25th, 2020 we met.", "On December twenty-fifth, twenty twenty we met."),  # suffix and no period
        ("On 1 May 2020 we met.", "On the first of May, twenty twenty we met."),  # day before the month
        ("On 31 May we met.", "On the thirty-first of May we met."),
        ("On 25th Dec 2020 we met.", "On the twenty-fifth of December, twenty twenty we met."),
        ("Open Tues-Thurs", "Open Tuesday to Thursday"),  # day names of four letters and more
        ("Open Monday-Friday", "Open Monday to Friday"),
    ],
)
def test_dates_at_the_edges_of_the_calendar(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written",
    [
        "On 2020-13-01 it began.",
        "On 2020-00-10 it began.",
        "On 2020-01-00 it began.",
        "On 2020-01-32 it began.",
        "On 13/13/2020 we met.",
        "Born March 32, 2020.",
        "Born March 0, 2020.",
        "On 1/32/2020 we met.",
        "On 32.1.2020 we met.",
        "On 1.13.2020 we met.",
        "Born Feb. 29, 2021.",  # no leap day that year, in each way of writing a date
        "On 2021-02-29 we met.",
        "On 2/29/2021 we met.",
        "On 29.2.2021 we met.",
        "On 29 February 2021 we met.",
        "By 30 February we met.",  # not even in a leap year
        "On 2/30 we met.",
        "On 31 April 2020 we met.",  # April has thirty days
        "On 6/31/2020 we met.",
    ],
)
def test_impossible_dates_are_not_read_as_dates(written):
    """A date is read with an ordinal day (May fifth); a wrong one keeps cardinal numbers."""
    spoken = normalize(written)
    assert not re.findall(r"\b[\w-]*(?:first|second|third|th)\b", spoken), spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("At 0:00 we eat.", "At zero o'clock we eat."),
        ("At 12:00 we eat.", "At twelve o'clock we eat."),
        ("At 13:00 we eat.", "At thirteen hundred we eat."),
        ("At 23:59 we eat.", "At twenty-three fifty-nine we eat."),
        ("At 9:09 we eat.", "At nine oh nine we eat."),
        ("At 9:10 we eat.", "At nine ten we eat."),
        ("At 7 PM we eat.", "At seven P M we eat."),
        ("At 7 pm we eat", "At seven P M we eat"),
        ("At 7 a.m. we eat.", "At seven A M we eat."),
    ],
)
def test_clock_times(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("At 9:59", "At nine fifty-nine"),
        ("At 9:60", "At 9:60"),  # sixty minutes is no time: left as written
        ("At 23:00", "At twenty-three hundred"),
        ("At 24:00", "At 24:00"),
        ("From 10:30-11 we eat.", "From ten thirty to eleven we eat."),  # minutes at one end make a range of times
        ("Open 9am-5 daily", "Open nine A M to five daily"),  # so does a meridiem
        ("From 23:00-24:00 we eat.", "From twenty-three hundred-24:00 we eat."),  # an impossible end: no range
    ],
)
def test_the_times_pass_at_the_last_minute_and_hour(written, spoken):
    assert normalize_module.expand_times(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize("written", ["At 24:00 we eat.", "At 9:60 we eat."])
def test_impossible_times_are_not_read_as_times(written):
    spoken = normalize(written)
    assert "o'clock" not in spoken and "hundred" not in spoken and "oh" not in spoken.split()


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("I ate 3/4 of it.", "I ate three quarters of it."),
        ("I ate 999/4 of it.", "I ate nine hundred ninety-nine quarters of it."),
        ("I ate 1000/4 of it.", "I ate one thousand over four of it."),  # from a thousand up: "over"
        ("On 1/1 we met.", "On January first we met."),
        ("On 1/31 we met.", "On January thirty-first we met."),
        ("On 12/1 we met.", "On December first we met."),
        ("17/33 is odd.", "seventeen over thirty-three is odd."),
        ("On 13/5 we met.", "On May thirteenth we met."),  # day first when the first cannot be a month
        ("By 31/12 it ends.", "By December thirty-first it ends."),
        ("They met on 25/13.", "They met on twenty-five over thirteen."),  # neither order is a date
        ("Set it on 1/32 speed.", "Set it on one thirty-second speed."),  # no 32nd day
        ("Payment due: 3/15", "Payment due: March fifteenth"),  # the date word's colon is not part of it
        ("Mac OS X 10/11", "Mac OS X ten or eleven"),  # after a name (even one letter): alternatives
        ("\n3/4 cup of flour", "three quarters cup of flour"),  # nothing before it
        ("On 4/31 we met.", "On four over thirty-one we met."),  # April has thirty days: no date
        ("On 12/0 it ends.", "On twelve over zero it ends."),  # a capital date word is no name
    ],
)
def test_fractions_and_month_day_pairs(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("In 1099 and 1100.", "In one thousand ninety-nine and eleven hundred."),  # years are 1100-2099
        ("In 2099 and 2100.", "In twenty ninety-nine and two thousand one hundred."),
    ],
)
def test_four_digit_numbers_are_years_only_from_1100_to_2099(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("Henry VIII and World War II and Part I.", "Henry the eighth and World War two and Part one."),
        ("I saw Henry V and Henry IX.", "I saw Henry the fifth and Henry the ninth."),
        ("Ed II was king", "Ed the second was king"),
        ("Henry XL sang", "Henry XL sang"),  # past the regnal thirties: left alone
        ("Chapter IIII", "Chapter IIII"),  # not a Roman numeral
        ("Super Bowl LVII", "Super Bowl fifty-seven"),
        ("Tell Henry I said hi", "Tell Henry I said hi"),  # a lone I after a name is the pronoun
    ],
)
def test_roman_numerals(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("Dr. Smith lives on Elm St. in town.", "doctor Smith lives on Elm street in town."),
        ("He lives on Oak Dr.", "He lives on Oak drive."),
        ("Oak Dr. is near", "Oak drive is near"),
        ("Main St. is long.", "Main street is long."),
        ("St. Louis is far.", "saint Louis is far."),
        ("I saw the Dr. today", "I saw the doctor today"),
        ("the St. was wet", "the street was wet"),
        ("No. 5 is here.", "number five is here."),
        ("It ended.. Then", "It ended. Then"),
        ("I live in the U.S.", "I live in the U S."),  # spelled; the period kept only at the end
        ("The U.S. army", "The U S army"),
        ("The U.S., Canada and Mexico", "The U S, Canada and Mexico"),  # before a comma: no period
    ],
)
def test_abbreviations_in_each_position(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        (
            "5k and 2M and 3bn and 4B people.",
            "five thousand and two million and three billion and four billion people.",
        ),
        ("$2M deal", "two million dollars deal"),
        ("$3BN deal", "three billion dollars deal"),
        ("1e9 and 1E9", "one times ten to the power of nine and one times ten to the power of nine"),
        ("v2.0 and V3.1", "version two point oh and version three point one"),
        ("It is 3x4 and 2X faster.", "It is three by four and two times faster."),
        ("It is 3 X 4 big.", "It is three by four big."),
        ("and/or", "and or"),
        ("covid-19 and F-16", "covid nineteen and F sixteen"),
        (
            "3 km and 1 km/h and 5 mm and 5 m",
            "three kilometers and one kilometer per hour and five millimeters and five meters",
        ),
        ("A 'quote' and o'clock", "A quote and o'clock"),
        ("well -- then - ok", "well, then, ok"),
        ("(hello) [world] {x}", "hello world x"),
        (", hello there", "hello there"),
        ("The  spaced\t\tout", "The spaced out"),
        ("1.5-2X faster", "one point five to two times faster"),  # a capital X in a range, at either end
        ("2X-3X faster", "two to three times faster"),
        ("Prices rose 1500% in a year", "Prices rose one thousand five hundred percent in a year"),  # not a year
        ("I love #Python", "I love Python"),  # a capitalized hashtag
        ("It is 5 km-10 mi away", "It is five kilometers to ten miles away"),  # a range with two units
        ("1 kg-2 lb", "one kilogram to two pounds"),
        ("v0.9 is out", "version zero point nine is out"),  # a first part of 0 is zero, not oh
        ("Mask 255.255.255.0", "Mask two five five dot two five five dot two five five dot zero"),  # an IP
        ("Not 256.1.1.1", "Not two hundred fifty-six point one point one point one"),  # past 255: a version
        ("Card 0000111122223333", "Card zero zero zero zero one one one one two two two two three three three three"),
        ("$.5M budget", "zero point five million dollars budget"),
        ("Wait- what", "Wait, what"),  # a hyphen before a space is a pause
    ],
)
def test_scales_multipliers_symbols_and_tidying(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
def test_clean_unicode_turns_controls_and_odd_spaces_into_spaces():
    assert normalize_module.clean_unicode("a\u200bb\u2003c\x07d") == "a b c d"
    assert normalize_module.clean_unicode("\u00bd") == " one half "
    assert normalize_module.clean_unicode("5\u2033") == "5''"  # NFKC makes a double prime two primes: folded too


@pytest.mark.exact
def test_inline_phonemes_are_kept_between_normalized_text():
    assert normalize("Say [[HH AH0 L OW1]] to 2 people") == "Say [[HH AH0 L OW1]] to two people"


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("-5% and -3 km", "minus five percent and minus three kilometers"),  # the sign read by number()
        ("O'Neil met X-Ray", "O'Neil met X-Ray"),  # an apostrophe or hyphen between letters stays, capitals too
        (", X marks the spot", "X marks the spot"),  # leading punctuation goes, the word after it stays
        ("Call Dr. Smith now.", "Call doctor Smith now."),  # a doctor before a name, not Call Drive
    ],
)
def test_signs_apostrophes_and_leading_punctuation(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.exact
def test_numbers_past_the_trillions_are_read_digit_by_digit():
    fifteen_nines = "nine hundred ninety-nine trillion nine hundred ninety-nine billion"
    assert normalize("999999999999999.5").startswith(fifteen_nines) and normalize("999999999999999.5").endswith(
        "point five"
    )
    assert normalize("1000000000000000.5") == "one" + " zero" * 15 + " point five"
    assert normalize_module.cardinal(10**15) == "one" + " zero" * 15
    assert normalize_module.cardinal(-(10**15)) == "minus one" + " zero" * 15
    assert normalize_module.cardinal(10**15 - 1).startswith(fifteen_nines)
    assert normalize_module.ordinal(10**15 + 5) == "one" + " zero" * 14 + " fifth"
    assert normalize_module.ordinal(10**15 - 1).endswith("nine hundred ninety-ninth")
    assert normalize_module.ordinal(10**15) == "one" + " zero" * 14 + " zeroth"  # from 10**15 on: digits


@pytest.mark.exact
def test_the_word_before_a_fraction_is_read_without_punctuation_within_40_characters():
    previous_word = normalize_module._previous_word
    assert previous_word("due; 3/15", 5) == "due"  # punctuation around it is not part of it
    assert previous_word("Mac OS X 10/11", 9) == "X"
    assert previous_word("3/15", 0) == previous_word(" 3/15", 1) == previous_word("on3/15", 2) == ""
    assert previous_word("x" * 39 + " 3/15", 40) == "x" * 39  # a word that fits is seen whole ...
    assert previous_word("x" * 45 + " 3/15", 46) == "x" * 39  # ... a longer one by its last 39 letters


@pytest.mark.exact
@pytest.mark.parametrize(
    "written, spoken",
    [
        ("0th", "zeroth"),  # nothing left after the zeros is zero
        ("007th", "seventh"),
        # 15 digits are still read as a number; from 16 on, digit by digit and the last as an ordinal
        (
            "123456789012345th",
            "one hundred twenty-three trillion four hundred fifty-six billion seven hundred eighty-nine "
            "million twelve thousand three hundred forty-fifth",
        ),
        ("1234567890123457th", "one two three four five six seven eight nine zero one two three four five seventh"),
    ],
)
def test_ordinals_of_zeros_and_of_many_digits(written, spoken):
    from lightspeech_cli.text.normalize import expand_ordinals

    assert expand_ordinals(written) == spoken


@pytest.mark.exact
def test_money_reads_its_amount_without_the_thousands_commas():
    from lightspeech_cli.text.normalize import expand_currency

    # "0,001" is 1 once its comma and leading zeros go: one dollar, singular.
    assert expand_currency("$0,001") == "one dollar"
    assert expand_currency("$1,250.50") == "one thousand two hundred fifty dollars and fifty cents"
