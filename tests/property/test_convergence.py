"""Property test (Hypothesis, stateful): three replicas of one cell and the sync server converge to
identical documents and identical conflict-rule outcomes, whatever the network does.

In one process, on a real SQLite file: the real ``Registry``, ``Directory``, ``HierarchyPolicy``
(every replica's person holds a writing role on the cell: two cell secretaries and a deputy, so
every edit is allowed and none may be refused) and ``DocumentHub``. Each replica holds the cell's
roster, tasks and meetings documents, received at enrolment, and talks to the hub with the
protocol's ``sync`` messages through two queues of its own (replica -> hub, hub -> replica).

Rules: random edits through the shared schema (members added with colliding names and card
numbers, status changes and corrections, task status and progress, attendance, minutes
keystrokes, resolutions of the conflicts the replica sees), each checked against
``schema.access`` as the SDK does and pushed at once when the replica has a session; a burst of
network traffic, each action taking any message in flight from any queue at any position and
delivering it (reordering), delivering it and keeping a copy for later (duplication) or dropping
it; a partition (the replica's session and everything in flight are lost); a reconnect with fresh
sync states; a hub restart, clean or a crash, reloading from SQLite; a hub compaction.

Invariants. Every step: the hub refuses nothing (all edits are allowed), a restart loses nothing
the hub had applied, and no canonical document holds changes waiting for dependencies. At the end:
(1) merging the replicas' and the hub's documents in every order gives identical documents and
identical rule outcomes (``cell_outcome``: effective statuses, merges, open conflicts); (2) after
healing the network (everyone reconnects, reliable delivery until quiet) every replica has the
hub's heads, exactly that merged document and the same rule outcomes; (3) no change any replica
made is missing from the hub's stored bytes or from any replica; (4) the report index, reduced
from the merged values (``syncd.reports.facts``), lists exactly those open conflicts.

Budget: 60 examples x up to 40 steps, about 30 s on one core. ``SOTAY_SOAK=1`` runs 10x as many
examples, ``SOTAY_SOAK=<n>`` n x (see README, "Tests").
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automerge.core import Document, Message, SyncState
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from conflict_rules import resolution
from conflict_rules.conflicts import cell_conflicts, cell_outcome
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.access import Actor, check_write
from schema.automerge_io import plain
from schema.errors import ValidationError
from syncd.core.live_document import waits_for_dependencies
from syncd.protocol.messages import SyncLike
from syncd.reports.facts import document_facts
from syncd.reports.queries import cell_conflicts as index_conflicts
from tests.harness.hub import HubRig, RecordingPeer

_soak = os.environ.get("SOTAY_SOAK", "")
SOAK = 0 if _soak in ("", "0") else (int(_soak) if _soak.isdigit() and int(_soak) > 1 else 10)
MAX_EXAMPLES = 60 * (SOAK or 1)
STEPS = 40

CELL = "c1"
KINDS = ("roster", "tasks", "meetings")
PERSONS = ("s0", "s1", "d2")
ROLES = ("cell_secretary", "cell_secretary", "cell_deputy")
REPLICAS = st.integers(min_value=0, max_value=len(PERSONS) - 1)
PICK = st.integers(min_value=0, max_value=255)
NETWORK_ACTIONS = ("deliver", "deliver", "deliver", "duplicate", "drop")
# Few values, so that offline additions collide: likely duplicates and shared card numbers.
NAMES = ("Giàng Mí Pà", "giàng  mí pà", "Giàng Mí Pà", "Vàng Thị Mai")
BIRTHS = (None, None, "1980-01-01", "1985-05-05")
CARDS = (None, None, "12.000001", "12.000002")
SEED = {
    "m1": ({"full_name": "Sùng Seo Chứ", "joined_date": "2000-03-01"}, "probationary"),
    "m2": (
        {"full_name": "Thào Thị Hoa", "joined_date": "1999-03-01", "official_date": "2000-03-01"},
        "full",
    ),
    "m3": ({"full_name": "Hoàng Văn Dũng", "card_number": "12.000001"}, "probationary"),
}


def _seed_roster(doc: Document) -> None:
    for member_id, (data, status) in SEED.items():
        extra = {"official_date": data["official_date"]} if status == "full" else {}
        rs.add_member(doc, member_id, {**data, **extra}, status=status, by="server")


def _seed_tasks(doc: Document) -> None:
    for i, member_id in enumerate(SEED):
        tk.assign_task(
            doc,
            f"t{i}",
            title=f"Việc {i}",
            assignee=member_id,
            assigned_by="server",
            current_members=set(SEED),
        )


def _seed_meetings(doc: Document) -> None:
    mt.schedule_meeting(doc, "h1", date="2026-11-05", kind="regular", agenda="Thường kỳ", by="s0")
    mt.edit_minutes(doc, "h1", 0, 0, "Biên bản.\n")


def _nth(items: Any, pick: int) -> str:
    """The ``pick``-th (modulo) of some ids, in sorted order."""
    ordered = sorted(items)
    return ordered[pick % len(ordered)]


class FakePeer(RecordingPeer):
    """One websocket session as the hub sees it; frames sent to it wait in ``inbox``."""


@dataclass
class Replica:
    index: int
    person: str
    actor: Actor
    docs: dict[str, Document] = field(default_factory=dict)  # document id -> replica
    peer: FakePeer | None = None
    states: dict[str, SyncState] = field(default_factory=dict)
    outbox: list[tuple[str, bytes]] = field(default_factory=list)  # replica -> hub
    made: set[bytes] = field(default_factory=set)  # hashes of every change it made
    counter: int = 0


class ConvergenceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sotay-conv-"))
        self.loop = asyncio.new_event_loop()
        self.rig: HubRig | None = None
        self.peer_keys = itertools.count(1)
        # A rule that raised leaves the machine half-way: teardown then skips the end checks.
        self.broken = False
        self.replicas = [
            Replica(i, p, Actor(p, frozenset({r})))
            for i, (p, r) in enumerate(zip(PERSONS, ROLES, strict=True))
        ]
        self.run(self._setup())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    # ---- the server ---------------------------------------------------------------------------

    async def _open(self) -> None:
        self.rig = await HubRig.open(self.tmp / "conv.sqlite3")
        self._services()

    def _services(self) -> None:
        assert self.rig is not None
        self.store, self.directory, self.hub = self.rig.store, self.rig.directory, self.rig.hub

    async def _setup(self) -> None:
        await self._open()
        assert self.rig is not None
        registry = self.rig.registry
        await registry.add_unit("p", None, "province", "Tỉnh")
        await registry.add_unit("d", "p", "district", "Huyện")
        await registry.add_unit("g", "d", "grassroots", "Xã")
        self.doc_ids = await registry.register_cell(CELL, "g", "Chi bộ")
        for person, role in zip(PERSONS, ROLES, strict=True):
            await self.directory.grant(person, role, CELL, "test")
        for kind, seed in (
            ("roster", _seed_roster),
            ("tasks", _seed_tasks),
            ("meetings", _seed_meetings),
        ):
            # Seeded under a fixed actor (the hub's own is random): runs, and so the order of
            # concurrent list entries, replay exactly when Hypothesis shrinks a failure.
            seeded = await self.hub.snapshot(self.doc_ids[kind])
            assert seeded is not None
            seeded.set_actor(hashlib.sha256(f"seed/{kind}".encode()).digest()[:16])
            seed(seeded)
            await self.hub.change(self.doc_ids[kind], lambda doc, s=seeded: doc.merge(s))
        for replica in self.replicas:  # the first sync happens at enrolment, online
            for kind in KINDS:
                doc = await self.hub.snapshot(self.doc_ids[kind])
                assert doc is not None
                doc.set_actor(hashlib.sha256(f"{replica.person}/{kind}".encode()).digest()[:16])
                replica.docs[self.doc_ids[kind]] = doc
        for replica in self.replicas:
            self._connect(replica)

    async def _hub_hashes(self) -> dict[str, set[bytes]]:
        found = {}
        for doc_id in self.doc_ids.values():
            doc = await self.hub.snapshot(doc_id)
            assert doc is not None
            found[doc_id] = {c.hash for c in doc.get_changes([])}
        return found

    # ---- sessions -----------------------------------------------------------------------------

    def _disconnect(self, replica: Replica) -> None:
        if replica.peer is not None:
            self.hub.detach(replica.peer)
        replica.peer = None
        replica.states.clear()
        replica.outbox.clear()

    def _connect(self, replica: Replica) -> None:
        replica.peer = FakePeer(next(self.peer_keys), replica.person)
        replica.states = {doc_id: SyncState() for doc_id in replica.docs}
        self.hub.attach(replica.peer)
        self._emit(replica)

    def _emit(self, replica: Replica) -> None:
        """Queue the replica's next sync message for each document (as the client does)."""
        if replica.peer is None:
            return
        for doc_id, doc in replica.docs.items():
            msg = doc.generate_sync_message(replica.states[doc_id])
            if msg is not None:
                replica.outbox.append((doc_id, msg.encode()))

    async def _to_hub(self, replica: Replica, doc_id: str, data: bytes) -> None:
        assert replica.peer is not None
        await self.hub.handle_sync(
            replica.peer, SyncLike("sync", replica.peer.peer_id, "server", doc_id, data)
        )

    def _to_replica(self, replica: Replica, frame: dict[str, Any]) -> None:
        kind, doc_id = frame.get("type"), frame.get("documentId")
        assert kind == "sync", f"the hub refused or failed: {frame!r}"
        doc = replica.docs[doc_id]
        state = replica.states[doc_id]
        doc.receive_sync_message(state, Message.decode(frame["data"]))
        reply = doc.generate_sync_message(state)
        if reply is not None:
            replica.outbox.append((doc_id, reply.encode()))

    # ---- rules: the network -------------------------------------------------------------------

    def _queues(self) -> list[tuple[Replica, bool, list[Any]]]:
        """Every non-empty queue: (replica, towards the hub?, messages)."""
        found = []
        for replica in self.replicas:
            if replica.outbox:
                found.append((replica, True, replica.outbox))
            if replica.peer is not None and replica.peer.inbox:
                found.append((replica, False, replica.peer.inbox))
        return found

    @rule(
        actions=st.lists(
            st.tuples(PICK, PICK, st.sampled_from(NETWORK_ACTIONS)), min_size=1, max_size=8
        )
    )
    def network(self, actions: list[tuple[int, int, str]]) -> None:
        """A burst of traffic: each action takes any message in flight, in any queue at any
        position, and delivers it, delivers it and keeps a copy for later, or drops it."""
        self.broken = True
        for which, pick, action in actions:
            queues = self._queues()
            if not queues:
                break
            replica, to_hub, queue = queues[which % len(queues)]
            i = pick % len(queue)
            message = queue[i] if action == "duplicate" else queue.pop(i)
            event(f"network: {action}" + (" out of order" if i else ""))
            if action == "drop":
                continue
            if to_hub:
                self.run(self._to_hub(replica, *message))
            else:
                self._to_replica(replica, message)
        self.broken = False

    @rule(r=REPLICAS)
    def partition(self, r: int) -> None:
        """The replica loses signal: its session ends and whatever was in flight is lost."""
        self._disconnect(self.replicas[r])

    @rule(r=REPLICAS)
    def reconnect(self, r: int) -> None:
        """A new session with fresh sync states (also when it was still connected)."""
        self.broken = True
        replica = self.replicas[r]
        self._disconnect(replica)
        self._connect(replica)
        self.broken = False

    @rule(crash=st.booleans())
    def restart_hub(self, crash: bool) -> None:
        """Drop the hub and every session; a new hub reloads from SQLite. A crash skips the
        clean shutdown's compaction; nothing the hub had applied may be lost either way."""
        self.broken = True

        async def restart() -> None:
            before = await self._hub_hashes()
            assert self.rig is not None
            await self.rig.restart(crash)
            self._services()
            after = await self._hub_hashes()
            for doc_id, hashes in before.items():
                assert hashes <= after[doc_id], "the restart lost applied changes"

        online = [r for r in self.replicas if r.peer is not None]
        for replica in self.replicas:
            self._disconnect(replica)
        self.run(restart())
        for replica in online:  # clients with signal reconnect when the server is back
            self._connect(replica)
        event("hub: crash" if crash else "hub: clean restart")
        self.broken = False

    @rule(kind=st.sampled_from(KINDS))
    def compact(self, kind: str) -> None:
        self.broken = True
        self.run(self.hub.compact(self.doc_ids[kind]))
        self.broken = False

    # ---- rules: edits -------------------------------------------------------------------------

    def _apply(self, replica: Replica, kind: str, edit: Any) -> None:
        """Make one edit through the schema as the SDK does: refused locally, or checked against
        the permission rules, recorded, and pushed at once if the replica has a session."""
        self.broken = True
        doc = replica.docs[self.doc_ids[kind]]
        before, heads = plain(doc), doc.get_heads()
        replica.counter += 1
        try:
            what = edit(doc)
        except ValidationError as exc:  # refused locally: nothing written
            assert doc.get_heads() == heads
            event(f"{kind}: refused locally ({exc.code})")
        else:
            event(f"{kind}: {what}")
            verdict = check_write(kind, replica.actor, before, plain(doc))
            assert verdict.allowed, verdict
            replica.made.update(c.hash for c in doc.get_changes(heads))
            self._emit(replica)
        self.broken = False

    # Every rule draws the same shape of values whatever the state: indices, mapped onto what the
    # replica holds by modulo. Replays are not bit-identical (Automerge stamps changes with the
    # wall clock, and hashes steer the sync protocol's Bloom filters), so a state-dependent number
    # of draws would make Hypothesis' replays inconsistent.

    @rule(
        r=REPLICAS,
        add=st.sampled_from((True, True, False)),
        name=st.sampled_from(NAMES),
        birth=st.sampled_from(BIRTHS),
        card=st.sampled_from(CARDS),
        pick=PICK,
    )
    def edit_member(
        self, r: int, add: bool, name: str, birth: str | None, card: str | None, pick: int
    ) -> None:
        replica = self.replicas[r]

        def edit(doc: Document) -> str:
            if add:
                fields = {"full_name": name, "birth_date": birth, "card_number": card}
                rs.add_member(doc, f"{replica.person}-{replica.counter}", fields, by=replica.person)
                return "add"
            phone = f"09{replica.index}{replica.counter:07d}"
            rs.update_member(doc, _nth(rs.members(doc), pick), {"phone": phone})
            return "phone"

        self._apply(replica, "roster", edit)

    @rule(r=REPLICAS, pick=PICK, status=st.sampled_from(rs.STATUSES), correction=st.booleans())
    def change_member_status(self, r: int, pick: int, status: str, correction: bool) -> None:
        replica = self.replicas[r]

        def edit(doc: Document) -> str:
            rs.change_status(
                doc,
                _nth(rs.members(doc), pick),
                status,
                reason="Lý do",
                by=replica.person,
                official_date="2020-01-01" if status == "full" else None,
                correction=correction,
            )
            return "status"

        self._apply(replica, "roster", edit)

    @rule(
        r=REPLICAS,
        op=st.sampled_from(("assign", "status", "status", "progress")),
        pick=PICK,
        status=st.sampled_from(tk.STATUSES),
        correction=st.booleans(),
    )
    def edit_task(self, r: int, op: str, pick: int, status: str, correction: bool) -> None:
        replica = self.replicas[r]

        def edit(doc: Document) -> str:
            new_id = f"{replica.person}-{replica.counter}"
            if op == "assign":
                current = rs.current_member_ids(replica.docs[self.doc_ids["roster"]])
                tk.assign_task(
                    doc,
                    new_id,
                    title=f"Việc {new_id}",
                    assignee=_nth(current, pick) if current else "m1",
                    assigned_by=replica.person,
                    current_members=current,
                )
            elif op == "status":
                task_id = _nth(tk.tasks(doc), pick)
                tk.set_status(doc, task_id, status, by=replica.person, correction=correction)
            else:
                task_id = _nth(tk.tasks(doc), pick)
                tk.add_progress(
                    doc, task_id, who=replica.person, text=f"Tiến độ {new_id}", when=None
                )
            return op

        self._apply(replica, "tasks", edit)

    @rule(
        r=REPLICAS,
        op=st.sampled_from(("attendance", "minutes", "minutes", "resolution")),
        pick=PICK,
        where=PICK,
        value=st.sampled_from(mt.ATTENDANCE),
        text=st.sampled_from(("", "ý ", "A\n")),
    )
    def edit_meeting(self, r: int, op: str, pick: int, where: int, value: str, text: str) -> None:
        def edit(doc: Document) -> str:
            if op == "attendance":
                mt.record_attendance(doc, "h1", _nth(SEED, pick), value, members=set(SEED))
            elif op == "minutes":
                length = len(mt.meeting(doc, "h1").minutes)
                index = where % (length + 1)
                delete = pick % (min(3, length - index) + 1)
                mt.edit_minutes(doc, "h1", index, delete, text)
            else:
                mt.add_resolution(doc, "h1", title="Nghị quyết")
            return op

        self._apply(self.replicas[r], "meetings", edit)

    @rule(r=REPLICAS, pick=PICK, choice=PICK, flip=st.booleans())
    def resolve(self, r: int, pick: int, choice: int, flip: bool) -> None:
        """Resolve one of the conflicts this replica sees, as a secretary would."""
        replica = self.replicas[r]
        roster = plain(replica.docs[self.doc_ids["roster"]])
        found = cell_conflicts(roster, plain(replica.docs[self.doc_ids["tasks"]]))
        if not found:
            event("resolve: nothing to resolve")
            return
        conflict = found[pick % len(found)]

        def edit(doc: Document) -> str:
            if conflict.kind in ("task_status", "member_status"):
                statuses = [conflict.outcome or "", *conflict.contested]
                status = statuses[choice % len(statuses)]
                if conflict.kind == "task_status":
                    task_id = conflict.subjects[0]
                    tk.set_status(doc, task_id, status, by=replica.person, correction=True)
                else:
                    rs.change_status(
                        doc,
                        conflict.subjects[0],
                        status,
                        reason="Đính chính",
                        by=replica.person,
                        official_date="2020-01-01" if status == "full" else None,
                        correction=True,
                    )
            else:
                first, second = conflict.subjects
                keep, other = (second, first) if flip else (first, second)
                action = "merge"
                if conflict.kind == "likely_duplicate":
                    action = resolution.ACTIONS[choice % len(resolution.ACTIONS)]
                resolution.resolve_duplicate(doc, keep, other, action)
            return f"resolved {conflict.kind}"

        self._apply(replica, conflict.document, edit)

    @rule(r=REPLICAS, pick=PICK, choice=PICK, flip=st.booleans())
    def resolve_again(self, r: int, pick: int, choice: int, flip: bool) -> None:
        """The same rule once more: conflicts appear late in a run, so resolving gets two shares
        of the steps (Hypothesis picks rules uniformly)."""
        self.resolve(r, pick, choice, flip)

    @invariant()
    def canonical_documents_hold_no_waiting_changes(self) -> None:
        """Changes missing dependencies stay with their session (syncd/live_document.py): in the
        canonical doc they would stall every other peer's sync."""
        if self.broken or self.rig is None:
            return
        for doc_id in self.doc_ids.values():
            doc = self.run(self.hub.snapshot(doc_id))
            assert doc is not None and not waits_for_dependencies(doc), doc_id

    # ---- the end: heal and compare ------------------------------------------------------------

    def _outcome(self, docs: dict[str, Document]) -> Any:
        return cell_outcome(plain(docs[self.doc_ids["roster"]]), plain(docs[self.doc_ids["tasks"]]))

    def teardown(self) -> None:
        try:
            if not self.broken:
                self.run(self._final_checks())
        finally:
            if self.rig is not None:
                self.run(self.rig.close())
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def _final_checks(self) -> None:
        # (1) merge order: every order of the replicas' and the hub's current documents agrees.
        sources = [r.docs for r in self.replicas]
        hub_docs = {}
        for doc_id in self.doc_ids.values():
            hub_docs[doc_id] = await self.hub.snapshot(doc_id)
        sources.append(hub_docs)
        expected_plain: dict[str, Any] | None = None
        expected_outcome = None
        for order in itertools.permutations(range(len(sources))):
            merged = {}
            for doc_id in self.doc_ids.values():
                doc = sources[order[0]][doc_id].fork()
                for i in order[1:]:
                    doc.merge(sources[i][doc_id])
                merged[doc_id] = doc
            values = {d: plain(doc) for d, doc in merged.items()}
            outcome = self._outcome(merged)
            if expected_plain is None:
                expected_plain, expected_outcome = values, outcome
            assert values == expected_plain, f"merge order {order} gives another document"
            assert outcome == expected_outcome, f"merge order {order} gives other rule outcomes"

        # (2) heal: everyone reconnects; reliable, in-order delivery until quiet.
        for replica in self.replicas:
            self._disconnect(replica)
            self._connect(replica)
        for _ in range(10_000):
            busy = False
            for replica in self.replicas:
                assert replica.peer is not None
                while replica.outbox:
                    busy = True
                    await self._to_hub(replica, *replica.outbox.pop(0))
                while replica.peer.inbox:
                    busy = True
                    self._to_replica(replica, replica.peer.inbox.pop(0))
            if not busy:
                break
        else:
            raise AssertionError("sync did not settle")
        hub_now = {}
        for doc_id in self.doc_ids.values():
            hub_now[doc_id] = await self.hub.snapshot(doc_id)
        assert {d: plain(doc) for d, doc in hub_now.items()} == expected_plain
        for replica in self.replicas:
            for doc_id, doc in replica.docs.items():
                assert sorted(doc.get_heads()) == sorted(hub_now[doc_id].get_heads()), (
                    f"replica {replica.index} did not converge on {doc_id}"
                )
                assert plain(doc) == expected_plain[doc_id]
            assert self._outcome(replica.docs) == expected_outcome

        # (3) no change is lost: every change made anywhere is stored and on every replica.
        stored: set[bytes] = set()
        for doc_id in self.doc_ids.values():
            data = await self.store.load(doc_id)
            assert data is not None
            stored |= {c.hash for c in Document.load(data).get_changes([])}
        everywhere = [
            {c.hash for d in r.docs.values() for c in d.get_changes([])} for r in self.replicas
        ]
        for replica in self.replicas:
            assert replica.made <= stored, f"changes of replica {replica.index} not stored"
            for held in everywhere:
                assert replica.made <= held
        conflicts = expected_outcome["conflicts"] if expected_outcome else []
        # (4) the report index, reduced from the merged values, lists the same conflicts.
        assert expected_plain is not None
        indexed = {
            kind: document_facts(kind, expected_plain[self.doc_ids[kind]]) or {}
            for kind in ("roster", "tasks")
        }
        assert index_conflicts(indexed) == conflicts
        event(f"end: {'some' if conflicts else 'no'} open conflicts")
        for kind in sorted({c["kind"] for c in conflicts}):
            event(f"end: open {kind}")


ConvergenceMachine.TestCase.settings = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestConvergence = ConvergenceMachine.TestCase
