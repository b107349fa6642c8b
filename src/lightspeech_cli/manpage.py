"""Man pages generated from the Typer app, so they cannot drift from `--help`.

    python -m lightspeech_cli.manpage man/

writes lightspeech.1 and one lightspeech-COMMAND.1 per command and subcommand. Every
page has SYNOPSIS, DESCRIPTION, OPTIONS (each with its argument, default and range),
EXAMPLES, ENVIRONMENT and EXIT STATUS. A test regenerates the pages and compares them
with the committed files, and parses every example with the CLI itself.
"""

from __future__ import annotations

import re
import sys
from enum import Enum
from pathlib import Path

import typer
from typer.core import TyperGroup

from . import __version__
from .cli import app

DATE = "2026-11-25"  # fixed, so regenerating pages that did not change changes nothing

# What an option's argument is called when it names no metavar of its own: click's type names, as a reader says them.
TYPE_NAMES = {
    "str": "TEXT",
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "PATH",
    "file": "FILE",
}

# The statuses cli/__init__.py documents (a test checks that the two lists agree).
EXIT_STATUS = [
    (0, "Success."),
    (1, "Some utterances of a render had nothing to say, or another error."),
    (2, "Bad input or usage: an unknown option or value, unreadable or unspeakable text."),
    (3, "The output cannot be written (a missing folder, a full disk)."),
    (4, "No audio device to play on: write a file with -o instead."),
    (5, "The voice or vocoder is missing or corrupt."),
    (6, "An optional part of lightspeech is not installed: the message names the pip install that brings it."),
    (70, "An internal error: a bug; run again with --verbose for the traceback, and please report it."),
    (130, "Interrupted (Ctrl-C)."),
    (141, "The reader of standard output went away (a closed pipe)."),
]

ENVIRONMENT = [
    (
        "LIGHTSPEECH_HOME",
        "Keep the configuration in $LIGHTSPEECH_HOME/config and the cache (installed voices, "
        "compiled models, downloads) in $LIGHTSPEECH_HOME/cache, instead of ~/.config/lightspeech and "
        "~/.cache/lightspeech: for tests and portable installs.",
    ),
    (
        "LIGHTSPEECH_MIRROR",
        "The http:// or https:// folder voices are downloaded from (voices pull); it comes "
        'before "mirror" in ~/.config/lightspeech/config.json and the package manifest\'s mirror.',
    ),
    (
        "NO_COLOR",
        "When set and not empty, progress bars and tables on a terminal are drawn without colour. "
        "lightspeech prints no other colour.",
    ),
]

