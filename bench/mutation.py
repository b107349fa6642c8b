"""Mutation testing of the core modules with mutmut: does a wrong number fail a test?

    python bench/mutation.py                        every campaign, writes bench/mutation.txt
    python bench/mutation.py --only compiled dsp    some of them (the output then holds only those)
    python bench/mutation.py --tree /some/checkout --output /tmp/m.txt

Each core module is one campaign, run by mutmut in a scratch copy of the tree (never in the
work tree: mutmut writes a `mutants/` folder, and engineers edit the code meanwhile). In the
copy, every function outside the campaign's scope gets a `# pragma: no mutate block` on its
header line, so only the code named in CAMPAIGNS is mutated, and each mutant runs only the
fast tests that check that module's numbers: those marked `exact` in the test files the
campaign names (mutmut then narrows them further to the tests that call the mutated function).
The mutated package is what the tests import: mutmut puts `mutants/src` first on sys.path, and
PYTHONPATH says the same to any subprocess a test starts.

mutmut's own settings are in pyproject.toml, [tool.mutmut]; this script adds the per-campaign
ones (which files, which tests). Survivors that no test can kill (the mutant computes the same
thing) are listed in bench/mutation_equivalent.txt, one line each with the reason, matched by
module, function and the mutated line; the score counts them out and says so.

Needs the `mutation` extra (pip install -e '.[mutation]'). On the project's 2-core machine, with
another job using about one core, the first five campaigns (normalize, acoustic, registry, compiled,
dsp; chunks, download and weights were then part of normalize and registry) took 15.6 + 4.3 + 1.7 +
0.3 + 11.1 = 33 minutes; `--only` runs a part (the score table is printed at the end and heads the
output file).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "src/lightspeech_cli"


@dataclass
class Campaign:
    module: str  # path inside the package
    functions: tuple[str, ...] | None  # qualified names mutated; None: every function in the module
    tests: tuple[str, ...]  # test files (those absent in the tree are skipped)
    select: tuple[str, ...] = ()  # extra pytest arguments: `-m exact`, and -k where a file holds another's
    note: str = ""


# The tests each campaign runs are those that check the module's numbers, marked `exact` in the
# test files named (pytest's marker, pyproject.toml); slow tests that only time things (hostile-input
# timings, stalled servers, HiFi-GAN), and tests that build, export or serve a model per test (tens of
# seconds per mutant on 2 cores), are not marked. A -k leaves out the exact tests of another campaign
# that share a file with this one's.
EXACT = ("-m", "exact")
TEXT_TESTS = ("tests/text/test_normalize.py", "tests/text/test_sentences.py", "tests/text/test_chunks.py")
# The archive, manifest, URL and weights checks, one rule at a time (test_registry_install.py), and the
# command-line checks that each archive check is load-bearing; the downloader (`pull`, `download`) is
# left to the suite: its tests start a server each.
REGISTRY_TESTS = (
    "tests/runtime/test_registry.py",
    "tests/runtime/test_registry_install.py",
    "tests/runtime/test_download.py",
)
# runtime/test_engine.py holds the compiled campaign's graph tests and the dsp campaign's vocoder runners.
ENGINE_VOCODER_TESTS = (
    "vocoder_is_a_voice_error or vocoder_matches_torch or does_not_fit_the_config or f0_is_not_finite"
)
CAMPAIGNS = {
    "normalize": Campaign("text/normalize.py", None, TEXT_TESTS, EXACT, "every function"),
    "chunks": Campaign(
        "text/chunks.py",
        ("sentence_chunks", "_chunk"),
        TEXT_TESTS,  # the tests that checked the chunker when it was part of normalize.py
        EXACT,
        "cutting normalized text into the pieces a model reads",
    ),
    "acoustic": Campaign(
        "model/acoustic.py",
        (
            "LengthRegulator.forward",
            "VariancePredictor.forward",
            "AcousticModel._variance_embeddings",
            "AcousticModel.forward",
            "AcousticModel.training_forward",
        ),
        ("tests/model/test_acoustic.py", "tests/runtime/format/test_arch.py"),
        EXACT,
        "the length regulator and the variance adaptor",
    ),
    "registry": Campaign(
        "runtime/registry.py",
        ("read_manifest", "safe_extract", "verify_voice", "install_archive"),
        REGISTRY_TESTS,
        EXACT,
        "the checks: manifest, archive members, weights' values, install",
    ),
    "download": Campaign(
        "runtime/download.py",
        ("check_url",),
        REGISTRY_TESTS,
        EXACT,
        "the mirror and download URLs",
    ),
    "weights": Campaign(
        "runtime/format/weights.py",
        ("check_weights",),
        (*REGISTRY_TESTS, "tests/runtime/format/test_weights.py"),
        EXACT,
        "the weights' names, shapes and types",
    ),
    "compiled": Campaign(
        "model/compiled.py",
        ("_version", "model_code_folder", "compiled_key", "folder_parts", "cached_compile"),
        # The key and the cache logic are checked directly, with fake build and load steps, in
        # test_compiled.py; its end-to-end tests export a real model per test (seconds per mutant).
        ("tests/model/test_compiled.py", "tests/runtime/test_engine.py"),
        (*EXACT, "-k", f"not ({ENGINE_VOCODER_TESTS})"),
        "the compiled-model cache",
    ),
    "dsp": Campaign(
        "runtime/dsp.py",
        ("hann_window", "overlap_add", "window_envelope", "inverse_stft", "stft", "istft"),
        (
            "tests/runtime/test_dsp.py",
            "tests/runtime/test_griffinlim.py",
            "tests/runtime/test_engine.py",
            "tests/runtime/format/test_vocoder.py",
            "tests/model/test_istft.py",
            "tests/model/test_spectrogram.py",
            "tests/model/test_folders.py",
        ),
        (*EXACT, "-k", f"not test_engine.py or {ENGINE_VOCODER_TESTS}"),
        "the inverse STFT (and the STFT it inverts)",
    ),
}


def scope_functions(source: str, keep: tuple[str, ...] | None) -> str:
    """The module with `# pragma: no mutate block` on the header of every function (at
    module or class level) whose qualified name is not in `keep`."""
    if keep is None:
        return source
    import libcst as cst

    pragma = cst.Comment("# pragma: no mutate block")

    class Scope(cst.CSTTransformer):
        def __init__(self):
            self.classes: list[str] = []
            self.depth = 0  # functions inside functions follow their outer one

        def visit_ClassDef(self, node):
            self.classes.append(node.name.value)

        def leave_ClassDef(self, original, updated):
            self.classes.pop()
            return updated

        def visit_FunctionDef(self, node):
            self.depth += 1

        def leave_FunctionDef(self, original, updated):
            self.depth -= 1
            name = ".".join([*self.classes, updated.name.value])
            if self.depth or name in keep or not isinstance(updated.body, cst.IndentedBlock):
                return updated
            header = updated.body.header.with_changes(comment=pragma, whitespace=cst.SimpleWhitespace("  "))
            return updated.with_changes(body=updated.body.with_changes(header=header))

    return cst.parse_module(source).visit(Scope()).code


def mutmut_settings(config_repo: Path) -> dict:
    return tomllib.loads((config_repo / "pyproject.toml").read_text())["tool"]["mutmut"]


def toml_value(value) -> str:
    return json.dumps(value)  # strings, numbers, booleans and lists of them read the same in TOML


def prepare(tree: Path, scratch: Path, campaign: Campaign, settings: dict) -> list[str]:
    """A scratch copy of `tree` for one campaign; returns the test files it runs."""
    shutil.copytree(tree / "src", scratch / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(tree / "tests", scratch / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    target = scratch / PACKAGE / campaign.module
    target.write_text(scope_functions(target.read_text(), campaign.functions))
    tests = [t for t in campaign.tests if (tree / t).exists()]
    options = dict(settings)
    options["source_paths"] = ["src/"]
    options["only_mutate"] = [f"{PACKAGE}/{campaign.module}"]
    options["pytest_add_cli_args_test_selection"] = [*tests, *campaign.select]
    lines = ["[tool.mutmut]"] + [f"{key} = {toml_value(value)}" for key, value in options.items()]
    # The tree's own pytest markers (`exact`, which the campaigns select), so pytest knows them.
    pytest_options = tomllib.loads((tree / "pyproject.toml").read_text()).get("tool", {}).get("pytest", {})
    markers = pytest_options.get("ini_options", {}).get("markers", [])
    lines += ["", "[tool.pytest.ini_options]", f"markers = {toml_value(markers)}"]
    (scratch / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return tests


RESULTS_HELPER = r"""
import json, sys
from pathlib import Path
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
meta = json.loads(Path(sys.argv[1] + ".meta").read_text())
out = {}
for name, code in meta["exit_code_by_key"].items():
    status = status_by_exit_code[code]
    diff = get_diff_for_mutant(name, path=sys.argv[1].removeprefix("mutants/")) if status != "killed" else ""
    out[name] = {"status": status, "diff": diff}
