"""The demo's scenario: the scheduled job on a sample billing sheet served by the emulator.

Starts the Smartsheet API emulator on a free port of 127.0.0.1 with a folder of billing
sheets (a 60-row one, a smaller one, and an archived one the configuration leaves out) and
an empty audit sheet, then runs the real `auditor run --push origin` as the schedule
would, every 2 hours, with edits to the sheet between runs, as people make them, and the
commands a billing analyst runs afterwards. Every command runs as a process; what it
printed is kept in order, so `make demo` shows it and the documentation's examples are
checked against it (`demo/docs.py`). Everything is deterministic for a given version of
the code: the same sheet, times and edits give the same commits.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from demo import billing
from emulator import Emulator

TOKEN = "demo-token"
AUDIT_SHEET_ID = 2718281828459045
BILLING_FOLDER = 1414213562373095
OTHER_SHEETS = [("Billing 2026 - North crews", 12), ("Billing 2025 Archive", 8)]
SHOWN = ("Time (UTC)", "Event or rule", "Status", "Row key", "Column", "Old", "New", "Severity")


@dataclass
class World:
    """The demo's repository, its origin and the running emulator, after the scenario."""

    work: Path
    origin: Path
    server: Emulator
    env: dict[str, str]
    echo: bool = False
    transcript: list[tuple[str, str]] = field(default_factory=list)

    def auditor(self, *args: str, env: dict[str, str] | None = None, failing: bool = False) -> str:
        """Run `auditor` in the demo repository; its output (stdout, then stderr) is kept
        in the transcript under the command line. It must succeed unless `failing`."""
        result = subprocess.run(
            [sys.executable, "-m", "auditor", *args],
            cwd=self.work,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
        )
        if result.returncode not in (0, 1) and not failing:
            raise RuntimeError(f"auditor {' '.join(args)} exited {result.returncode}")
        line = " ".join(f"{name}={value}" for name, value in (env or {}).items())
        command = f"{line} auditor {' '.join(args)}".strip()
        self.say(f"$ {command}", result.stdout + result.stderr)
        return result.stdout

    def say(self, heading: str, text: str) -> None:
        self.transcript.append((heading, text))
        if self.echo:
            print(f"\n{heading}\n{text}", end="", flush=True)

    def close(self) -> None:
        self.server.stop()


