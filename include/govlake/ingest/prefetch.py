"""Run a producer one or two items ahead of its consumer, in a thread: the next REST page is fetched, or the
next Parquet batch encoded as CSV, while the current one is landed or COPYed."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def prefetch(items: Iterator[T], depth: int, *, name: str = "govlake-prefetch") -> Iterator[T]:
    """Yield ``items``, produced in a worker thread at most ``depth`` ahead; its errors re-raised here, in order.

    Closing the generator early (the consumer failed) stops the worker at its next item.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            slots.put(exc)

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=30)
