"""One rulebook, two runtimes: the conformance file written by the Python rules
(tests/conformance/generate.py) is checked against Python again and then run against the
JavaScript SDK (client_sdk/js, vitest), so `make test` fails on any drift between them. A copy of
the JS rules with one rule broken must fail the same run: the cases are not blind to it.

Node and client_sdk/js/node_modules come from `make install` (npm install there); a missing one
is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from schema.access import Actor, check_write
from schema.validation import check_values
from tests.conformance.generate import apply_patch, build, coverage, verdict_json

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "client_sdk" / "js"
CASES = JS / ".conformance" / "cases.json"
VITEST_TIMEOUT_S = 240


def _npx() -> str:
    npx = shutil.which("npx")
    if npx is None or not (JS / "node_modules" / "vitest").is_dir():
        pytest.fail(
            f"the JS SDK's packages are missing: run `make install` (npm install in {JS}); "
            f"npx={npx!r}"
        )
    return npx


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    built = build()
    CASES.parent.mkdir(parents=True, exist_ok=True)
    CASES.write_text(json.dumps(built, ensure_ascii=False))
    return built


def _vitest(root: Path, cases_file: Path, only: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_npx(), "vitest", "run", "--root", str(root), *([only] if only else [])],
        cwd=root,
        env={**os.environ, "SOTAY_CONFORMANCE": str(cases_file), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=VITEST_TIMEOUT_S,
    )


def test_the_cases_cover_every_rule(cases: dict[str, Any]) -> None:
    cover = coverage(cases)
    print(json.dumps(cover, ensure_ascii=False))
    write_rules = {
        "no_role_on_cell",
        "structure_server_only",
        "append_only",
        "officials_read_only",
        "own_contact_only",
        "roster_secretary_only",
        "task_assignee_only",
        "cell_secretary_only",
        "study_by_author",
        "study_own_only",
        "allowed",
    }
    assert write_rules <= set(cover["check_write"]), cover["check_write"]
    value_rules = {
        "record_deleted",
        "malformed_record",
        "append_only",
        "not_normalised",
        "required",
        "bad_status",
        "bad_initial_status",
        "terminal_status",
        "reason_required",
        "status_without_history",
        "official_date_required",
        "official_date_not_allowed",
        "joined_before_birth",
        "official_before_joined",
        "bad_direction",
        "unknown_member",
        "bad_position",
        "bad_date",
        "bad_meeting_kind",
        "bad_attendance",
        "too_long",
        "wrong_type",
        "bad_hash",
        "bad_mime",
        "bad_number",
        "bad_task_status",
        "task_closed",
        "bad_phone",
        "bad_card_number",
        "bad_citizen_id",
        "bad_gender",
        "bad_residence",
        "bad_id",
        "unknown_resolution",
        "already_studied",
        "resolution_exists",
        "allowed",
    }
    assert value_rules <= set(cover["check_values"]), value_rules - set(cover["check_values"])
    assert set(cover["conflicts_listed"]) == {
        "member_status",
        "task_status",
        "likely_duplicate",
        "duplicate_card_number",
    }
    ops = {key.split(":")[0] for key in cover["operations"] if key.endswith(":ok")}
    assert len(ops) == 16, ops  # every schema operation succeeds at least once


def test_the_python_rules_agree_with_the_file(cases: dict[str, Any]) -> None:
    """What the file says is what the Python rules say now (the file is no stale copy)."""
    for case in cases["writes"]:
        before = cases["states"][case["kind"]]
        after = apply_patch(before, case["patch"])
        actor = Actor(case["actor"]["member_id"], frozenset(case["actor"]["roles"]))
        assert verdict_json(check_write(case["kind"], actor, before, after)) == case["write"]
        assert verdict_json(check_values(case["kind"], before, after)) == case["values"]


def test_the_js_sdk_answers_every_case_as_python_does(cases: dict[str, Any]) -> None:
    """And the SDK's own unit tests (key, history) with them: `npm test` in client_sdk/js."""
    run = _vitest(JS, CASES)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    passed = re.search(r"Tests\s+(\d+) passed \((\d+)\)", run.stdout)
    assert passed is not None and passed.group(1) == passed.group(2), run.stdout[-2000:]
    assert int(passed.group(1)) >= 8 and "conformance.test.ts" in run.stdout, run.stdout[-2000:]


BROKEN_RULES = [
    # (file, what is there, what the mutant says, the test that must fail)
    (
        "src/rules/schema.ts",
        'ASSIGNEE_STATUSES = new Set(["open", "in_progress", "done"])',
        'ASSIGNEE_STATUSES = new Set(["open", "in_progress", "done", "cancelled"])',
        "write rules and value checks",
    ),
    (
        "src/conflicts/lifecycle.ts",
        "{ struck_off: 1, expelled: 2, deceased: 3 }",
        "{ struck_off: 3, expelled: 2, deceased: 1 }",
        "offline forks merged in both orders",
    ),
]


@pytest.mark.parametrize(("path", "good", "bad", "failing"), BROKEN_RULES)
def test_a_broken_js_rule_fails_the_conformance_run(
    cases: dict[str, Any], path: str, good: str, bad: str, failing: str
) -> None:
    mutant = JS / ".conformance" / "mutant"
    shutil.rmtree(mutant, ignore_errors=True)
    for part in ("src", "test"):
        shutil.copytree(JS / part, mutant / part)
    for name in ("vitest.config.ts", "package.json", "tsconfig.json"):
        shutil.copy(JS / name, mutant / name)
    target = mutant / path
    text = target.read_text()
    assert good in text, f"{path} no longer holds the rule this test breaks"
    target.write_text(text.replace(good, bad))
    try:
        run = _vitest(mutant, CASES, "test/conformance")
    finally:
        shutil.rmtree(mutant, ignore_errors=True)
    assert run.returncode != 0, run.stdout[-3000:]
    failed = [line for line in run.stdout.splitlines() if "FAIL" in line or "\u00d7" in line]
    assert any(failing in line for line in failed), run.stdout[-3000:]