print(json.dumps(out))
"""


def run_campaign(key: str, campaign: Campaign, tree: Path, settings: dict, jobs: int, keep: Path | None) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix=f"mutation-{key}-"))
    try:
        tests = prepare(tree, scratch, campaign, settings)
        # The folder must exist before Python starts: a PYTHONPATH entry that is missing then
        # is cached as having nothing in it, and the unmutated editable install would win.
        (scratch / "mutants" / "src").mkdir(parents=True)
        # No third-party pytest plugins: the campaigns' tests need none, and loading them costs
        # a large part of each mutant's run.
        env = dict(
            os.environ,
            PYTHONPATH=str(scratch / "mutants" / "src"),
            PYTHONDONTWRITEBYTECODE="1",
            PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        )
        env.pop("MUTANT_UNDER_TEST", None)
        started = time.monotonic()
        log = scratch / "mutmut.log"
        with open(log, "w") as out:
            done = subprocess.run(
                [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)],
                cwd=scratch,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        seconds = time.monotonic() - started
        meta = f"mutants/{PACKAGE}/{campaign.module}"
        if done.returncode != 0 or not (scratch / (meta + ".meta")).exists():
            tail = log.read_text()[-3000:]
            raise SystemExit(f"mutmut failed on {campaign.module} (exit {done.returncode}); its log ends:\n{tail}")
        found = subprocess.run(
            [sys.executable, "-c", RESULTS_HELPER, meta],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return {
            "module": campaign.module,
            "scope": campaign.note,
            "tests": tests,
            "select": list(campaign.select),
            "seconds": seconds,
            "mutants": json.loads(found.stdout),
        }
    finally:
        if keep:
            shutil.copytree(scratch, keep / key, dirs_exist_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)


# --- equivalents and the report ----------------------------------------------------------------


KINDS = ("equivalent", "unreachable")


@dataclass
class Equivalent:
    module: str
    function: str
    kind: str  # equivalent: computes the same; unreachable: code the campaign cannot run (still a survivor)
    line: str  # the mutated line, stripped, as it appears after "+" in the diff
    reason: str
    used: bool = field(default=False)


def read_equivalents(path: Path) -> list[Equivalent]:
    """Lines `module | function | kind | mutated line | reason`; # starts a comment line."""
    found = []
    if not path.exists():
        return found
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in raw.split(" | ", 4)]
        if len(parts) != 5 or parts[2] not in KINDS:
            raise SystemExit(f"{path}:{number}: expected `module | function | {'/'.join(KINDS)} | line | reason`")
        found.append(Equivalent(*parts))
    return found


