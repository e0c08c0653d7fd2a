"""Without PostgreSQL its tests are skipped with a list of what did not run and how to enable it,
except under ``make test`` / CI (``SOTAY_REQUIRE_POSTGRES=1``, ``CI=true``), where they fail: a
skipped test proves nothing. Checked on a real pytest run in a child process, with
``SOTAY_PG_BIN`` pointing where there is no PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_TEST = "tests/test_postgres_storage.py::test_instances_starting_together_migrate_once"


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "SOTAY_REQUIRE_POSTGRES")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_TEST],
        cwd=ROOT,
        env={**clean, "SOTAY_PG_BIN": str(tmp_path / "nowhere"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_developer_without_postgres_is_told_what_did_not_run(tmp_path: Path) -> None:
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "PostgreSQL tests that did not run" in run.stdout
    assert ONE_TEST in run.stdout
    assert "apt-get install -y postgresql" in run.stdout and "make test" in run.stdout


def test_make_test_and_ci_fail_without_postgres(tmp_path: Path) -> None:
    for env in ({"SOTAY_REQUIRE_POSTGRES": "1"}, {"CI": "true"}):
        run = _pytest(tmp_path, **env)
        assert run.returncode != 0, (env, run.stdout)
        assert "PostgreSQL is not installed" in run.stdout, run.stdout
        assert "skipped" not in run.stdout.splitlines()[-1]
