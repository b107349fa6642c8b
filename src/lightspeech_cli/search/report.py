"""The search's outputs: results table (Markdown), Pareto plot (PNG), the winning
architecture (a description `lightspeech train fit --arch` reads) and a JSON summary."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from .store import Result, ResultStore

NAMES = {"lightspeech": "LightSpeech (paper)", "fastspeech2": "FastSpeech 2"}


def pareto_front(results: list[Result]) -> list[Result]:
    """Results no other beats on both latency and loss, fastest first."""
    front: list[Result] = []
    for result in sorted(results, key=lambda r: (r.latency_ms, r.loss)):
        if not front or result.loss < front[-1].loss:
            front.append(result)
    return front


def _write(path: Path, text: str) -> None:
    staging = path.with_name(f".{path.name}.part")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def _label(architecture: str, references: dict[str, str], winner: str) -> str:
    for key, reference in references.items():
        if architecture == reference:
            return NAMES[key]
    return "found (winner)" if architecture == winner else ""


def _table(results: list[Result], front: set[str], references: dict, winner: str) -> list[str]:
    lines = [
        "| | architecture | loss | mel | parameters | latency (ms) | train (CPU s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: r.loss):
        marks = ("P " if r.architecture in front else "") + _label(r.architecture, references, winner)
        escaped = r.architecture.replace("|", "\\|")  # "|" also ends a Markdown table cell
        lines.append(
            f"| {marks} | `{escaped}` | {r.loss:.4f} | {r.validation['mel']:.4f} | "
            f"{r.parameters / 1e6:.2f}M | {r.latency_ms:.1f} | {r.seconds:.0f} |"
        )
    return lines


def plot(proxy: list[Result], final: list[Result], references: dict[str, str], winner: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")

    figure, axes = pyplot.subplots(1, 2, figsize=(12, 4.8))
    for axis, results, title in (
        (axes[0], proxy, "proxy budget: sampled candidates and references"),
        (axes[1], final, "final budget: finalists"),
    ):
        axis.scatter(
            [r.latency_ms for r in results], [r.loss for r in results], s=18, color="#8899aa", label="candidates"
        )
        front = pareto_front(results)
        axis.step(
            [r.latency_ms for r in front], [r.loss for r in front], where="post", color="#d62728", label="Pareto front"
        )
        for r in results:
            label = _label(r.architecture, references, winner)
            if label:
                axis.scatter([r.latency_ms], [r.loss], s=60, marker="*", zorder=3)
                axis.annotate(label, (r.latency_ms, r.loss), textcoords="offset points", xytext=(6, 4), fontsize=8)
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(plain)
        axis.xaxis.set_minor_formatter(plain)
        axis.set_xlabel("acoustic model latency, ms (1 CPU thread, 60 phonemes)")
        axis.set_ylabel("validation loss")
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=8)
    figure.tight_layout()
    staging = path.with_name(f".{path.name}.part.png")
    figure.savefig(staging, dpi=110)
    pyplot.close(figure)
    os.replace(staging, path)


def seed_means(results: list[Result]) -> list[Result]:
    """One result per architecture: its losses averaged over seeds, its training time summed."""
    by_architecture: dict[str, list[Result]] = {}
    for result in results:
        by_architecture.setdefault(result.architecture, []).append(result)
    return [
        replace(
            runs[0],
            loss=statistics.mean(r.loss for r in runs),
            validation={k: statistics.mean(r.validation[k] for r in runs) for k in runs[0].validation},
            seconds=sum(r.seconds for r in runs),
        )
        for runs in by_architecture.values()
    ]


def recorded_rounds(store: ResultStore, budget) -> list[list[str]]:
    """The candidates of each round the search ran, as it recorded them."""
    rounds = (store.get_state(f"round {n}") for n in range(1, budget.rounds + 1))
    return [candidates for candidates in rounds if candidates]


def _loss(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "-"


def round_picks(rounds: list[list[str]], budget, strategy: str, proxy_losses: dict[str, float]) -> list[dict]:
    """Each round's candidates, split into the predictor's picks and those sampled at random,
    with the mean proxy loss of each: whether the predictor chose better than chance."""
    picks = []
    for number, candidates in enumerate(rounds, 1):
        if number == 1 or strategy == "random":
            explored = len(candidates)
        else:
            explored = budget.explored(budget.round_sizes()[number - 1])
        split = len(candidates) - explored
        if split < 0:
            raise ValueError(
                f"round {number} records {len(candidates)} candidates, fewer than its {explored} random ones"
            )
        groups = {"predicted": candidates[:split], "random": candidates[split:]}
        picks.append(
            {
                "round": number,
                **{
                    name: {
                        "candidates": len(group),
                        "mean_proxy_loss": round(statistics.mean(proxy_losses[a] for a in group), 4) if group else None,
                    }
                    for name, group in groups.items()
                },
            }
        )
    return picks


def _method(store: ResultStore, budget, strategy: str, rounds: list[list[str]]) -> str:
    """What the search did, in a sentence or two. The number of unseen candidates ranked is
    the one the search recorded, fewer than the pool it drew (repeats and candidates over
    the parameter limit are dropped)."""
    sizes = [len(candidates) for candidates in rounds]
    finals = f"{budget.finalists} finalists x {budget.final_seeds} seed(s) x {budget.final_steps} steps"
    proxies = f"x {budget.proxy_steps} steps on {budget.train_utterances} utterances"
    if strategy == "random":
        return f"Random search: {sizes[0]} candidates {proxies}; the best by proxy loss are the {finals}."
    ranked = store.get_state("ranked") or 0
    return (
        f"Guided search (GBDT-NAS) in {budget.rounds} rounds of {' + '.join(map(str, sizes))} candidates "
        f"{proxies} (round 1 at random, then the best predicted of {budget.pool:,} drawn, "
        f"{round(100 * budget.explore_share)}% at random); the best by proxy loss, measured or predicted "
        f"({ranked:,} unseen ranked), are the {finals}."
    )


def write_report(
    store: ResultStore,
    output: Path,
    finalists: list[str],
    references: dict[str, str],
    qualities: list[dict],
    budget,
    constraints,
    strategy: str = "guided",
) -> dict:
    final = seed_means(store.results("final"))
    rounds = recorded_rounds(store, budget)
    searched_final = [r for r in final if r.architecture in finalists]
    winner = min(searched_final, key=lambda r: r.loss)
    proxy_all = seed_means(store.results("proxy") + store.results("reference"))
    proxy_by_architecture = {r.architecture: r for r in proxy_all}
    final_by_architecture = {r.architecture: r for r in final}

    comparison: list[dict[str, Any]] = []
    for label, architecture in (
        ("found", winner.architecture),
        ("LightSpeech (paper)", references["lightspeech"]),
        ("FastSpeech 2", references["fastspeech2"]),
    ):
        proxy = proxy_by_architecture[architecture]
        final_result = final_by_architecture.get(architecture)
        comparison.append(
            {
                "name": label,
                "architecture": architecture,
                "parameters": proxy.parameters,
                "latency_ms": proxy.latency_ms,
                "proxy_loss": proxy.loss,
                "final_loss": final_result.loss if final_result else None,
            }
        )

    picks = round_picks(rounds, budget, strategy, {r.architecture: r.loss for r in proxy_all})
    proxy_front = {r.architecture for r in pareto_front(proxy_all)}
    final_front = {r.architecture for r in pareto_front(final)}
    limits = (
        ", ".join(
            filter(
                None,
                [
                    f"at most {constraints.max_parameters:,} parameters" if constraints.max_parameters else "",
                    f"at most {constraints.max_latency_ms:g} ms" if constraints.max_latency_ms else "",
                ],
            )
        )
        or "none"
    )
    lines = [
        "# Architecture search results",
        "",
        f"Winner: `{winner.architecture}`",
        "",
        f"Constraints: {limits}. {_method(store, budget, strategy, rounds)} Loss: total validation loss (mel L1 "
        f"+ duration + pitch + energy) on {budget.validation_utterances} held-out utterances, after the first "
        "steps of the schedule every run follows (proxy) or all of them (final: the mean over seeds). Latency: "
        "one acoustic forward, 1 CPU thread, 60 phonemes (360 frames, 4.2 s of audio), median of 5.",
        "",
        "Predictor (LightGBM on per-layer families and sizes, their counts and sums, and parameters), on "
        "candidates it did not see:",
        "",
        "| after round | candidates | folds | pairwise accuracy | Kendall's tau |",
        "|---|---|---|---|---|",
        *(
            f"| {q['round']} | {q['candidates']} | {q['folds']} | {q['pairwise_accuracy']:.3f} | "
            f"{q['kendall_tau']:.3f} |"
            for q in qualities
        ),
        "",
        "Each round's candidates, the predictor's picks against those sampled at random (mean proxy loss):",
        "",
        "| round | predicted | mean proxy loss | at random | mean proxy loss |",
        "|---|---|---|---|---|",
        *(
            f"| {p['round']} | {p['predicted']['candidates']} | {_loss(p['predicted']['mean_proxy_loss'])} | "
            f"{p['random']['candidates']} | {_loss(p['random']['mean_proxy_loss'])} |"
            for p in picks
        ),
        "",
        "## Found against the paper's architecture and FastSpeech 2",
        "",
        "| | parameters | latency (ms) | proxy loss | final loss |",
        "|---|---|---|---|---|",
    ]
    for row in comparison:
        final_loss = f"{row['final_loss']:.4f}" if row["final_loss"] is not None else "not trained"
        lines.append(
            f"| {row['name']} | {row['parameters'] / 1e6:.2f}M | {row['latency_ms']:.1f} | "
            f"{row['proxy_loss']:.4f} | {final_loss} |"
        )
    lines += ["", f"## Final budget ({budget.final_steps} steps); P = on the Pareto front", ""]
    lines += _table(final, final_front, references, winner.architecture)
    lines += ["", f"## Proxy budget ({budget.proxy_steps} steps); P = on the Pareto front", ""]
    lines += _table(proxy_all, proxy_front, references, winner.architecture)
    lines += ["", "![Pareto front](pareto.png)", ""]
    _write(output / "results.md", "\n".join(lines))
    plot(proxy_all, final, references, winner.architecture, output / "pareto.png")
    _write(output / "winner.txt", winner.architecture + "\n")
    summary = {
        "winner": winner.architecture,
        "comparison": comparison,
        "strategy": strategy,
        "rounds": rounds,
        "predictor": qualities,
        "picks": picks,
        "budget": asdict(budget),
        "constraints": asdict(constraints),
    }
    _write(output / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
