"""The server's policy: read scopes from the org tree, writes judged by ``schema.access``.

Cell documents are readable by anyone holding a role on the cell or above it, and writable as
``schema.access.check_write`` says for the author's roles at the moment the change arrives, with
values ``schema.validation.check_values`` accepts (the checks the SDK runs before a local edit).
A document a peer pushes that is not a cell's (a stock client's scratch document) belongs to
the person who pushed it: only they read and write it. Pure: it reads the in-memory ``OrgTree``,
which the directory keeps current, and the directory's device map: a device held for
confirmation (docs/enrolment.md) reads and does not write.
"""

from __future__ import annotations

from collections.abc import Mapping

from automerge.core import Document

from schema.access import ALLOW, Actor, Verdict, check_write
from schema.automerge_io import plain
from schema.validation import check_values
from syncd.core.auth import Device, is_held
from syncd.core.org import OrgTree
from syncd.core.plain_views import PlainViews
from syncd.core.policy import DocumentInfo, Principal

OWNER_ONLY = Verdict(
    False,
    "owner_only",
    "Chỉ người tạo tài liệu được sửa.",
    "Only the document's owner may change it.",
)


DEVICE_HELD = Verdict(
    False,
    "device_unconfirmed",
    "Thiết bị này đang chờ bí thư chi bộ xác nhận: chỉ xem được, chưa sửa được.",
    "This device is waiting for the cell secretary's confirmation: it may read, not write yet.",
)


class HierarchyPolicy:
    def __init__(self, tree: OrgTree, devices: Mapping[str, Device] | None = None) -> None:
        self.tree = tree
        self.devices: Mapping[str, Device] = devices if devices is not None else {}
        # The values of each busy document's last accepted states: the next message's "before".
        # A view costs about 40 times the document's save() (170 KiB for a tasks document of
        # 300 progress notes): 512 documents, 2 states each, bound it.
        self.views = PlainViews(documents=512, per_document=2)

    def roles(self, principal: Principal, info: DocumentInfo) -> frozenset[str]:
        if not principal.person_id or info.unit_id is None:
            return frozenset()
        return self.tree.roles_on(principal.person_id, info.unit_id)

    def may_read(self, principal: Principal, info: DocumentInfo) -> bool:
        if info.kind is None:
            return bool(principal.person_id) and info.owner_id == principal.person_id
        return bool(self.roles(principal, info))

    def may_create(self, principal: Principal, document_id: str) -> bool:
        return bool(principal.person_id)

    def may_apply(
        self, principal: Principal, info: DocumentInfo, before: Document, after: Document
    ) -> Verdict:
        if info.kind is None:
            if info.owner_id in (None, principal.person_id) and principal.person_id:
                return ALLOW
            return OWNER_ONLY
        if is_held(self.devices, principal.device_id):
            return DEVICE_HELD
        actor = Actor(principal.person_id or None, self.roles(principal, info))
        old, new = self.views.of(info.document_id, before), plain(after)
        verdict = check_write(info.kind, actor, old, new)
        if verdict.allowed:
            verdict = check_values(info.kind, old, new)
        if verdict.allowed:
            self.views.keep(info.document_id, after, new)
        return verdict
