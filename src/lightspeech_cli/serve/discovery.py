"""Announcing the Wyoming server on the local network over zeroconf (multicast DNS), so that
Home Assistant offers it without anyone typing an address, as wyoming-piper's --zeroconf
does: service _wyoming._tcp.local., instance NAME, the server's IPv4 address and port, no
TXT record (Home Assistant asks the server itself, with describe). The announcement is
withdrawn when the server stops.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncZeroconf

SERVICE = "_wyoming._tcp.local."
MAX_NAME_BYTES = 63  # one DNS label
ANY_ADDRESS = ("0.0.0.0", "", "::")

log = logging.getLogger("lightspeech.serve")


def check_name(name: str) -> str:
    if not name or len(name.encode()) > MAX_NAME_BYTES or not name.isprintable() or "." in name:
        raise InputError(
            f"--zeroconf NAME must be 1 to {MAX_NAME_BYTES} bytes of printable text without dots, not {name[:70]!r}"
        )
    return name


def advertised_address(host: str) -> str:
    """The IPv4 address to announce for a server bound to `host`: the host itself, or for
    every interface (0.0.0.0) the address of the one that leads to the network, since
    Home Assistant ignores 0.0.0.0."""
    if host in ANY_ADDRESS:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(("224.0.0.251", 5353))  # no packet is sent: this only picks the route
                return probe.getsockname()[0]
            except OSError:
                raise InputError("--zeroconf: this machine has no network to announce the server on") from None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            return socket.gethostbyname(host)
        except OSError:
            raise InputError(f"--zeroconf: cannot find the address of {host[:60]!r}") from None
    if address.version != 4:
        raise InputError("--zeroconf announces IPv4 addresses: bind the Wyoming server to one (or 0.0.0.0)")
    return str(address)


class Announcement:
    """The server's zeroconf record, on the interface it listens on (every one for 0.0.0.0)."""

    def __init__(self, name: str, host: str, port: int):
        self.name, self.port = check_name(name), port
        self.address = advertised_address(host)
        self.every_interface = host in ANY_ADDRESS
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

        interfaces = InterfaceChoice.All if self.every_interface else [self.address]
        zeroconf = self._zeroconf = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        info = AsyncServiceInfo(
            SERVICE, f"{self.name}.{SERVICE}", addresses=[socket.inet_aton(self.address)], port=self.port
        )
        # The first await queues the announcement; the second waits for its probes to end.
        await (await zeroconf.async_register_service(info, allow_name_change=True))
        log.info("zeroconf: announced %s on %s (%s:%d)", info.name.removesuffix("." + SERVICE), SERVICE,
                 self.address, self.port)  # fmt: skip

    async def close(self) -> None:
        """Withdraw the record (a goodbye packet), so Home Assistant forgets the server."""
        if self._zeroconf is not None:
            await self._zeroconf.async_close()
            self._zeroconf = None
