"""The papermill pipeline on tiny dummy chapters: execution, provenance, re-run decisions, failures."""
from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
from advrobust import cli
from advrobust.errors import ConfigError
from advrobust.pipeline import BookLayout, ChapterFailed, build_book, provenance, run_chapters
from advrobust.pipeline.execute import load_chapter
from advrobust.pipeline.imports import imported_modules
from advrobust.pipeline.lock import locked_versions, version_drift
from advrobust.pipeline.render import BADGE_TAG, FOOTER_TAG, REDUCED_SCALE_WARNING, stamp
from advrobust.pipeline.status import status_markdown
from advrobust.experiments.report import Results

PARAMETERS_CELL = '''# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"
seed = 0
results_dir = "results"
'''
# Uses the report helpers, so the kernel's cwd (the root) and results_dir are exercised.
REPORTING_BODY = '''# %%
import matplotlib.pyplot as plt
import pandas as pd
from advrobust.experiments.report import Results

results = Results(results_dir, profile)
print("hello", seed)

# %%
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
results.figure(fig, "line", caption="A line.")
results.table(pd.DataFrame({"x": [1, 2]}), "numbers", caption="Two numbers.")
results.glue("answer", 42.0)
'''
PLAIN_BODY = '''# %%
total = seed + 1
print("total", total)
'''
FAILING_BODY = '''# %%
ok = 1

# %%
raise ValueError("boom")
'''
PROVENANCE_FIELDS = {
    "chapter", "source", "notebook", "git_commit", "git_dirty", "lib_modules", "lib_hash", "thesis_data",
    "source_hash", "profile", "parameters", "device", "device_requested", "packages", "seed", "started_at",
    "wall_time_s", "input_key",
}  # fmt: skip
REPO = Path(__file__).resolve().parents[1]
# The Chapter 2 pages whose attacks are the black-box ones (advrobust.blackbox), and Chapter 4's.
BLACK_BOX_PAGES = ("ch02_soft_label", "ch02_hard_label_objective", "ch02_hard_label_attacks", "ch02_gbdt")
DEFENSE_PAGES = ("ch04_adversarial_training", "ch04_cat")


def write_chapter(root: Path, stem: str, body: str, title: str = "A chapter") -> Path:
    path = root / "chapters" / f"{stem}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# %% [markdown]\n# # {title}\n\n{PARAMETERS_CELL}\n{body}")
    return path


def run_smoke(root: Path, **kwargs) -> dict[str, object]:
    """Run the pipeline at profile smoke on the CPU; map stem -> ChapterRun."""
    return {run.stem: run for run in run_chapters(root, profile="smoke", device="cpu", **kwargs)}


def started_at(root: Path, stem: str) -> str:
    return json.loads(BookLayout.at(root).provenance(stem).read_text())["started_at"]


@pytest.fixture(scope="module")
def executed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("book")
    write_chapter(root, "a_report", REPORTING_BODY, title="Reporting")
    write_chapter(root, "b_plain", PLAIN_BODY, title="Plain\n#\n# An introduction in the title cell.")
    runs = run_smoke(root, seed=3)
    assert [run.executed for run in runs.values()] == [True, True]
    return root


