"""The Linux desktop's voice: a resident speech-dispatcher output module, for Orca, `spd-say`,
browsers' Web Speech API and the other programs that speak through speech-dispatcher.

    speechd.py   the module (`sd_lightspeech`): speech-dispatcher's module protocol on
                 standard input and output, the voice kept loaded
    reading.py   what is read for a character, a key name, punctuation and spelling modes,
                 and how speech-dispatcher's settings map to the synthesizer's
    install.py   registering the module for one user, without root
"""