# Per page (the command path after "lightspeech"): shell lines and what they do. Each line's lightspeech command
# must parse (tests/test_manpage.py).
EXAMPLES = {
    "": [
        ('lightspeech say "Hello there." -o hello.wav', "Write speech to a file."),
        ('lightspeech phonemize "Dr. Smith paid $5.50."', "See how a text will be read."),
        ("man -l man/lightspeech-say.1", "Read a command's page from a source checkout."),
    ],
    "say": [
        ("lightspeech say Hello there", "Speak through the speakers (needs PortAudio: libportaudio2)."),
        ("lightspeech say -f story.txt -o story.mp3 --rate 200", "A file to MP3, at 200 words per minute."),
        ("tail -f build.log | lightspeech say", "Speak each line as it is written."),
        (
            "lightspeech say --raw < story.txt | aplay -f S16_LE -r 22050 -c 1",
            "Raw 16-bit PCM to another player, sentence by sentence.",
        ),
        ('lightspeech say "Please hold." --sample-rate 16000 -o hold.wav', "16 kHz audio for telephony."),
        ("lightspeech say '<speak>Wait <break time=\"1s\"/> now.</speak>' -o wait.wav", "SSML: a one-second pause."),
        ("lightspeech say -f story.txt -o story.wav --timings story.srt", "Captions timed to the words spoken."),
        ("lightspeech say Hello there -o hi.wav --timings - --phonemes", "Word and phoneme times as JSON."),
    ],
    "render": [
        ("lightspeech render lines.txt -o out/", "One numbered file per line, and out/manifest.jsonl."),
        ("lightspeech render prompts.jsonl -o out/ --format flac", "JSON Lines with per-utterance settings."),
        ("grep -v '^#' lines.txt | lightspeech render - -o out/ -q", "Text from standard input, quietly."),
        ("lightspeech render lines.txt -o out/ --captions vtt", "WebVTT captions beside each file."),
    ],
    "phonemize": [
        (
            'lightspeech phonemize "Dr. Smith paid $1,234.50 on Nov. 25, 2026 at 3:45 pm."',
            "The normalized words and their ARPAbet phonemes.",
        ),
        ('lightspeech phonemize --words "I read it."', "Each word's phonemes and where they came from."),
    ],
    "voices": [
        ("lightspeech voices list", "Installed voices and those the mirror offers."),
        ("lightspeech voices pull NAME", "Download and install a voice."),
    ],
    "voices list": [
        ("lightspeech voices list", "A table on a terminal, plain columns in a pipe."),
        ("lightspeech voices list --json", "Every field, for scripts."),
    ],
    "voices info": [
        ("lightspeech voices info en-us-lightspeech", "The default voice's settings and model card."),
        ("lightspeech voices info en-us-lightspeech --json", "The same as JSON."),
    ],
    "voices pull": [
        ("lightspeech voices pull NAME", "Download, check and install a voice."),
        ("LIGHTSPEECH_MIRROR=https://example.org/voices lightspeech voices pull NAME", "From your own mirror."),
    ],
    "voices rm": [("lightspeech voices rm NAME", "Remove an installed voice.")],
    "voices export": [("lightspeech voices export my-voice -o my-voice.tar.gz", "Pack a voice to share.")],
    "voices import": [
        ("lightspeech voices import my-voice.tar.gz", "Install a shared voice."),
        ("lightspeech voices import my-voice.tar.gz --name my-copy", "Under another name."),
    ],
    "cache": [
        ("lightspeech cache", "What the cache holds, part by part."),
        ("lightspeech cache --clean", "Delete compiled models and downloads; keep voices."),
        ("lightspeech cache --clean --all", "Delete installed voices too."),
    ],
    "profile": [
        ("lightspeech profile --threads 1", "FastSpeech 2 against LightSpeech on one thread."),
        ("lightspeech profile --arch lightspeech --runs 50 --json > profile.json", "One architecture, as JSON."),
    ],
    "train": [
        ("lightspeech train corpus WORK --sentences 6000", "Stage 1: the teacher reads."),
        ("lightspeech train fit WORK --steps 20000", "Stage 3: train the acoustic model."),
    ],
    "train corpus": [
        ("lightspeech train corpus WORK --sentences 6000", "About 8 hours of teacher audio."),
        ("lightspeech train corpus WORK --heldout benchmark.txt", "Never train on these sentences."),
    ],
    "train features": [("lightspeech train features WORK", "Mels, pitch, energy and their statistics.")],
    "train fit": [
        ("lightspeech train fit WORK --arch lightspeech --steps 20000", "Train, or resume training."),
        ("lightspeech train fit WORK --arch fastspeech2 --run fs2", "Another architecture beside it."),
    ],
    "train export": [("lightspeech train export WORK -o my-voice --name my-voice", "A voice folder -v takes.")],
    "train vocoder": [
        (
            "lightspeech train vocoder WORK --voice en-us-lightspeech --steps 30000",
            "Train the iSTFT vocoder, or resume.",
        )
    ],
    "train export-vocoder": [
        ("lightspeech train export-vocoder WORK -o my-vocoder", "A vocoder folder --vocoder takes.")
    ],
    "search": [
        (
            "lightspeech search WORK -o results/ --budget small --max-params 2M --max-latency-ms 14",
            "Search under this device's limits.",
        ),
        ("lightspeech search WORK -o results/ --ray auto", "Train the candidates on a Ray cluster."),
    ],
    "serve": [
        ("lightspeech serve --http 5000", "OpenAI's speech API and a web page on 127.0.0.1:5000."),
        ("lightspeech serve --wyoming tcp://0.0.0.0:10200", "For Home Assistant's Wyoming integration."),
        ("lightspeech serve --wyoming tcp://0.0.0.0:10200 --zeroconf", "Announced, so Home Assistant finds it."),
    ],
    "desktop": [
        ("lightspeech desktop install --default", "Make lightspeech the voice of Orca and spd-say."),
        ("spd-say 'Hello from the desktop'", "Then speech-dispatcher speaks with lightspeech, as Orca will."),
    ],
    "desktop install": [
        ("lightspeech desktop install", "Add the module for this user; other voices stay the default."),
        ("lightspeech desktop install --default --voice en-us-lightspeech", "The default, with this voice."),
    ],
    "desktop uninstall": [("lightspeech desktop uninstall", "Remove what install added.")],
}


def _escape(text: str) -> str:
    lines = []
    for line in text.replace("\\", "\\\\").replace("-", "\\-").splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _header(name: str, summary: str) -> list[str]:
    return [
        f'.TH "{name.upper()}" "1" "{DATE}" "lightspeech {__version__}" "User Commands"',
        ".SH NAME",
        f"{_escape(name)} \\- {_escape(summary)}",
    ]


def _argument_name(param, ctx) -> str:
    """What an option takes: its own metavar (HOST:PORT), its choices (wav|flac|ogg|mp3) or its type (NUMBER)."""
    if param.metavar:
        return param.metavar
    written = param.make_metavar(ctx).strip("<>")
    return TYPE_NAMES.get(written, written)


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _facts(param) -> str:
    """Its default, range and whether it is required, as sentences after the help."""
    facts = []
    default = param.default
    if isinstance(param.show_default, str):
        facts.append(f"Default: {param.show_default}.")
    elif param.show_default and not param.is_flag and default not in (None, [], ()):
        values = default if isinstance(default, (list, tuple)) else [default]
        facts.append("Default: " + ", ".join(str(v.value if isinstance(v, Enum) else v) for v in values) + ".")
    low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
    if low is not None and high is not None:
        facts.append(f"From {_number(low)} to {_number(high)}.")
    elif low is not None:
        facts.append(f"At least {_number(low)}.")
    if param.required:
        facts.append("Required.")
    return " ".join(facts)


