"""The documentation tells the truth: every command and option is documented, every example
is what the command prints now, and no file points outside the repository."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main

from auditor.cli import app
from demo import docs
from demo.scenario import play

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")


def commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    return {"": group, **group.commands}


def test_every_command_is_in_the_readme_and_the_reference():
    names = [name for name in commands() if name]
    assert [name for name in names if f"| `auditor {name}" not in README] == []
    assert [name for name in names if f"## `auditor {name}`" not in COMMANDS] == []


def section(name: str) -> str:
    """The reference's section on a command (global options: the page's opening)."""
    if not name:
        return COMMANDS[: COMMANDS.index("\n## ")]
    heading = f"## `auditor {name}`"
    start = COMMANDS.index(heading)
    end = COMMANDS.find("\n## ", start + len(heading))
    return COMMANDS[start:end]


def test_every_option_is_in_its_commands_section():
    missing, checked = [], []
    for name, command in commands().items():
        text = section(name)
        for parameter in command.params:
            if parameter.param_type_name == "option":
                checked.append(parameter)
                flags = [flag for flag in parameter.opts if flag.startswith("--")]
                if not any(flag in text for flag in flags):
                    missing.append(f"{name or 'auditor'} {'/'.join(parameter.opts)}")
    assert not missing, f"options missing from docs/commands.md: {missing}"
    assert len(checked) > 20


def test_the_readme_says_head_means_the_snapshots_branch():
    assert "`HEAD` means the tip of the snapshots branch" in README
    assert "`HEAD` means the tip of the snapshots branch" in COMMANDS


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    world = play(tmp_path_factory.mktemp("demo"))
    yield docs.Outputs(world)
    world.close()


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", docs.files(), ids=relative)
def test_every_example_is_what_the_command_prints(outputs, path):
    text = path.read_text(encoding="utf-8")
    examples = [example for _, _, found in docs.blocks(text) for example in found]
    shown = ("README.md", "docs/commands.md", "docs/snapshots.md", "docs/audit-sheet.md")
    if relative(path) in shown:
        assert examples, f"{relative(path)} shows no example"
    new = docs.rewritten(text, outputs)
    difference = "\n".join(
        difflib.unified_diff(
            text.split("\n"), new.split("\n"), "documented", "printed", lineterm=""
        )
    )
    assert new == text, f"{relative(path)} differs from the demo (run `make docs`):\n{difference}"


def test_no_tracked_file_points_outside_the_repository():
    found = subprocess.run(
        [
            "git",
            "grep",
            "-nIE",
            "-e",
            r"\.\./shared",
            "-e",
            r"parents\[2\]",
            "--",
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert found == ""
