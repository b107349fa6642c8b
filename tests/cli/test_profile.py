import re

from typer.testing import CliRunner

from lightspeech_cli.cli import app

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_profile_prints_plain_uncut_columns_when_piped(tiny_voice):
    architecture = "sep5 sep25 sep13 sep9 | sep17 sep21 sep9 sep13 hidden=16"
    result = run(
        "profile",
        "-v",
        tiny_voice.folder,
        "--arch",
        architecture,
        "--runs",
        "1",
        "--vocoder",
        "griffinlim",
        "--text",
        "Hello there.",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"custom: {architecture} predictor=sep postnet=0" in lines  # longer than 80 columns, and whole
    assert not any(c in result.stdout for c in "\u2500\u2502\u250f\u2503")  # no box drawing
    rows = [re.split(r"\s{2,}", line) for line in lines]
    header = rows.index(["component", "parameters", "median ms", "share"])
    table = rows[header + 1 : header + 11]
    assert [row[0] for row in table] == [
        "text frontend",
        "encoder (with embedding)",
        "duration predictor",
        "pitch predictor (with embedding)",
        "energy predictor (with embedding)",
        "length regulator",
        "decoder",
        "mel projection",
        "vocoder (griffinlim)",
        "acoustic model (whole forward)",
    ]
    assert all(re.fullmatch(r"[\d,]+ \d+\.\d\d \d+\.\d%", " ".join(row[1:])) for row in table[:-1]), table
    assert re.fullmatch(r"[\d,]+ \d+\.\d\d", " ".join(table[-1][1:]))  # the whole forward has no share
    summaries = [line for line in lines if "real-time factor end to end" in line]
    assert len(summaries) == 2 and all(line.endswith("on 1 thread(s)") for line in summaries)
