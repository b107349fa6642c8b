import sys

from .cli import app

# As the `lightspeech` console script does: a returned exit status becomes the process's.
sys.exit(app(prog_name="lightspeech"))
