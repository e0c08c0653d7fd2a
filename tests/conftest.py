from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.server_process import ServerProcess


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
