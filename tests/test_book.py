"""The whole book: the real chapters at profile smoke, the -W build, and the pages in a browser.

One session fixture runs ``python -m advrobust.pipeline run`` and ``build`` (the commands behind
``make book``) into a scratch copy of the book root, with a fresh checkpoint cache. The browser
checks need Debian's ``chromium`` and ``chromium-driver``; without them they skip, unless
``ADVROBUST_REQUIRE_BROWSER=1`` (CI), where they fail. The browser resolves no host name, as if
offline: the pages must work from the built files alone.
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
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # offline: no CDN can be reached
)  # fmt: skip
# What an error looks like on a rendered page: myst-nb's traceback and stderr outputs, a raw
# Python traceback, papermill's failure banner.
ERROR_MARKERS = re.compile(
    r'class="[^"]*\boutput (traceback|stderr)\b|Traceback \(most recent call last\)|An Exception was encountered'
)
# TeX left on a page: `$...$` the Markdown parser did not take as math, `\(`/`\[` MathJax did not
# typeset, a `\macro` it did not know (it shows those by name).
RAW_TEX = re.compile(r"\$[^$\n]+\$|\\[(\[]|\\[A-Za-z]+")
MATHJAX_SCRIPT = re.compile(r'<script[^>]*\bsrc="([^"]*mathjax[^"]*)"', re.IGNORECASE)
# Waits for MathJax's first typesetting, then returns what a reader sees: the number of typeset
# equations, MathJax's error boxes, and the visible text outside code (code and plain-text outputs
# may quote TeX on purpose). A page without math loads no MathJax.
TYPESET_JS = """
const done = arguments[arguments.length - 1];
const report = () => {
  const hide = document.createElement('style');
  hide.textContent = 'pre, code { display: none !important; }';
  document.head.appendChild(hide);
  const text = document.body.innerText;
  hide.remove();
  done({
    error: null,
    equations: document.querySelectorAll('mjx-container').length,
    tex_errors: Array.from(document.querySelectorAll('mjx-merror'), e => e.textContent),
    text: text,
  });
};
if (!document.querySelector('script[src*="mathjax" i]')) { report(); }
else if (!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)) {
  done({error: 'MathJax did not load'});
} else {
  window.MathJax.startup.promise.then(report, e => done({error: 'MathJax failed: ' + e}));
}
"""


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
    for name in ("_config.yml", "_toc.yml", "requirements.lock"):
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
    driver.set_script_timeout(60)
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


def test_mathjax_is_served_from_the_book(book: BookRun) -> None:
    assert book.build is not None and book.build.returncode == 0, "the book was not built"
    page = book.html / WHITE_BOX_PAGE
    sources = MATHJAX_SCRIPT.findall(page.read_text())
    assert sources, f"{WHITE_BOX_PAGE} loads no MathJax"
    assert all((page.parent / src.partition("?")[0]).resolve().is_file() for src in sources), sources


def test_every_page_shows_its_math_typeset_offline(book: BookRun, browser) -> None:
    assert book.build is not None and book.build.returncode == 0, "the book was not built"
    pages = sorted((book.html / "book").rglob("*.html"))
    equations, problems = {}, {}
    for page in pages:
        name = page.relative_to(book.html).as_posix()
        browser.get(page.as_uri())
        seen = browser.execute_async_script(TYPESET_JS)
        if seen["error"]:
            problems[name] = seen["error"]
            continue
        equations[name] = seen["equations"]
        raw = [seen["text"][max(m.start() - 30, 0) : m.end() + 30] for m in RAW_TEX.finditer(seen["text"])]
        if raw or seen["tex_errors"]:
            problems[name] = {"raw TeX": raw[:3], "MathJax errors": seen["tex_errors"][:3]}
    assert problems == {}
    assert equations.get(WHITE_BOX_PAGE, 0) > 0, f"no typeset equation on {WHITE_BOX_PAGE}: {equations}"
