"""English text normalization: turn written text into the words a reader would say.

Each rule is one regular-expression pass; `normalize` runs them in an order where an
earlier pass never destroys what a later one needs (URLs before dots are read as
sentence ends, dates and phone numbers before plain numbers, and so on). Number words
come from num2words; we only shape them into American style ("two thousand five",
not "two thousand and five").

Inline phonemes such as ``[[HH AH0 L OW1]]`` are left untouched for the G2P.
"""

from __future__ import annotations

import calendar
import re
import unicodedata

INLINE_PHONEMES = re.compile(r"\[\[[^\[\]]*\]\]")

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_BY_ABBREVIATION = {m[:3].lower(): m for m in MONTHS} | {"sept": "September"}

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()

# Characters that carry no sound of their own but must not glue words together.
UNICODE_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": " - ",
    "\u2014": ", ",
    "\u2015": ", ",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u00d7": " times ",
    "\u00f7": " divided by ",
    "\u00bd": " one half ",
    "\u00bc": " one quarter ",
    "\u00be": " three quarters ",
    "\u00b1": " plus or minus ",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
    "\u00f0": "d",
    "\u00fe": "th",
}

ABBREVIATIONS = {
    # Titles are always followed by a name, so their period never ends a sentence.
    "Mr.": "mister",
    "Mrs.": "missus",
    "Ms.": "miz",
    "Prof.": "professor",
    "Sr.": "senior",
    "Jr.": "junior",
    "Mt.": "mount",
    "Gen.": "general",
    "Capt.": "captain",
    "Lt.": "lieutenant",
    "Sgt.": "sergeant",
    "Rev.": "reverend",
    "Gov.": "governor",
    "Sen.": "senator",
    "Rep.": "representative",
}
TRAILING_ABBREVIATIONS = {
    # These can close a sentence; the period is kept when a new sentence follows.
    "etc.": "et cetera",
    "vs.": "versus",
    "approx.": "approximately",
    "Ave.": "avenue",
    "Rd.": "road",
    "Blvd.": "boulevard",
    "Inc.": "incorporated",
    "Ltd.": "limited",
    "Corp.": "corporation",
    "Co.": "company",
    "Dept.": "department",
    "Fig.": "figure",
    "min.": "minutes",
    "max.": "maximum",
    "e.g.": "for example",
    "i.e.": "that is",
    "a.k.a.": "also known as",
}

