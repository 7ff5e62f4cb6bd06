"""A pull feed over HTTP on loopback that speaks docs/feed.md, serving given packages; a
feed can be told to announce, serve or redirect like a hostile one."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


class FeedServer:
    """Items are (name, bytes); an item's cursor is its position, as a string."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.damaged: set[int] = set()  # served with a flipped byte, announced intact
        self.announce: dict[int, dict[str, object]] = {}  # fields to change (None: drop)
        self.trailing: dict[int, bytes] = {}  # served after the item's bytes, unannounced
        self.unsized: set[int] = set()  # served without a Content-Length (till it closes)
        self.redirects: dict[str, str] = {}  # path -> Location of a 302
        self.failing: dict[int, int] = {}  # item -> the HTTP error its link answers
        self.requests: list[str] = []  # paths asked for, in order
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests.append(self.path)
                url = urlsplit(self.path)
                if url.path in feed.redirects:
                    self.send_response(302)
                    self.send_header("Location", feed.redirects[url.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif url.path.endswith("/items"):
                    self._send(feed.page(parse_qs(url.query)), "application/json")
                elif url.path.startswith("/feed/packages/"):
                    index = int(url.path.rsplit("/", 1)[1])
                    if index in feed.failing:
                        self.send_error(feed.failing[index])
                        return
                    self._send(feed.served(index), "application/zip",
                               sized=index not in feed.unsized)
                else:
                    self.send_error(404)

            def _send(self, body: bytes, content_type: str, sized: bool = True) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                if sized:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.origin}/feed"

    def page(self, query: dict[str, list[str]]) -> bytes:
        after = int(query.get("after", ["-1"])[0])
        limit = int(query.get("limit", ["100"])[0])
        chosen = range(after + 1, min(len(self.items), after + 1 + limit))
        return json.dumps({"items": [self.item(i) for i in chosen],
                           "next": str(chosen[-1]) if chosen else None}).encode()

    def item(self, i: int) -> dict[str, object]:
        name, data = self.items[i]
        announced: dict[str, object] = {
            "id": f"item-{i}", "name": name, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "href": f"packages/{i}",
            "cursor": str(i)}
        for key, value in self.announce.get(i, {}).items():
            if value is None:
                announced.pop(key)
            else:
                announced[key] = value
        return announced

    def served(self, i: int) -> bytes:
        data = self.items[i][1]
        if i in self.damaged:
            data = data[:10] + bytes([data[10] ^ 1]) + data[11:]
        return data + self.trailing.get(i, b"")

    def downloads(self) -> list[str]:
        """The paths asked for other than the listing."""
        return [path for path in self.requests if "/items?" not in path]


@contextmanager
def serving() -> Iterator[FeedServer]:
    feed = FeedServer()
    thread = threading.Thread(target=feed.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield feed
    finally:
        feed.server.shutdown()
        feed.server.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with serving() as feed:
        yield feed


@pytest.fixture
def canary() -> Iterator[FeedServer]:
    """Another server on loopback that a feed must never make the archive ask anything."""
    with serving() as feed:
        yield feed
