"""A loopback TCP proxy that can freeze: a server stopped with SIGSTOP, without stopping it.

A stopped server's kernel still accepts connections and acknowledges what is sent; only
answers stop. `freeze()` does the same to everything behind the proxy: connections stay
open, new ones are accepted, nothing is forwarded either way until `thaw()`. So the shared
PostgreSQL and the session's S3 server can "stop" for one test and carry on for the rest.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator

import pytest

POLL = 0.05  # seconds: how soon a forwarder notices freeze() and close()


class FreezingProxy:
    """Forwards 127.0.0.1:<port> to `target`, or, frozen, holds every byte."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._thawed = threading.Event()
        self._thawed.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self.forwarded = 0  # bytes, both ways: a test waits for traffic before freezing
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def freeze(self) -> None:
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    def close(self) -> None:
        self._closed.set()
        self._thawed.set()
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._sockets.append(client)
        self._thawed.wait()  # frozen: accepted (as the kernel would), never answered
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self._sockets.append(upstream)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed by close()
            while not self._closed.is_set():
                self._thawed.wait()
                ready, _, _ = select.select([source], [], [], POLL)
                if not ready or not self._thawed.is_set():
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
                self.forwarded += len(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def freezing_proxy() -> Iterator[type[FreezingProxy]]:
    """Make proxies with `freezing_proxy((host, port))`; each is closed after the test."""
    made: list[FreezingProxy] = []

    class Tracked(FreezingProxy):
        def __init__(self, target: tuple[str, int]) -> None:
            super().__init__(target)
            made.append(self)

    yield Tracked
    for proxy in made:
        proxy.close()
