"""The whole CLI under arbitrary text and options (cli/test_speak.py, cli/test_render.py):
what hypothesis draws, and what every run must answer: audio, or one `error:` line and a
documented exit status; never a traceback, never a file left under the name asked for."""

from hypothesis import strategies as st

DOCUMENTED = {0, 1, 2, 3, 5}  # 4 (no audio device) cannot happen: every run writes a file or stdout
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
