from typer.testing import CliRunner

from lightspeech_cli.cli import app

from ..helpers import assert_one_line_error

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_a_huge_whole_number_in_json_lines_is_an_input_error(tiny_voice, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "hi"}\n{"text": "hi", "speed": 1' + "0" * 400 + "}\n")
    assert_one_line_error(
        run("render", jobs, "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, "jobs.jsonl:2: speed is out of range"
    )
