"""The server's services assembled over one storage: directory, registry and hub, wired so that
revocations close sessions and refusals are audited; and, when the storage is shared by several
instances (it has a change feed), the cluster service that follows the others' writes.

One function, used by the web composition root and by the in-process test harness alike, so the
tests run the very wiring the server runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.core.hierarchy import HierarchyPolicy
from syncd.core.limits import Limits
from syncd.core.policy import Policy
from syncd.services.cluster import Cluster
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry
from syncd.storage.base import Storage


@dataclass
class Services:
    storage: Storage
    directory: Directory
    registry: Registry
    hub: DocumentHub
    cluster: Cluster | None = None  # running: close it before the storage


async def assemble(
    storage: Storage,
    limits: Limits | None = None,
    policy: Policy | None = None,
    peer_id: str | None = None,
) -> Services:
    """Load the directory from ``storage`` and build the hub over it (the hierarchy policy
    unless another is given)."""
    limits = limits or Limits()
    directory = await Directory.load(storage.directory, storage.audit)
    hub = DocumentHub(
        storage.documents,
        policy or HierarchyPolicy(directory.tree, directory.devices),
        limits,
        peer_id or f"sotay-syncd-{storage.storage_id[:12]}",
    )
    hub.audit_rejection = directory.audit
    hub.core.owned.update(await storage.documents.owned_counts())
    directory.on_revocation(
        lambda person, device: hub.close_sessions(person_id=person, device_id=device)
    )
    registry = Registry(storage.directory, storage.documents, on_unit=directory.unit_added)
    cluster = None if storage.feed is None else Cluster(storage.feed, hub, directory).start()
    return Services(storage, directory, registry, hub, cluster)
