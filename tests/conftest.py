from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.postgres import INSTALL_HINT, PostgresMissing, PostgresServer
from tests.harness.server_process import ServerProcess

# Set by `make test` (so CI, which runs it) and honoured when CI=true: there a test that needs
# PostgreSQL fails when it is missing instead of being skipped, since a skipped test proves
# nothing.
REQUIRE_POSTGRES = os.environ.get("SOTAY_REQUIRE_POSTGRES") == "1" or os.environ.get(
    "CI", ""
).lower() in ("1", "true", "yes")
_NO_POSTGRES = "PostgreSQL not installed"
_skipped_for_postgres: list[str] = []


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server with the demo province, shared by the tests of a module."""
    server = ServerProcess(tmp_path_factory.mktemp("data")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL for the whole run (tests/harness/postgres.py): started on first
    use, stopped and removed at the end."""
    try:
        server = PostgresServer.find()
    except PostgresMissing as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{exc} (SOTAY_REQUIRE_POSTGRES=1 / CI: not skipped)", pytrace=False)
        pytest.skip(f"{_NO_POSTGRES}: {INSTALL_HINT}")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A new empty database of the throw-away PostgreSQL, dropped after the test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and _NO_POSTGRES in str(report.longrepr):
        _skipped_for_postgres.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _skipped_for_postgres:
        return
    write = terminalreporter.write_line
    terminalreporter.section("PostgreSQL tests that did not run", sep="=", yellow=True)
    write(f"{len(_skipped_for_postgres)} tests need PostgreSQL and were skipped:")
    for nodeid in _skipped_for_postgres:
        write(f"  {nodeid}")
    write(f"To run them: {INSTALL_HINT}.")
    write("`make test` installs it and fails instead of skipping (SOTAY_REQUIRE_POSTGRES=1).")