def play(root: Path, echo: bool = False) -> World:
    """Run the scenario in `root/demo` with `root/demo-origin.git` as its origin, printing
    it as it goes with `echo`; the emulator is left running for more commands until
    `close()`."""
    work, origin = root / "demo", root / "demo-origin.git"
    work.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=work, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(origin)], cwd=work, check=True)
    server = Emulator(tokens={TOKEN: "billing@example.com"}).start()
    folder = server.add_folder("Billing", folder_id=BILLING_FOLDER)
    sheet = billing.make_sheet(rows=60)
    server.add_sheet(sheet, folder=folder)
    for number, (name, rows) in enumerate(OTHER_SHEETS, start=1):
        other = billing.make_sheet(rows=rows, seed=10 + number, name=name)
        other["id"] = billing.SHEET_ID + number
        server.add_sheet(other, folder=folder)
    # Found sheets whose names match a glob are left out; copies are followed by source.
    # The contract's rate table, so a price that is not quantity x unit price shows.
    rates = "".join(f"{cu},{price}\n" for cu, price in billing.rate_table().items())
    (work / "rates.csv").write_text("CU,unit_price\n" + rates)
    (work / "auditor.toml").write_text(
        'exclude_names = ["*Archive*"]\nfollow_copies = true\nrate_table = "rates.csv"\n'
    )
    server.add_sheet(
        {
            "id": AUDIT_SHEET_ID,
            "name": "Billing audit",
            "columns": [{"id": 1, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
        }
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUDIT", "SMARTSHEET"))},
        "SMARTSHEET_API_BASE": server.base_url,
        "SMARTSHEET_API_TOKEN": TOKEN,
        "SOURCE_FOLDER_ID": str(BILLING_FOLDER),
        "AUDIT_SHEET_ID": str(AUDIT_SHEET_ID),
    }
    world = World(work, origin, server, env, echo)
    try:
        _runs(world, sheet)
    except BaseException:
        world.close()
        raise
    return world


def _runs(world: World, sheet: dict) -> None:
    server = world.server

    def run(when: str, what: str) -> None:
        world.say(f"# scheduled run at {when}: {what}", "")
        world.auditor("run", "--push", "origin", "--fetched-at", when)

    world.auditor("check")
    run("2026-11-23T08:00:00Z", "the first run is the baseline")
    with server.lock:
        billing.set_cell(sheet, 3, "Quantity", 5, "k.brooks@example.com", "2026-11-23T09:12:00Z")
        price = billing.rate_table()[billing.value_of(sheet, 3, "CU")] * 5
        billing.set_cell(
            sheet,
            3,
            "Units Total Price",
            float(price),
            "k.brooks@example.com",
            "2026-11-23T09:13:00Z",
        )
        week = "Weekly Reference Logged Date"
        ended = next(n for n in range(4, 61) if billing.value_of(sheet, n, week) < "2026-11-14")
        quantity = billing.value_of(sheet, ended, "Quantity") + 1
        billing.set_cell(
            sheet, ended, "Quantity", quantity, "m.chen@example.com", "2026-11-23T09:40:00Z"
        )
    run("2026-11-23T10:00:00Z", "a quantity and its price changed; a quantity in an ended week")
    with server.lock:
        billing.delete_row(sheet, 10, "2026-11-23T11:05:00Z")
        values = billing.random_values(random.Random(99), 60)
        billing.add_row(sheet, values, "s.okafor@example.com", "2026-11-23T11:30:00Z")
    copied = server.sheets[server.copy_sheet(billing.SHEET_ID, "Copy of Billing 2026")]
    with server.lock:  # copied at a time of the scenario's, not the clock's: the same commits
        for item in [copied, *copied["rows"]]:
            item["createdAt"] = item["modifiedAt"] = "2026-11-23T11:40:00Z"
    run("2026-11-23T12:00:00Z", "a row deleted and a row added; a crew copied the sheet")
    with server.lock:
        billing.rename_column(sheet, "Scope #", "Scope No.", "2026-11-23T12:20:00Z")
        billing.set_cell(
            sheet,
            12,
            "Units Total Price",
            "$9,999.00",
            "r.dubois@example.com",
            "2026-11-23T13:05:00Z",
        )
    run("2026-11-23T14:00:00Z", "a column renamed, a price typed over as text")
    run("2026-11-23T16:00:00Z", "nothing changed: the version check skips the read")
    world.auditor("log")
    world.auditor("diff", "HEAD~3", "HEAD", "--limit", "20")
    row = str(sheet["rows"][2]["id"])
    world.auditor("history", row, "--sheet", str(billing.SHEET_ID), "--column", "Quantity")
    world.auditor("report", "--from", "HEAD~3", "--no-publish")
    # Billing invoiced the week ending 2026-09-19 from the first run's snapshot.
    sheet_id = str(billing.SHEET_ID)
    world.auditor(
        "invoice", "2026-09-19", "--sheet", sheet_id, "--at", "HEAD~3", "--note", "INV-1047"
    )
    world.auditor("weeks", "--sheet", sheet_id, "--since", "2026-09-05", "--by", "work-request")
    world.say(*_audit_sheet(server.base_url))


def _audit_sheet(base_url: str) -> tuple[str, str]:
    """The published audit rows, read back over HTTP with the SDK's typed call."""
    import smartsheet

    client = smartsheet.Smartsheet(access_token=TOKEN, api_base=base_url)
    client.errors_as_exceptions(True)
    audit = client.Sheets.get_sheet(AUDIT_SHEET_ID)
    titles = {column.id: column.title for column in audit.columns}
    attachments = client.Attachments.list_all_attachments(AUDIT_SHEET_ID, include_all=True)
    lines = [f"{len(audit.rows)} rows", " | ".join(SHOWN)]
    for row in audit.rows:
        values = {titles[cell.column_id]: cell.value for cell in row.cells}
        lines.append(" | ".join(_short(values.get(title)) for title in SHOWN))
    lines.append("attached: " + ", ".join(item.name for item in attachments.data))
    heading = f"# the audit sheet {audit.name!r}, read back with the SDK"
    return heading, "\n".join(lines) + "\n"


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 24 else text[:23] + "…"
