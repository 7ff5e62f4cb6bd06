"""A pull feed over HTTP on loopback that speaks docs/feed.md, serving given packages."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


class FeedServer:
    """Items are (name, bytes); an item's cursor is its position, as a string."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.damaged: set[int] = set()  # served with a flipped byte, announced intact
        self.requests = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests += 1
                url = urlsplit(self.path)
                if url.path.endswith("/items"):
                    self._send(feed.page(parse_qs(url.query)), "application/json")
                elif url.path.startswith("/feed/packages/"):
                    index = int(url.path.rsplit("/", 1)[1])
                    data = feed.items[index][1]
                    if index in feed.damaged:
                        data = data[:10] + bytes([data[10] ^ 1]) + data[11:]
                    self._send(data, "application/zip")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/feed"

    def page(self, query: dict[str, list[str]]) -> bytes:
        after = int(query.get("after", ["-1"])[0])
        limit = int(query.get("limit", ["100"])[0])
        chosen = range(after + 1, min(len(self.items), after + 1 + limit))
        return json.dumps({"items": [
            {"id": f"item-{i}", "name": self.items[i][0], "size": len(self.items[i][1]),
             "sha256": hashlib.sha256(self.items[i][1]).hexdigest(),
             "href": f"packages/{i}", "cursor": str(i)} for i in chosen],
            "next": str(chosen[-1]) if chosen else None}).encode()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    feed = FeedServer()
    thread = threading.Thread(target=feed.server.serve_forever, daemon=True)
    thread.start()
    yield feed
    feed.server.shutdown()
    feed.server.server_close()
