"""Domain conflict rules over merged cell documents: pure functions, same answer everywhere.

Automerge merges without losing edits, but a register shows one winner picked by operation id,
which says nothing about the party's rules and nothing about who knew what. So every rule here
reads append-only lists (status history, task status log, progress notes) whose merged order is
identical on every replica, plus causal links each entry records (``causal_log``), and derives
its outcome from them alone: never from device clocks (docs/design.md, "Clocks and names"),
never from arrival order.

- ``causal_log``  which entries of a record's lists saw which (concurrency without clocks)
- ``lifecycle``   effective member status: terminal states win over concurrent changes
- ``task_status`` effective task status: closed wins over concurrent progress; done over cancel
- ``merges``      which member records were merged into which (cycles broken deterministically)
- ``duplicates``  duplicate card numbers and likely duplicate members
- ``conflicts``   the list a secretary or official reviews, in Vietnamese and English
- ``resolution``  the resolving edits for duplicates (ordinary, permission-checked writes)

This package imports nothing heavy at package level: ``schema.roster`` and ``schema.tasks`` use
the leaf modules (``lifecycle``, ``task_status``, ``merges``, ``causal_log``) for their reads.
"""
