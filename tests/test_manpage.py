import re
import shlex
from pathlib import Path

import pytest
import typer

from lightspeech_cli import cli, manpage
from lightspeech_cli.cli import app

MAN = Path(__file__).resolve().parents[1] / "man"
PAGES = manpage.render()
ROOT = typer.main.get_command(app)


def test_committed_man_pages_match_the_cli():
    committed = {p.name: p.read_text() for p in MAN.glob("*.1")}
    assert committed == PAGES, "man pages are stale: run python -m lightspeech_cli.manpage man"


def test_every_command_has_a_page():
    for name, command in ROOT.commands.items():
        assert f"lightspeech-{name}.1" in PAGES
        for sub in getattr(command, "commands", {}):
            assert f"lightspeech-{name}-{sub}.1" in PAGES


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_has_its_sections(name):
    sections = re.findall(r"^\.SH (.+)$", PAGES[name], re.MULTILINE)
    expected = ["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "ENVIRONMENT", "EXIT STATUS"]
    assert [s for s in sections if s in expected] == expected, sections
    page = PAGES[name]
    for variable in ("LIGHTSPEECH_HOME", "LIGHTSPEECH_MIRROR", "NO_COLOR"):
        assert f"\\fB{variable}\\fR" in page
    statuses = page.split(".SH EXIT STATUS")[1].split(".SH")[0]
    assert re.findall(r"\\fB(\d+)\\fR", statuses) == ["0", "1", "2", "3", "4", "5", "6", "70", "130", "141"]


def test_the_exit_statuses_are_the_ones_the_cli_documents():
    documented = cli.__doc__.split("Exit status:")[1]
    assert [int(n) for n in re.findall(r"(?:^|;)\s*(\d+)\s", documented)] == [s for s, _ in manpage.EXIT_STATUS]


def test_options_show_their_argument_default_and_range():
    say, search, render = PAGES["lightspeech-say.1"], PAGES["lightspeech-search.1"], PAGES["lightspeech-render.1"]
    assert (
        "\\fB\\-\\-pitch\\fR \\fIFACTOR\\fR\nPitch factor: 1.1 is 10% higher (0.25 to 4; "
        "the default voice follows only about 0.9 to 1.4). Default: 1.0.\n"
    ) in say
    assert "\\fB\\-f\\fR, \\fB\\-\\-file\\fR \\fIFILE\\fR\n" in say
    assert "\\fB\\-\\-backend\\fR \\fIonnx|torchscript|eager\\fR\n" in say
    assert "\\fB\\-\\-raw\\fR\nWrite" in say  # a flag takes no argument and shows no default
    assert "\\fB\\-\\-budget\\fR \\fIsmall|medium|large\\fR\n" in search and "Default: small." in search
    assert (
        "\\fB\\-\\-hidden\\fR \\fIINTEGER\\fR\nHidden size of every candidate (the paper's: 256). Default: 256. "
        "From 8 to 1024.\n" in search
    )
    assert (
        "\\fB\\-o\\fR, \\fB\\-\\-output\\fR \\fIFOLDER\\fR\nFolder for the audio files and manifest.jsonl. "
        "Required.\n" in render
    )
    assert ".SH SYNOPSIS\n\\fBlightspeech say\\fR [\\fIOPTIONS\\fR] [\\fIWORDS\\fR]...\n" in say


def test_summaries_are_whole_sentences():
    assert (
        "Search the LightSpeech space for an acoustic model (GBDT\\-NAS): sample under the constraints,"
        in PAGES["lightspeech-search.1"].split(".SH SYNOPSIS")[0]
    )


def _command_paths(command, path=()):
    yield " ".join(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, path + (name,))


def test_every_command_has_examples():
    assert set(_command_paths(ROOT)) == set(manpage.EXAMPLES)


@pytest.mark.parametrize("path", sorted(manpage.EXAMPLES))
def test_every_example_parses(path):
    """The lightspeech part of each example line (before a pipe or a redirection) is valid for its command."""
    assert manpage.EXAMPLES[path], f"no examples for {path or 'lightspeech'}"
    for shell, _ in manpage.EXAMPLES[path]:
        words = shlex.split(shell)
        if "lightspeech" not in words:
            continue  # how to read the pages, say
        words = words[words.index("lightspeech") + 1 :]
        words = words[: next((i for i, w in enumerate(words) if w in ("|", "<", ">")), len(words))]
        command, names = ROOT, []
        while words and words[0] in getattr(command, "commands", {}):
            names.append(words.pop(0))
            command = command.commands[names[-1]]
        assert " ".join(names).startswith(path), shell  # an example of this page's command or its subcommands
        command.make_context(names[-1], words)
