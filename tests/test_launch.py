"""Launch and download: every chapter page's Colab and Binder links, and the install cell.

The links are built the way the book build builds them, without building it: Jupyter Book's own
configuration code turns ``_config.yml`` into the theme's options, and sphinx-book-theme's
``add_launch_buttons`` makes each page's buttons from them. Every chapter source must be a page of
``_toc.yml``, and its links must open, on the configured repository and branch, the notebook the
pipeline writes for it. The install cell the pipeline puts in each executed notebook is checked
by executing its code, with ``git`` and ``pip`` replaced by a recorder.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pytest
import yaml
from advrobust.errors import ConfigError
from advrobust.pipeline import BookLayout, run_chapters
from advrobust.pipeline.execute import load_chapter
from advrobust.pipeline.launch import (
    GITHUB_REPOSITORY,
    INSTALL_TAG,
    install_source,
    place_install_cell,
    repository_url,
)
from advrobust.pipeline.lock import locked_versions
from jupyter_book.config import get_final_config
from sphinx_book_theme.header_buttons import add_header_buttons, update_context_with_repository_info
from sphinx_book_theme.header_buttons.launch import add_launch_buttons
from sphinx_external_toc.parsing import parse_toc_yaml

REPO = Path(__file__).resolve().parents[1]
BRANCH = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
# The link of each button, from the repository's owner/name, the branch, the notebook's path in the
# repository and the folder where Sphinx copies the pages' sources.
EXPECTED_LINKS = {
    ".ipynb": "{sources}/{notebook}",  # the download button: Sphinx's copy of the page's source
    "Colab": "https://colab.research.google.com/github/{repository}/blob/{branch}/{notebook}",
    "Binder": "https://mybinder.org/v2/gh/{repository}/{branch}?urlpath=tree/{notebook}",
}
TINY_CHAPTER = '''# %% [markdown]
# # A chapter

# %% tags=["parameters"]
profile = "quick"
device = "auto"
seed = 0
results_dir = "results"

# %%
print("ran")
'''


class _Config(SimpleNamespace):
    """Sphinx's config as the theme reads it: by attribute and by key."""

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def sphinx_config(layout: BookLayout) -> dict[str, Any]:
    """The Sphinx configuration ``jupyter-book build`` derives from the book's ``_config.yml``."""
    config, _ = get_final_config(
        user_yaml=layout.config,
        sourcedir=layout.root,
        cli_config={"latex_individualpages": False},
        raise_on_invalid=True,
    )
    return config


def page_links(layout: BookLayout, page: str, options: dict[str, Any]) -> dict[str, str]:
    """``{button: url}`` of the download and launch buttons sphinx-book-theme puts on ``page`` (a
    toc docname), the page rendered from the notebook the pipeline writes."""
    notebook = layout.root / f"{page}.ipynb"
    metadata = load_chapter(layout.source(notebook.stem)).metadata  # what makes the theme see a notebook
    app = SimpleNamespace(
        builder=None,
        config=_Config(html_theme_options=options, html_context={}),
        env=SimpleNamespace(doc2path=lambda name: str(notebook), metadata={page: metadata}),
    )
    update_context_with_repository_info(app)
    context = {
        **app.config.html_context,
        "pagename": page,
        "sourcename": f"{page}.ipynb",
        "page_source_suffix": ".ipynb",
        "pathto": lambda name, resource: os.path.relpath(name, os.path.dirname(page)),
        "header_buttons": [],
    }
    add_header_buttons(app, page, "page.html", context, None)
    add_launch_buttons(app, page, "page.html", context, None)
    buttons = [button for group in context["header_buttons"] for button in group.get("buttons", [])]
    return {button["text"]: button["url"] for button in buttons if button["type"] == "link"}