UNITS = {
    # symbol: (singular, plural)
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "m/s": ("meter per second", "meters per second"),
    "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"),
    "m": ("meter", "meters"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "l": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"),
    "ms": ("millisecond", "milliseconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "KB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
}

CURRENCIES = {
    # symbol: (unit singular, unit plural, cent singular, cent plural)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
SCALES = {
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "b": "billion",
    "bn": "billion",
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
}

SYMBOLS = {
    "&": " and ",
    "+": " plus ",
    "@": " at ",
    "=": " equals ",
    "%": " percent ",
    "/": " slash ",
    "#": " hash ",
    "~": " about ",
    "<": " less than ",
    ">": " greater than ",
    "§": " section ",
    "_": " ",
}

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# Matching only where a number starts keeps passes linear on long runs of digits.
NUMBER_START = r"(?<![\d.,])"


# --- number words --------------------------------------------------------------


def _american(words: str) -> str:
    """num2words writes British number words; drop the 'and' and the commas."""
    return re.sub(r",| and(?= )", "", words)


def _num2words(n: int, to: str) -> str:
    from num2words import num2words  # imported when a number is read: it loads every language (20 ms)

    return num2words(n, to=to)


# Past the trillions nobody says a number as one: its digits are read instead.
LARGEST_SAID = 10**15


def cardinal(n: int) -> str:
    if abs(n) >= LARGEST_SAID:
        return ("minus " if n < 0 else "") + digits(str(abs(n)))
    return _american(_num2words(n, "cardinal"))


def ordinal(n: int) -> str:
    if n >= LARGEST_SAID:  # "...nine fifth": the digits, the last one as an ordinal
        return digits(str(n)[:-1]) + " " + ordinal(int(str(n)[-1]))
    return _american(_num2words(n, "ordinal"))


def year(n: int) -> str:
    return _american(_num2words(n, "year"))


def digits(s: str) -> str:
    return " ".join(DIGIT_WORDS[int(d)] for d in s if d.isdigit())


def number(s: str) -> str:
    """A written number ("1,234.50", "-3", "0.5") as words."""
    s = s.replace(",", "")
    negative = s.startswith("-")
    s = s.lstrip("-")
    whole, _, fraction = s.partition(".")
    words = digits(whole) if len(whole) > 15 else cardinal(int(whole or "0"))
    if fraction:
        words += " point " + digits(fraction)
    return ("minus " + words) if negative else words


# --- passes --------------------------------------------------------------------


# Terminal control sequences (ECMA-48), pasted from a terminal, are never read. In order:
# CSI, 7-bit (ESC [) and 8-bit (U+009B), colours and cursor moves: parameters,
# intermediates, one final byte; the control strings OSC, DCS, SOS, PM and APC (ESC ] P X
# ^ _, or U+009D 90 98 9E 9F), up to BEL or the string terminator (ESC \ or U+009C), or to
# the end of an unterminated one; every other escape sequence: ESC, intermediates (the
# charset designations ESC ( B, ESC ) 0) and one final byte (ESC 7, ESC c). Each match
# starts at an escape character and cannot back up past the next: linear.
ANSI_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)


def clean_unicode(text: str) -> str:
    """Fold typographic punctuation to ASCII, strip accents, drop control characters and
    terminal escape codes."""
    text = ANSI_ESCAPE.sub(" ", text)
    text = "".join(UNICODE_REPLACEMENTS.get(c, c) for c in text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(UNICODE_REPLACEMENTS.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFD", text)
    kept = []
    for c in decomposed:
        category = unicodedata.category(c)
        if category == "Mn":
            continue  # accents: café -> cafe
        if category[0] in "CZ":
            kept.append(" ")  # controls, line breaks and odd spaces separate words
        else:
            kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


def _speak_address(address: str) -> str:
    spoken = {
        ".": " dot ",
        "@": " at ",
        "/": " slash ",
        ":": " colon ",
        "-": " dash ",
        "_": " underscore ",
        "?": " question mark ",
        "=": " equals ",
        "&": " and ",
        "~": " tilde ",
        "#": " hash ",
        "+": " plus ",
    }
    address = re.sub(r"\d+", lambda m: " " + digits(m.group()) + " ", address)
    return "".join(spoken.get(c, c) for c in address)


URL = re.compile(r"(?:https?://|www\.)\S+|[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|io|dev|ai)(?:/\S*)?")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def expand_urls_and_emails(text: str) -> str:
    # Token by token: a pattern searched across the whole text backtracks badly on
    # long unbroken input, a full match of one token cannot.
    def token(m: re.Match) -> str:
        word = m.group()
        address = word.rstrip(".,;:!?")  # trailing punctuation belongs to the sentence
        if not ("." in address or "@" in address):
            return word
        if EMAIL.fullmatch(address):
            return " " + _speak_address(address) + word[len(address) :]
        if URL.fullmatch(address):
            readable = re.sub(r"^www\.", "", re.sub(r"^https?://", "", address)).rstrip("/")
            return " " + _speak_address(readable) + word[len(address) :]
        return word

    return re.sub(r"\S+", token, text)


def expand_phone_numbers(text: str) -> str:
    def phone(m: re.Match) -> str:
        groups = [g for g in m.groups() if g]
        return ", ".join(digits(g) for g in groups)

    return re.sub(r"(?<![\d.,])(?:\+?(1)[\s.-])?\(?(\d{3})\)?[\s.-](\d{3})[\s.-](\d{4})(?![\d-])", phone, text)


def _month_number(name: str) -> int:
    """1-12 for a month's name or abbreviation ("Nov", "Sept.", "March")."""
    key = name.lower().rstrip(".")
    return MONTHS.index(MONTH_BY_ABBREVIATION["sept" if key.startswith("sept") else key[:3]]) + 1


DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date(month: int, day: int, year_: int | None = None) -> bool:
    """Whether the day exists in that month: February 29 only in a leap year when the year
    is known."""
    if not 1 <= month <= 12:
        return False
    leap = year_ is None or calendar.isleap(year_)
    return 1 <= day <= (29 if month == 2 and leap else DAYS_IN_MONTH[month - 1])


def _date(month: int, day: int, year_: int | None) -> str:
    words = f"{MONTHS[month - 1]} {ordinal(day)}"
    return words + (f", {year(year_)}" if year_ is not None else "")


# Day names by their first three letters, for "Mon-Fri".
DAYS = {d[:3].lower(): d for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
DAY_NAME = (
    r"(Mon(?:day)?|Tue(?:s(?:day)?)?|Wed(?:nesday)?|Thu(?:r(?:s(?:day)?)?)?|Fri(?:day)?|Sat(?:urday)?|"
    r"Sun(?:day)?)\.?"
)
# A hyphen between two numbers, times, amounts or days is "to"; clean_unicode made an
# en dash " - " already.
RANGE = r"\s?-\s?"
AT_END = re.compile(r"\s*$")


def _at_end(m: re.Match) -> bool:
    """Whether only space follows the match (matched in place: slicing the rest of the
    text at every match would make a pass quadratic)."""
    return AT_END.match(m.string, m.end()) is not None


def expand_dates(text: str) -> str:
    def iso(m: re.Match) -> str:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return _date(mo, d, y) if is_date(mo, d, y) else m.group()

    def slashed(m: re.Match) -> str:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if y < 100:
            y += 2000 if y < 50 else 1900
        month, day = (a, b) if a <= 12 else (b, a)  # US order unless impossible
        return _date(month, day, y) if is_date(month, day, y) else m.group()

    def dotted(m: re.Match) -> str:
        day, month, y = int(m.group(1)), int(m.group(2)), int(m.group(3))  # 25.12.2026: day first
        if not is_date(month, day, y):
            return m.group()
        return f"the {ordinal(day)} of {MONTHS[month - 1]}, {year(y)}"

    def month_day(m: re.Match) -> str:
        day = int(m.group(2))
        y = int(m.group(3)) if m.group(3) else None
        month = _month_number(m.group(1))
        return _date(month, day, y) if is_date(month, day, y) else m.group()

    def day_month(m: re.Match) -> str:
        day, month = int(m.group(1)), _month_number(m.group(2))
        if not is_date(month, day, int(m.group(3)) if m.group(3) else None):
            return m.group()
        words = f"the {ordinal(day)} of {MONTHS[month - 1]}"
        return words + (f", {year(int(m.group(3)))}" if m.group(3) else "")

    month_name = (
        r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
        r"Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
    )
    text = re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", iso, text)
    text = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b", slashed, text)
    text = re.sub(NUMBER_START + r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\w|\.\d)", dotted, text)
    text = re.sub(month_name + r" (\d{1,2})(?:st|nd|rd|th)?\b(?:,? (\d{4})\b)?", month_day, text)
    text = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)? " + month_name + r"(?:,? (\d{4})\b)?", day_month, text)
    # A month abbreviation left on its own ("in Nov.") is still the month.
    text = re.sub(
        r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.", lambda m: MONTHS[_month_number(m.group(1)) - 1], text
    )
    # A lone "Sun" or "Sat" may be a word; in a range ("Mon-Fri") it is a day.
    return re.sub(
        r"\b" + DAY_NAME + RANGE + DAY_NAME + r"(?!\w)",
        lambda m: f"{DAYS[m.group(1)[:3].lower()]} to {DAYS[m.group(2)[:3].lower()]}",
        text,
    )


MERIDIEM = r"\s?([AaPp])\.?\s?[Mm]\.?(?![A-Za-z])"


def _clock(hour: int, minute: int | None, meridiem: str | None) -> str | None:
    """A time as said ("three forty-five P M", "twelve o'clock", "seven oh five"), or None
    for what is no time (25:00). `minute` is None when only the hour was written."""
    if hour > 23 or (minute or 0) > 59:
        return None
    words = cardinal(hour)
    if minute == 0 and not meridiem:
        words += " o'clock" if hour <= 12 else " hundred"
    elif minute:
        words += (" oh " if minute < 10 else " ") + cardinal(minute)
    if meridiem:
        words += " A M" if meridiem.lower() == "a" else " P M"
    return words


def expand_times(text: str) -> str:
    def closing(m: re.Match) -> str:
        return "." if m.group().endswith(".") and _at_end(m) else ""  # "p.m." closed the sentence too

    def minutes(written: str | None) -> int | None:
        return int(written) if written else None

    def span(m: re.Match) -> str:
        hour, minute, meridiem, last_hour, last_minute, last_meridiem = m.groups()
        if not (minute or meridiem or last_minute or last_meridiem):
            return m.group()  # "10-20 people": numbers, not times
        first = _clock(int(hour), minutes(minute), meridiem)
        last = _clock(int(last_hour), minutes(last_minute), last_meridiem)
        if first is None or last is None:
            return m.group()
        return f"{first} to {last}{closing(m)}"

    def clock(m: re.Match) -> str:
        words = _clock(int(m.group(1)), minutes(m.group(2)), m.group(3))
        return m.group() if words is None else words + closing(m)

    time = r"(\d{1,2})(?::(\d{2}))?(?:" + MERIDIEM + ")?"
    # 10:30-11:00, 9am-5pm, 1-2 pm: a range of times when one end has minutes or a meridiem.
    text = re.sub(r"(?<![\d.:,])" + time + RANGE + time, span, text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})(?::\d{2})?(?:" + MERIDIEM + r")?", clock, text)
    return re.sub(r"\b(\d{1,2})()" + MERIDIEM, clock, text)


def _money(symbol: str, amount: str, scale: str | None) -> str:
    """An amount in words with its currency: "five dollars and fifty cents", "two million pounds"."""
    unit, units, cent, cents = CURRENCIES[symbol]
    amount = amount.replace(",", "")
    if scale:
        return f"{number(amount)} {SCALES[scale.lower()]} {units}"
    whole, _, fraction = amount.partition(".")
    # Kept written: number() reads a whole past the trillions by its digits, and int() refuses
    # one of more than 4300.
    whole = whole.lstrip("0")
    cents_n = int((fraction + "0")[:2]) if fraction else 0
    parts = []
    if whole or not cents_n:
        parts.append(f"{number(whole or '0')} {unit if whole == '1' else units}")
    if cents_n:
        parts.append(f"{cardinal(cents_n)} {cent if cents_n == 1 else cents}")
    return " and ".join(parts)


def expand_currency(text: str) -> str:
    def span(m: re.Match) -> str:
        symbol, first, last, scale = m.groups()
        # "$5-10": "five to ten dollars", the unit said once; "$5.50-10" needs both.
        start = _money(symbol, first, None) if "." in first and not scale else number(first)
        return f"{start} to {_money(symbol, last, scale)}"

    symbol = "([$£€¥₹])"
    scales = r"(?:\s?(thousand|million|billion|trillion|[kKmMbB][nN]?)\b)?"
    # "(?!\w)": "$1e999" is not one dollar followed by "e999".
    text = re.sub(
        symbol + r"\s?(" + NUMBER + ")" + RANGE + r"(?:\1\s?)?(" + NUMBER + ")" + scales + r"(?!\w)", span, text
    )
    # "$.50" is written without its zero dollars.
    return re.sub(
        symbol + r"\s?(" + NUMBER + r"|\.\d+)" + scales + r"(?!\w)",
        lambda m: _money(m.group(1), m.group(2), m.group(3)),
        text,
    )


def expand_percentages(text: str) -> str:
    amount = NUMBER_START + r"(-?(?:" + NUMBER + r"))"
    text = re.sub(
        amount + r"\s?%?" + RANGE + "(" + NUMBER + r")\s?%",
        lambda m: f"{number(m.group(1))} to {number(m.group(2))} percent",
        text,
    )  # 50-60%, 50%-60%
    return re.sub(amount + r"\s?%", lambda m: number(m.group(1)) + " percent", text)


# Unit symbols read even without a number: nobody says "G H z" or "k m slash h".
SPOKEN_ALONE = ("km/h", "m/s", "kHz", "MHz", "GHz", "Hz")


def _quantity(amount: str, symbol: str) -> str:
    singular, plural = UNITS[symbol]
    return f"{number(amount)} {singular if amount == '1' else plural}"


def expand_units(text: str) -> str:
    def span(m: re.Match) -> str:  # 5-10 min, 5 km-10 km: "five to ten minutes"
        first, first_unit, last, unit = m.groups()
        if first_unit and first_unit != unit:
            return f"{_quantity(first, first_unit)} to {_quantity(last, unit)}"
        return f"{number(first)} to {_quantity(last, unit)}"

    symbols = "(" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True)) + ")"
    amount = NUMBER_START + r"(-?(?:" + NUMBER + r"))\s?"
    text = re.sub(amount + "(?:" + symbols + r"\s?)?-\s?(" + NUMBER + r")\s?" + symbols + r"(?![\w/])", span, text)
    text = re.sub(amount + symbols + r"(?![\w/])", lambda m: _quantity(m.group(1), m.group(2)), text)
    alone = "|".join(re.escape(u) for u in SPOKEN_ALONE)
    return re.sub(r"(?<![\w/°])(" + alone + r")(?![\w/])", lambda m: UNITS[m.group(1)][1], text)


