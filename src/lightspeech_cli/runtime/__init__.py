"""What speaking needs, and nothing else: numpy and ONNX Runtime, never torch.

format/         voice and vocoder folders on disk: their schema, checks and lookup
synthesizer.py  text to audio, sentence by sentence: the Python API
engine.py       models ready to run: ONNX sessions, vocoder runners
backends.py     the interface the torch backends (model/backends.py) register through
dsp.py          the mel filterbank, STFT, inverse STFT and pulse train in numpy
griffinlim.py   a vocoder with no weights
audio.py        files, standard output, speakers, resampling
render.py       many utterances to files, resumable (render_jobs.py reads the input)
registry.py     the voice manifest, installs, checks and the cache (download.py downloads)
"""
