"""Which member records were merged into which, read from their ``merged_into`` keys.

Merging duplicate B into A writes ``merged_into = A`` on B (a scalar on an existing record: no new
container, docs/design.md, "Documents"). Offline secretaries can make this inconsistent: one merges
B into A while another merges A into B, or chains form (B -> A -> C). The rule: follow the links; a
record whose chain ends at a record that is not merged resolves to that record; a loop keeps exactly
one record, the smallest id in the loop, so no person ever disappears and every replica agrees. A
link to an id that does not exist is ignored, for the same reason."""

from __future__ import annotations

from collections.abc import Mapping


def survivors(links: Mapping[str, str | None]) -> dict[str, str]:
    """``links``: every member id -> its ``merged_into`` (or None). Returns merged id -> the
    record it now lives on; ids not in the result are records in their own right."""
    target = {m: t for m, t in links.items() if isinstance(t, str) and t in links and t != m}
    root: dict[str, str] = {}
    for start in sorted(links):
        path: list[str] = []
        node = start
        while node in target and node not in root and node not in path:
            path.append(node)
            node = target[node]
        if node in root:
            end = root[node]
        elif node in path:  # a loop: its smallest id survives
            loop = path[path.index(node) :]
            end = min(loop)
            for member in loop:
                root[member] = end
        else:
            end = node
        for member in path:
            root.setdefault(member, end)
    return {m: r for m, r in root.items() if r != m}