def _argument(param) -> str:
    return param.metavar or param.name.upper()


def _options(command, ctx) -> list[str]:
    lines = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            lines += [".TP", f"\\fI{_escape(_argument(param))}\\fR", _escape(getattr(param, "help", "") or "")]
            continue
        short_first = sorted(param.opts, key=lambda o: not re.fullmatch(r"-\w", o)) + param.secondary_opts
        names = ", ".join(f"\\fB{_escape(o)}\\fR" for o in short_first)
        if not param.is_flag:
            names += f" \\fI{_escape(_argument_name(param, ctx))}\\fR"
        text = " ".join(part for part in (param.help or "", _facts(param)) if part)
        lines += [".TP", names, _escape(text)]
    return lines


def _synopsis_argument(param) -> str:
    name = f"\\fI{_escape(_argument(param))}\\fR"
    name = name if param.required else f"[{name}]"
    return name + ("..." if param.nargs == -1 else "")


def _summary(command) -> str:
    """The first sentence of the help's first paragraph (a docstring may wrap it over lines)."""
    paragraph = " ".join((command.help or "").strip().split("\n\n")[0].split())
    return re.split(r"(?<=\.)\s", paragraph)[0].rstrip(".")


def _examples(path: str) -> list[str]:
    if path not in EXAMPLES:
        return []  # a new command; tests/test_manpage.py asks for its examples
    lines = [".SH EXAMPLES"]
    for shell, what in EXAMPLES[path]:
        lines += [".TP", f"\\fB{_escape(shell)}\\fR", _escape(what)]
    return lines


def _common_sections() -> list[str]:
    lines = [".SH ENVIRONMENT"]
    for name, what in ENVIRONMENT:
        lines += [".TP", f"\\fB{_escape(name)}\\fR", _escape(what)]
    lines.append(".SH EXIT STATUS")
    for status, what in EXIT_STATUS:
        lines += [".TP", f"\\fB{status}\\fR", _escape(what)]
    return lines


def _command_pages(pages: dict[str, str], path: list[str], command, parent_ctx) -> None:
    """A page for this command and, for a group such as `train`, one per subcommand."""
    ctx = command.context_class(command, info_name=path[-1], parent=parent_ctx)
    title = "-".join(path)
    subcommands = sorted(getattr(command, "commands", {}).items())
    lines = _header(title, _summary(command))
    synopsis = f"\\fB{_escape(' '.join(path))}\\fR " + ("\\fICOMMAND\\fR" if subcommands else "[\\fIOPTIONS\\fR]")
    synopsis += "".join(" " + _synopsis_argument(p) for p in command.params if p.param_type_name == "argument")
    lines += [".SH SYNOPSIS", synopsis, ".SH DESCRIPTION", _escape((command.help or "").strip())]
    options = _options(command, ctx)
    if options:
        lines += [".SH OPTIONS"] + options
    if subcommands:
        lines.append(".SH COMMANDS")
        for name, sub in subcommands:
            lines += [".TP", f"\\fB{_escape(title)}\\-{_escape(name)}\\fR(1)", _escape(_summary(sub))]
    lines += _examples(" ".join(path[1:])) + _common_sections()
    lines += [".SH SEE ALSO", "\\fBlightspeech\\fR(1)"]
    pages[f"{title}.1"] = "\n".join(lines) + "\n"
    for name, sub in subcommands:
        _command_pages(pages, path + [name], sub, ctx)


def render() -> dict[str, str]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)  # the app has commands, so typer makes it a group
    ctx = root.context_class(root, info_name="lightspeech")
    pages = {}
    lines = _header("lightspeech", _summary(root))
    lines += [
        ".SH SYNOPSIS",
        "\\fBlightspeech\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        _escape((root.help or "").strip()),
        ".SH OPTIONS",
    ] + _options(root, ctx)
    lines += [".SH COMMANDS"]
    for name, command in sorted(root.commands.items()):
        lines += [".TP", f"\\fBlightspeech\\-{_escape(name)}\\fR(1)", _escape(_summary(command))]
    lines += (
        _examples("")
        + [
            ".SH FILES",
            "\\fI~/.config/lightspeech/lexicon.txt\\fR",
            "Your pronunciations, one 'WORD PH ON EMES' per line.",
        ]
        + _common_sections()
    )
    pages["lightspeech.1"] = "\n".join(lines) + "\n"
    for name, command in sorted(root.commands.items()):
        _command_pages(pages, ["lightspeech", name], command, ctx)
    return pages


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "man"))
