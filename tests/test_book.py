"""The whole book: the real chapters at profile smoke, the -W build, and the pages in a browser.

One session fixture runs ``python -m advrobust.pipeline run`` and ``build`` (the commands behind
``make book``) into a scratch copy of the book root, with a fresh checkpoint cache. The browser
checks need Debian's ``chromium`` and ``chromium-driver``; without them they skip, unless
``ADVROBUST_REQUIRE_BROWSER=1`` (CI), where they fail. The browser resolves no host name, as if
offline: the pages must work from the built files alone.

The browser loads every built page once (fixture ``seen``) and records what each test needs: error
outputs, images, typeset math, links and element ids; it saves the screenshots of
:data:`SCREENSHOTS` on the way, into ``_build/screenshots/`` of the repository (CI keeps them).
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.book

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = REPO / "chapters"
WHITE_BOX_PAGE = "book/chapters/ch02_white_box.html"
# Pages saved as screenshots (name -> page), full length, for a look at the rendered book without
# building it: REPO/_build/screenshots/<name>.png, which CI uploads as an artefact.
SCREENSHOTS = {
    "chapter": WHITE_BOX_PAGE,
    "scorecard": "book/scorecard.html",
}
SCREENSHOT_DIR = REPO / "_build" / "screenshots"
SCREENSHOT_MAX_HEIGHT = 16_000  # px; Chromium cannot capture much taller in one piece
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--window-size=1280,1024",
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
REDIRECT = re.compile(r"<meta[^>]*http-equiv=.refresh", re.IGNORECASE)  # Sphinx's index.html
MATHJAX_SCRIPT = re.compile(r'<script[^>]*\bsrc="([^"]*mathjax[^"]*)"', re.IGNORECASE)
# Exercise solutions as pipeline.exercises folds them, by kind: (the folded solution, its toggle,
# what it hides). A code cell tagged `solution` is folded by myst-nb's hide-cell (a <details>
# element), a markdown one is a `dropdown` admonition that sphinx-togglebutton folds.
SOLUTIONS = {
    "code": (".cell.tag_solution details", "summary", ".cell_input"),
    "text": (".admonition.dropdown", ".admonition-title", ".admonition-title ~ *"),
}
STATIC_ID = re.compile(r"""\bid=["']([^"']+)["']""")  # an element's id in a page's HTML
# Waits for every image to load or fail (lazy ones are made eager) and for MathJax's first
# typesetting, then returns what the tests check on a page: where the browser ended (a redirect
# stub ends on its target), error outputs, the images, the typeset equations and MathJax's error
# boxes, the visible text outside code (code and plain-text outputs may quote TeX on purpose), the
# links, the element ids, the profile badge and the folded exercise solutions. A page that loads
# no MathJax is not waited for.
PAGE_JS = """
const [solutions, done] = arguments;
const images = Array.from(document.images);
images.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
const settled = Promise.all(images.map(i => i.complete ? null : new Promise(r => {
  i.addEventListener('load', r); i.addEventListener('error', r);
})));
const typeset = !document.querySelector('script[src*="mathjax" i]') ? Promise.resolve(null)
  : !(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)
  ? Promise.resolve('MathJax did not load')
  : window.MathJax.startup.promise.then(() => null, e => 'MathJax failed: ' + e);