def _version_part(part: str, first: bool) -> str:
    """3 -> three and 12 -> twelve; after a dot, 0 -> oh and 05 -> oh five."""
    if first or not part.startswith("0"):
        return cardinal(int(part))
    return " ".join("oh" if d == "0" else DIGIT_WORDS[int(d)] for d in part)


def expand_versions(text: str) -> str:
    """v2.0 -> version two point oh; v1.2.3 -> version one point two point three; with two
    or more dots a number is a version too, its parts numbers, not decimals (Python
    3.12.1 -> three point twelve point one); four parts up to 255 are an IP address."""

    def spoken(version: str) -> str:
        return " point ".join(_version_part(p, i == 0) for i, p in enumerate(version.split(".")))

    def dotted(m: re.Match) -> str:
        parts = m.group(1).split(".")
        if len(parts) == 4 and all(int(p) <= 255 for p in parts):
            return " dot ".join(digits(p) for p in parts)  # 192.168.0.1
        return spoken(m.group(1))

    text = re.sub(
        r"(?<![\w.])[vV](\d{1,6}(?:\.\d{1,6}){0,3})(?!\w|\.\d)", lambda m: "version " + spoken(m.group(1)), text
    )
    return re.sub(NUMBER_START + r"(\d{1,6}(?:\.\d{1,6}){2,3})(?!\w|\.\d)", dotted, text)


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def expand_decades(text: str) -> str:
    """1990s -> nineteen nineties, 1800s -> eighteen hundreds, the '90s and the 90s -> the nineties."""

    def decade(m: re.Match) -> str:
        n = int(m.group(1))
        return _plural(year(n) if n >= 1000 else cardinal(n))

    return re.sub(r"(?<![\w.,'])'?([1-9]0|1\d\d0|20\d0)'?s\b", decade, text)


