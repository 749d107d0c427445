"""A local emulator of the part of Smartsheet API 2.0 that auditor uses.

A real HTTP server on 127.0.0.1 (HTTPS when started with an `ssl_context`), strict where the
API is strict, with rate limits and fault injection; `emulator.server` documents what it
serves, its limits, its error codes and where they come from. It is a test and demo tool,
kept apart from the product: nothing in `auditor/` imports it.
"""

from emulator.server import Emulator, Fault

__all__ = ["Emulator", "Fault"]
