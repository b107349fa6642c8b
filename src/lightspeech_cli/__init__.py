"""lightspeech: offline English text-to-speech with LightSpeech models.

The Python API is one object, which the CLI and the servers use too:

    from lightspeech_cli import Synthesizer

    tts = Synthesizer.load()                     # the default voice; a name or a folder also work
    audio = tts.synthesize("Hello there.")       # float32 numpy array at tts.sample_rate
    for chunk in tts.stream("One. Two."):        # sentence by sentence, as each is made
        ...
    tts.write("Hello there.", "hello.wav")

Importing this package loads nothing heavy; `Synthesizer` brings in ONNX Runtime and
numpy when first used, never torch.
"""

from __future__ import annotations

import os

__version__ = "0.2.0"

# ONNX Runtime 1.32 writes a device id and a database of telemetry events into
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime as soon as it is imported, unless this is set
# before; lightspeech writes nothing outside its own folders, and collects nothing.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["Controls", "LightspeechError", "Synthesizer", "__version__"]


def __getattr__(name: str):
    # Lazy, so `lightspeech --help` and `import lightspeech_cli` stay fast.
    if name in ("Synthesizer", "Controls"):
        from .runtime import synthesizer

        return getattr(synthesizer, name)
    if name == "LightspeechError":
        from .errors import LightspeechError

        return LightspeechError
    raise AttributeError(f"module 'lightspeech_cli' has no attribute {name!r}")
