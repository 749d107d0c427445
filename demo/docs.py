"""The examples in README.md and docs/ are the demo's real output, never pasted by hand.

Every ```console block holds prompts and what follows them: `$ auditor ...` (optionally
after `NAME=value` settings) is a command, `# ...` a heading of the demo's transcript. A
command the scenario ran shows the output it printed then; any other command is run in the
demo's repository after the scenario, in the order the files list them. A block may end an
output with a line `...`: only the lines above it are shown and compared. Paths and the
emulator's port, which differ from run to run, are written as `make demo` shows them.

`make docs` (`python -m demo.docs`) rewrites the blocks; `tests/test_docs.py` fails when one
differs from what the commands print now.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from demo.scenario import World, play

ROOT = Path(__file__).resolve().parents[1]
OPEN, CLOSE = "```console", "```"
ELIDED = "..."
SETTING = re.compile(r"[A-Z_]+=\S*")


def files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Example:
    prompt: str
    shown: list[str]
    elided: bool


def blocks(text: str) -> Iterator[tuple[int, int, list[Example]]]:
    """(first line, line after the last, examples) of each console block of `text`."""
    lines = text.split("\n")
    start = None
    for number, line in enumerate(lines):
        if start is None and line == OPEN:
            start = number + 1
        elif start is not None and line == CLOSE:
            yield start, number, list(_examples(lines[start:number]))
            start = None


def _examples(lines: list[str]) -> Iterator[Example]:
    prompt, shown = None, []
    for line in [*lines, "$ "]:
        if line.startswith(("$ ", "# ")):
            if prompt is not None:
                elided = bool(shown) and shown[-1] == ELIDED
                yield Example(prompt, shown[:-1] if elided else shown, elided)
            prompt, shown = line, []
        else:
            shown.append(line)


class Outputs:
    """What each prompt prints in the demo's world, as `make demo` would show it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.recorded = dict(world.transcript)
        build = "build"
        self.replacements = {
            str(world.work.parent): build,
            world.server.base_url.rsplit(":", 1)[0]
            + f":{world.server.port}": "http://127.0.0.1:8099",
        }

    def lines(self, prompt: str) -> list[str]:
        if prompt not in self.recorded:
            self.recorded[prompt] = self._run(prompt)
        text = self.recorded[prompt]
        for old, new in self.replacements.items():
            text = text.replace(old, new)
        return text.rstrip("\n").split("\n") if text else []

    def _run(self, prompt: str) -> str:
        if not prompt.startswith("$ "):
            raise KeyError(f"{prompt!r} is not a heading of the demo's transcript")
        words = shlex.split(prompt[2:])
        settings = {}
        while words and SETTING.fullmatch(words[0]):
            name, _, value = words.pop(0).partition("=")
            settings[name] = value
        if words and words[0] == "auditor":
            before = len(self.world.transcript)
            self.world.auditor(*words[1:], env=settings, failing=True)
            return self.world.transcript[before][1]
        shell = subprocess.run(
            prompt[2:],
            shell=True,
            executable="/bin/bash",
            cwd=self.world.work,
            env=self.world.env,
            capture_output=True,
            text=True,
        )
        return shell.stdout + shell.stderr


def rewritten(text: str, outputs: Outputs) -> str:
    lines = text.split("\n")
    for start, end, examples in reversed(list(blocks(text))):
        body = []
        for example in examples:
            actual = outputs.lines(example.prompt)
            if example.elided:
                actual = [*actual[: len(example.shown)], ELIDED]
            body += [example.prompt, *actual]
        lines[start:end] = body
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Write the examples, or with `--check` say which files differ (exit 1)."""
    check = "--check" in argv
    with tempfile.TemporaryDirectory() as folder:
        world = play(Path(folder))
        try:
            outputs = Outputs(world)
            stale = []
            for path in files():
                text = path.read_text(encoding="utf-8")
                new = rewritten(text, outputs)
                if new != text:
                    stale.append(path.relative_to(ROOT))
                    if not check:
                        path.write_text(new, encoding="utf-8")
        finally:
            world.close()
    for path in stale:
        print(f"{path}: {'examples differ from the demo' if check else 'examples rewritten'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
