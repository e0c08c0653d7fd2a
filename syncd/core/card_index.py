"""Which current member holds a party card number, across every roster the server keeps.

Enrolment starts from the card number alone; scanning thousands of rosters per attempt would be
slow, so the index is built once and kept up to date from every stored roster change. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from automerge.core import Document

from schema import roster


@dataclass(frozen=True)
class CardHolder:
    cell_id: str
    member_id: str
    status: str


@dataclass
class CardIndex:
    by_document: dict[str, dict[str, CardHolder]] = field(default_factory=dict)
    ready: bool = False

    def update(self, document_id: str, cell_id: str, doc: Document) -> None:
        cards: dict[str, CardHolder] = {}
        for member in roster.members(doc).values():
            if member.card_number:
                cards[member.card_number] = CardHolder(cell_id, member.member_id, member.status)
        self.by_document[document_id] = cards

    def current_holders(self, card_number: str) -> list[CardHolder]:
        return [
            holder
            for cards in self.by_document.values()
            if (holder := cards.get(card_number)) is not None
            and holder.status in roster.CURRENT_STATUSES
        ]
