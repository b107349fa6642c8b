"""What lives on disk, read without torch: voice and vocoder folders.

schema.py    the checks each config field passes, and read_section
files.py     safe reading of a folder's files (regular files, bounded JSON)
weights.py   the tensors a config needs, and what a graph records of its folder
graph.py     rewriting a graph to read the weights beside it (the exporters; onnx)
folder.py    ModelFolder: what voices and vocoders share, and finding one by name
voice.py     the voice config (audio, model, normalization) and Voice
vocoder.py   the iSTFT vocoder config, VocoderFolder, the built-in vocoders' files
arch.py      the architecture description of acoustic models
"""