def expand_scientific(text: str) -> str:
    """1e9 -> one times ten to the power of nine."""

    def scientific(m: re.Match) -> str:
        return f"{number(m.group(1))} times ten to the power of {number(m.group(2))}"

    return re.sub(NUMBER_START + r"(\d{1,15}(?:\.\d{1,15})?)[eE]([+-]?\d{1,3})(?![\w.])", scientific, text)


def expand_multipliers(text: str) -> str:
    """2x faster -> two times faster; 1.5-2x and 2x-3x -> ... to two times; x2 -> times two;
    a dimension, 4x4 or 1920 x 1080 (no space around the x, or one on each side) -> four by
    four, so "2x 1/2" is two times a half."""
    decimal = r"(\d+(?:\.\d+)?)"
    text = re.sub(
        NUMBER_START + decimal + "[xX]?" + RANGE + decimal + r"[xX](?!\w)",
        lambda m: f"{number(m.group(1))} to {number(m.group(2))} times",
        text,
    )
    # Starting only where a word starts keeps "1x1x1x..." linear.
    text = re.sub(
        r"(?<![\w.,])(\d+(?:[xX]\d+)+|\d+(?: [xX] \d+)+)(?!\w|\.\d)",
        lambda m: " by ".join(number(n) for n in re.split(r" ?[xX] ?", m.group(1))),
        text,
    )
    text = re.sub(NUMBER_START + decimal + r"[xX](?!\w)", lambda m: f"{number(m.group(1))} times", text)
    return re.sub(r"(?<![\w.])x" + decimal + r"(?!\w|\.\d)", lambda m: f"times {number(m.group(1))}", text)


