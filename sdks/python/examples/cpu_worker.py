"""A CPU-bound handler in worker processes: ``python3 -m conveyor_worker examples/cpu_worker.py``.

Pure-Python work holds the GIL, so threads would run it one at a time; ``processes=4`` runs four
attempts at once in four processes (started with spawn, once, then reused).
"""

from typing import Dict

from conveyor_worker import FatalStepError, StepContext, Worker

worker = Worker()


def count_primes(ctx: StepContext) -> Dict[str, int]:  # module level: the processes import it
    limit = ctx.input.get("below")
    if not isinstance(limit, int) or not 2 <= limit <= 10_000_000:
        raise FatalStepError("input.below must be an integer from 2 to 10000000", code="INVALID_INPUT")
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for n in range(2, int(limit**0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, limit, n)))
        if n % 1000 == 0:
            ctx.heartbeat(progress=n / limit**0.5)  # sent by the parent process
    return {"below": limit, "primes": sum(sieve)}


# concurrency = processes: requests beyond the processes would only wait, prefetched.
worker.handler("count-primes", concurrency=4, processes=4)(count_primes)

if __name__ == "__main__":  # spawned processes import this file: only the parent runs the worker
    worker.run()
