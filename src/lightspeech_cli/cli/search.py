"""search: parse, call search/, report."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError, require_extra
from .app import app
from .common import finite, info, out, set_verbosity, training_folder
from .options import QUIET, VERBOSE


class Budget(str, Enum):
    small = "small"
    medium = "medium"
    large = "large"


class Strategy(str, Enum):
    guided = "guided"
    random = "random"


@app.command()
def search(
    workdir: Path = typer.Argument(
        ...,
        help="Training folder with corpus/ and features/ (from `lightspeech train`).",
        show_default=False,
        callback=training_folder,
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Folder for results.sqlite, results.md, pareto.png, winner.txt; a search resumes from it.",
    ),
    budget: Budget = typer.Option(
        Budget.small,
        "--budget",
        case_sensitive=False,
        help="small (under 1 h on 2 cores), medium or large; see docs/search.md.",
    ),
    max_params: Optional[str] = typer.Option(None, "--max-params", help="Largest acoustic model, e.g. 2M."),
    max_latency_ms: Optional[float] = typer.Option(
        None,
        "--max-latency-ms",
        min=0.01,
        max=1e6,
        callback=finite,
        help="Slowest acoustic forward on 1 CPU thread for 60 phonemes, measured here.",
    ),
    workers: int = typer.Option(2, "--workers", "-w", min=1, max=256, help="Local training processes (1 thread each)."),
    ray_address: Optional[str] = typer.Option(
        None,
        "--ray",
        help="Train on this Ray cluster instead: an address for ray.init ('auto', 'ray://HOST:10001', or 'local').",
    ),
    candidates: Optional[int] = typer.Option(
        None, "--candidates", min=2, max=100_000, help="Override the budget: candidates proxy-trained."
    ),
    proxy_steps: Optional[int] = typer.Option(
        None, "--proxy-steps", min=1, max=10_000_000, help="Override: steps per candidate."
    ),
    finalists: Optional[int] = typer.Option(
        None, "--finalists", min=1, max=1000, help="Override: best predicted trained longer."
    ),
    final_steps: Optional[int] = typer.Option(
        None, "--final-steps", min=1, max=10_000_000, help="Override: steps per finalist."
    ),
    rounds: Optional[int] = typer.Option(
        None, "--rounds", min=1, max=100, help="Override: rounds (the first at random, then the predictor picks)."
    ),
    strategy: Strategy = typer.Option(
        Strategy.guided,
        "--strategy",
        case_sensitive=False,
        help="guided (GBDT-NAS: a predictor picks candidates and finalists) or random (the baseline it must beat).",
    ),
    hidden: int = typer.Option(
        256, "--hidden", min=8, max=1024, help="Hidden size of every candidate (the paper's: 256)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds sampling and training."),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Search the LightSpeech space for an acoustic model (GBDT-NAS): sample under the
    constraints, proxy-train, then in rounds fit a LightGBM predictor and train the
    candidates it ranks best; train the finalists longer from two seeds, and report the
    Pareto front of loss against latency."""
    require_extra("search", "lightspeech search")
    from ..search.run import Search, make_runner, plan_search

    set_verbosity(quiet, verbose)
    overrides = {
        "candidates": candidates,
        "proxy_steps": proxy_steps,
        "finalists": finalists,
        "final_steps": final_steps,
        "rounds": rounds,
    }
    chosen, constraints, space = plan_search(workdir, budget.value, overrides, max_params, max_latency_ms, hidden)
    runner = make_runner(workers, ray_address)
    try:
        summary = Search(
            workdir, output, chosen, constraints, runner, space, seed=seed, log=info, strategy=strategy.value
        ).run()
    except ValueError as e:
        raise InputError(str(e)) from None
    out(summary["winner"])
    info(f"report: {output / 'results.md'}, plot: {output / 'pareto.png'}")
