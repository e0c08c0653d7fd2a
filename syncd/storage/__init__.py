"""Storage adapters behind the interfaces in ``base``: ``sqlite`` (the embedded default) and
``memory`` (tests and tools); each passes the same contract suite."""
