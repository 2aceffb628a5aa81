"""Bounded uploads: one dependency factory every router that takes a file reuses.

The request body as a whole is bounded by :class:`api.web.middleware.BodyLimit` (the limit plus 1 MiB of form
overhead). A file is then read in chunks and refused (413) as soon as it passes the size limit
(``CALTRACE_MAX_UPLOAD_BYTES``, or a smaller one the route gives); its name must end with one of the route's
suffixes and its declared media type be one the route accepts (415 otherwise), and its first bytes must look like
that kind of file (a ``.xlsx`` is a ZIP, a PDF starts ``%PDF-``, XML with ``<``): a renamed file is refused
before any parser sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from fastapi import Depends, UploadFile

from api.web.deps import ServiceDep
from api.web.errors import ApiProblem

CHUNK = 64 * 1024

#: suffix -> (media types a browser or client may declare for it, how its content starts (None: text))
KINDS: dict[str, tuple[frozenset[str], tuple[bytes, ...] | None]] = {
    ".csv": (frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}), None),
    ".xlsx": (
        frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"}),
        (b"PK\x03\x04",),
    ),
    ".xml": (frozenset({"application/xml", "text/xml"}), (b"<", b"\xef\xbb\xbf<")),
    ".pdf": (frozenset({"application/pdf"}), (b"%PDF-",)),
}
GENERIC_TYPES = frozenset({"application/octet-stream", ""})


@dataclass(frozen=True)
class Upload:
    """A checked upload: its file name (no directories), suffix, declared media type and content."""

    name: str
    suffix: str
    media_type: str
    content: bytes


def bounded_upload(suffixes: tuple[str, ...], *, max_bytes: int | None = None) -> Callable[..., Awaitable[Upload]]:
    """A dependency reading the ``file`` form field: at most ``max_bytes`` (default: the service setting), a name
    ending with one of ``suffixes`` (keys of :data:`KINDS`)."""
    unknown = [s for s in suffixes if s not in KINDS]
    if unknown:
        raise ValueError(f"no upload kind {unknown[0]!r}; known: {', '.join(KINDS)}")

    async def read(file: UploadFile, service: ServiceDep) -> Upload:
        limit = min(max_bytes or service.settings.max_upload_bytes, service.settings.max_upload_bytes)
        name = PurePath((file.filename or "").replace("\\", "/")).name
        suffix = PurePath(name).suffix.casefold()
        if suffix not in suffixes:
            raise ApiProblem(
                415,
                "unsupported-file",
                "Unsupported file type",
                f"{name or 'the file'}: send a file ending in {', '.join(suffixes)}",
            )
        media_types, magic = KINDS[suffix]
        declared = (file.content_type or "").split(";")[0].strip().casefold()
        if declared not in media_types | GENERIC_TYPES:
            raise ApiProblem(
                415,
                "unsupported-file",
                "Unsupported file type",
                f"{name}: declared as {declared!r}; a {suffix} file is sent as {' or '.join(sorted(media_types))}",
            )
        chunks: list[bytes] = []
        size = 0
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise ApiProblem(
                    413, "too-large", "File too large", f"{name}: larger than the limit of {limit} bytes; send less"
                )
            chunks.append(chunk)
        content = b"".join(chunks)
        if not content:
            raise ApiProblem(422, "empty-file", "Empty file", f"{name}: the file is empty")
        if magic is not None and not content.startswith(magic):
            raise ApiProblem(
                415, "unsupported-file", "Unsupported file type", f"{name}: its content is not a {suffix} file"
            )
        return Upload(name, suffix, declared, content)

    return read


def upload_dependency(suffixes: tuple[str, ...], *, max_bytes: int | None = None) -> Any:
    """``Depends`` of :func:`bounded_upload`, for ``Annotated[Upload, upload_dependency((".csv",))]``."""
    return Depends(bounded_upload(suffixes, max_bytes=max_bytes))
