"""profile: parse, call profile.run_profile, print tables or JSON."""

from __future__ import annotations

import json
from typing import Optional

import typer

from ..errors import require_extra
from .app import app
from .common import check_text, out, print_table, set_verbosity
from .options import QUIET, VERBOSE


@app.command()
def profile(
    voice: Optional[str] = typer.Option(
        None, "--voice", "-v", help="Also profile this voice (default: the default voice, if installed)."
    ),
    architectures: list[str] = typer.Option(
        ["fastspeech2", "lightspeech"], "--arch", help="Architectures to compare, untrained (preset or description)."
    ),
    text: Optional[str] = typer.Option(None, "--text", help="Text to profile on (default: a two-clause sentence)."),
    vocoder: Optional[str] = typer.Option(
        None, "--vocoder", help="Vocoder to time (default: the voice's, or griffinlim without a voice)."
    ),
    threads: int = typer.Option(1, "--threads", "-t", min=1, max=256, help="CPU threads."),
    runs: int = typer.Option(10, "--runs", min=1, max=10_000, help="Timed runs; the median is reported."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Break latency and size down per component, as the LightSpeech paper does.

    Compares FastSpeech 2 and LightSpeech (untrained: architecture alone decides speed)
    on the same phoneme input, then the compression ratio, speed-up and real-time factor.
    Needs the 'torch' extra: the acoustic models are timed layer by layer.
    """
    require_extra("torch", "lightspeech profile")
    from ..profile import run_profile
    from ..runtime.engine import check_threads

    set_verbosity(quiet, verbose)
    check_threads(threads, "--threads")
    report = run_profile(voice, architectures, check_text(text) if text is not None else None, vocoder, threads, runs)
    if as_json:
        out(json.dumps(report.to_dict(), indent=2))
        return
    print_report(report)


def print_report(report) -> None:
    numbers = frozenset({"parameters", "median ms", "share"})
    for p in report.profiles:
        rows = [[row.component, f"{row.parameters:,}", f"{row.milliseconds:.2f}", f"{row.share:.1%}"] for row in p.rows]
        rows.append(["acoustic model (whole forward)", f"{p.acoustic_parameters:,}", f"{p.acoustic_ms:.2f}", ""])
        print_table(["component", "parameters", "median ms", "share"], rows, f"{p.name}: {p.architecture}", numbers)
        vocoder = f"; vocoder alone {p.vocoder_real_time_factor:.4f}" if p.vocoder_real_time_factor else ""
        out(
            f"  {p.frames} frames = {p.audio_seconds:.2f} s of audio; real-time factor end to end "
            f"{p.real_time_factor:.4f}{vocoder}, on {report.threads} thread(s)\n"
        )
    if report.compression is not None:
        first, last = report.profiles[-report.architectures], report.profiles[-1]
        out(
            f"{last.name} against {first.name}: {report.compression:.1f}x fewer parameters, acoustic model "
            f"{report.speedup:.1f}x faster on {report.threads} thread(s)"
        )
