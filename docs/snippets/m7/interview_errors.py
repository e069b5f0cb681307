"""How a worker's error reaches the driver: the worker sends ("error",
traceback) over its pipe and exits; the driver reads it and raises
WorkerError with that text. A pipe whose other end closed reads as an
exit without a message."""

import multiprocessing as mp
import traceback

from folovllm.executor.multiproc_executor import (WorkerHandle, _recv,
                                                  _worker_message)

driver, worker = mp.Pipe()
try:
    raise ValueError("checkpoint tensor has shape (3, 4), expected (4, 4)")
except ValueError:
    worker.send(("error", traceback.format_exc(limit=0)))
handle = WorkerHandle(1, mp.current_process(), driver)
print(_worker_message(handle, *_recv(driver)))
worker.close()
print("after the worker's end closes:", _recv(driver))
