"""GBDT-NAS's claim on our data: does a predictor-guided search beat random search at equal cost?

For each search seed, runs `lightspeech search` twice on the same training folder with the
same budget: `--strategy guided` (round 1 at random, then the predictor picks most of each
round, and the finalists are the best by measured or predicted proxy loss) and `--strategy
random` (every candidate at random, the finalists the best trained). Both train the same
number of candidates for the same steps, and their finalists alike (--finalists, 2 seeds
each, the lowest 2-seed mean wins); round 1 of both draws the same candidates. Each search
keeps its own folder under OUT, so a killed benchmark resumes with the same command:

    python bench/search_strategies.py WORK docs/search/strategies --seeds 0 1 2 > bench/search_strategies.txt

Prints, per seed, each strategy's winner, its final loss and the CPU time both spent, then
how often and by how much the guided search won. With 5 finalists a guided search takes
about 2.4 CPU hours and the random one 1.6 more (it reads back round 1, the references and
the paper's final runs), so the whole benchmark about 12 CPU hours: 6 on 2 cores.
Needs '.[search]'.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from machine_info import machine, version

from lightspeech_cli.search.store import ResultStore


def search(workdir: Path, output: Path, strategy: str, seed: int, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "lightspeech_cli", "search", str(workdir), "-o", str(output)]
    command += ["--strategy", strategy, "--seed", str(seed), *extra]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    summary = json.loads((output / "summary.json").read_text())
    store = ResultStore(output / "results.sqlite")
    finals = [r for r in store.results("final") if r.architecture == summary["winner"]]
    return {
        "winner": summary["winner"],
        "loss": statistics.mean(r.loss for r in finals),
        "cpu_hours": sum(r.seconds for r in store.results()) / 3600,
        "tau": summary["predictor"][-1]["kendall_tau"] if summary["predictor"] else float("nan"),
    }


def share_common_runs(guided_folder: Path, random_folder: Path) -> None:
    """Copy into the random search's store the runs it would repeat exactly: round 1's
    candidates (both strategies draw them from one seeded generator; the guided search's
    latencies are copied too, so a latency limit decides alike), the references and the
    paper's final runs. Training is deterministic for an architecture and seed, so the
    random search reads them back instead of spending the CPU twice, and its CPU hours still
    count them."""
    random_folder.mkdir(parents=True, exist_ok=True)
    target = ResultStore(random_folder / "results.sqlite")
    if target.get_state("round 1") is not None:
        return  # started already, from these runs or (an older benchmark) on its own: keep its own
    source = ResultStore(guided_folder / "results.sqlite")
    round_one = set(source.get_state("round 1") or [])
    references = {r.architecture for r in source.results("reference")}
    for result in source.results():
        if (
            result.stage == "reference"
            or (result.stage == "proxy" and result.architecture in round_one)
            or (result.stage == "final" and result.architecture in references)
        ):
            target.add(result)
    for key, latency in source.states("latency ").items():
        target.set_state(key, latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("output", type=Path, help="a folder for the searches (one per strategy and seed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", default="small")
    parser.add_argument("--max-params", default="2M")
    parser.add_argument("--finalists", type=int, default=5, help="per search, each trained from 2 seeds")
    args, extra = parser.parse_known_args()  # anything else goes to every search (--candidates, ...)
    extra = ["--budget", args.budget, "--max-params", args.max_params, "--finalists", str(args.finalists), *extra]

    rows = []
    for seed in args.seeds:
        guided_folder, random_folder = args.output / f"guided-{seed}", args.output / f"random-{seed}"
        found = {"guided": search(args.workdir, guided_folder, "guided", seed, extra)}
        share_common_runs(guided_folder, random_folder)
        found["random"] = search(args.workdir, random_folder, "random", seed, extra)
        rows.append((seed, found))
        print(
            f"seed {seed}: guided {found['guided']['loss']:.4f}, random {found['random']['loss']:.4f}", file=sys.stderr
        )

    print("Predictor-guided search (GBDT-NAS) against random search at equal cost: the same candidates trained,")
    print("the same finalists trained (2 seeds each); the winner is the finalist of lowest 2-seed mean final loss.")
    print()
    print(f"machine: {machine()}")
    print(f"date:    {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"torch {version('torch')}, lightgbm {version('lightgbm')}, lightspeech {version('lightspeech')}")
    print(f"search:  {' '.join(extra)}")
    print()
    print(f"{'seed':>4} {'guided':>8} {'random':>8} {'guided - random':>16} {'CPU h, g/r':>11} {'tau':>6}  winners")
    differences = []
    for seed, found in rows:
        guided, random_ = found["guided"], found["random"]
        differences.append(guided["loss"] - random_["loss"])
        hours = f"{guided['cpu_hours']:.2f}/{random_['cpu_hours']:.2f}"
        print(
            f"{seed:>4} {guided['loss']:>8.4f} {random_['loss']:>8.4f} {differences[-1]:>+16.4f} {hours:>11} "
            f"{guided['tau']:>6.2f}  {guided['winner']} / {random_['winner']}"
        )
    wins = sum(d < 0 for d in differences)
    spread = statistics.stdev(differences) if len(differences) > 1 else float("nan")
    print()
    print(
        f"guided won {wins} of {len(differences)}; mean difference {statistics.mean(differences):+.4f} "
        f"(SD {spread:.4f}; negative: guided found the lower loss)"
    )


if __name__ == "__main__":
    main()