const timeout = new Promise(r => setTimeout(() => r('timed out after 30 s'), 30000));
Promise.race([Promise.all([settled, typeset]).then(([, error]) => error), timeout]).then(error => {
  const hide = document.createElement('style');
  hide.textContent = 'pre, code { display: none !important; }';
  document.head.appendChild(hide);
  const text = document.body.innerText;
  hide.remove();
  const errors = Array.from(
    document.querySelectorAll('.output.traceback, .output.stderr, .output.error'),
    e => e.textContent.trim().slice(0, 200));
  const marker = /Traceback \\(most recent call last\\)|An Exception was encountered/.exec(document.body.textContent);
  done({
    url: location.href,
    error: error,
    error_outputs: errors.length || !marker ? errors : [marker[0]],
    images: images.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]),
    equations: document.querySelectorAll('mjx-container').length,
    tex_errors: Array.from(document.querySelectorAll('mjx-merror'), e => e.textContent),
    text: text,
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    ids: Array.from(document.querySelectorAll('[id], a[name]'), e => e.id || e.getAttribute('name')),
    badge: document.querySelector('.advrobust-badge')?.textContent ?? null,
    solutions: Object.fromEntries(
      Object.entries(solutions).map(([kind, selector]) => [kind, document.querySelectorAll(selector).length])),
  });
});
"""


@dataclass(frozen=True)
class BookRun:
    root: Path
    run: subprocess.CompletedProcess[str]
    build: subprocess.CompletedProcess[str] | None  # None when the run failed
    plan: subprocess.CompletedProcess[str]  # the smoke plan, run first as two local submitit jobs
    planned: set[str]  # the cache's files after the plan
    cached: set[str]  # and after the chapters

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"


@dataclass(frozen=True)
class Page:
    """What the browser found on one built page (see :data:`PAGE_JS`)."""

    path: Path  # the file the browser ended on: a redirect stub's target
    error: str | None  # MathJax did not load or failed, or the page did not settle
    error_outputs: list[str]
    images: list[tuple[str, bool, int]]  # src, complete, naturalWidth
    equations: int
    tex_errors: list[str]
    text: str
    links: list[str]  # absolute URLs
    ids: frozenset[str]
    badge: str | None
    solutions: dict[str, int]  # kind (SOLUTIONS) -> how many


def built_pages(html: Path) -> list[Path]:
    """Every HTML page of the built book (the theme's static files are not pages)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


def file_path(url: str) -> Path:
    """The file a ``file:`` URL points to (query and fragment dropped)."""
    return Path(unquote(urlsplit(url).path))


def save_screenshot(browser: Any, path: Path) -> None:
    """A PNG of the whole length of the page loaded in ``browser`` (up to :data:`SCREENSHOT_MAX_HEIGHT`)."""
    width, height = browser.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, SCREENSHOT_MAX_HEIGHT), "scale": 1}
    options = {"format": "png", "captureBeyondViewport": True, "clip": clip}
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def follow_redirect(browser: Any, stub: str) -> None:
    """Wait until ``browser`` has left the redirect stub at URL ``stub`` and loaded its target."""
    from selenium.webdriver.support.ui import WebDriverWait

    def arrived(driver: Any) -> bool:
        return driver.current_url != stub and driver.execute_script("return document.readyState") == "complete"

    WebDriverWait(browser, 30).until(arrived, f"{stub} did not redirect")


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
        if page.name not in ("status.md", "scorecard.md"):  # generated
            shutil.copy(page, root / "book" / page.name)
    cache = tmp_path_factory.mktemp("cache")
    env = {**os.environ, "ADVROBUST_CACHE": str(cache)}
    plan = subprocess.run(
        [sys.executable, "-m", "advrobust.pipeline", "plan", "--profile", "smoke", "--device", "cpu", "--run",
         "--executor", "local", "--jobs", "2", "--logs", str(tmp_path_factory.mktemp("jobs"))],
        capture_output=True, text=True, env=env,
    )
    planned = cached_files(cache)
    run = pipeline("run", root, "--profile", "smoke", "--device", "cpu", env=env)
    build = pipeline("build", root, env=env) if run.returncode == 0 else None
    return BookRun(root, run, build, plan, planned, cached_files(cache))


def cached_files(cache: Path) -> set[str]:
    """Every file under the checkpoint cache, relative to it."""
    return {str(path.relative_to(cache)) for path in cache.rglob("*") if path.is_file()}


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


@pytest.fixture(scope="session")
def seen(book: BookRun, browser: Any) -> dict[str, Page]:
    """Every built page loaded once in the browser: ``{path relative to the HTML root: Page}``.
    The pages of :data:`SCREENSHOTS` are saved on the way."""
    assert book.build is not None and book.build.returncode == 0, "the book was not built"
    shots = {page: SCREENSHOT_DIR / f"{name}.png" for name, page in SCREENSHOTS.items()}
    for shot in shots.values():
        shot.unlink(missing_ok=True)
    pages: dict[str, Page] = {}
    for path in built_pages(book.html):
        name = path.relative_to(book.html).as_posix()
        browser.get(path.as_uri())
        if REDIRECT.search(path.read_text()):  # the script must run on the target, not the stub
            follow_redirect(browser, path.as_uri())
        facts = browser.execute_async_script(PAGE_JS, {kind: marks[0] for kind, marks in SOLUTIONS.items()})
        if name in shots:
            save_screenshot(browser, shots[name])
        url, ids, images = facts.pop("url"), facts.pop("ids"), facts.pop("images")
        pages[name] = Page(file_path(url), ids=frozenset(ids), images=[tuple(i) for i in images], **facts)
    return pages


def test_toc_lists_every_chapter_once() -> None:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    listed = [f.removeprefix("book/chapters/") for f in files if f.startswith("book/chapters/")]
    assert sorted(listed) == sorted(p.stem for p in CHAPTERS.glob("*.py"))
    assert len(set(files)) == len(files)
    assert files[-2:] == ["book/status", "book/bibliography"]


def test_the_smoke_plan_runs_as_two_local_jobs(book: BookRun) -> None:
    """``make reproduce PROFILE=smoke EXECUTOR=local JOBS=2``'s plan step: no unit fails (units
    whose data are absent here are reported as such)."""
    assert book.plan.returncode == 0, report(book.plan)
    outcomes = [line.split()[0] for line in book.plan.stdout.splitlines() if re.match(r"\s*(done|cached|no data|failed|skipped) ", line)]
    assert outcomes and "failed" not in outcomes, report(book.plan)


def test_the_chapters_compute_nothing_the_plan_left_out(book: BookRun) -> None:
    """Every model the smoke chapters train and every attack run they cache was a unit of the
    plan: executing the chapters after it adds no file to the cache."""
    assert book.run.returncode == 0, report(book.run)
    assert book.cached - book.planned == set()


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
    pages = built_pages(book.html)
    assert len(pages) >= len(list(CHAPTERS.glob("*.py"))) + 3
    offending = {str(p.relative_to(book.html)): m.group(0) for p in pages if (m := ERROR_MARKERS.search(p.read_text()))}
    assert offending == {}


