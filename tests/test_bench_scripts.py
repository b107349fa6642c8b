"""The benchmark scripts still import: they are run by hand, rarely, so a renamed module in
the package would otherwise go unseen until someone needs a figure."""

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCH.glob("*.py")))
def test_each_benchmark_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # as `python bench/NAME.py` sees its siblings
    module = importlib.import_module(script)
    assert module.__file__ == str(BENCH / f"{script}.py")
    sys.modules.pop(script)
