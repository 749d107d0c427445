"""`make demo`: scheduled snapshots of a sample billing sheet served by the API emulator.

Starts the Smartsheet API emulator on a free port of 127.0.0.1 with a 60-row billing sheet,
then runs the real `auditor` command as the schedule would, every 2 hours, with edits to the
sheet between runs, as people make them; it ends with `auditor log`, `auditor diff HEAD~3
HEAD` and the Excel report of those three runs. Everything is written under build/demo.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from demo import billing
from emulator import Emulator

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "demo"
TOKEN = "demo-token"


def auditor(env: dict[str, str], *args: str) -> None:
    print(f"\n$ auditor {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "auditor", *args], cwd=WORK, env=env)
    if result.returncode not in (0, 1):
        sys.exit(result.returncode)


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=WORK, check=True)
    server = Emulator(tokens={TOKEN: "billing@example.com"}).start()
    sheet = billing.make_sheet(rows=60)
    server.add_sheet(sheet)
    env = {
        **os.environ,
        "SMARTSHEET_API_BASE": server.base_url,
        "SMARTSHEET_API_TOKEN": TOKEN,
        "SOURCE_SHEET_ID": str(billing.SHEET_ID),
    }
    print(f"Smartsheet API emulator on {server.base_url}, serving {sheet['name']!r}")

    def run(when: str, what: str) -> None:
        print(f"\n# scheduled run at {when}: {what}")
        auditor(env, "snapshot", "--fetched-at", when)

    try:
        auditor(env, "check")
        run("2026-11-23T08:00:00Z", "the first run is the baseline")
        with server.lock:
            billing.set_cell(
                sheet, 3, "Quantity", 5, "k.brooks@example.com", "2026-11-23T09:12:00Z"
            )
            price = billing.rate_table()[billing.value_of(sheet, 3, "CU")] * 5
            billing.set_cell(sheet, 3, "Units Total Price", float(price), "k.brooks@example.com")
            week = "Weekly Reference Logged Date"
            ended = next(n for n in range(4, 61) if billing.value_of(sheet, n, week) < "2026-11-14")
            quantity = billing.value_of(sheet, ended, "Quantity") + 1
            billing.set_cell(sheet, ended, "Quantity", quantity, "m.chen@example.com")
        run("2026-11-23T10:00:00Z", "a quantity and its price changed; a quantity in an ended week")
        with server.lock:
            billing.delete_row(sheet, 10, "2026-11-23T11:05:00Z")
            values = billing.random_values(random.Random(99), 60)
            billing.add_row(sheet, values, "s.okafor@example.com", "2026-11-23T11:30:00Z")
        run("2026-11-23T12:00:00Z", "a row deleted and a row added")
        with server.lock:
            billing.rename_column(sheet, "Scope #", "Scope No.")
            billing.set_cell(sheet, 12, "Units Total Price", "$9,999.00", "r.dubois@example.com")
        run("2026-11-23T14:00:00Z", "a column renamed, a price typed over as text")
        run("2026-11-23T16:00:00Z", "nothing changed: the version check skips the read")
        auditor(env, "log")
        auditor(env, "diff", "HEAD~3", "HEAD", "--limit", "20")
        auditor(env, "report", "--from", "HEAD~3")
    finally:
        server.stop()
    where = WORK.relative_to(ROOT)
    print(f"\nThe snapshots branch is in {where}: try `git -C {where} log -p snapshots`.")


if __name__ == "__main__":
    main()
