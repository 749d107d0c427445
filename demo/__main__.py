"""`make demo`: scheduled snapshots of a sample billing sheet, edits between them, the diff.

Runs the real `auditor` command against a fresh repository under build/demo. The sheet is
a saved Smartsheet response that the script edits between runs, as people do between
the scheduled runs every 2 hours.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import orjson

from demo import billing

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "demo"
SHEET = WORK / "billing-sheet.json"


def auditor(*args: str) -> None:
    print(f"\n$ auditor {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "auditor", *args], cwd=WORK)
    if result.returncode not in (0, 1):
        sys.exit(result.returncode)


def scheduled_run(sheet: dict, when: str, what: str) -> None:
    print(f"\n# {when}: {what}")
    SHEET.write_bytes(orjson.dumps(sheet))
    auditor("snapshot", "--file", SHEET.name, "--id", str(billing.SHEET_ID), "--fetched-at", when)


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=WORK, check=True)
    sheet = billing.make_sheet(rows=60)
    scheduled_run(sheet, "2026-11-23T08:00:00Z", "first run: the baseline")
    billing.set_cell(sheet, 3, "Quantity", 5, "k.brooks@example.com", "2026-11-23T09:12:00Z")
    price = billing.rate_table()[billing.value_of(sheet, 3, "CU")] * 5
    billing.set_cell(sheet, 3, "Units Total Price", float(price), "k.brooks@example.com")
    billing.set_cell(sheet, 49, "Quantity", 2, "m.chen@example.com", "2026-11-23T09:40:00Z")
    scheduled_run(sheet, "2026-11-23T10:00:00Z", "a quantity and its price changed")
    billing.delete_row(sheet, 10, "2026-11-23T11:05:00Z")
    billing.add_row(
        sheet,
        billing.random_values(random.Random(99), 60),
        "s.okafor@example.com",
        "2026-11-23T11:30:00Z",
    )
    scheduled_run(sheet, "2026-11-23T12:00:00Z", "a row deleted and a row added")
    billing.rename_column(sheet, "Scope #", "Scope No.")
    billing.set_cell(sheet, 12, "Units Total Price", "$9,999.00", "r.dubois@example.com")
    scheduled_run(sheet, "2026-11-23T14:00:00Z", "a column renamed, a price typed over")
    scheduled_run(sheet, "2026-11-23T16:00:00Z", "nothing changed: no commit")
    auditor("log")
    auditor("diff", "HEAD~3", "HEAD", "--limit", "20")
    print(
        f"\nThe snapshots branch is in {WORK.relative_to(ROOT)}: try `git -C "
        f"{WORK.relative_to(ROOT)} log -p snapshots`."
    )


if __name__ == "__main__":
    main()
