"""How `snapshots.bundle` and `billing.json` were made: by auditor at commit 1b0b51a, the
last version that wrote layout 1. Kept so the data can be made again, not run by the tests.

    git worktree add --detach ../auditor-1b0b51a 1b0b51a
    python tests/data/layout1/make.py ../auditor-1b0b51a tests/data/layout1
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

OLD = Path(sys.argv[1]).resolve()
OUT = Path(sys.argv[2]).resolve()
sys.path.insert(0, str(OLD))
from demo import billing  # noqa: E402  (the old checkout's demo sheet)

work = Path(tempfile.mkdtemp())
subprocess.run(["git", "init", "-q", "-b", "main"], cwd=work, check=True)
sheet = billing.make_sheet(rows=8)
sheet["rows"][0]["cells"][0]["formula"] = '="Crew " + [Foreman]@row'


def snap(when: str) -> None:
    (work / "billing.json").write_bytes(orjson.dumps(sheet))
    args = ["snapshot", "--file", "billing.json", "--id", "4583173393803140", "--fetched-at", when]
    subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(OLD)},
        check=True,
    )


snap("2026-11-09T08:00:00Z")
billing.set_cell(sheet, 2, "Quantity", 9, "k.brooks@example.com", "2026-11-09T09:00:00Z")
snap("2026-11-09T10:00:00Z")
billing.delete_row(sheet, 4, "2026-11-16T09:00:00Z")
values = billing.random_values(random.Random(3), 9)
billing.add_row(sheet, values, "s.okafor@example.com", "2026-11-16T09:30:00Z")
billing.set_cell(sheet, 3, "Units Total Price", 99.5, "m.chen@example.com", "2026-11-16T09:40:00Z")
snap("2026-11-16T10:00:00Z")
subprocess.run(["git", "bundle", "create", str(OUT / "snapshots.bundle"), "snapshots"], cwd=work)
shutil.copy(work / "billing.json", OUT / "billing.json")
