"""The README documents every command and option: adding one without docs fails here."""

from pathlib import Path

import click
import typer.main

from auditor.cli import app

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def commands() -> dict[str, click.Command]:
    group = typer.main.get_command(app)
    return {"": group, **group.commands}


def test_every_command_is_in_the_readme():
    missing = [name for name in commands() if name and f"auditor {name}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def section(name: str) -> str:
    """The README's section on a command (global options: the Commands section's opening)."""
    heading = f"### `auditor {name}`" if name else "## Commands"
    start = README.index(heading)
    end = README.find("\n##", start + len(heading))
    return README[start:end]


def test_every_option_is_in_its_commands_section():
    missing = []
    for name, command in commands().items():
        text = section(name)
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                flags = [flag for flag in parameter.opts if flag.startswith("--")]
                if not any(flag in text for flag in flags):
                    missing.append(f"{name or 'auditor'} {'/'.join(parameter.opts)}")
    assert not missing, f"options missing from their README sections: {missing}"


def test_the_readme_says_head_means_the_snapshots_branch():
    assert "`HEAD` means the tip of the snapshots branch" in README
