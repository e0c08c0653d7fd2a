"""The party hierarchy in memory: units, role grants, and what follows from them. Pure.

Province > district (or affiliated committee) > grassroots organisation > cell. A role granted on a
unit covers every unit below it. Granting follows rank: a holder may grant (or revoke) a lower
role on a unit inside their own unit's subtree, so a district official appoints cell secretaries
in the district and a cell secretary registers the cell's members, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from schema.access import RANK, ROLE_LEVEL

LEVELS = ("province", "district", "grassroots", "cell")
# A unit's parent must be of the level just above; affiliated committees sit at district level.
PARENT_LEVEL = {"district": "province", "grassroots": "district", "cell": "grassroots"}


@dataclass(frozen=True)
class Unit:
    unit_id: str
    parent_id: str | None
    level: str
    name: str


def check_placement(level: str, parent_id: str | None, parent: Unit | None) -> None:
    """Raise ValueError unless a unit of ``level`` may sit under ``parent``."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if level == "province":
        if parent_id is not None:
            raise ValueError("a province has no parent")
    elif parent is None or parent.level != PARENT_LEVEL[level]:
        raise ValueError(f"a {level} must sit under a {PARENT_LEVEL[level]}")


@dataclass(frozen=True)
class Grant:
    grant_id: int
    person_id: str
    role: str
    unit_id: str


@dataclass
class OrgTree:
    parent: dict[str, str | None] = field(default_factory=dict)
    level: dict[str, str] = field(default_factory=dict)
    name: dict[str, str] = field(default_factory=dict)  # for reports and pages, not for rules
    _grants: dict[int, Grant] = field(default_factory=dict)
    # The same grants by person: every sync message asks for one person's roles, and a
    # province holds one grant per member (~100,000), too many to scan per message.
    _by_person: dict[str, dict[int, Grant]] = field(default_factory=dict, repr=False)

    @property
    def grants(self) -> Mapping[int, Grant]:
        """Active grants by id, read-only: change them through ``add_grant``/``remove_grant``,
        which keep the by-person index true."""
        return MappingProxyType(self._grants)

    def add_grant(self, grant: Grant) -> None:
        self._grants[grant.grant_id] = grant
        self._by_person.setdefault(grant.person_id, {})[grant.grant_id] = grant

    def remove_grant(self, grant_id: int) -> None:
        grant = self._grants.pop(grant_id)
        held = self._by_person.get(grant.person_id, {})
        held.pop(grant_id, None)
        if not held:
            self._by_person.pop(grant.person_id, None)

    def add_unit(self, unit_id: str, parent_id: str | None, level: str, name: str = "") -> None:
        self.parent[unit_id] = parent_id
        self.level[unit_id] = level
        self.name[unit_id] = name

    def ancestors_or_self(self, unit_id: str) -> list[str]:
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current in self.parent and len(chain) < 16:
            chain.append(current)
            current = self.parent[current]
        return chain

    def within(self, unit_id: str, scope: str) -> bool:
        return scope in self.ancestors_or_self(unit_id)

    def roles_on(self, person_id: str, unit_id: str) -> frozenset[str]:
        """Roles of ``person_id`` that cover ``unit_id`` (granted on it or above it)."""
        chain = set(self.ancestors_or_self(unit_id))
        held = self._by_person.get(person_id, {})
        return frozenset(g.role for g in held.values() if g.unit_id in chain)

    def grants_of(self, person_id: str) -> list[Grant]:
        return sorted(self._by_person.get(person_id, {}).values(), key=lambda g: g.grant_id)

    def scopes_of(self, person_id: str) -> list[str]:
        """Units where the person holds any role (each covers its subtree)."""
        return sorted({g.unit_id for g in self.grants_of(person_id)})

    def units_below(self, scope: str) -> list[str]:
        return [u for u in self.parent if self.within(u, scope)]

    def may_grant(self, granter: str, role: str, unit_id: str) -> bool:
        """Rank rule: the granter holds a higher role on a unit containing ``unit_id``."""
        if role not in RANK or self.level.get(unit_id) != ROLE_LEVEL[role]:
            return False
        return any(
            RANK[g.role] > RANK[role] and self.within(unit_id, g.unit_id)
            for g in self.grants_of(granter)
        )

    def may_manage_person(self, manager: str, person_id: str) -> bool:
        """May ``manager`` register or revoke devices of ``person_id``? (secretary or above,
        over a unit where the person holds a role)."""
        return any(
            RANK[m.role] >= RANK["cell_secretary"] and self.within(g.unit_id, m.unit_id)
            for m in self.grants_of(manager)
            for g in self.grants_of(person_id)
        )

    def is_official_over(self, person_id: str, unit_id: str) -> bool:
        """May read audit and reports for ``unit_id``: secretary rank or above covering it."""
        return any(RANK[r] >= RANK["cell_secretary"] for r in self.roles_on(person_id, unit_id))
