"""Refusals in Smartsheet's error shape: `{errorCode, message, refId}`, plus `detail` where
the API sends one (the index and row id of the row a bulk write failed on).

Which code the emulator uses for what, and where each code comes from, is listed in the
docstring of `emulator.server`.
"""

from __future__ import annotations

import itertools
from typing import Any

NOT_EMULATED = 1146

_refs = itertools.count(1)


class ApiError(Exception):
    def __init__(
        self, status: int, code: int, message: str, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.detail)

    def at(self, **detail: Any) -> ApiError:
        """The same refusal, saying which item of a bulk request it concerns."""
        return ApiError(self.status, self.code, self.message, {**(self.detail or {}), **detail})


def error_body(code: int, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"errorCode": code, "message": message, "refId": f"emu{next(_refs):06d}"}
    if detail:
        body["detail"] = detail
    return body


def not_emulated(what: str) -> ApiError:
    """A request the real API may well accept but the emulator cannot honour: refused rather
    than half done, so a test never passes on something the emulator silently dropped."""
    return ApiError(400, NOT_EMULATED, f"Unsupported operation: {what} (not emulated).")


def not_found() -> ApiError:
    return ApiError(404, 1006, "Not Found")


def bad_parameter(name: str, value: str) -> ApiError:
    return ApiError(400, 1018, f"The value {value} was not valid for the parameter {name}.")


def bad_attribute(name: str, value: Any) -> ApiError:
    return ApiError(400, 1031, f"The value {value} was not valid for the attribute {name}.")


def missing_attribute(name: str) -> ApiError:
    return ApiError(400, 1012, f"A required object attribute is missing from your request: {name}.")


def unparsable(problem: str) -> ApiError:
    return ApiError(400, 1008, f"Unable to parse request. The following error occurred: {problem}")


def too_many(field: str, limit: int) -> ApiError:
    """Over one of a sheet's size limits. The docs list no code for it; 1061 ("Max count
    exceeded for field {0}.") is the nearest they document."""
    return ApiError(400, 1061, f"Max count exceeded for field {field} (at most {limit:,}).")
