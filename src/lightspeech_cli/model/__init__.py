"""The torch side (the torch extra): models, their export, and the torch backends.

ops.py            the search space as one table: operation name -> layer
acoustic.py       the acoustic model any architecture description builds
istft.py          the iSTFT vocoder (with its pulse source); hifigan.py HiFi-GAN V1
discriminators.py for adversarial fine-tuning
spectrogram.py    the mel spectrogram in torch
export.py         ONNX and TorchScript, half precision
folders.py        writing voice and vocoder folders
compiled.py       the cache of graphs compiled from torch
backends.py       TorchScript, eager, and compiled graphs, registered with the runtime
"""
