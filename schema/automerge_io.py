"""Reading plain Python values out of Automerge objects and writing them back key by key.

Writes go field by field, never by replacing a map: a field this code does not know (written by a
newer client) stays where it is, and concurrent edits to different fields of one record merge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from automerge.core import ROOT, Document, ObjType, ScalarType

from schema.errors import invalid

ObjId = bytes


def get_obj(doc: Any, parent: ObjId, key: str | int) -> ObjId | None:
    """The id of a child object, or None (also when the key holds a scalar)."""
    found = doc.get(parent, key)
    if found is None or not isinstance(found[0], ObjType):
        return None
    return found[1]


def container(doc: Any, name: str) -> ObjId:
    """A top-level container; missing means the document predates it (wait for the migration)."""
    obj = get_obj(doc, ROOT, name)
    if obj is None:
        raise invalid(
            "schema_outdated",
            f"Tài liệu chưa có mục '{name}': hãy đồng bộ để nhận bản cập nhật cấu trúc.",
            f"Document has no '{name}' yet: sync to receive the schema migration.",
        )
    return obj


def scalar(doc: Any, obj: ObjId, key: str | int) -> Any:
    found = doc.get(obj, key)
    if found is None or isinstance(found[0], ObjType):
        return None
    return found[0][1]


def plain(doc: Any, obj: ObjId = ROOT) -> Any:
    """The whole subtree as dicts, lists and strings (Text objects become str).

    The server reads every incoming message's document this way, so it is written for speed:
    a map's keys and values come in two calls (both in key order) instead of one ``get`` per
    key, and a child's type comes with its value instead of from another call."""
    return _object(doc, obj, doc.object_type(obj))


def _object(doc: Any, obj: ObjId, kind: ObjType) -> Any:
    if kind == ObjType.Text:
        return doc.text(obj)
    if kind == ObjType.List:
        return [_value(doc, value, child) for value, child in doc.values(obj)]
    return {
        key: _value(doc, value, child)
        for key, (value, child) in zip(doc.keys(obj), doc.values(obj), strict=True)
    }


def _value(doc: Any, value: Any, child: ObjId) -> Any:
    return _object(doc, child, value) if isinstance(value, ObjType) else value[1]


def put(tx: Any, obj: ObjId, key: str, value: Any) -> None:
    """Write one plain value; None deletes the key; dicts become maps written key by key."""
    if value is None:
        if tx.get(obj, key) is not None:
            tx.delete(obj, key)
    elif isinstance(value, bool):
        tx.put(obj, key, ScalarType.Boolean, value)
    elif isinstance(value, int):
        tx.put(obj, key, ScalarType.Int, value)
    elif isinstance(value, float):
        tx.put(obj, key, ScalarType.F64, value)
    elif isinstance(value, str):
        tx.put(obj, key, ScalarType.Str, value)
    elif isinstance(value, datetime):
        tx.put(obj, key, ScalarType.Timestamp, value)
    elif isinstance(value, dict):
        child = get_obj(tx, obj, key)
        if child is None or tx.object_type(child) != ObjType.Map:
            child = tx.put_object(obj, key, ObjType.Map)
        for k, v in value.items():
            put(tx, child, k, v)
    else:
        raise TypeError(f"cannot store {type(value).__name__}")


def append_map(tx: Any, list_obj: ObjId, fields: dict[str, Any]) -> None:
    """Append a record to a list (history, progress notes): concurrent appends all survive."""
    item = tx.insert_object(list_obj, tx.length(list_obj), ObjType.Map)
    for k, v in fields.items():
        put(tx, item, k, v)


def new_list(tx: Any, obj: ObjId, key: str) -> ObjId:
    """Only when creating the record that owns it: two devices creating one list would conflict."""
    return tx.put_object(obj, key, ObjType.List)


def schema_version(doc: Document) -> int:
    value = scalar(doc, ROOT, "schema_version")
    return int(value) if isinstance(value, int) else 0
