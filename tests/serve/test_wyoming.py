"""`lightspeech serve`'s Wyoming protocol, talked to with the `wyoming` package's client; audio
is checked against what the synthesizer makes in-process for the same text."""

import asyncio
import socket

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from .helpers import RATE, TEXT, read_answer


def test_wyoming_describe_lists_the_voices(server):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Describe().event())
            return Info.from_event(await asyncio.wait_for(client.read_event(), 10))

    (program,) = asyncio.run(talk()).tts
    assert program.name == "lightspeech" and program.supports_synthesize_streaming
    voice = program.voices[0]
    assert voice.name == "en-us-lightspeech" and voice.languages == ["en-US"] and voice.attribution.name


def test_wyoming_synthesize_gives_the_synthesizers_audio(server, synthesizer):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text=TEXT, voice=SynthesizeVoice(name="en-us-lightspeech")).event())
            return await read_answer(client)

    events, pcm = asyncio.run(talk())
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (RATE, 2, 1)
    assert len(pcm) // 2 == len(synthesizer.synthesize(TEXT))


def test_wyoming_streaming_speaks_the_first_sentence_before_the_text_ends(server, synthesizer):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(SynthesizeStart().event())
            for piece in ("Hello ", "there. ", "This is"):  # as a language model writes it
                await client.write_event(SynthesizeChunk(text=piece).event())
            first = await asyncio.wait_for(client.read_event(), 10)
            second = await asyncio.wait_for(client.read_event(), 10)
            assert AudioStart.is_type(first.type) and AudioChunk.is_type(second.type)  # before the rest is sent
            pcm = AudioChunk.from_event(second).audio
            await client.write_event(SynthesizeChunk(text=" a test of streaming.").event())
            # Streaming clients repeat the whole text for servers that do not stream: not spoken twice.
            await client.write_event(Synthesize(text="Hello there. This is a test of streaming.").event())
            await client.write_event(SynthesizeStop().event())
            events, rest = await read_answer(client)
            stopped = await asyncio.wait_for(client.read_event(), 10)
            return events, pcm + rest, stopped

    events, pcm, stopped = asyncio.run(talk())
    assert SynthesizeStopped.is_type(stopped.type)
    assert not any(AudioStart.is_type(event.type) for event in events)  # one answer, one audio-start
    assert len(pcm) // 2 == len(synthesizer.synthesize("Hello there. This is a test of streaming."))


def test_wyoming_errors_are_events_and_the_connection_stays_open(server):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            answers = []
            for request in (Synthesize(text="Hi.", voice=SynthesizeVoice(name="nobody")), Synthesize(text="  ")):
                await client.write_event(request.event())
                answers.append(Error.from_event(await asyncio.wait_for(client.read_event(), 10)))
            await client.write_event(Synthesize(text="Still here.").event())
            _, pcm = await read_answer(client)
            return answers, pcm

    (unknown, empty), pcm = asyncio.run(talk())
    assert "unknown voice 'nobody'" in unknown.text and "empty" in empty.text
    assert len(pcm) > 0.3 * RATE * 2


def test_wyoming_a_voice_asked_for_by_language(server):
    async def ask(language):
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text="Hi.", voice=SynthesizeVoice(language=language)).event())
            return await read_answer(client)

    for language in ("en", "en_US", "en-us"):
        events, pcm = asyncio.run(ask(language))
        assert AudioStart.is_type(events[0].type) and len(pcm) > 0
    (error,), _ = asyncio.run(ask("de"))
    assert "no voice speaks 'de'; voices: en-us-lightspeech (en-US)" in Error.from_event(error).text


def test_wyoming_an_error_at_the_end_of_a_stream_comes_before_synthesize_stopped(server):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text="<speak>Hi.</speak> Yes. ").event())
            await client.write_event(SynthesizeStop().event())
            events = []
            while not events or not SynthesizeStopped.is_type(events[-1].type):
                events.append(await asyncio.wait_for(client.read_event(), 10))
            return [event.type for event in events]

    types = asyncio.run(talk())
    assert "error" in types and types[-1] == "synthesize-stopped"  # a client stops reading there


@pytest.mark.parametrize(
    "line",
    [
        b'{"type": "synthesize", "data": {"text": 5}}\n',
        b'{"type": "synthesize", "data": {"voice": {"name": "x"}}}\n',
        b'{"type": "synthesize", "data": {"text": "Hi.", "voice": "x"}}\n',
        b'{"type": "synthesize", "data": {"text": "Hi.", "voice": {"language": 5}}}\n',
    ],
)
def test_wyoming_malformed_events_are_error_events(server, line):
    with socket.create_connection(("127.0.0.1", server.wyoming_port), timeout=10) as connection:
        connection.sendall(line)
        reply = connection.makefile("rb").readline()
    assert b'"type": "error"' in reply


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b'{"data": {}}\n',
        b'{"type": "describe", "data_length": "x"}\n',
        b"[1, 2]\n",
        b"[" * 60_000 + b"\n",  # nested past Python's recursion limit
        b'{"type": "describe", "payload_length": 4000000000}\n',  # closed before 4 GB are read
    ],
)
def test_wyoming_garbage_closes_that_connection_only(server, line):
    with socket.create_connection(("127.0.0.1", server.wyoming_port), timeout=10) as connection:
        connection.sendall(line)
        assert connection.recv(100) == b""  # closed, with nothing said

    async def describe():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Describe().event())
            return await asyncio.wait_for(client.read_event(), 10)

    assert Info.is_type(asyncio.run(describe()).type)
