"""lightspeech: offline English text-to-speech with LightSpeech models."""

__version__ = "0.1.0"
