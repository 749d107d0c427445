"""`python -m emulator --port 8099 --sheet sample.json`: serve the emulator until stopped."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import orjson

from emulator.server import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8099, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--sheet", type=Path, action="append", default=[], help="a GET /sheets/{id} JSON to serve"
    )
    parser.add_argument("--token", default="emulator-token", help="the accepted API token")
    parser.add_argument("--user", default="owner@example.com", help="who the token's writes are by")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every request waits, as over a network"
    )
    options = parser.parse_args()
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    emulator = Emulator(tokens={options.token: options.user}, latency=options.latency)
    for path in options.sheet:
        emulator.add_sheet(orjson.loads(path.read_bytes()))
    emulator.start(options.port)
    count = len(emulator.sheets)
    print(
        f"Smartsheet API emulator on {emulator.base_url} ({count} sheet{'' if count == 1 else 's'})"
    )
    print("set SMARTSHEET_API_BASE to that URL; stop with Ctrl-C", flush=True)
    try:
        signal.sigwait(stop_signals)
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