FRACTION_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}
COMMON_DENOMINATORS = {2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 100}
# Words after which a month/day is a date: "on 12/25", "due 3/15", "Mon 10/11".
DATE_WORDS = (
    {
        "on",
        "by",
        "until",
        "till",
        "til",
        "since",
        "from",
        "due",
        "before",
        "after",
        "through",
        "thru",
        "dated",
        "starting",
        "ending",
        "expires",
        "born",
    }
    | set(DAYS)
    | {d.lower() for d in DAYS.values()}
)


def _previous_word(text: str, position: int) -> str:
    """The word just before `position` ("" when there is none), looking back a few characters only."""
    before = text[max(0, position - 40) : position]
    words = before.split()
    return words[-1].strip(".,;:") if words and before[-1:].isspace() else ""


def expand_fractions(text: str) -> str:
    """24/7 -> twenty-four seven; a month/day after a word that introduces a date (on 12/25)
    -> December twenty-fifth, day first when the first number cannot be a month (on 13/5 -> May
    thirteenth), as expand_dates reads 13/5/2020; 1/2 -> one half, 3/8 -> three eighths; after a name, the
    alternatives of a version (Windows 10/11 -> ten or eleven); any other a/b -> a over b.
    Dates with a year went to expand_dates before."""

    def fraction(m: re.Match) -> str:
        top, bottom = int(m.group(1)), int(m.group(2))
        if (top, bottom) == (24, 7):
            return "twenty-four seven"  # all day, every day
        previous = _previous_word(m.string, m.start())
        if previous.lower() in DATE_WORDS:
            month, day = (top, bottom) if top <= 12 else (bottom, top)  # US order unless impossible, as in dates
            if is_date(month, day):
                return _date(month, day, None)
        if bottom in COMMON_DENOMINATORS and top < 1000:
            singular, plural = FRACTION_DENOMINATORS.get(bottom, (ordinal(bottom), ordinal(bottom) + "s"))
            return f"{cardinal(top)} {singular if top == 1 else plural}"
        if previous[:1].isupper() and previous.lower() not in DATE_WORDS:  # "On 12/0": no name
            return f"{cardinal(top)} or {cardinal(bottom)}"
        return f"{cardinal(top)} over {cardinal(bottom)}"

    return re.sub(NUMBER_START + r"(\d{1,6})/(\d{1,6})(?![\d/]|\.\d)", fraction, text)


