"""sotay sync server: automerge-repo protocol v1 over websockets on top of ``automerge.core``."""
