from pathlib import Path

from lightspeech_cli import manpage

MAN = Path(__file__).resolve().parents[1] / "man"


def test_committed_man_pages_match_the_cli():
    pages = manpage.render()
    committed = {p.name: p.read_text() for p in MAN.glob("*.1")}
    assert committed == pages, "man pages are stale: run python -m lightspeech_cli.manpage man"


def test_every_command_has_a_page():
    pages = manpage.render()
    from lightspeech_cli.cli import app
    import typer

    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        assert f"lightspeech-{name}.1" in pages
        for sub in getattr(command, "commands", {}):
            assert f"lightspeech-{name}-{sub}.1" in pages
