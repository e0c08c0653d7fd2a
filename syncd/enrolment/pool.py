"""dlib in a process pool sized to the cores, so the event loop never waits on a face.

Workers are spawned (not forked: the server process has threads and an event loop), load the
models once, and run with a memory cap. A worker that dies or hangs costs one enrolment an error,
never the server: the pool is rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from schema.errors import ValidationError, invalid
from syncd.enrolment.decision import Face
from syncd.enrolment.face import describe_safely, warm_up

log = logging.getLogger("syncd.face_pool")

WORKER_MEMORY_BYTES = 2 * 1024**3  # a 50 MP image decoded is 150 MB; dlib's models ~100 MB
DESCRIBE_TIMEOUT_S = 60.0


def _init_worker() -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    warm_up()


def _engine_error(detail: str) -> ValidationError:
    return invalid(
        "face_engine_error",
        "Không xử lý được ảnh lúc này, hãy thử lại.",
        "The face engine could not process the image; try again.",
        detail,
    )


class FacePool:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None  # spawned on first use or by warm()

    @property
    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_executor()
        return self._pool

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )

    async def warm(self) -> None:
        """Start every worker now (model loading takes a second or two) rather than on the
        first member's enrolment."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, warm_up) for _ in range(self.workers))
        )

    async def describe(self, data: bytes, field: str) -> list[float]:
        return (await self.look(data, field)).descriptor

    async def look(self, data: bytes, field: str) -> Face:
        loop = asyncio.get_running_loop()
        try:
            face, error = await asyncio.wait_for(
                loop.run_in_executor(self._executor, describe_safely, data, field),
                DESCRIBE_TIMEOUT_S,
            )
        except (BrokenProcessPool, TimeoutError) as exc:
            log.warning("face worker failed (%s); rebuilding the pool", type(exc).__name__)
            self._restart()
            raise _engine_error(type(exc).__name__) from None
        if error is not None:
            raise invalid(error["code"], error["vi"], error["en"])
        assert face is not None
        return face

    def _restart(self) -> None:
        old, self._pool = self._executor, self._new_executor()
        for process in list(getattr(old, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