def test_executed_notebook_has_injected_parameters_badge_and_footer(executed_root: Path) -> None:
    layout = BookLayout.at(executed_root)
    nb = nbformat.read(layout.notebook("a_report"), as_version=4)
    injected = [cell for cell in nb.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1
    for line in ('profile = "smoke"', 'device = "cpu"', "seed = 3", 'results_dir = "book/results/a_report"'):
        assert line in injected[0].source
    assert nb.metadata.papermill.parameters == {
        "profile": "smoke", "device": "cpu", "seed": 3, "results_dir": "book/results/a_report"
    }  # fmt: skip
    assert nb.metadata.papermill.input_path == "chapters/a_report.py"

    assert nb.cells[0].source.startswith("# Reporting")
    assert nb.cells[1].metadata.tags == [BADGE_TAG]
    assert "profile: smoke" in nb.cells[1].source and "CPU" in nb.cells[1].source
    assert REDUCED_SCALE_WARNING in nb.cells[1].source
    assert nb.cells[-1].metadata.tags == [FOOTER_TAG]
    record = json.loads(layout.provenance("a_report").read_text())
    assert record["lib_hash"][:12] in nb.cells[-1].source
    assert "../status.md" in nb.cells[-1].source
    defaults = next(cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", []))
    assert "remove-cell" in defaults.metadata.tags

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert any(o.get("text", "").startswith("hello 3") for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert not any(o.output_type == "error" for o in outputs)
    # results_dir is relative to the kernel's cwd, the book root
    assert (layout.results_dir("a_report") / "numbers.csv").is_file()
    assert (layout.results_dir("a_report") / "line.png").is_file()


def test_provenance_records_inputs_and_environment(executed_root: Path) -> None:
    layout = BookLayout.at(executed_root)
    record = json.loads(layout.provenance("b_plain").read_text())
    assert PROVENANCE_FIELDS <= set(record)
    assert record["profile"] == "smoke" and record["seed"] == 3 and record["device_requested"] == "cpu"
    assert record["device"].startswith("CPU (")
    assert record["parameters"]["results_dir"] == "book/results/b_plain"
    inputs = provenance.chapter_inputs(layout.source("b_plain"))
    assert {field: record[field] for field in inputs} == inputs
    assert record["lib_modules"] == {} and record["thesis_data"] == {}  # b_plain imports nothing of advrobust
    reporting = json.loads(layout.provenance("a_report").read_text())
    assert "advrobust/experiments/report.py" in reporting["lib_modules"]
    assert "advrobust/__init__.py" not in reporting["lib_modules"]
    assert record["input_key"] == provenance.input_key(record)
    assert {"python", "torch", "numpy", "pandas", "matplotlib", "papermill", "jupyter-book"} <= set(record["packages"])
    assert datetime.fromisoformat(record["started_at"]).utcoffset().total_seconds() == 0
    assert 0 < record["wall_time_s"] < 120


def test_status_page_lists_every_executed_chapter(executed_root: Path) -> None:
    page = BookLayout.at(executed_root).status_page.read_text()
    assert page.startswith("# Execution status")
    for stem in ("a_report", "b_plain"):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{stem}`"))
        assert "`smoke`" in row and "CPU (" in row
    assert "| torch |" in page


def test_reexecutes_only_what_changed(executed_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "book"
    shutil.copytree(executed_root, root)

    runs = run_smoke(root, seed=3)
    assert not any(run.executed for run in runs.values())
    assert started_at(root, "a_report") == started_at(executed_root, "a_report")

    runs = run_smoke(root, seed=4, only=["b_plain"])
    assert runs["b_plain"].executed and runs["b_plain"].reasons == ("parameters changed: seed",)

    source = BookLayout.at(root).source("b_plain")
    source.write_text(source.read_text() + "\n# %%\nprint('edited')\n")
    runs = run_smoke(root, seed=4)
    assert runs["b_plain"].executed and runs["b_plain"].reasons == ("chapter source changed",)
    assert runs["a_report"].reasons == ("parameters changed: seed",)

    runs = run_smoke(root, seed=4, only=["b_plain"], force=True)
    assert runs["b_plain"].executed and runs["b_plain"].reasons == ("--force",)


def test_failing_chapter_stops_with_notebook_cell_and_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_chapter(tmp_path, "a_fails", FAILING_BODY)
    write_chapter(tmp_path, "b_after", PLAIN_BODY)
    layout = BookLayout.at(tmp_path)
    with pytest.raises(ChapterFailed) as failure:
        run_smoke(tmp_path)
    assert (failure.value.stem, failure.value.cell, failure.value.error) == ("a_fails", 4, "ValueError: boom")

    status = cli.main(["run", "--root", str(tmp_path), "--profile", "smoke", "--device", "cpu"])

    assert status == 2
    message = capsys.readouterr().err
    assert "error: chapter a_fails failed in cell 4 (In [4]): ValueError: boom" in message
    assert 'raise ValueError("boom")' in message
    assert f"partial notebook kept for inspection: {layout.notebook('a_fails')}" in message
    partial = nbformat.read(layout.notebook("a_fails"), as_version=4)
    assert any(o.output_type == "error" for cell in partial.cells for o in cell.get("outputs", []))
    assert not layout.provenance("a_fails").exists()
    assert not layout.notebook("b_after").exists()  # the run stopped at the failure
    assert "failed or interrupted" in layout.status_page.read_text()

    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    with pytest.raises(ConfigError, match="no successful run recorded for a_fails"):
        build_book(tmp_path)


def test_unknown_profile_is_one_line_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_chapter(tmp_path, "a_plain", PLAIN_BODY)
    with pytest.raises(ConfigError, match="unknown profile 'huge'; available: smoke, quick, paper"):
        run_chapters(tmp_path, profile="huge")
    assert cli.main(["run", "--root", str(tmp_path), "--profile", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown profile 'huge'") and err.count("\n") == 1
    assert not BookLayout.at(tmp_path).notebooks_dir.exists()


def test_unknown_chapter_and_malformed_chapter_are_rejected(tmp_path: Path) -> None:
    write_chapter(tmp_path, "a_plain", PLAIN_BODY)
    with pytest.raises(ConfigError, match="unknown chapter.*nope; available: a_plain"):
        run_chapters(tmp_path, profile="smoke", device="cpu", only=["nope"])
    no_parameters = tmp_path / "chapters" / "b_bad.py"
    no_parameters.write_text("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n")
    with pytest.raises(ConfigError, match="b_bad.py: expected one cell tagged 'parameters', found 0"):
        load_chapter(no_parameters)
    untitled = tmp_path / "chapters" / "c_bad.py"
    untitled.write_text(PARAMETERS_CELL)
    with pytest.raises(ConfigError, match="c_bad.py: the first cell must be a markdown cell"):
        load_chapter(untitled)


def test_stamp_replaces_its_cells_and_warns_only_below_paper_scale(executed_root: Path) -> None:
    layout = BookLayout.at(executed_root)
    nb = nbformat.read(layout.notebook("b_plain"), as_version=4)
    record = json.loads(layout.provenance("b_plain").read_text())
    cells = len(nb.cells)
    paper = stamp(nb, {**record, "profile": "paper"}, "../status.md")
    assert len(paper.cells) == cells
    tags = [cell.metadata.get("tags", []) for cell in paper.cells]
    assert tags.count([BADGE_TAG]) == 1 and tags.count([FOOTER_TAG]) == 1
    assert "profile: paper" in paper.cells[1].source
    assert REDUCED_SCALE_WARNING not in paper.cells[1].source


def test_badge_sits_right_under_the_title_line(executed_root: Path) -> None:
    nb = nbformat.read(BookLayout.at(executed_root).notebook("b_plain"), as_version=4)
    assert nb.cells[0].source == "# Plain"
    assert nb.cells[1].metadata.tags == [BADGE_TAG]
    assert nb.cells[2].source == "An introduction in the title cell."


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def dependencies(root: Path, chapter: str, package: dict[str, str]) -> set[str]:
    """The modules of the package ``pkg`` (files given) that a chapter with source ``chapter`` imports."""
    write_files(root, {"chapter.py": chapter, **{f"pkg/{name}": text for name, text in package.items()}})
    return {path.relative_to(root).as_posix() for path in imported_modules(root / "chapter.py", root / "pkg")}


def test_import_walk_follows_absolute_relative_and_function_level_imports(tmp_path: Path) -> None:
    package = {
        "__init__.py": "",
        "errors.py": "",
        "a/__init__.py": "",
        "a/b.py": "from ..errors import fail\nfrom . import c\n\ndef later():\n    import pkg.lazy\n",
        "a/c.py": "",
        "lazy.py": "from .a.c import thing\n",
        "unused.py": "",
    }
    found = dependencies(tmp_path, "import os\nimport numpy as np\nimport pkg.a.b\n", package)
    assert found == {"pkg/a/__init__.py", "pkg/a/b.py", "pkg/errors.py", "pkg/a/c.py", "pkg/lazy.py"}


def test_import_walk_counts_submodules_and_parent_inits_but_not_the_root_init(tmp_path: Path) -> None:
    package = {
        "__init__.py": "from . import heavy\n",  # the root __init__ is neither counted nor walked
        "heavy.py": "",
        "tools.py": "def helper(): ...\n",
        "deep/__init__.py": "from .inner import run\n",
        "deep/inner/__init__.py": "",
        "deep/inner/run.py": "",
        "deep/inner/other.py": "",
        "ns/leaf.py": "",  # a namespace package: no __init__ to count
    }
    chapter = "from pkg import tools\nfrom pkg.tools import helper\nfrom pkg.deep.inner import run\nimport pkg.ns.leaf\n"
    assert dependencies(tmp_path, chapter, package) == {
        "pkg/tools.py", "pkg/deep/__init__.py", "pkg/deep/inner/__init__.py", "pkg/deep/inner/run.py",
        "pkg/ns/leaf.py",
    }  # fmt: skip


def test_import_walk_ends_on_cycles_and_skips_unparsable_files(tmp_path: Path) -> None:
    package = {
        "a.py": "from . import b\n",
        "b.py": "from .a import x\nfrom .broken import y\n",
        "broken.py": "def (:\n",  # executing it reports the error; the walk only lists it
        "beyond.py": "from ... import nothing\n",  # above the root: not resolvable, ignored
    }
    chapter = "from pkg import a, beyond\nfrom . import pkg\n"  # a relative import outside the package
    assert dependencies(tmp_path, chapter, package) == {"pkg/a.py", "pkg/b.py", "pkg/broken.py", "pkg/beyond.py"}


def chapter_modules(stem: str) -> list[str]:
    return list(provenance.chapter_inputs(REPO / "chapters" / f"{stem}.py")["lib_modules"])


def test_a_defense_chapter_does_not_depend_on_the_black_box_attacks() -> None:
    assert [m for m in chapter_modules("ch04_cat") if m.startswith("advrobust/blackbox/")] == []
    black_box = [m for m in chapter_modules("ch02_hard_label_attacks") if m.startswith("advrobust/blackbox/")]
    assert set(black_box) - {"advrobust/blackbox/__init__.py"}, "Chapter 2's hard-label page imports no attack"


def chapter_keys(package_dir: Path, stems: tuple[str, ...]) -> dict[str, str]:
    """Input keys of the repository's chapters against the library at ``package_dir`` (nothing runs)."""
    environment = {"parameters": {"profile": "smoke"}, "device": "CPU", "packages": {"torch": "2"}}
    inputs = {stem: provenance.chapter_inputs(REPO / "chapters" / f"{stem}.py", package_dir) for stem in stems}
    return {stem: provenance.input_key({**found, **environment}) for stem, found in inputs.items()}


def test_editing_a_black_box_attack_changes_only_the_black_box_pages_keys(tmp_path: Path) -> None:
    library = tmp_path / "advrobust"
    shutil.copytree(provenance.LIB_DIR, library, ignore=shutil.ignore_patterns("__pycache__"))
    before = chapter_keys(library, BLACK_BOX_PAGES + DEFENSE_PAGES)
    for module in (library / "blackbox").rglob("*.py"):
        module.write_text(module.read_text() + "\n# edited\n")
    after = chapter_keys(library, BLACK_BOX_PAGES + DEFENSE_PAGES)
    assert [stem for stem in BLACK_BOX_PAGES if before[stem] == after[stem]] == []
    assert [stem for stem in DEFENSE_PAGES if before[stem] != after[stem]] == []


def test_thesis_tables_are_an_input_of_the_chapters_that_read_them(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "pkg/__init__.py": "", f"pkg/{provenance.THESIS_READER.as_posix()}": "", "pkg/other.py": "",
        "thesis/table_1.csv": "a\n1\n", "thesis/notes.txt": "not a table",
        "reads.py": f"from pkg.{'.'.join(provenance.THESIS_READER.with_suffix('').parts)} import thesis_table\n",
        "ignores.py": "import pkg.other\n",
    })  # fmt: skip
    reads, ignores = (provenance.chapter_inputs(tmp_path / name, tmp_path / "pkg", tmp_path / "thesis")
                      for name in ("reads.py", "ignores.py"))  # fmt: skip
    assert list(reads["thesis_data"]) == ["table_1.csv"] and ignores["thesis_data"] == {}
    (tmp_path / "thesis" / "table_1.csv").write_text("a\n2\n")
    edited = provenance.chapter_inputs(tmp_path / "reads.py", tmp_path / "pkg", tmp_path / "thesis")
    assert edited["thesis_data"] != reads["thesis_data"] and edited["lib_modules"] == reads["lib_modules"]


def test_file_hashes_follow_content_not_timestamps(tmp_path: Path) -> None:
    module = tmp_path / "pkg" / "mod.py"
    write_files(tmp_path, {"pkg/mod.py": "x = 1\n"})
    first = provenance.file_hashes([module], tmp_path)
    assert list(first) == ["pkg/mod.py"]
    module.touch()
    assert provenance.file_hashes([module], tmp_path) == first
    module.write_text("x = 2\n")
    assert provenance.file_hashes([module], tmp_path) != first


def test_changed_inputs_names_each_changed_input_and_file() -> None:
    base = {
        "source_hash": "s", "lib_modules": {"advrobust/a.py": "1", "advrobust/b.py": "1"}, "thesis_data": {},
        "parameters": {"seed": 0}, "device": "CPU", "packages": {"torch": "2.4"},
    }  # fmt: skip
    previous = {**base, "input_key": provenance.input_key(base)}
    current = {**base, "lib_modules": {"advrobust/a.py": "2", "advrobust/b.py": "1", "advrobust/c.py": "1"}}
    current.update(device="GPU", input_key=provenance.input_key(current))
    assert provenance.changed_inputs(previous, {**base, "input_key": previous["input_key"]}) == []
    assert provenance.changed_inputs(previous, current) == [
        "library changed: advrobust/a.py, advrobust/c.py", "device changed"
    ]
    assert provenance.changed_inputs(None, current) == ["no previous successful run"]
    old_record = {"source_hash": "s", "lib_hash": "l", "input_key": "k"}  # written before lib_modules existed
    assert "library changed" in provenance.changed_inputs(old_record, current)
    many = {f"advrobust/m{i}.py": "1" for i in range(8)}
    assert provenance.changed_entries({}, many).endswith("advrobust/m4.py and 3 more")


LOCK = """\
# This file was autogenerated by uv via the following command:
#    make lock
jupyter-book==1.0.4.post1 \\
    --hash=sha256:aaaa
    # via advrobust (pyproject.toml)
numpy==2.4.6 \\
    --hash=sha256:bbbb
torch==2.14.1 \\
    --hash=sha256:cccc
typing-extensions==4.15.0 ; python_version < '3.12' \\
    --hash=sha256:dddd
"""


def test_version_drift_compares_as_pip_would() -> None:
    pins = {"jupyter-book": "1.0.4.post1", "numpy": "2.4.6", "torch": "2.14.1", "typing-extensions": "4.15.0"}
    ran = {"python": "3.11.2", "torch": "2.14.1+cu130", "numpy": "2.3.0", "Jupyter_Book": "1.0.4.post1"}
    drift = version_drift(ran, pins)
    assert [str(d) for d in drift] == ["numpy 2.3.0 (lock: 2.4.6)"]  # +cu130 is a build of 2.14.1


def test_locked_versions_reads_every_pin(tmp_path: Path) -> None:
    (tmp_path / "requirements.lock").write_text(LOCK)
    assert locked_versions(tmp_path / "requirements.lock") == {
        "jupyter-book": "1.0.4.post1", "numpy": "2.4.6", "torch": "2.14.1", "typing-extensions": "4.15.0"
    }  # fmt: skip


def write_run(layout: BookLayout, stem: str, packages: dict[str, str]) -> None:
    """A recorded successful run of chapter ``stem`` under ``packages`` (nothing executes)."""
    layout.notebooks_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), layout.notebook(stem))
    record = {
        "profile": "smoke", "device": "CPU (2 cores)", "wall_time_s": 1.0, "started_at": "2025-01-01T00:00:00+00:00",
        "git_commit": "0123456789abcdef", "git_dirty": False, "packages": {"python": "3.11.2", **packages},
    }  # fmt: skip
    provenance.write_provenance(layout.provenance(stem), record)


VERSIONS = 4  # the column of the status page's chapters table that compares with the lock


def chapter_row(page: str, stem: str) -> list[str]:
    """The cells of ``stem``'s row in the status page's chapters table."""
    row = next(line for line in page.splitlines() if line.startswith(f"| `{stem}` | `"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_status_page_names_version_drift_per_chapter(tmp_path: Path) -> None:
    layout = BookLayout.at(tmp_path)
    write_run(layout, "a_locked", {"torch": "2.14.1+cu130", "numpy": "2.4.6"})
    write_run(layout, "b_drifted", {"torch": "2.13.0", "numpy": "2.4.6", "jupyter-book": "1.0.3"})
    page = status_markdown(layout)
    assert "the versions were not compared with a lock" in page
    assert chapter_row(page, "a_locked")[VERSIONS] == chapter_row(page, "b_drifted")[VERSIONS] == "not compared"
    assert "| torch | 2.13.0 / 2.14.1+cu130 | — |" in page

    layout.lock.write_text(LOCK)
    page = status_markdown(layout)
    assert "| chapter | profile | device | wall time | versions | executed (UTC) | commit |" in page
    assert chapter_row(page, "a_locked") == [
        "`a_locked`", "`smoke`", "CPU (2 cores)", "1.0 s", "lock", "2025-01-01T00:00:00+00:00", "`0123456789ab`"
    ]  # fmt: skip
    assert chapter_row(page, "b_drifted")[VERSIONS] == "2 packages differ"
    assert "| torch | 2.13.0 / 2.14.1+cu130 | 2.14.1 |" in page and "| python | 3.11.2 | — |" in page
    assert "**1 of 2 chapters ran under package versions other than those pinned in `requirements.lock`**" in page
    assert "| `b_drifted` | jupyter-book | 1.0.3 | 1.0.4.post1 |" in page
    assert "| `b_drifted` | torch | 2.13.0 | 2.14.1 |" in page
    assert "a_locked` | torch" not in page and "`b_drifted` | numpy" not in page
    assert "The other 1 ran under the pinned versions." in page

    write_run(layout, "b_drifted", {"torch": "2.14.1", "numpy": "2.4.6", "jupyter-book": "1.0.3"})
    assert chapter_row(status_markdown(layout), "b_drifted")[VERSIONS] == "1 package differs"

    write_run(layout, "b_drifted", {"torch": "2.14.1", "numpy": "2.4.6", "jupyter-book": "1.0.4.post1"})
    page = status_markdown(layout)
    assert chapter_row(page, "b_drifted")[VERSIONS] == "lock"
    assert "Every chapter ran under the package versions pinned in `requirements.lock`." in page
    assert "other than those pinned" not in page


def test_results_writes_files_and_closes_figures(tmp_path: Path) -> None:
    results = Results(tmp_path / "out", "quick")
    frame = pd.DataFrame({"eps": [0.1, 0.3], "accuracy": [0.9, 0.2]})
    results.table(frame, "curve", caption="Accuracy.")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "curve.csv", index_col=0), frame)

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1])
    results.figure(fig, "line", caption="A line.", svg=True)
    assert not plt.fignum_exists(fig.number)
    assert (tmp_path / "out" / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "line.svg").is_file()

    results.glue("value", np.float64(0.5))  # NumPy scalars are glued as plain floats
    with pytest.raises(ConfigError, match="plain file name"):
        results.table(frame, "../escape", caption="no")
