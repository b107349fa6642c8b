"""`serve --wyoming ... --zeroconf [NAME]`: the server announced over zeroconf as
wyoming-piper announces itself, found by a browser on the loopback interface, withdrawn
when the server stops."""

import asyncio
import ipaddress
import os

import pytest
from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

from lightspeech_cli.errors import InputError
from lightspeech_cli.serve.discovery import SERVICE, advertised_address, check_name

from .helpers import Server


async def found_then_withdrawn(server: Server, name: str, timeout: float = 15.0) -> tuple[list[str], int, bool]:
    """Browse _wyoming._tcp.local. on 127.0.0.1 until `name` is added (its addresses and
    port), then stop the server: whether the name is then removed."""
    zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    changes: asyncio.Queue = asyncio.Queue()

    def heard(zeroconf, service_type, name, state_change):
        changes.put_nowait((state_change, name))

    async def next_change_of(instance: str) -> ServiceStateChange:
        while True:
            change, found = await asyncio.wait_for(changes.get(), timeout)
            if found == instance:
                return change

    instance = f"{name}.{SERVICE}"
    browser = AsyncServiceBrowser(zeroconf.zeroconf, [SERVICE], handlers=[heard])
    try:
        assert await next_change_of(instance) == ServiceStateChange.Added
        info = await zeroconf.async_get_service_info(SERVICE, instance, 3000)
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        removed = await next_change_of(instance) == ServiceStateChange.Removed
        return info.parsed_addresses(), info.port, removed
    finally:
        await browser.async_cancel()
        await zeroconf.async_close()


def test_the_wyoming_server_is_found_with_its_port_and_withdrawn_when_it_stops(tmp_path):
    name = f"lightspeech-test-{os.getpid()}"  # other tests and machines may announce too
    server = Server(tmp_path, "--zeroconf", name)
    try:
        server.wait_for_log(f"zeroconf: announced {name}")
        assert asyncio.run(found_then_withdrawn(server, name)) == (["127.0.0.1"], server.wyoming_port, True)
    finally:
        server.stop()


def test_a_bare_zeroconf_takes_the_default_name(tmp_path):
    server = Server(tmp_path, "--zeroconf", "--queue", "4")  # bare, before another option
    try:
        server.wait_for_log("zeroconf: announced lightspeech")
    finally:
        server.stop()


def test_names_and_addresses_are_checked():
    assert check_name("kitchen speaker") == "kitchen speaker"
    for bad in ("", "a.b", "x" * 64, "tab\there"):
        with pytest.raises(InputError):
            check_name(bad)
    assert advertised_address("127.0.0.1") == "127.0.0.1"
    assert advertised_address("localhost") == "127.0.0.1"
    with pytest.raises(InputError, match="IPv4"):
        advertised_address("::1")
    try:
        address = advertised_address("0.0.0.0")  # every interface: the one with the route
    except InputError as error:  # a machine with no network at all
        assert "no network" in str(error)
    else:
        assert ipaddress.ip_address(address).version == 4 and address != "0.0.0.0"
