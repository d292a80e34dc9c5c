"""Persisted operations for browser frontends.

- **Automatic persisted queries** (Apollo's protocol): a client sends
  `extensions.persistedQuery = {version: 1, sha256Hash}` without the query; an unknown
  hash is answered `PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND), and the
  client sends the query with its hash once, which registers it. Each API process keeps
  the last APQ_CACHE_SIZE registered queries (a client whose hash another process does not
  know simply registers it there too).
- **Trusted documents** (TRUSTED_DOCUMENTS, a JSON manifest): only the operations listed
  run, whether asked for by hash or sent in full; nothing can be registered. For a
  production API that serves known frontends: a stolen token cannot run queries of its
  own making. The manifest is Apollo's persisted query manifest
  (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
  "body", ...}]}`) or a plain `{"<sha256>": "<document>"}` map; every id must be its
  body's SHA-256, else the API does not start.
"""

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

APQ_CACHE_SIZE = 512


class PersistedQueryError(Exception):
    """Answered as a GraphQL error with this code, before anything is parsed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        pairs = [(op.get("id"), op.get("body")) for op in data["operations"] if isinstance(op, dict)]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ValueError(f"{path}: not a persisted query manifest")
    documents = {}
    for key, body in pairs:
        if not isinstance(key, str) or not isinstance(body, str) or sha256(body) != key.lower():
            raise ValueError(f"{path}: the operation {key!r} is not the SHA-256 of its body")
        documents[key.lower()] = body
    return documents


def manifest_of(documents: list[str]) -> dict[str, Any]:
    """Apollo's manifest format for these documents."""
    return {
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": sha256(body), "body": body} for body in documents],
    }


class Documents:
    def __init__(self, trusted: dict[str, str] | None = None, cache_size: int = APQ_CACHE_SIZE):
        self.trusted = trusted
        self.cache_size = cache_size
        self._registered: OrderedDict[str, str] = OrderedDict()

    @classmethod
    def from_settings(cls, settings) -> "Documents":
        return cls(load_manifest(settings.trusted_documents) if settings.trusted_documents else None)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run for a request's `query` and `extensions`."""
        persisted = (extensions or {}).get("persistedQuery")
        wanted = None
        if isinstance(persisted, dict) and persisted.get("version") == 1:
            wanted = persisted.get("sha256Hash")
            if not isinstance(wanted, str) or len(wanted) != 64:
                raise PersistedQueryError("INVALID_INPUT", "persistedQuery.sha256Hash must be a SHA-256 in hex.")
            wanted = wanted.lower()
        if query is not None and wanted is not None and sha256(query) != wanted:
            raise PersistedQueryError("INVALID_INPUT", "provided sha does not match query")
        if self.trusted is not None:
            if wanted is None:
                if query is not None and sha256(query) in self.trusted:
                    return query
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_FOUND", "Only registered operations run here; this one is not registered.")
            if wanted not in self.trusted:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            return self.trusted[wanted]
        if wanted is None:
            return query
        if query is None:
            registered = self._registered.get(wanted)
            if registered is None:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            self._registered.move_to_end(wanted)
            return registered
        self._registered[wanted] = query
        self._registered.move_to_end(wanted)
        while len(self._registered) > self.cache_size:
            self._registered.popitem(last=False)
        return query


class TrustedDocuments(SchemaExtension):
    """With a manifest, any document not in it is refused, over HTTP and WebSocket alike,
    before it is parsed."""

    def __init__(self, *, trusted: dict[str, str]):
        self.trusted = trusted

    def on_parse(self) -> Iterator[None]:
        if sha256(self.execution_context.query or "") not in self.trusted:
            raise GraphQLError("Only registered operations run here; this one is not registered.",
                               extensions={"code": "PERSISTED_QUERY_NOT_FOUND"})
        yield
