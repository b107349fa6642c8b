"""What speaking needs, and nothing else: numpy and ONNX Runtime, never torch.

voice.py        voice folders and the schema of their config
vocoder.py      vocoder folders and the built-in vocoders' files
engine.py       models ready to run (ONNX Runtime; torch only for other backends)
dsp.py          the mel filterbank, STFT and inverse STFT in numpy
griffinlim.py   a vocoder with no weights
synthesizer.py  text to audio, sentence by sentence: the Python API
audio.py        files, standard output, speakers
render.py       many utterances to files, resumable
registry.py     the manifest, downloads, checks and the cache
"""
