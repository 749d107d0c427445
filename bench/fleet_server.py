"""The fleet benchmark's emulator, in a process of its own.

Smartsheet builds its answers on its own machines. An emulator in the benchmark's process
would build them under the same interpreter lock as the client's reads, and the benchmark
would measure the two taking turns; in a process of its own it runs beside them, as a
server does. The benchmark drives it over a pipe: `Remote` sends a command, the process
answers it.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection

from demo import billing


def _serve(conn: Connection, sheets: int, rows: int, latency: float, tokens: list[str]) -> None:
    from emulator import Emulator

    server = Emulator(tokens=dict.fromkeys(tokens, "bench@example.com"), latency=latency)
    server.start()
    top = server.add_folder("Billing")
    made = []
    for group in range(4):
        folder = server.add_folder(f"Region {group}", folder=top)
        inner = server.add_folder("Crews", folder=folder)
        for number in range(sheets // 4):
            sheet = billing.make_sheet(rows, seed=group * 100 + number, name=f"B{number}")
            sheet["id"] = 9_000_000 + group * 100 + number
            server.add_sheet(sheet, folder=inner if number % 2 else folder)
            made.append(sheet)
    conn.send((server.base_url, top, [str(sheet["id"]) for sheet in made]))
    while True:
        command, argument = conn.recv()
        if command == "edit":
            with server.lock:
                for sheet in made:
                    billing.set_cell(sheet, 1, "Quantity", argument)
            conn.send(None)
        elif command == "requests":
            conn.send(sum(server.request_counts().values()))
        elif command == "peak":
            conn.send(server.peak_per_minute(argument))
        elif command == "limited":
            conn.send(sum(server.rate_limited.values()))
        else:
            server.stop()
            conn.send(None)
            return


class Remote:
    """The emulator process, its folders and sheets made: 4 folders with a sub-folder each."""

    def __init__(self, sheets: int, rows: int, latency: float, tokens: list[str]) -> None:
        self._conn, theirs = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(theirs, sheets, rows, latency, tokens), daemon=True
        )
        self._process.start()
        self.base_url, self.top, self.sheet_ids = self._conn.recv()

    def _ask(self, command: str, argument: object = None) -> object:
        self._conn.send((command, argument))
        return self._conn.recv()

    def edit_every_sheet(self, quantity: int) -> None:
        self._ask("edit", quantity)

    def requests(self) -> int:
        return self._ask("requests")

    def peak_per_minute(self, token: str) -> int:
        return self._ask("peak", token)

    def rate_limited(self) -> int:
        return self._ask("limited")

    def stop(self) -> None:
        self._ask("stop")
        self._process.join()
