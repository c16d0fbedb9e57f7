"""The Python OCR handler applies the README's page-URI rule exactly as test/ocr.spec.ts checks
the TypeScript one: `/usr/bin/python3 -m pytest examples/document-processing/python`."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest

import worker
from conveyor_worker import FatalStepError
from conveyor_worker.context import make_context
from page_path import DEFAULT_PAGES_ROOT, pages_root_from_env


def ocr(root: str, uri: str) -> Dict[str, Any]:
    request = {"runId": "r", "taskId": "t", "step": "ocr", "attempt": 1}
    ctx = make_context(
        request, {"page": {"uri": uri}, "pageNumber": 3}, "r:ocr", datetime.now(timezone.utc),
        lambda progress, message: None, lambda: False,
    )
    return worker.ocr_page(root)(ctx)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, str]]:
    base = tmp_path_factory.mktemp("ocr-root")
    root, outside = base / "root", base / "outside"
    (root / "pages").mkdir(parents=True)
    outside.mkdir()
    (root / "pages" / "p1.txt").write_text("# Page one\n")
    (outside / "secret.txt").write_text("server secret")
    os.symlink(outside / "secret.txt", root / "pages" / "leak.txt")
    os.symlink(outside, root / "elsewhere")
    os.symlink(root / "pages" / "p1.txt", root / "pages" / "alias.txt")
    yield str(root), str(outside)


@pytest.mark.parametrize("uri", ["pages/p1.txt", "pages/alias.txt", "pages/../pages/./p1.txt"])
def test_reads_a_relative_page_also_through_links_and_dots_that_stay_inside(tree: Tuple[str, str], uri: str) -> None:
    assert ocr(tree[0], uri) == {"pageNumber": 3, "text": "# Page one"}


@pytest.mark.parametrize(
    "uri, reason",
    [
        ("/etc/os-release", "is an absolute path"),
        ("file:///etc/os-release", "has a scheme"),
        ("http://169.254.169.254/latest/meta-data", "has a scheme"),
        ("../../../../../etc/hostname", 'leaves the pages root through ".."'),
        ("pages/../../outside/secret.txt", "leaves the pages root"),
        ("..\\outside\\secret.txt", "leaves the pages root"),
        ("pages/leak.txt", "a link leading out of the pages root"),
        ("elsewhere/secret.txt", "a link leading out of the pages root"),
        ("pages/", "names a directory, not a page"),
        ("pages/p1.txt\0", "contains a NUL character"),
    ],
)
def test_refuses_with_a_fatal_page_uri_refused_error(tree: Tuple[str, str], uri: str, reason: str) -> None:
    with pytest.raises(FatalStepError) as raised:
        ocr(tree[0], uri)
    error = raised.value
    assert error.retryable is False and error.code == "PAGE_URI_REFUSED"
    assert reason in error.message
    assert "relative to the pages root (PAGES_ROOT)" in error.message
    assert tree[0] not in error.message and "server secret" not in error.message


def test_a_missing_page_is_unreadable_named_relative_to_the_root(tree: Tuple[str, str]) -> None:
    with pytest.raises(FatalStepError) as raised:
        ocr(tree[0], "pages/missing.txt")
    assert raised.value.code == "PAGE_UNREADABLE"
    assert raised.value.message == 'cannot read page 3: no page at "pages/missing.txt" under the pages root'


def test_a_huge_uri_is_quoted_cut_short(tree: Tuple[str, str]) -> None:
    with pytest.raises(FatalStepError) as raised:
        ocr(tree[0], "/" + "a" * 5_000_000)
    assert len(raised.value.message) < 400
    assert "… (5000001 characters)" in raised.value.message


def test_the_root_comes_from_pages_root_or_defaults_to_the_sample() -> None:
    assert pages_root_from_env({}) == str(DEFAULT_PAGES_ROOT)
    assert pages_root_from_env({"PAGES_ROOT": "some/dir"}) == os.path.abspath("some/dir")
    sample = str(DEFAULT_PAGES_ROOT)
    assert ocr(sample, "pages/page-1.txt")["text"] == (Path(sample) / "pages" / "page-1.txt").read_text().strip()
