"""Document schemas shared by the server and the client SDK (pure code, no I/O)."""
