"""The document as the author of incoming changes saw it, before and after their changes. Pure.

Judging the merged result instead would miss a write that loses last-writer-wins against a
concurrent one: it does not show in the merged value, yet it is stored and can surface once the
winner is deleted. On the author's own branch every write they made is visible.
"""

from __future__ import annotations

from collections.abc import Callable

from automerge.core import Document, Message, SyncState


def author_view(
    trial: Document,
    canonical: Document,
    seen_with: Callable[[list[bytes]], Document | None] | None = None,
    message: bytes | None = None,
) -> tuple[Document, Document]:
    """The document as the author of ``trial``'s new changes saw it, and the same after them.

    When the author had seen exactly the canonical document (a device that is up to date, the
    usual case) those two are ``canonical`` and ``trial`` themselves: nothing is rebuilt, and
    the cost does not grow with the history. When the author saw an earlier canonical state
    that ``seen_with`` still keeps (syncd.core.recent_states), that state and a fork of it with
    ``message`` applied. Otherwise both are rebuilt at their heads. The caller must only read
    the two documents it gets.
    """
    heads = canonical.get_heads()
    new = trial.get_changes(heads)
    hashes = {c.hash for c in new}
    depended = {d for c in new for d in c.deps}
    base = sorted(d for d in depended if d not in hashes)
    tips = sorted(h for h in hashes if h not in depended)
    # Changes may also name an ancestor of another dependency (automerge lists the author's
    # own previous change), so "saw exactly the canonical document" is: its base covers every
    # canonical head (the rest of the base is their history) and nothing else moved.
    if set(heads) <= set(base) and tips == sorted(trial.get_heads()):
        return canonical, trial
    seen = seen_with(base) if seen_with is not None and message is not None and base else None
    if seen is not None:
        after = seen.fork()
        after.receive_sync_message(SyncState(), Message.decode(message))
        if sorted(after.get_heads()) == tips:  # the message held all the author's new changes
            return seen, after
    try:
        return (trial.fork_at(base) if base else Document()), trial.fork_at(tips)
    except BaseException as exc:  # automerge 0.7.2's fork_at can panic (MissingOps)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return _state_at(trial, base), _state_at(trial, tips)


def _state_at(doc: Document, heads: list[bytes]) -> Document:
    """``doc`` at ``heads``, rebuilt from the change chunks of their ancestry (slower than
    ``fork_at``, which panics on some histories in the pinned automerge)."""
    if not heads:
        return Document()
    changes = {c.hash: c for c in doc.get_changes([])}
    keep: set[bytes] = set()
    stack = list(heads)
    while stack:
        h = stack.pop()
        if h not in keep:
            keep.add(h)
            stack.extend(changes[h].deps)
    return Document.load(b"".join(c.bytes for c in changes.values() if c.hash in keep))
