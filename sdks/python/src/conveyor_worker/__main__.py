"""``python3 -m conveyor_worker TARGET``: runs the Worker a module or file defines.

TARGET is ``package.module[:name]`` or ``path/to/file.py[:name]``; ``name`` defaults to
``worker``. Logs to stderr at ``LOG_LEVEL`` (default INFO); exits 1 with the fix when a step
queue exists with the other type, 0 after a graceful stop (SIGTERM, Ctrl-C).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import List, Optional

from .topology import QueueTypeMismatch
from .worker import Worker

USAGE = "usage: python3 -m conveyor_worker package.module[:name] | path/to/file.py[:name]  (name defaults to worker)"


def load_worker(target: str) -> Worker:
    """The Worker named by TARGET; ValueError saying what is wrong otherwise."""
    where, _, name = target.partition(":")
    name = name or "worker"
    module: ModuleType
    if where.endswith(".py"):
        path = Path(where).resolve()
        if not path.is_file():
            raise ValueError(f"no such file: {where}")
        # Importable by its own directory, as `python3 file.py` would make it (spawned worker
        # processes re-import process handlers from there).
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load {where} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    worker = getattr(module, name, None)
    if not isinstance(worker, Worker):
        raise ValueError(f"{where} has no Worker named {name!r} (found {type(worker).__name__})")
    return worker


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), format="%(message)s", stream=sys.stderr)
    # pika narrates every connection attempt at INFO; its warnings and errors still show.
    logging.getLogger("pika").setLevel(logging.WARNING)
    try:
        worker = load_worker(args[0])
    except (ValueError, ImportError) as error:
        print(f"cannot start: {error}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        worker.run()
    except QueueTypeMismatch as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
