"""Handbook behaviour that needs no server: carrying cells, who writes, what survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_sdk.handbook import Handbook
from schema.documents import new_document
from schema.errors import ValidationError
from syncd.protocol.document_id import new_document_id, to_url


def _carry(book: Handbook) -> dict[str, str]:
    ids = {kind: new_document_id() for kind in ("roster", "meetings", "tasks")}
    skipped = book.add_cell("c1", {**{k: to_url(v) for k, v in ids.items()}, "budget": "x"})
    assert skipped == ["budget"]  # a kind from a newer server: skipped, not fatal
    for kind, doc_id in ids.items():  # as if the first sync had brought them
        book.store.append(doc_id, [c.bytes for c in new_document(kind, "c1").get_changes([])])
    return ids


def test_edits_survive_a_restart_and_need_a_known_user(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    book = Handbook(path)
    _carry(book)
    with pytest.raises(ValidationError) as refused:
        book.add_member("c1", full_name="Hoàng Văn Dũng")
    assert refused.value.code == "device_user_unknown"
    book.close()

    book = Handbook(path, member_id="sec")
    member = book.add_member("c1", full_name="Hoàng Văn Dũng", member_id="m1")
    assert member.history[0].by == "sec"
    book.close()

    again = Handbook(path)
    assert again.member_id == "sec"
    assert again.member("c1", "m1").full_name == "Hoàng Văn Dũng"
    assert again.status().pending_changes > 0  # never synced: everything is pending
    again.close()


def test_bad_document_ids_are_refused_before_anything_is_carried(tmp_path: Path) -> None:
    book = Handbook(tmp_path / "d.sqlite3", member_id="sec")
    with pytest.raises(ValidationError) as refused:
        book.add_cell("c1", {"roster": to_url(new_document_id()), "tasks": "automerge:xyz"})
    assert refused.value.code == "bad_document_id"
    assert book.cells() == {}
    book.close()
