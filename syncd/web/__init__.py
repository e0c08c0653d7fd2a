"""The HTTP and websocket shell: one composition root (``app``), the websocket adapter over the
protocol session, the route modules, and one error -> HTTP status map (``errors``)."""