def expand_scaled_numbers(text: str) -> str:
    """5k -> five thousand, 2.5M and 3bn -> two point five million, three billion (money
    went to expand_currency first). A capital K is a resolution or a race (4K video, a 5K
    run), said "four K"."""
    names = {"k": "thousand", "M": "million", "bn": "billion", "B": "billion"}
    return re.sub(
        NUMBER_START + r"(\d+(?:\.\d+)?)(k|M|bn|B)\b", lambda m: f"{number(m.group(1))} {names[m.group(2)]}", text
    )


ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
# Kings and popes go up to the thirties; "Washington DC" is not the six hundredth.
REGNAL = re.compile(r"X{0,3}(?:IX|IV|V?I{0,3})")
ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}
# Words after which a Roman numeral is a plain number: World War II, Chapter IV, Part III.
ROMAN_COUNTED = {
    "war",
    "chapter",
    "part",
    "volume",
    "vol",
    "act",
    "scene",
    "book",
    "phase",
    "stage",
    "level",
    "type",
    "class",
    "section",
    "bowl",
    "episode",
    "season",
    "article",
    "title",
    "appendix",
    "mark",
}


def roman_value(numeral: str) -> int:
    total = 0
    for i, character in enumerate(numeral):
        value = ROMAN_VALUES[character]
        following = ROMAN_VALUES[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total


def expand_roman_numerals(text: str) -> str:
    """Henry VIII -> Henry the eighth (after a name), World War II -> World War two (after
    a counted word). A lone I stays the pronoun; nothing else is touched."""

    def roman(m: re.Match) -> str:
        word, numeral = m.group(1), m.group(2)
        if not ROMAN.fullmatch(numeral) or numeral == "I" and word.lower() not in ROMAN_COUNTED:
            return m.group()
        value = roman_value(numeral)
        if word.lower() in ROMAN_COUNTED:
            return f"{word} {cardinal(value)}"
        if word[0].isupper() and word[1:].islower() and REGNAL.fullmatch(numeral):
            return f"{word} the {ordinal(value)}"  # a lone I never gets here: it was kept above
        return m.group()

    return re.sub(r"\b([A-Za-z][a-z]+) ([IVXLCDM]{1,8})\b(?!['\w])", roman, text)


def expand_ordinals(text: str) -> str:
    def spoken(m: re.Match) -> str:
        written = m.group(1).lstrip("0") or "0"
        # ordinal()'s reading past the trillions, made here: int() refuses more than 4300 digits.
        if len(written) > len(str(LARGEST_SAID)) - 1:
            return digits(written[:-1]) + " " + ordinal(int(written[-1]))
        return ordinal(int(written))

    return re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", spoken, text)


def expand_abbreviations(text: str) -> str:
    for short, long in ABBREVIATIONS.items():
        text = re.sub(r"(?<![\w.])" + re.escape(short) + r"(?=\s|$)", long, text)
    # "Dr." and "St." read differently before a name than after one; a doctor's
    # name is more common than a drive's, a street's more common than a saint's.
    # Text comes here a sentence at a time (sentences.py decided where they end), so a
    # period is kept only where it closes the sentence.
    sentence_end = r"(?=\s*$)"
    text = re.sub(r"(?<![\w.])Dr\.(?=\s+[A-Z])", "doctor", text)
    for short, after_name in (("St", "street"), ("Dr", "drive")):
        text = re.sub(r"\b([A-Z][a-z]+) " + short + r"\." + sentence_end, r"\1 " + after_name + ".", text)
        text = re.sub(r"\b([A-Z][a-z]+) " + short + r"\.", r"\1 " + after_name, text)
    text = re.sub(r"(?<![\w.])St\.(?=\s+[A-Z])", "saint", text)
    text = re.sub(r"(?<![\w.])Dr\.", "doctor", text)
    text = re.sub(r"(?<![\w.])St\.", "street", text)
    text = re.sub(r"(?<![\w.])No\.\s?(?=\d)", "number ", text)
    for short, long in TRAILING_ABBREVIATIONS.items():
        pattern = r"(?<![\w.])" + re.escape(short)
        text = re.sub(pattern + sentence_end, long + ".", text)
        text = re.sub(pattern, long, text)
    text = re.sub(r"\.\.(?=\s|$)", ".", text)
    return expand_initials(text)


def expand_initials(text: str) -> str:
    """Dotted abbreviations are spelled (U.S. -> U S, Ph.D. -> P H D) and initials lose
    their period (James T. Kirk), which is kept only at the end of the sentence."""

    def dotted(m: re.Match) -> str:
        letters = " ".join(c.upper() for c in m.group(1) if c.isalpha())
        return letters + ("." if _at_end(m) else "")

    text = re.sub(r"(?<![\w.])((?:[A-Za-z]{1,2}\.){2,})(?![\w.])", dotted, text)
    return re.sub(r"(?<![\w.'])([A-Z])\.(?=\s+\S)", r"\1", text)


def expand_symbols(text: str) -> str:
    text = re.sub(r"\band/or\b", "and or", text)
    text = re.sub(r"(?<=\s)vs(?=\s)", "versus", text)
    text = re.sub(r"(?<=[A-Za-z])-(?=\d)", " ", text)  # COVID-19, F-16: one name, no pause
    text = re.sub(r"#\s?(?=\d)", " number ", text)
    text = re.sub(r"(?<![\w#])([A-G])#(?![\w#])", r"\1 sharp", text)  # C#, F#
    text = re.sub(r"(?<![\w#])#(?=[A-Za-z])", "", text)  # a hashtag is read as its word
    text = re.sub(r"(?<=\d)\s?[-–]\s?(?=\d)", " to ", text)  # ranges: 5-10
    text = re.sub(r"(?<![\w])-(?=\d)", " minus ", text)  # a sign, not a hyphen
    return "".join(SYMBOLS.get(c, c) for c in text)


def expand_numbers(text: str) -> str:
    def plain(m: re.Match) -> str:
        s = m.group()
        if re.fullmatch(r"\d{4}", s) and 1100 <= int(s) <= 2099:
            return f" {year(int(s))} "
        return f" {number(s)} "  # apart from any letters it touched: MP3 -> MP three

    return re.sub(NUMBER, plain, text)


def tidy(text: str) -> str:
    """Keep letters, apostrophes, inline-phoneme brackets and the punctuation that
    shapes prosody; everything else (emoji, foreign scripts) has no reading and goes."""
    # Every pattern that starts with optional space only starts after a non-space
    # ("(?<!\s)"), so long runs of blanks or punctuation are scanned once, not once per position.
    punctuation_run = re.compile(r"(?<!\s)\s*([,.?!;:])(?:\s*[,.;:])*")  # ", ." -> ","
    text = re.sub(r"[\"()\[\]{}]", " ", text)
    text = re.sub(r"[^A-Za-z0-9' ,.?!;:\-]", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = punctuation_run.sub(r"\1 ", text)
    text = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", " ", text)  # quotes, not o'clock
    text = re.sub(r"\s-\s|--+|(?<![A-Za-z])-|-(?![A-Za-z])", ", ", text)
    text = re.sub(r"\s+", " ", text)
    text = punctuation_run.sub(r"\1 ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.lstrip(",.;:!? ").strip()


PASSES = [
    expand_urls_and_emails,
    expand_phone_numbers,
    expand_dates,
    expand_times,
    expand_versions,
    expand_decades,
    expand_scientific,
    expand_currency,
    expand_percentages,
    expand_units,
    expand_multipliers,
    expand_fractions,
    expand_scaled_numbers,
    expand_ordinals,
    expand_roman_numerals,
    expand_abbreviations,
    expand_symbols,
    expand_numbers,
    tidy,
]


def normalize(text: str) -> str:
    """Written English in, speakable words out; inline ``[[phonemes]]`` kept."""
    pieces = []
    position = 0
    for m in INLINE_PHONEMES.finditer(text):
        pieces.append(_normalize_plain(text[position : m.start()]))
        pieces.append(m.group())
        position = m.end()
    pieces.append(_normalize_plain(text[position:]))
    return " ".join(p for p in pieces if p)


def _normalize_plain(text: str) -> str:
    text = clean_unicode(text)
    for expand in PASSES:
        text = expand(text)
    return text
