"""Every coded value a person can meet has words in both languages: a status, role or level
shown as a raw code on the dashboard or in the CLI is a defect."""

from __future__ import annotations

from schema import labels, meetings, roster, tasks
from schema.access import ROLES
from syncd.core.org import LEVELS


def test_every_code_of_the_schema_has_vietnamese_and_english_words() -> None:
    tables = labels.all_tables()
    expected = {
        "member_status": roster.STATUSES,
        "task_status": tasks.STATUSES,
        "attendance": meetings.ATTENDANCE,
        "meeting_kind": meetings.KINDS,
        "gender": roster.GENDERS,
        "transfer_direction": roster.TRANSFER_DIRECTIONS,
        "role": ROLES,
        "unit_level": LEVELS,
    }
    for table, codes in expected.items():
        assert set(codes) <= set(tables[table]), (table, set(codes) - set(tables[table]))
        for code in codes:
            words = tables[table][code]
            assert words["vi"] and words["en"] and words["vi"] != code, (table, code)
