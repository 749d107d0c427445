"""`make demo`: the scheduled job on a sample billing sheet served by the API emulator.

The scenario is `demo/scenario.py`; everything is written under build/demo (the
repository) and build/demo-origin.git (its remote), replaced on every run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from demo.scenario import play

BUILD = Path(__file__).resolve().parents[1] / "build"


def main() -> None:
    for name in ("demo", "demo-origin.git"):
        shutil.rmtree(BUILD / name, ignore_errors=True)
    world = play(BUILD, echo=True)
    world.close()
    where = world.work.relative_to(BUILD.parent)
    print(f"\nThe snapshots branch is in {where}: try `git -C {where} log -p snapshots`.")


if __name__ == "__main__":
    main()