def link_problems(root: Path) -> list[str]:
    """What is wrong with the launch and download links of the book at ``root`` ([] when nothing)."""
    layout = BookLayout.at(root)
    config = yaml.safe_load(layout.config.read_text())
    repository = config.get("repository") or {}
    url, branch = repository.get("url"), repository.get("branch")
    if not (isinstance(url, str) and GITHUB_REPOSITORY.fullmatch(url)):
        return [f"_config.yml: repository.url {url!r} is not https://github.com/<owner>/<name>"]
    if not (isinstance(branch, str) and BRANCH.fullmatch(branch)):
        return [f"_config.yml: repository.branch {branch!r} is not a branch name"]
    sphinx = sphinx_config(layout)
    problems = [] if sphinx.get("html_copy_source", True) else ["html_copy_source is off: nothing to download"]
    pages = set(parse_toc_yaml(str(layout.toc)))
    sources = layout.chapters_dir.glob("*.py")
    # the toc names of the notebooks the pipeline writes
    chapter_pages = {layout.relative(layout.notebook(source.stem)).removesuffix(".ipynb") for source in sources}
    notebook_pages = {page for page in pages if page.startswith(layout.relative(layout.notebooks_dir) + "/")}
    problems += [f"{page}: its chapter source is not a page of _toc.yml" for page in sorted(chapter_pages - pages)]
    problems += [f"{page}: a toc page without a chapter source" for page in sorted(notebook_pages - chapter_pages)]
    for page in sorted(chapter_pages & pages):
        links = page_links(layout, page, sphinx["html_theme_options"])
        fields = {
            "repository": url.removeprefix("https://github.com/"),
            "branch": branch,
            "notebook": f"{page}.ipynb",
            "sources": os.path.relpath("_sources", os.path.dirname(page)),
        }
        for button, pattern in EXPECTED_LINKS.items():
            expected = pattern.format(**fields)
            if links.get(button) != expected:
                problems.append(f"{page}: {button} link {links.get(button)!r}, expected {expected!r}")
    return problems


def test_every_chapter_page_has_well_formed_launch_links() -> None:
    assert link_problems(REPO) == []


def copy_of_the_book(tmp_path: Path) -> Path:
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "chapters", tmp_path / "chapters")
    return tmp_path


def edit_config(root: Path, section: str, key: str, value: object) -> None:
    config = yaml.safe_load((root / "_config.yml").read_text())
    config[section][key] = value
    (root / "_config.yml").write_text(yaml.safe_dump(config))


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("repository", "url", "https://github.com/advrobust/advrobust-book.git", "repository.url"),
        ("repository", "url", "http://github.com/advrobust/advrobust-book", "repository.url"),
        ("repository", "url", "https://github.com/advrobust", "repository.url"),
        ("repository", "branch", "two words", "repository.branch"),
        ("launch_buttons", "colab_url", "", "Colab link None"),
        ("launch_buttons", "binderhub_url", "mybinder.org", "Binder link 'mybinder.org/v2/gh/"),
    ],
)
def test_a_malformed_link_is_reported(tmp_path: Path, section: str, key: str, value: object, problem: str) -> None:
    root = copy_of_the_book(tmp_path)
    edit_config(root, section, key, value)
    problems = link_problems(root)
    assert problems and all(problem in line for line in problems), problems


def test_a_chapter_missing_from_the_toc_is_reported(tmp_path: Path) -> None:
    root = copy_of_the_book(tmp_path)
    toc = (root / "_toc.yml").read_text().replace("      - file: book/chapters/ch04_cat\n", "")
    (root / "_toc.yml").write_text(toc + "      - file: book/chapters/ch98_lost\n")  # a page without a source
    (root / "chapters" / "ch99_orphan.py").write_text("")
    problems = link_problems(root)
    assert "book/chapters/ch04_cat: its chapter source is not a page of _toc.yml" in problems
    assert "book/chapters/ch99_orphan: its chapter source is not a page of _toc.yml" in problems
    assert "book/chapters/ch98_lost: a toc page without a chapter source" in problems


