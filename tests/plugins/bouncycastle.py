"""Bouncy Castle's ERS (Debian's libbcpkix-java) as an independent RFC 4998 verifier."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from .services import missing

JARS = [Path("/usr/share/java") / f"{name}.jar" for name in ("bcprov", "bcpkix", "bcutil")]
SOURCE = Path(__file__).resolve().parents[1] / "interop" / "ErsVerify.java"

BcVerify = Callable[[bytes, Path, Sequence[Path]], tuple[bool, str]]


@pytest.fixture(scope="session")
def bc_verify(tmp_path_factory: pytest.TempPathFactory) -> BcVerify:
    """bc_verify(record, tsa_certificate_pem, files) -> (passed, what BC said)."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java and all(j.exists() for j in JARS)):
        missing("Java and Bouncy Castle (apt-get install default-jdk-headless "
                "libbcpkix-java libbcprov-java libbcutil-java) are needed for the interop test")
    build = tmp_path_factory.mktemp("bc")
    classpath = ":".join(str(j) for j in JARS)
    subprocess.run([str(javac), "-cp", classpath, "-d", str(build), str(SOURCE)], check=True,
                   capture_output=True, timeout=120)

    def verify(record: bytes, certificate: Path, files: Sequence[Path]) -> tuple[bool, str]:
        er = build / "record.ers"
        er.write_bytes(record)
        done = subprocess.run([str(java), "-cp", f"{classpath}:{build}", "ErsVerify", str(er),
                               str(certificate), *map(str, files)],
                              capture_output=True, text=True, timeout=120)
        return done.returncode == 0, (done.stdout + done.stderr).strip()

    return verify