def test_mathjax_is_served_from_the_book(book: BookRun) -> None:
    assert book.build is not None and book.build.returncode == 0, "the book was not built"
    page = book.html / WHITE_BOX_PAGE
    sources = MATHJAX_SCRIPT.findall(page.read_text())
    assert sources, f"{WHITE_BOX_PAGE} loads no MathJax"
    assert all((page.parent / src.partition("?")[0]).resolve().is_file() for src in sources), sources


def test_the_browser_sees_no_error_on_any_page(book: BookRun, seen: dict[str, Page]) -> None:
    assert len(seen) == len(built_pages(book.html))
    offending = {name: page.error_outputs[:3] for name, page in seen.items() if page.error_outputs}
    assert offending == {}, f"error outputs on {len(offending)} pages: {offending}"


def test_every_image_loads_on_every_page(seen: dict[str, Page]) -> None:
    broken = {
        name: [src for src, complete, width in page.images if not (complete and width > 0)]
        for name, page in seen.items()
    }
    broken = {name: sources for name, sources in broken.items() if sources}
    assert broken == {}, f"images that did not load, on {len(broken)} pages: {broken}"


def test_white_box_page_shows_its_badge_and_figures(seen: dict[str, Page]) -> None:
    page = seen.get(WHITE_BOX_PAGE)
    assert page is not None, f"{WHITE_BOX_PAGE} was not built"
    assert page.badge is not None and "profile: smoke" in page.badge, page.badge
    assert [src for src, _, _ in page.images if "_images/" in src], "the white-box page shows no figure"


def test_every_page_shows_its_math_typeset_offline(seen: dict[str, Page]) -> None:
    problems: dict[str, object] = {}
    for name, page in seen.items():
        if page.error:
            problems[name] = page.error
            continue
        raw = [page.text[max(m.start() - 30, 0) : m.end() + 30] for m in RAW_TEX.finditer(page.text)]
        if raw or page.tex_errors:
            problems[name] = {"raw TeX": raw[:3], "MathJax errors": page.tex_errors[:3]}
    assert problems == {}, f"TeX shown untypeset on {len(problems)} pages: {problems}"
    equations = {name: page.equations for name, page in seen.items()}
    assert equations.get(WHITE_BOX_PAGE, 0) > 0, f"no typeset equation on {WHITE_BOX_PAGE}: {equations}"


def test_every_internal_link_resolves(book: BookRun, seen: dict[str, Page]) -> None:
    """A link to a local file reaches an existing file; one to ``page.html#anchor``, an element
    with that id on the page (as the browser built it; from the HTML for a page it never showed)."""
    ids = {page.path: page.ids for page in seen.values()}
    broken: dict[str, list[str]] = {}
    for name, page in seen.items():
        for url in sorted(set(page.links)):
            parts = urlsplit(url)
            if parts.scheme != "file":
                continue
            target, anchor = file_path(url), unquote(parts.fragment)
            if not target.is_file():
                problem = "no such file"
            elif anchor and target.suffix == ".html":
                if target not in ids:
                    ids[target] = frozenset(STATIC_ID.findall(target.read_text()))
                problem = "" if anchor in ids[target] else "no such anchor"
            else:
                problem = ""
            if problem:
                shown = os.path.relpath(target, book.html) + (f"#{anchor}" if anchor else "")
                broken.setdefault(name, []).append(f"{shown} ({problem})")
    assert broken == {}, f"broken internal links on {len(broken)} pages: {broken}"


def test_exercise_solutions_are_folded_until_clicked(book: BookRun, browser: Any, seen: dict[str, Page]) -> None:
    """One code and one text solution: hidden when the page opens, shown once their toggle is clicked."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    for kind, (selector, toggle, folded) in SOLUTIONS.items():
        name = next((name for name, page in seen.items() if page.solutions[kind]), None)
        assert name is not None, f"no page has a folded {kind} solution ({selector})"
        if browser.current_url != (book.html / name).as_uri():  # the first page with both is loaded once
            browser.get((book.html / name).as_uri())
        solution = browser.find_element(By.CSS_SELECTOR, selector)
        content = solution.find_element(By.CSS_SELECTOR, folded)
        assert not content.is_displayed(), f"{name}: its first {kind} solution is shown before any click"
        button = solution.find_element(By.CSS_SELECTOR, toggle)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        WebDriverWait(browser, 5).until(
            expected_conditions.visibility_of(content), f"{name}: its first {kind} solution stays hidden after a click"
        )


def test_screenshots_are_saved(seen: dict[str, Page]) -> None:
    for name, page in SCREENSHOTS.items():
        assert page in seen, f"{page} (screenshot {name!r}) was not built"
        shot = SCREENSHOT_DIR / f"{name}.png"
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"no screenshot at {shot}"
