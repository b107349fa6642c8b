"""Neural architecture search over the LightSpeech space (GBDT-NAS); see run.py."""
