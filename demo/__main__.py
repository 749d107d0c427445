"""`make demo`: the scheduled job on a sample billing sheet served by the API emulator.

Starts the Smartsheet API emulator on a free port of 127.0.0.1 with a 60-row billing sheet
and an empty audit sheet, then runs the real `auditor run --push origin` as the schedule
would, every 2 hours, with edits to the sheet between runs, as people make them. It ends
with `auditor log`, `auditor diff HEAD~3 HEAD`, the history of the edited quantity, the
Excel report of those three runs, and
the audit rows the runs published, read back from the emulator with the Smartsheet SDK.
Everything is written under build/demo (the repository) and build/demo-origin.git (its
remote).
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
ORIGIN = ROOT / "build" / "demo-origin.git"
TOKEN = "demo-token"
AUDIT_SHEET_ID = 2718281828459045
SHOWN = ("Time (UTC)", "Event or rule", "Status", "Row key", "Column", "Old", "New", "Severity")


def auditor(env: dict[str, str], *args: str) -> None:
    print(f"\n$ auditor {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "auditor", *args], cwd=WORK, env=env)
    if result.returncode not in (0, 1):
        sys.exit(result.returncode)


def main() -> None:
    for path in (WORK, ORIGIN):
        shutil.rmtree(path, ignore_errors=True)
    WORK.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(ORIGIN)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=WORK, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(ORIGIN)], cwd=WORK, check=True)
    server = Emulator(tokens={TOKEN: "billing@example.com"}).start()
    sheet = billing.make_sheet(rows=60)
    server.add_sheet(sheet)
    server.add_sheet(
        {
            "id": AUDIT_SHEET_ID,
            "name": "Billing audit",
            "columns": [{"id": 1, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
        }
    )
    env = {
        **os.environ,
        "SMARTSHEET_API_BASE": server.base_url,
        "SMARTSHEET_API_TOKEN": TOKEN,
        "SOURCE_SHEET_ID": str(billing.SHEET_ID),
        "AUDIT_SHEET_ID": str(AUDIT_SHEET_ID),
    }
    print(f"Smartsheet API emulator on {server.base_url}, serving {sheet['name']!r}")

    def run(when: str, what: str) -> None:
        print(f"\n# scheduled run at {when}: {what}")
        auditor(env, "run", "--push", "origin", "--fetched-at", when)

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
        auditor(env, "history", str(sheet["rows"][2]["id"]), "--column", "Quantity")
        auditor(env, "report", "--from", "HEAD~3", "--no-publish")
        show_audit_sheet(server.base_url)
    finally:
        server.stop()
    where = WORK.relative_to(ROOT)
    print(f"\nThe snapshots branch is in {where}: try `git -C {where} log -p snapshots`.")


def show_audit_sheet(base_url: str) -> None:
    """The published audit rows, read back over HTTP with the SDK's typed call."""
    import smartsheet

    client = smartsheet.Smartsheet(access_token=TOKEN, api_base=base_url)
    client.errors_as_exceptions(True)
    audit = client.Sheets.get_sheet(AUDIT_SHEET_ID)
    titles = {column.id: column.title for column in audit.columns}
    attachments = client.Attachments.list_all_attachments(AUDIT_SHEET_ID, include_all=True)
    print(f"\n# the audit sheet {audit.name!r}: {len(audit.rows)} rows, read back with the SDK")
    print(" | ".join(SHOWN))
    for row in audit.rows:
        values = {titles[cell.column_id]: cell.value for cell in row.cells}
        print(" | ".join(_short(values.get(title)) for title in SHOWN))
    print("attached: " + ", ".join(item.name for item in attachments.data))


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 24 else text[:23] + "…"


if __name__ == "__main__":
    main()
