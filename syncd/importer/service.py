"""Bring a province in: check a spreadsheet, report, and apply it idempotently.

``run(sheets, caller, apply=False)`` is the dry run: every check, then every row applied to a
*copy* of its cell's roster, so the report says exactly what applying would do, and nothing is
written. ``apply=True`` refuses while the report has errors unless ``skip_bad`` (then the bad rows
are left out), creates the new units (a cell with its three documents) and writes members as
server-side changes of the canonical rosters, a batch of rows per change, stored and fanned out
to connected devices like any edit. Running the same file again changes nothing; a member the
file no longer lists is reported, never deleted. A caller outside the scope of any row is refused
before anything else (``forbidden``): nothing is written.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automerge.core import Document

from schema import roster as rs
from schema.access import RANK, ROLE_LEVEL
from schema.documents import new_document
from schema.errors import invalid
from syncd.core.org import LEVELS, OrgTree, Unit
from syncd.core.policy import Principal
from syncd.enrolment.pool import FacePool
from syncd.enrolment.sealing import SecretBox, reference_context
from syncd.importer import portraits as portrait_files
from syncd.importer.checks import Checked, MemberRow, Problem, check
from syncd.importer.export import member_rows, unit_rows
from syncd.importer.reading import Sheets
from syncd.importer.roster_ops import Outcome, apply_rows
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry

log = logging.getLogger("syncd.importer")

BATCH_ROWS = 200  # rows per server-side change: one commit, one fan-out
IMPORTER_ROLES = ("district_official", "province_admin")
Progress = Callable[[int, int], None]


@dataclass
class Report:
    dry_run: bool
    rows: dict[str, int]
    errors: list[Problem]
    warnings: list[Problem]
    units: dict[str, int]
    members: Outcome
    missing_from_file: list[dict[str, str]] = field(default_factory=list)
    applied: bool = False
    skipped_rows: int = 0
    portraits: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        m = self.members
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "rows": self.rows,
            "errors": [p.as_json() for p in self.errors],
            "warnings": [p.as_json() for p in self.warnings],
            "skipped_rows": self.skipped_rows,
            "units": self.units,
            "members": {
                "added": m.added,
                "updated": m.updated,
                "status_changed": m.status_changed,
                "unchanged": m.unchanged,
                "already_present": m.present,
            },
            "missing_from_file": self.missing_from_file,
            "portraits": self.portraits,
        }

    def problems_csv(self) -> bytes:
        """The problems as a CSV (UTF-8 with BOM so Excel shows Vietnamese), one per line."""
        out = io.StringIO()
        cols = ["sheet", "row", "column", "code", "message_vi", "message_en", "value", "severity"]
        writer = csv.DictWriter(out, cols)
        writer.writeheader()
        for severity, items in (("error", self.errors), ("warning", self.warnings)):
            for p in items:
                writer.writerow({**p.as_json(), "severity": severity})
        return out.getvalue().encode("utf-8-sig")


def _scope(
    tree: OrgTree, caller: Principal | None
) -> tuple[Callable[[str, str | None], bool], Callable[[str], bool]]:
    """What the caller may import: units below a unit where they hold an importer role, of a
    level below that role's own; members of cells inside such a unit. No caller (the operator's
    command line on the data dir) may import anything."""
    if caller is None:
        return (lambda level, parent: True), (lambda cell: True)
    grants = [
        g for g in tree.grants_of(caller.person_id) if RANK[g.role] >= RANK["district_official"]
    ]

    def may_create(level: str, parent: str | None) -> bool:
        return parent is not None and any(
            tree.within(parent, g.unit_id)
            and LEVELS.index(ROLE_LEVEL[g.role]) < LEVELS.index(level)
            for g in grants
        )

    def may_write(cell: str) -> bool:
        return any(tree.within(cell, g.unit_id) for g in grants)

    return may_create, may_write


class Importer:
    def __init__(
        self,
        registry: Registry,
        directory: Directory,
        hub: DocumentHub,
        pool: FacePool | None = None,
        box: SecretBox | None = None,
    ) -> None:
        self.registry = registry
        self.directory = directory
        self.hub = hub
        self.pool = pool  # for portraits: the enrolment's dlib workers
        self.box = box

    async def _rosters(self, cells: set[str]) -> dict[str, tuple[str | None, Document]]:
        """cell -> (roster id, a private copy of the roster) for every cell, or a new roster
        for a cell the file creates."""
        out: dict[str, tuple[str | None, Document]] = {}
        for cell in sorted(cells):
            docs = await self.registry.cell_documents(cell)
            roster_id = docs.get("roster")
            doc = await self.hub.snapshot(roster_id) if roster_id else None
            out[cell] = (roster_id, doc if doc is not None else new_document("roster", cell))
        return out

    async def _cards_by_cell(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for cell, roster_id in await self.registry.roster_documents():
            doc = await self.hub.snapshot(roster_id)
            if doc is not None:
                for m in rs.members(doc).values():
                    if m.card_number:
                        found.setdefault(m.card_number, cell)
        return found

    async def run(
        self,
        sheets: Sheets,
        caller: Principal | None,
        apply: bool = False,
        skip_bad: bool = False,
        by: str = "import",
        progress: Progress | None = None,
        portraits: bytes | None = None,
    ) -> Report:
        existing = {u.unit_id: u for u in await self.registry.units()}
        may_create, may_write = _scope(self.directory.tree, caller)
        checked = check(sheets, existing, may_create, may_write, await self._cards_by_cell())
        if checked.out_of_scope:
            first = checked.out_of_scope[0]
            raise invalid(
                "forbidden",
                "Tệp có đơn vị hoặc chi bộ ngoài phạm vi quản lý của bạn: không nhập gì cả.",
                "The file names units or cells outside your scope: nothing was imported.",
                f"{len(checked.out_of_scope)} rows; first: {first.sheet} row {first.row}, "
                f"{first.value}",
            )
        by_cell: dict[str, list[MemberRow]] = defaultdict(list)
        for m in checked.members:
            by_cell[m.cell].append(m)
        rosters = await self._rosters(set(by_cell))
        # The dry run, always: every row applied to private copies.
        trial = Outcome()
        copies: dict[str, Document] = {}
        for cell, rows in by_cell.items():
            # Pure work on a private copy, in a thread: yielding between cells is not enough,
            # since a device's sync needs several loop turns (lock, storage, reply) per message.
            copies[cell] = rosters[cell][1].fork()
            trial.add(await asyncio.to_thread(apply_rows, copies[cell], rows, by))
        errors = checked.problems + trial.problems
        report = Report(
            dry_run=not apply,
            rows={"units": len(sheets.units), "members": len(sheets.members)},
            errors=errors,
            warnings=checked.warnings,
            units={"create": len(checked.units), "already_present": checked.units_present},
            members=trial,
            missing_from_file=self._missing(rosters, trial.seen),
            skipped_rows=len({(p.sheet, p.row) for p in errors}),
        )
        if not apply:
            if portraits is not None:
                report.portraits = await self._portraits(portraits, copies, keep=False)
            return report
        if errors and not skip_bad:
            raise invalid(
                "import_has_errors",
                "Tệp còn lỗi: sửa các dòng trong báo cáo, hoặc chọn bỏ qua các dòng lỗi.",
                "The file has errors: correct the reported rows, or choose to skip them.",
                f"{len(errors)} problems",
            )
        bad = {p.row for p in trial.problems}
        report.members = await self._apply(checked, by_cell, bad, by, progress)
        report.applied, report.dry_run = True, False
        if portraits is not None:
            report.portraits = await self._portraits(portraits, copies, keep=True)
        return report

    async def _portraits(
        self, data: bytes, rosters: dict[str, Document], keep: bool
    ) -> dict[str, Any]:
        if self.pool is None or self.box is None:
            raise invalid(
                "portraits_unavailable",
                "Máy chủ này không xử lý ảnh chân dung.",
                "This server does not process portraits.",
            )
        by_card = {
            m.card_number: m.member_id
            for doc in rosters.values()
            for m in rs.members(doc).values()
            if m.card_number
        }
        box = self.box
        store = self.directory.store

        async def keep_one(member_id: str, descriptor: list[float]) -> None:
            sealed = box.seal(portrait_files.encode(descriptor), reference_context(member_id))
            await store.set_reference_face(member_id, sealed)

        found = await portrait_files.take(
            data, by_card, self.pool.describe, keep_one if keep else None
        )
        return found.as_json()

    @staticmethod
    def _missing(
        rosters: dict[str, tuple[str | None, Document]], seen: set[str]
    ) -> list[dict[str, str]]:
        gone = []
        for cell, (_, doc) in sorted(rosters.items()):
            for m in rs.members(doc).values():
                if m.member_id not in seen and m.merged_into is None:
                    gone.append({"cell": cell, "member_id": m.member_id, "full_name": m.full_name})
        return gone

    async def _apply(
        self,
        checked: Checked,
        by_cell: dict[str, list[MemberRow]],
        bad: set[int],
        by: str,
        progress: Progress | None,
    ) -> Outcome:
        for unit in checked.units:
            await self._create(unit)
        total = sum(len(rows) for rows in by_cell.values())
        done = 0
        outcome = Outcome()
        for cell, rows in sorted(by_cell.items()):
            roster_id = (await self.registry.cell_documents(cell))["roster"]
            good = [r for r in rows if r.row not in bad]
            for i in range(0, len(good), BATCH_ROWS):
                batch = good[i : i + BATCH_ROWS]
                result: list[Outcome] = []
                # No-op batches (a re-run) change nothing and so write nothing.
                await self.hub.change(
                    roster_id, lambda doc, b=batch, r=result: r.append(apply_rows(doc, b, by))
                )
                outcome.add(result[0])
                done += len(batch)
                if progress is not None:
                    progress(done, total)
            done += len(rows) - len(good)
        if progress is not None:
            progress(total, total)
        return outcome

    async def export(self, unit_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(unit rows, member rows) of ``unit_id`` and everything below it."""
        tree = self.directory.tree
        units = [u for u in await self.registry.units() if tree.within(u.unit_id, unit_id)]
        members: list[dict[str, Any]] = []
        for unit in units:
            if unit.level == "cell":
                roster_id = (await self.registry.cell_documents(unit.unit_id)).get("roster")
                doc = await self.hub.snapshot(roster_id) if roster_id else None
                if doc is not None:
                    members += member_rows(unit.unit_id, doc)
        return unit_rows(units), members

    async def _create(self, unit: Unit) -> None:
        if unit.level == "cell":
            assert unit.parent_id is not None
            await self.registry.register_cell(unit.unit_id, unit.parent_id, unit.name)
        else:
            await self.registry.add_unit(unit.unit_id, unit.parent_id, unit.level, unit.name)
