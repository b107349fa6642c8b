"""The whole CLI under arbitrary text and options: it answers with audio, or with one
`error:` line and a documented exit status; never a traceback, never a file left under
the name asked for after a failure."""

import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from .conftest import make_tiny_vocoder, make_tiny_voice

DOCUMENTED = {0, 1, 2, 3, 5}  # 4 (no audio device) cannot happen: every run writes a file or stdout
runner = CliRunner()
spoke: list[str] = []


@pytest.fixture(scope="module")
def voice_and_vocoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    make_tiny_vocoder(folder / "vocoder")
    return str(make_tiny_voice(folder / "fuzz-voice").folder), str(folder / "vocoder")


WORDS = ["hello", "world", "Dr.", "$5.50", "3rd", "and", ",", ".", "?", "U.S.", "café", "1/2", "v2.0", "NASA", "it's"]
texts = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
    st.text(max_size=300),
    st.text(alphabet="0123456789$£€%.,:-/ apmAPMstndrhkKbB&#vx", max_size=80),
    st.builds(lambda a, b: f"<speak>{a}<break time='{b}'/>{a}</speak>", st.text(max_size=40), st.text(max_size=10)),
    st.sampled_from(
        [
            "<speak><prosody rate='x'>hi</prosody></speak>",
            "<speak>",
            "[[HH AH0]]",
            "[[",
            "\x00",
            "\x1b[31mred\x1b[0m",
            "Dr. J. R. R. Tolkien's v2.0, 1/2 of 10-20 GHz.",
        ]
    ),
)
numbers = st.one_of(
    st.floats(0.3, 3.5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10_000).map(str),
    st.sampled_from(["nan", "inf", "-0", "1e999", "", "abc"]),
)


OPTIONS = {
    "--speed": numbers,
    "--pitch": numbers,
    "--energy": numbers,
    "--volume": numbers,
    "--rate": numbers,
    "--sentence-silence": numbers,
    "--sample-rate": st.one_of(st.sampled_from([8000, 16000, 44100]), st.integers(-5, 200_000), st.just("x")),
    "--threads": st.one_of(st.integers(1, 2), st.integers(-2, 100_000), st.just("two")),
    "--backend": st.sampled_from(["onnx", "ONNX", "eager", "tensorrt", ""]),
}
# Up to three options each run (so many runs get far enough to speak), plus --ssml or not.
options = st.tuples(
    st.lists(st.sampled_from(sorted(OPTIONS)), max_size=3, unique=True).flatmap(
        lambda names: st.tuples(*[OPTIONS[name].map(lambda value, name=name: [name, str(value)]) for name in names])
    ),
    st.sampled_from([[], [], ["--ssml"], ["--no-ssml"]]),
).map(lambda parts: [item for pair in parts[0] for item in pair] + parts[1])


def check(result, output=None):
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.output)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("lightspeech: warning: ")]
    if result.exit_code != 0:
        assert len(lines) == 1 and lines[0].startswith("lightspeech: error: "), result.stderr
        if output is not None:
            assert not output.exists(), "a failed run left a file under the name asked for"


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=texts, extra=options, extension=st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".aiff", ""]))
def test_say(voice_and_vocoder, tmp_path_factory, text, extra, extension):
    voice, vocoder = voice_and_vocoder
    output = tmp_path_factory.mktemp("say") / f"out{extension}"
    result = runner.invoke(app, ["say", text, "-v", voice, "--vocoder", vocoder, "-o", str(output), *extra])
    check(result, output)
    if result.exit_code == 0:
        assert output.stat().st_size > 0
        spoke.append(text)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=texts, ssml=st.sampled_from([[], ["--ssml"], ["--no-ssml"]]), words=st.booleans())
def test_phonemize(text, ssml, words):
    result = runner.invoke(app, ["phonemize", text, *ssml, *(["--words"] if words else [])])
    check(result)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(texts, max_size=4), json_lines=st.booleans(), extra=options)
def test_render(voice_and_vocoder, tmp_path_factory, lines, json_lines, extra):
    import json

    voice, vocoder = voice_and_vocoder
    folder = tmp_path_factory.mktemp("render")
    source = folder / ("input.jsonl" if json_lines else "input.txt")
    content = "\n".join(json.dumps({"text": line}) if json_lines else line.replace("\n", " ") for line in lines)
    source.write_text(content, encoding="utf-8", errors="surrogatepass") if _encodable(content) else None
    if not source.exists():
        return
    extra = [e for e in extra if e not in ("--ssml", "--no-ssml")]
    out = folder / "out"
    result = runner.invoke(app, ["render", str(source), "-o", str(out), "-v", voice, "--vocoder", vocoder, *extra])
    check(result)
    # Success or failure (some lines with nothing to say, a bad option): every file under a
    # final name is a whole one the manifest records, and no staging file is left.
    present = sorted(p.name for p in out.iterdir()) if out.exists() else []
    manifest = (out / "manifest.jsonl").read_text().splitlines() if "manifest.jsonl" in present else []
    recorded = [json.loads(line)["file"] for line in manifest]
    assert [name for name in present if name != "manifest.jsonl"] == sorted(recorded), (result.exit_code, present)
    for name in recorded:
        assert soundfile.info(out / name).frames >= 0


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def test_the_fuzzing_reached_speech():
    """Not every run may stop at option checking, or the text paths were never fuzzed."""
    assert len(spoke) >= 5
