"""Sealed documents, content-addressed by SHA-256 (S-27: every replica serves every document).

By default the bytes live in the database (`document_contents`), written in the same
transaction that marks the contract SIGNED: a worker killed before the commit leaves
nothing behind, and every API replica and worker reads what any of them wrote. The file
system (`DOCUMENT_STORE=filesystem`, files under DOCUMENTS_DIR) stays as an option; there a
file is written before the commit, so a crash can leave an orphan file, never a row without
its file. Reading looks in the database first, then on disk, so a store half moved by
`partner-platform documents-to-database` still serves everything."""

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tortoise import connections

from domain.models import Document, DocumentContent
from domain.settings import Settings

CHUNK = 64 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("not a sha256 digest")
    return digest


class FileStore:
    """Files named by their SHA-256: writing the same bytes twice is harmless."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / _checked(digest)[:2] / f"{digest}.pdf"

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()


def in_database(settings: Settings) -> bool:
    return settings.document_store == "database"


def write_file_first(data: bytes, settings: Settings) -> None:
    """Before the transaction: the file store's half of keeping a document."""
    if not in_database(settings):
        FileStore(settings.documents_path).put(data)


async def keep(data: bytes, digest: str, settings: Settings) -> None:
    """Inside the transaction that marks the contract SIGNED: the document's row, and in
    the database store its bytes. The same bytes twice are one document."""
    _, created = await Document.get_or_create(sha256=digest, defaults={"size": len(data)})
    if in_database(settings) and (created or not await DocumentContent.exists(sha256=digest)):
        await DocumentContent.create(sha256=digest, content=data)


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    in_database: bool


async def find(digest: str) -> Stored | None:
    document = await Document.get_or_none(sha256=_checked(digest))
    if document is None:
        return None
    return Stored(digest, document.size, await DocumentContent.exists(sha256=digest))


async def _database_slice(digest: str, start: int, length: int) -> bytes:
    """Bytes [start, start + length) without loading the rest: SQL substr() on the blob,
    which PostgreSQL (bytea) and SQLite (BLOB) both count in bytes from 1."""
    conn = connections.get("default")
    a, b, c = ("?", "?", "?") if conn.capabilities.dialect == "sqlite" else ("$1", "$2", "$3")
    _, rows = await conn.execute_query(
        f"SELECT substr(content, {a}, {b}) AS part FROM document_contents WHERE sha256 = {c}",
        [start + 1, length, digest],
    )
    return bytes(rows[0]["part"]) if rows else b""


async def chunks(stored: Stored, settings: Settings, start: int = 0,
                 end: int | None = None) -> AsyncIterator[bytes]:
    """The document's bytes [start, end] (inclusive, as in a Range header), a chunk at a time."""
    last = stored.size - 1 if end is None else end
    if stored.in_database:
        position = start
        while position <= last:
            part = await _database_slice(stored.sha256, position, min(CHUNK, last - position + 1))
            if not part:
                raise OSError(f"document {stored.sha256} ends early")
            yield part
            position += len(part)
        return
    with FileStore(settings.documents_path).path(stored.sha256).open("rb") as fh:
        fh.seek(start)
        left = last - start + 1
        while left > 0:
            part = fh.read(min(CHUNK, left))
            if not part:
                raise OSError(f"document {stored.sha256} ends early")
            yield part
            left -= len(part)


async def read(digest: str, settings: Settings) -> bytes:
    """A whole document, from wherever it is kept; FileNotFoundError if nowhere."""
    stored = await find(digest)
    if stored is None:
        raise FileNotFoundError(f"no document {digest}")
    if stored.in_database:
        content = await DocumentContent.get(sha256=digest).values_list("content", flat=True)
        return bytes(content)  # type: ignore[arg-type]
    return FileStore(settings.documents_path).get(digest)


@dataclass
class Moved:
    moved: int = 0
    already: int = 0
    missing: list[str] | None = None
    mismatched: list[str] | None = None


async def move_files_to_database(settings: Settings) -> Moved:
    """`partner-platform documents-to-database`: each document kept only on disk is read,
    its SHA-256 and size checked against its row, and stored in the database. Files stay
    where they are; a missing or altered file is reported, never stored."""
    store = FileStore(settings.documents_path)
    result = Moved(missing=[], mismatched=[])
    in_db = set(await DocumentContent.all().values_list("sha256", flat=True))
    for digest, size in await Document.all().order_by("sha256").values_list("sha256", "size"):
        if digest in in_db:
            result.already += 1
            continue
        try:
            data = store.get(digest)
        except FileNotFoundError:
            result.missing.append(digest)  # type: ignore[union-attr]
            continue
        if sha256(data) != digest or len(data) != size:
            result.mismatched.append(digest)  # type: ignore[union-attr]
            continue
        await DocumentContent.get_or_create(sha256=digest, defaults={"content": data})
        result.moved += 1
    return result
