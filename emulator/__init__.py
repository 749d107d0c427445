"""A local emulator of the part of Smartsheet API 2.0 that auditor uses.

A real HTTP server on 127.0.0.1 (HTTPS when started with an `ssl_context`), in the shapes
of `shared/reference/smartsheet-api.md`, with fault injection. It is a test and demo tool,
kept apart from the product: nothing in `auditor/` imports it.
"""

from emulator.server import Emulator, Fault

__all__ = ["Emulator", "Fault"]
