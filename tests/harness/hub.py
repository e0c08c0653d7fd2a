"""The server's services in-process, on a real SQLite file, PostgreSQL or in memory, with
recording peers.

One builder for every test that drives the hub without sockets (the property machines, the
lifecycle tests): it uses ``syncd.services.assembly.assemble``, the wiring the server itself
runs, so revocations close sessions and refusals are audited exactly as in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2

from syncd.core.limits import Limits
from syncd.core.policy import Policy, Principal
from syncd.services.assembly import Services, assemble
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry
from syncd.storage.base import DocumentStore, Storage
from syncd.storage.memory import open_memory
from syncd.storage.postgres import open_postgres
from syncd.storage.sqlite import open_sqlite


class RecordingPeer:
    """One session as the hub sees it; frames it is sent wait, decoded, in ``inbox``."""

    def __init__(self, key: int, person: str, device_id: str | None = None) -> None:
        self.key = key
        self.peer_id = f"peer-{key}"
        self.principal = Principal(person, device_id or f"dev-{person}")
        self.documents: set[str] = set()
        self.inbox: list[dict[str, Any]] = []
        self.closed = False
        self.close_code: int | None = None

    def send(self, frame: bytes) -> None:
        if not self.closed:
            self.inbox.append(cbor2.loads(frame))

    def close(self, code: int = 1000) -> None:
        self.closed = True
        self.close_code = code


@dataclass
class HubRig:
    """Storage plus the assembled services; ``restart`` rebuilds them from storage."""

    path: Path | None
    limits: Limits
    policy: Policy | None
    services: Services
    closed: bool = False
    _memory: Storage | None = field(default=None, repr=False)
    url: str | None = None  # PostgreSQL: one instance of those sharing the database

    @classmethod
    async def open(
        cls,
        path: Path | None = None,
        limits: Limits | None = None,
        policy: Policy | None = None,
        url: str | None = None,
    ) -> HubRig:
        """On the SQLite file ``path``, on the PostgreSQL database ``url`` (with the cluster
        service following the other instances, as the server runs it), or in memory."""
        limits = limits or Limits()
        storage = await cls._storage(path, url) if path or url else open_memory()
        services = await assemble(storage, limits, policy, peer_id="server")
        memory = None if path or url else storage
        return cls(path, limits, policy, services, _memory=memory, url=url)

    @staticmethod
    async def _storage(path: Path | None, url: str | None) -> Storage:
        if url is not None:
            return await open_postgres(url, pool_size=4)
        assert path is not None
        return await open_sqlite(path)

    @property
    def storage(self) -> Storage:
        return self.services.storage

    @property
    def store(self) -> DocumentStore:
        return self.services.storage.documents

    @property
    def directory(self) -> Directory:
        return self.services.directory

    @property
    def registry(self) -> Registry:
        return self.services.registry

    @property
    def hub(self) -> DocumentHub:
        return self.services.hub

    async def restart(self, crash: bool = False) -> None:
        """A new hub and directory loaded from storage; a crash skips the clean shutdown's
        compaction (what the process had not written is gone)."""
        if not crash:
            await self.hub.close()
        if self.services.cluster is not None:
            await self.services.cluster.close()
        if self.path is not None or self.url is not None:
            await self.storage.close()
            storage = await self._storage(self.path, self.url)
        else:
            assert self._memory is not None
            storage = self._memory
        self.services = await assemble(storage, self.limits, self.policy, peer_id="server")

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.services.cluster is not None:
                await self.services.cluster.close()
            await self.storage.close()

    async def province(self, cells: list[str]) -> dict[str, dict[str, str]]:
        """Province p > district d > grassroots g > ``cells``; kind -> document id per cell."""
        await self.registry.add_unit("p", None, "province", "Tỉnh")
        await self.registry.add_unit("d", "p", "district", "Huyện")
        await self.registry.add_unit("g", "d", "grassroots", "Xã")
        return {
            cell: await self.registry.register_cell(cell, "g", f"Chi bộ {cell}") for cell in cells
        }
