"""Which packages the wheel carries; everything else is in pyproject.toml.

Every package under hramba/, ingest/ and storage/ is found, not listed, so a new one cannot
be forgotten. migrations/ and policies/ sit at the top of the repository and install
inside hramba (hramba.migrations, hramba.policies), where hramba.resources finds them.
"""

from setuptools import find_packages, setup

SHIPPED = {"hramba.migrations": "migrations", "hramba.policies": "policies"}


def _inside(package: str, folder: str) -> list[str]:
    return [package] + [f"{package}.{sub}" for sub in find_packages(folder)]


setup(
    packages=find_packages(include=["hramba", "hramba.*", "ingest", "ingest.*",
                                    "storage", "storage.*"])
    + [p for package, folder in SHIPPED.items() for p in _inside(package, folder)],
    package_dir=SHIPPED,
)
