"""A speech-dispatcher client as Orca is one (Debian's python3-speechd), run by the system's
Python: reads a plan (JSON steps) on standard input, prints each event it hears as a JSON
line with its time.monotonic().

Steps: {"client": n, "set": {"output_module"|"rate"|"synthesis_voice"|"data_mode"|
"punctuation"|"spelling"|"priority": value}}, {"client": n, "speak"|"char"|"key": text},
{"client": n, "cancel": true}, {"client": n, "voices": true}, {"sleep": seconds},
{"wait": "end" | "mark" | "begin", "count": k} (until k such events in all, 30 s at most).
"""

import json
import sys
import threading
import time

import speechd

lock = threading.Condition()
heard = []


def report(entry):
    with lock:
        heard.append(entry)
        print(json.dumps(entry), flush=True)
        lock.notify_all()


def listener(number):
    def callback(kind, index_mark=None):
        report({"client": number, "event": kind, "mark": index_mark, "time": time.monotonic()})

    return callback


EVENTS = (speechd.CallbackType.BEGIN, speechd.CallbackType.END, speechd.CallbackType.CANCEL,
          speechd.CallbackType.INDEX_MARK, speechd.CallbackType.PAUSE, speechd.CallbackType.RESUME)  # fmt: skip
clients = {}


def client(number):
    if number not in clients:
        clients[number] = speechd.SSIPClient(f"lightspeech-test-{number}")
    return clients[number]


for step in json.load(sys.stdin):
    number = step.get("client", 0)
    if "sleep" in step:
        time.sleep(step["sleep"])
    elif "wait" in step:
        deadline = time.monotonic() + 30
        with lock:
            while sum(e.get("event") == step["wait"] for e in heard) < step.get("count", 1):
                if not lock.wait(deadline - time.monotonic()):
                    break
    elif "set" in step:
        for key, value in step["set"].items():
            if key == "data_mode":
                client(number).set_data_mode(speechd.DataMode.SSML if value == "ssml" else speechd.DataMode.TEXT)
            elif key == "priority":
                client(number).set_priority(getattr(speechd.Priority, value.upper()))
            elif key == "punctuation":
                client(number).set_punctuation(getattr(speechd.PunctuationMode, value.upper()))
            elif key == "spelling":
                client(number).set_spelling(value)
            else:
                getattr(client(number), f"set_{key}")(value)
    elif "voices" in step:
        print(json.dumps({"client": number, "voices": [list(v) for v in client(number).list_synthesis_voices()]}))
    elif "cancel" in step:
        report({"client": number, "sent": "cancel", "time": time.monotonic()})
        client(number).cancel()
    else:
        kind = next(k for k in ("speak", "char", "key") if k in step)
        report({"client": number, "sent": kind, "text": step[kind], "time": time.monotonic()})
        if kind == "speak":
            client(number).speak(step[kind], callback=listener(number), event_types=EVENTS)
        else:
            getattr(client(number), kind)(step[kind])
for each in clients.values():
    each.close()
