"""automerge-repo protocol v1 without I/O: frames, document ids, sync-message headers, sessions.

The lowest layer of the server and the only part of it the client SDK imports: bytes in, typed
messages and bytes out, nothing here touches a socket, a clock or a disk (docs/architecture.md).
"""
