"""The handler of the test SMTP server (aiosmtpd runs it: `-c smtp_sink.Sink FOLDER`).

Each message accepted is written to FOLDER as NNNNNN.eml, the bytes as received, beside
NNNNNN.json, its envelope (sender and recipients); the .eml appears last, by rename, so a
reader never sees half a message. While FOLDER/refuse exists every message is answered
451 (a temporary failure, as a full or greylisting server gives) and nothing is kept.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path
from typing import Any

REFUSE = "refuse"


class Sink:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.numbers = itertools.count(1)

    @classmethod
    def from_cli(cls, parser: argparse.ArgumentParser, *args: str) -> Sink:
        if len(args) != 1:
            parser.error("smtp_sink.Sink takes one argument: the folder to write to")
        return cls(Path(args[0]))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (self.folder / REFUSE).exists():
            return "451 4.3.0 Refused for the test: try again later"
        name = f"{next(self.numbers):06d}"
        (self.folder / f"{name}.json").write_text(json.dumps(
            {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}))
        partial = self.folder / f"{name}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        os.replace(partial, self.folder / f"{name}.eml")
        return "250 2.0.0 Kept"
