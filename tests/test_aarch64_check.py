"""scripts/aarch64_check.sh installs its pins with --no-deps: each dependency the package declares must be
among them, or the Arm check proves an install that no user gets."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_arm_check_pins_every_declared_dependency():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    declared_names = {normalized(re.match(r"[A-Za-z0-9_.-]+", spec).group()) for spec in declared}
    script = (ROOT / "scripts" / "aarch64_check.sh").read_text()
    pinned_names = {normalized(name) for name in re.findall(r'"([A-Za-z0-9_.-]+)==[^"]+"', script)}
    assert declared_names - pinned_names == set()