def test_the_install_cell_installs_from_the_configured_repository() -> None:
    layout = BookLayout.at(REPO)
    source = install_source(layout)
    assert source is not None
    url = yaml.safe_load(layout.config.read_text())["repository"]["url"]
    assert repository_url(layout.config) == url
    assert f'"{url}"' in source and f'"torchattacks=={locked_versions(layout.lock)["torchattacks"]}"' in source
    compile(source, "install cell", "exec")

    nb = place_install_cell(load_chapter(layout.source("ch01_introduction")), source)
    nb = place_install_cell(nb, source)  # placing it again replaces it
    installs = [i for i, cell in enumerate(nb.cells) if INSTALL_TAG in cell.metadata.get("tags", [])]
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    assert installs == [first_code]
    assert "remove-cell" in nb.cells[first_code].metadata.tags  # left out of the rendered page
    assert "parameters" in nb.cells[first_code + 1].metadata.tags
    assert not any(INSTALL_TAG in cell.metadata.get("tags", []) for cell in place_install_cell(nb, None).cells)


def recorded_commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace ``subprocess.run`` by a recorder of the commands it is given."""
    commands: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: commands.append(command))
    monkeypatch.setattr(sys, "path", list(sys.path))
    return commands


def test_where_advrobust_is_importable_the_install_cell_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = install_source(BookLayout.at(REPO))
    assert source is not None
    commands = recorded_commands(monkeypatch)
    path = list(sys.path)
    monkeypatch.chdir(tmp_path)
    exec(source, {})
    assert (commands, sys.path, list(tmp_path.iterdir())) == ([], path, [])


def test_where_advrobust_is_missing_the_install_cell_clones_and_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = BookLayout.at(REPO)
    source = install_source(layout)
    assert source is not None
    url = repository_url(layout.config)
    find_spec = importlib.util.find_spec

    def advrobust_hidden(name: str, *args: Any) -> Any:
        return None if name == "advrobust" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", advrobust_hidden)
    commands = recorded_commands(monkeypatch)
    monkeypatch.chdir(tmp_path)
    exec(source, {})
    checkout = str(tmp_path / "advrobust-book")
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    assert commands == [
        ["git", "clone", "--depth", "1", url, checkout],
        [*pip, "--editable", checkout],
        [*pip, "--no-deps", f"torchattacks=={locked_versions(layout.lock)['torchattacks']}"],
    ]
    assert sys.path[0] == str(tmp_path / "advrobust-book" / "lib")

    (tmp_path / "advrobust-book").mkdir()  # run again, the clone made: only the installs
    commands.clear()
    exec(source, {})
    assert [command[0] for command in commands] == [sys.executable, sys.executable]


def test_a_malformed_repository_url_is_a_one_line_config_error(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("repository:\n  url: github.com/advrobust/advrobust-book\n")
    with pytest.raises(ConfigError, match=r"repository.url must be https://github.com/<owner>/<name>, got 'github"):
        install_source(BookLayout.at(tmp_path))


def install_cells(notebook: Path) -> list[str]:
    nb = nbformat.read(notebook, as_version=4)
    return [cell.source for cell in nb.cells if INSTALL_TAG in cell.metadata.get("tags", [])]


def test_an_unchanged_chapter_gets_the_install_cell_of_a_new_url_without_running(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a_tiny.py").write_text(TINY_CHAPTER)
    shutil.copy(REPO / "requirements.lock", tmp_path / "requirements.lock")
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/first/book\n")
    notebook = BookLayout.at(tmp_path).notebook("a_tiny")

    [run] = run_chapters(tmp_path, profile="smoke", device="cpu")
    assert run.executed
    [cell] = install_cells(notebook)
    assert '"https://github.com/first/book"' in cell

    config.write_text("repository:\n  url: https://github.com/second/book\n")
    [run] = run_chapters(tmp_path, profile="smoke", device="cpu")
    assert not run.executed
    [cell] = install_cells(notebook)
    assert '"https://github.com/second/book"' in cell and '"https://github.com/first/book"' not in cell

    config.write_text("title: no repository\n")
    run_chapters(tmp_path, profile="smoke", device="cpu")
    assert install_cells(notebook) == []
