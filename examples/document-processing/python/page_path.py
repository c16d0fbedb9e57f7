"""Page URIs stay inside the pages root: the rule of ../README.md ("Page URIs"), the same as the
TypeScript OCR handler's (src/handlers/page-path.ts) — a worker in any language must apply it.

Examples get copied into production, and a page URI comes from whoever starts a run: it names a
file inside one directory or nothing at all. Reasons quote only the caller's own URI (cut to 120
characters) and paths relative to the root, never where the root is on the server.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Union

PAGES_ROOT_VARIABLE = "PAGES_ROOT"
DEFAULT_PAGES_ROOT = Path(__file__).resolve().parent.parent / "sample"
QUOTE_LIMIT = 120
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def pages_root_from_env(env: Optional[Mapping[str, str]] = None) -> str:
    """The root from ``PAGES_ROOT`` (relative to the working directory) or the example's ``sample/``."""
    configured = (os.environ if env is None else env).get(PAGES_ROOT_VARIABLE)
    return os.path.abspath(configured) if configured else str(DEFAULT_PAGES_ROOT)


@dataclass(frozen=True)
class Inside:
    path: str
    relative: str


@dataclass(frozen=True)
class Refused:
    code: str  # PAGE_URI_REFUSED or PAGE_UNREADABLE
    reason: str


def quote(uri: str) -> str:
    text = f"{uri[:QUOTE_LIMIT]}… ({len(uri)} characters)" if len(uri) > QUOTE_LIMIT else uri
    # JSON-style quotes, as the TypeScript handler's JSON.stringify.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refuse(reason: str) -> Refused:
    return Refused(
        "PAGE_URI_REFUSED",
        f'{reason}; page URIs are paths relative to the pages root ({PAGES_ROOT_VARIABLE}), e.g. "pages/page-1.txt"',
    )


def resolve_page_path(root: str, uri: str) -> Union[Inside, Refused]:
    """The real path of ``uri`` inside ``root``, or why not."""
    if "\0" in uri:
        return _refuse(f"uri {quote(uri)} contains a NUL character")
    if SCHEME.match(uri):
        return _refuse(f"uri {quote(uri)} has a scheme")
    slashed = uri.replace("\\", "/")
    if slashed.startswith("/"):
        return _refuse(f"uri {quote(uri)} is an absolute path")
    # posixpath.normpath drops a trailing "/", which Node's posix.normalize keeps: test it first.
    normalised = posixpath.normpath(slashed)
    if normalised == ".." or normalised.startswith("../"):
        return _refuse(f'uri {quote(uri)} leaves the pages root through ".."')
    if normalised == "." or slashed.endswith("/"):
        return _refuse(f"uri {quote(uri)} names a directory, not a page")
    if not os.path.isdir(root):
        return Refused("PAGE_UNREADABLE", f"the pages root ({PAGES_ROOT_VARIABLE}) of this worker does not exist")
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, normalised))
    if not os.path.exists(real):
        return Refused("PAGE_UNREADABLE", f"no page at {quote(normalised)} under the pages root")
    inside = os.path.relpath(real, real_root)
    if inside == ".." or inside.startswith(".." + os.sep) or os.path.isabs(inside):
        return _refuse(f"uri {quote(uri)} is a link leading out of the pages root")
    if inside == ".":
        return _refuse(f"uri {quote(uri)} names the pages root itself")
    return Inside(real, normalised)
