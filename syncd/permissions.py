"""The server's policy: read scopes from the org tree, writes judged by ``schema.access``.

Cell documents are readable by anyone holding a role on the cell or above it, and writable as
``schema.access.check_write`` says for the author's roles at the moment the change arrives.
A document a peer pushes that is not a cell's (a stock client's scratch document) belongs to
the person who pushed it: only they read and write it.
"""

from __future__ import annotations

from automerge.core import Document

from schema.access import Actor, check_write
from schema.automerge_io import plain
from syncd.directory import Directory
from syncd.policy import Decision, DocumentInfo, Principal


class HierarchyPolicy:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def roles(self, principal: Principal, info: DocumentInfo) -> frozenset[str]:
        if not principal.person_id or info.unit_id is None:
            return frozenset()
        return self.directory.tree.roles_on(principal.person_id, info.unit_id)

    def may_read(self, principal: Principal, info: DocumentInfo) -> bool:
        if info.kind is None:
            return bool(principal.person_id) and info.owner_id == principal.person_id
        return bool(self.roles(principal, info))

    def may_create(self, principal: Principal, document_id: str) -> bool:
        return bool(principal.person_id)

    def may_apply(
        self, principal: Principal, info: DocumentInfo, before: Document, after: Document
    ) -> Decision:
        if info.kind is None:
            if info.owner_id in (None, principal.person_id) and principal.person_id:
                return Decision.allow()
            return Decision(
                False,
                "owner_only",
                "Chỉ người tạo tài liệu được sửa.",
                "Only the document's owner may change it.",
            )
        actor = Actor(principal.person_id or None, self.roles(principal, info))
        verdict = check_write(info.kind, actor, plain(before), plain(after))
        if verdict.allowed:
            return Decision.allow()
        return Decision(False, verdict.rule, verdict.reason_vi, verdict.reason_en, verdict.path)
