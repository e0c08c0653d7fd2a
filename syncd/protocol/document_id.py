"""automerge-repo document ids: base58check of 16 random bytes, shown as ``automerge:<id>`` URLs.

The encoding is the one in the pinned ``automerge`` package (samod's DocumentId), so ids we mint are
the ids every stock client expects; nothing here re-implements base58check.
"""

from __future__ import annotations

import os

from automerge._automerge import DocumentId

URL_PREFIX = "automerge:"


def new_document_id() -> str:
    return DocumentId.from_bytes(os.urandom(16)).to_string()


def is_document_id(value: str) -> bool:
    """True only for canonical base58check (samod also parses UUIDs; the wire never has them)."""
    if not 10 <= len(value) <= 64:
        return False
    try:
        return DocumentId.from_string(value).to_string() == value
    except ValueError:
        return False


def to_url(document_id: str) -> str:
    return URL_PREFIX + document_id


def from_url(url: str) -> str:
    doc_id = url.removeprefix(URL_PREFIX)
    if not is_document_id(doc_id):
        raise ValueError(f"not an automerge document URL: {url!r}")
    return doc_id
