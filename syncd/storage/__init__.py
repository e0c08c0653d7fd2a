"""Storage adapters. ``base`` holds the interface; ``sqlite`` is the default, embedded adapter."""
