"""sotay client SDK: offline-first access to a cell's documents, synced with the server."""
