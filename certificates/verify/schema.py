"""Well-formedness and XSD validation of a DCC file against the schema of its own ``schemaVersion``.

The schema directory is a deployment setting: ``CALTRACE_SCHEMA_DIR``, else ``../shared/schemas/dcc`` next to the
checkout when that exists; it holds ``vX.Y.Z/dcc.xsd`` with D-SI, xmldsig and QUDT schemas imported by relative
location. Nothing is fetched: parsers run with ``no_network=True`` and a resolver that refuses any location outside
the schema directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

#: DCC schema versions caltrace verifies against (caltrace issue 17)
SUPPORTED_VERSIONS: tuple[str, ...] = ("2.4.0", "3.1.1", "3.1.2", "3.2.0", "3.2.1", "3.3.0")


def safe_parser() -> etree.XMLParser:
    """A parser that does not expand entities, load DTDs, use the network or accept huge trees."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def schema_dir() -> Path | None:
    """The configured schema directory, or None when none is configured and the default does not exist."""
    env = os.environ.get("CALTRACE_SCHEMA_DIR")
    if env:
        return Path(env)
    default = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "dcc"
    return default if default.is_dir() else None


class _LocalOnly(etree.Resolver):
    """Resolve only files inside the schema directory; anything else is an error (never fetched)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()

    def resolve(self, system_url: str, public_id: str, context: object) -> None:  # type: ignore[override]
        path = Path(system_url.removeprefix("file://")).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"schema location {system_url!r} is outside the schema directory {self.root}")
        return None  # noqa: PLR1711  (None: let libxml2 read the local file)


_cache: dict[Path, etree.XMLSchema] = {}


def load_schema(directory: Path, version: str) -> etree.XMLSchema:
    """The compiled XSD of DCC ``version`` in ``directory`` (cached); ValueError when it is missing."""
    path = (directory / f"v{version}" / "dcc.xsd").resolve()
    if path not in _cache:
        if not path.is_file():
            raise ValueError(f"no schema for DCC {version}: {path} does not exist")
        parser = safe_parser()
        parser.resolvers.add(_LocalOnly(directory))
        _cache[path] = etree.XMLSchema(etree.parse(str(path), parser))
    return _cache[path]
