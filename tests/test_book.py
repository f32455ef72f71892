"""The whole book: the real chapters at profile smoke, the -W build, and the pages in a browser.

One session fixture runs ``python -m advrobust.pipeline run`` and ``build`` (the commands behind
``make book``) into a scratch copy of the book root, with a fresh checkpoint cache. The browser
checks need Debian's ``chromium`` and ``chromium-driver``; without them they skip, unless
``ADVROBUST_REQUIRE_BROWSER=1`` (CI), where they fail.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.book

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = REPO / "chapters"
WHITE_BOX_PAGE = "book/chapters/ch02_white_box.html"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
# What an error looks like on a rendered page: myst-nb's traceback and stderr outputs, a raw
# Python traceback, papermill's failure banner.
ERROR_MARKERS = re.compile(
    r'class="[^"]*\boutput (traceback|stderr)\b|Traceback \(most recent call last\)|An Exception was encountered'
)


@dataclass(frozen=True)
class BookRun:
    root: Path
    run: subprocess.CompletedProcess[str]
    build: subprocess.CompletedProcess[str] | None  # None when the run failed

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"


def pipeline(command: str, root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advrobust.pipeline", command, "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
    )


def report(process: subprocess.CompletedProcess[str]) -> str:
    return f"exit {process.returncode}\n--- stdout\n{process.stdout}\n--- stderr\n{process.stderr}"


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory) -> BookRun:
    """A scratch book root with the repository's pages and chapters, executed and built."""
    root = tmp_path_factory.mktemp("book")
    shutil.copytree(CHAPTERS, root / "chapters")
    (root / "book").mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, root / name)
    for page in [*(REPO / "book").glob("*.md"), REPO / "book" / "references.bib"]:
        if page.name != "status.md":  # generated
            shutil.copy(page, root / "book" / page.name)
    env = {**os.environ, "ADVROBUST_CACHE": str(tmp_path_factory.mktemp("cache"))}
    run = pipeline("run", root, "--profile", "smoke", "--device", "cpu", env=env)
    build = pipeline("build", root, env=env) if run.returncode == 0 else None
    return BookRun(root, run, build)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium driven by Debian's chromedriver, with a fresh profile."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        reason = f"headless browser checks need {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("ADVROBUST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; ADVROBUST_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_toc_lists_every_chapter_once() -> None:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    listed = [f.removeprefix("book/chapters/") for f in files if f.startswith("book/chapters/")]
    assert sorted(listed) == sorted(p.stem for p in CHAPTERS.glob("*.py"))
    assert len(set(files)) == len(files)
    assert files[-2:] == ["book/status", "book/bibliography"]


def test_every_chapter_executes_without_error_outputs(book: BookRun) -> None:
    assert book.run.returncode == 0, report(book.run)
    for source in sorted(CHAPTERS.glob("*.py")):
        nb = nbformat.read(book.root / "book" / "chapters" / f"{source.stem}.ipynb", as_version=4)
        errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]
        assert errors == [], f"{source.stem}: {errors[0].ename}: {errors[0].evalue}" if errors else ""
        assert nb.metadata.papermill.parameters["profile"] == "smoke"


def test_book_builds_with_warnings_as_errors(book: BookRun) -> None:
    assert book.build is not None, "the chapters did not execute:\n" + report(book.run)
    assert book.build.returncode == 0, report(book.build)
    assert (book.html / "index.html").is_file()
    assert (book.html / "book" / "status.html").is_file()


def test_no_page_shows_error_output(book: BookRun) -> None:
    assert book.build is not None and book.build.returncode == 0, "the book was not built"
    pages = [p for p in book.html.rglob("*.html") if "_static" not in p.parts]
    assert len(pages) >= len(list(CHAPTERS.glob("*.py"))) + 3
    offending = {str(p.relative_to(book.html)): m.group(0) for p in pages if (m := ERROR_MARKERS.search(p.read_text()))}
    assert offending == {}


def test_white_box_page_loads_with_its_figures(book: BookRun, browser) -> None:
    page = book.html / WHITE_BOX_PAGE
    assert page.is_file(), f"{WHITE_BOX_PAGE} was not built"
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    badge = browser.execute_script("return document.querySelector('.advrobust-badge')?.textContent")
    assert badge is not None and "profile: smoke" in badge
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
    )
    assert images, "the white-box page shows no figure"
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert broken == []
