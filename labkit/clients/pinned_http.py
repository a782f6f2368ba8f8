"""aiohttp sessions that reach one name at a fixed address (like curl --resolve) and trust
one CA file: how the tests talk to a host's sites through Caddy with Pebble's certificates."""

import socket
import ssl

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult


class PinnedResolver(AbstractResolver):
    """Resolves one name to a fixed IPv4 address; any other name is refused."""

    def __init__(self, name: str, address: str):
        self.name, self.address = name, address

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        if host != self.name:
            raise OSError(f"{host} is not the name under test ({self.name})")
        return [ResolveResult(hostname=host, host=self.address, port=port, family=socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        pass


def pinned_session(name: str, address: str, ca_file: str, source: str | None = None) -> aiohttp.ClientSession:
    """Create inside a running event loop; close it when done. With `source`, connections leave
    from that local address (a client on another machine, as the edge sees it)."""
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_file),
                                     resolver=PinnedResolver(name, address),
                                     local_addr=(source, 0) if source else None)
    return aiohttp.ClientSession(connector=connector)
