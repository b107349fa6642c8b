"""Training a voice by distillation from an offline teacher, in resumable stages:

    sentences -> corpus (teacher audio, durations, F0) -> features (mel, pitch, energy)
              -> fit (checkpoints, validation log) -> export (a voice folder + model card)

Needs the `train` extras (`pip install '.[train]'`); speaking never imports this.
"""
