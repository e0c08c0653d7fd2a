"""The values of recently accepted document states, kept to judge the next message. Pure.

The checks compare a document's values before and after a message (``schema.automerge_io.plain``
reads the whole document into dicts and lists). The "before" of a message is, almost always, the
"after" of the one accepted just before it on the same document: reading it again was half of
the server's time under load. A state is named by its heads (the same heads, the same values),
so a kept view is used only for exactly that state, and never changes: the checks only read it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from automerge.core import Document

from schema.automerge_io import plain


class PlainViews:
    """Up to ``per_document`` states of up to ``documents`` documents, least recently used out."""

    def __init__(self, documents: int = 1024, per_document: int = 2) -> None:
        self.documents = documents
        self.per_document = per_document
        self._views: OrderedDict[str, OrderedDict[tuple[bytes, ...], Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def of(self, document_id: str, doc: Document) -> Any:
        """``plain(doc)``, from the kept view when this state was kept."""
        heads = tuple(doc.get_heads())
        states = self._views.get(document_id)
        if states is not None and heads in states:
            self._views.move_to_end(document_id)
            self.hits += 1
            return states[heads]
        self.misses += 1
        return plain(doc)

    def keep(self, document_id: str, doc: Document, value: Any) -> None:
        """Remember ``value`` as the values of ``doc``'s current state."""
        states = self._views.setdefault(document_id, OrderedDict())
        states[tuple(doc.get_heads())] = value
        while len(states) > self.per_document:
            states.popitem(last=False)
        self._views.move_to_end(document_id)
        while len(self._views) > self.documents:
            self._views.popitem(last=False)

    def forget(self, document_id: str) -> None:
        self._views.pop(document_id, None)
