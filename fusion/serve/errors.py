"""Every error in the OpenAI shape, `{"error": {message, type, param, code}}`.

Clients in every language parse that shape, so no route may answer FastAPI's
`{"detail": ...}` 422 or a bare 500: validation errors become 400s naming the
field, and anything unexpected a generic 500 whose traceback goes to the server
log only (see `fusion.serve.routes.OpenAIRoute`).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from fusion.serve.public import public
from fusion.serve.schemas import FusionMetadata, FusionOptions

# Retrying a failed panel would pay for it again; OpenAI's SDKs honour this header.
NO_RETRY = {"x-should-retry": "false"}

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
}


class ApiError(Exception):
    """An error answered in the OpenAI shape, optionally with the run's `fusion` data."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        fusion: FusionMetadata | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.fusion = fusion
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        kind = _TYPES.get(self.status, "server_error" if self.status >= 500 else "api_error")
        message = public(self.message)  # no key, no internal address, whoever asks
        error = {"message": message, "type": kind, "param": self.param, "code": self.code}
        out: dict[str, Any] = {"error": error}
        if self.fusion is not None:
            out["fusion"] = self.fusion.model_dump(mode="json")
        return out

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def validation_error(errors: list[Any]) -> ApiError:
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    where = ".".join(loc)
    if first.get("type") == "json_invalid":
        return ApiError(400, "the request body is not valid JSON", code="invalid_json")
    if first.get("type") == "extra_forbidden" and loc[:1] == ["fusion"]:
        options = ", ".join(FusionOptions.model_fields)
        return ApiError(
            400,
            f"unknown option {where!r}: the fusion object takes {options}",
            code="invalid_option",
            param=where,
        )
    message = f"invalid {where or 'request'}: {first.get('msg', 'not understood')}"
    code = "invalid_option" if loc[:1] == ["fusion"] else "invalid_value"
    return ApiError(400, message, code=code, param=where or None)


def internal_error(thread_id: str | None = None) -> ApiError:
    """A bug on our side: a generic message, never the traceback."""
    hint = f"; the run can be continued with `fusion resume {thread_id}`" if thread_id else ""
    return ApiError(500, f"internal server error (see the server log){hint}", code="internal_error")