def function_of(name: str) -> str:
    """`lightspeech_cli.runtime.dsp.x_stft__mutmut_3` -> `stft`; methods -> `Class.method`."""
    tail = name.rpartition(".")[-1].rpartition("__mutmut_")[0]
    if tail.startswith("x\u01c1"):
        return tail[2:].replace("\u01c1", ".")
    return tail.removeprefix("x_")


def mutated_lines(diff: str) -> list[str]:
    return [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def match_equivalent(module: str, name: str, diff: str, equivalents: list[Equivalent]) -> Equivalent | None:
    function = function_of(name)
    added = mutated_lines(diff)
    for equivalent in equivalents:
        if equivalent.module == module and equivalent.function == function and equivalent.line in added:
            equivalent.used = True
            return equivalent
    return None


def report(results: list[dict], equivalents: list[Equivalent], started: str, total_seconds: float, jobs: int) -> str:
    lines = [
        "# Mutation testing of the core modules: bench/mutation.py (mutmut), one command:",
        "#     python bench/mutation.py",
        f"# machine: {platform.node()} / {platform.machine()} / {os.cpu_count()} cores, {jobs} mutmut children; "
        f"python {platform.python_version()}",
        f"# date: {started}; took {total_seconds / 60:.1f} min",
        "# score = killed / (mutants - equivalent); raw = killed / mutants. Survivors that compute the same as the",
        "# original (EQUIVALENT) or sit in code the campaign cannot run (UNREACHABLE, still counted as survivors)",
        "# are explained in bench/mutation_equivalent.txt; every other survivor is listed as SURVIVED.",
        "",
        f"{'module':<22} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} {'equivalent':>10} "
        f"{'score':>6} {'raw':>6} {'minutes':>7}",
    ]
    details = []
    all_mutants = all_killed = all_equivalent = 0
    for result in results:
        module = result["module"]
        counts = {"killed": 0, "survived": 0, "no tests": 0, "other": 0, "equivalent": 0}
        survivors = []
        for name, mutant in sorted(result["mutants"].items(), key=lambda item: mutant_order(item[0])):
            status = mutant["status"]
            if status in ("killed", "timeout", "segfault", "caught by type check"):
                counts["killed"] += 1
                continue
            equivalent = match_equivalent(module, name, mutant["diff"], equivalents)
            if equivalent and equivalent.kind == "equivalent":
                counts["equivalent"] += 1
            counts[status if status in counts else "other"] += 1
            survivors.append((name, status, equivalent, mutant["diff"]))
        total = len(result["mutants"])
        counted = total - counts["equivalent"]
        score = counts["killed"] / counted if counted else 1.0
        raw = counts["killed"] / total if total else 1.0
        all_mutants += total
        all_killed += counts["killed"]
        all_equivalent += counts["equivalent"]
        lines.append(
            f"{module:<22} {total:>7} {counts['killed']:>6} {counts['survived']:>8} {counts['no tests']:>8} "
            f"{counts['equivalent']:>10} {score:>6.1%} {raw:>6.1%} {result['seconds'] / 60:>7.1f}"
        )
        details.append("")
        details.append(f"## {module}: {result['scope']}")
        details.append(f"# tests: {' '.join(result['tests'])} {' '.join(result['select'])}".rstrip())
        if not survivors:
            details.append("# no survivors")
        for name, status, equivalent, diff in survivors:
            verdict = f"{equivalent.kind.upper()}: {equivalent.reason}" if equivalent else status.upper()
            details.append(f"--- {name}  [{verdict}]")
            details.extend("    " + line for line in diff_body(diff))
    counted = all_mutants - all_equivalent
    lines.append(
        f"{'all':<22} {all_mutants:>7} {all_killed:>6} {'':>8} {'':>8} {all_equivalent:>10} "
        f"{(all_killed / counted if counted else 1.0):>6.1%} "
        f"{(all_killed / all_mutants if all_mutants else 1.0):>6.1%}"
    )
    stale = [e for e in equivalents if not e.used and any(r["module"] == e.module for r in results)]
    if stale:
        details.append("")
        details.append("# equivalents listed that no surviving mutant matched (the code or the tests changed):")
        details.extend(f"#   {e.module} | {e.function} | {e.line}" for e in stale)
    return "\n".join(lines + details) + "\n"


def mutant_order(name: str) -> tuple[str, int]:
    base, _, number = name.rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def diff_body(diff: str) -> list[str]:
    """The changed lines of a mutant's diff, with one line of context before them."""
    lines = [line for line in diff.splitlines() if not line.startswith(("---", "+++", "@@"))]
    keep = set()
    for i, line in enumerate(lines):
        if line.startswith(("+", "-")):
            keep.update({i - 1, i})
    return [lines[i].rstrip() for i in sorted(keep) if 0 <= i < len(lines)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CAMPAIGNS), help="run these campaigns only")
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose src/ and tests/ are tested")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "mutation.txt")
    parser.add_argument("--equivalents", type=Path, default=REPO / "bench" / "mutation_equivalent.txt")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--keep", type=Path, help="copy each campaign's scratch folder here (for mutmut browse)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--report-only",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="run nothing: write the report from results saved with --json",
    )
    args = parser.parse_args()
    if args.report_only:
        results = [result for path in args.report_only for result in json.loads(path.read_text())]
        seconds = sum(result["seconds"] for result in results)
        assembled = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z") + ", assembled from saved runs"
        text = report(results, read_equivalents(args.equivalents), assembled, seconds, args.jobs)
        args.output.write_text(text)
        print(summary(text))
        return

    settings = mutmut_settings(REPO)
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    clock = time.monotonic()
    results = []
    for key in args.only or CAMPAIGNS:
        campaign = CAMPAIGNS[key]
        print(f"[{key}] mutating {campaign.module} ({campaign.note})", flush=True)
        result = run_campaign(key, campaign, args.tree.resolve(), settings, args.jobs, args.keep)
        statuses = [m["status"] for m in result["mutants"].values()]
        print(
            f"[{key}] {len(statuses)} mutants, {statuses.count('killed')} killed, "
            f"{statuses.count('survived')} survived, {statuses.count('no tests')} without tests, "
            f"{result['seconds'] / 60:.1f} min",
            flush=True,
        )
        results.append(result)
    text = report(results, read_equivalents(args.equivalents), started, time.monotonic() - clock, args.jobs)
    args.output.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(summary(text))
    print(f"written to {args.output}")


def summary(text: str) -> str:
    """The score table of a report."""
    return "\n".join(line for line in text.split("\n## ")[0].splitlines() if line and not line.startswith("#"))


if __name__ == "__main__":
    main()
