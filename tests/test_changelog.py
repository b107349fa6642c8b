import re
from pathlib import Path

from lightspeech_cli import __version__

CHANGELOG = Path(__file__).resolve().parents[1] / "CHANGELOG.md"


def test_the_changelog_starts_at_the_package_version():
    versions = re.findall(r"^## (\d+\.\d+\.\d+) - ", CHANGELOG.read_text(), re.MULTILINE)
    assert versions[0] == __version__ and versions[-1] == "0.1.0"
