"""Man pages generated from the Typer app, so they cannot drift from `--help`.

    python -m lightspeech_cli.manpage man/

writes lightspeech.1 and one lightspeech-COMMAND.1 per command; a test regenerates
them and compares with the committed files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from . import __version__
from .cli import app

DATE = "2026-11-25"  # fixed, so regenerating pages that did not change changes nothing


def _escape(text: str) -> str:
    lines = []
    for line in text.replace("\\", "\\\\").replace("-", "\\-").splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _header(name: str, summary: str) -> list[str]:
    return [f'.TH "{name.upper()}" "1" "{DATE}" "lightspeech {__version__}" "User Commands"',
            ".SH NAME", f"{_escape(name)} \\- {_escape(summary)}"]


def _options(command) -> list[str]:
    lines = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            lines += [".TP", f"\\fI{param.name.upper()}\\fR", _escape(getattr(param, "help", "") or "")]
        else:
            names = ", ".join(f"\\fB{_escape(o)}\\fR" for o in param.opts + param.secondary_opts)
            lines += [".TP", names, _escape(param.help or "")]
    return lines


def _summary(command) -> str:
    return (command.help or "").strip().split("\n")[0].rstrip(".")


def _command_pages(pages: dict[str, str], path: list[str], command) -> None:
    """A page for this command and, for a group such as `train`, one per subcommand."""
    title = "-".join(path)
    subcommands = sorted(getattr(command, "commands", {}).items())
    lines = _header(title, _summary(command))
    synopsis = f"\\fB{_escape(' '.join(path))}\\fR " + ("\\fICOMMAND\\fR" if subcommands else "[\\fIOPTIONS\\fR]")
    synopsis += "".join(f" \\fI{p.name.upper()}\\fR" for p in command.params if p.param_type_name == "argument")
    lines += [".SH SYNOPSIS", synopsis, ".SH DESCRIPTION", _escape((command.help or "").strip())]
    options = _options(command)
    if options:
        lines += [".SH OPTIONS"] + options
    if subcommands:
        lines.append(".SH COMMANDS")
        for name, sub in subcommands:
            lines += [".TP", f"\\fB{_escape(title)}\\-{_escape(name)}\\fR(1)", _escape(_summary(sub))]
    lines += [".SH SEE ALSO", "\\fBlightspeech\\fR(1)"]
    pages[f"{title}.1"] = "\n".join(lines) + "\n"
    for name, sub in subcommands:
        _command_pages(pages, path + [name], sub)


def render() -> dict[str, str]:
    root = typer.main.get_command(app)
    pages = {}
    lines = _header("lightspeech", _summary(root))
    lines += [".SH SYNOPSIS", "\\fBlightspeech\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
              ".SH DESCRIPTION", _escape((root.help or "").strip()), ".SH OPTIONS"] + _options(root)
    lines += [".SH COMMANDS"]
    for name, command in sorted(root.commands.items()):
        lines += [".TP", f"\\fBlightspeech\\-{_escape(name)}\\fR(1)", _escape(_summary(command))]
    lines += [".SH FILES", "\\fI~/.config/lightspeech/lexicon.txt\\fR", "Your pronunciations, one "
              "'WORD PH ON EMES' per line.", ".SH EXIT STATUS",
              "0 on success; 2 bad input; 3 output not writable; 4 no audio device; 5 voice missing or "
              "corrupt; 1 any other error."]
    pages["lightspeech.1"] = "\n".join(lines) + "\n"
    for name, command in sorted(root.commands.items()):
        _command_pages(pages, ["lightspeech", name], command)
    return pages


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "man"))
