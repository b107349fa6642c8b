"""The `lightspeech` command. Each module here parses one group of commands, calls the
library and prints; none holds logic of its own.

    speak.py    say, render, phonemize
    voices.py   voices list|info|pull|rm|export|import, cache
    profile.py  profile
    train.py    train corpus|features|fit|export|vocoder|export-vocoder
    search.py   search
    serve.py    serve
    desktop.py  desktop install|uninstall

Exit status: 0 success; 1 some utterances of a render had nothing to say, or another
error; 2 bad input or usage; 3 output not writable; 4 no audio device; 5 voice or
vocoder missing or corrupt; 6 an optional part is not installed (the message names the
pip install that brings it); 70 an internal error (a bug: please report it); 130
interrupted; 141 the reader of standard output went away.
"""

# Each module adds its commands to `app`, in this order.
from . import desktop, profile, render, search, serve, speak, train, voices  # noqa: E402,F401,I001
from .app import app

__all__ = ["app"]
