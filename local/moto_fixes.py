"""Three moto 5 bugs that stop a `chalice deploy` rehearsal, fixed in the emulator (never in our code).

1. S3 notification filter rules named `Prefix`/`Suffix` (AWS accepts either case) → moto asserts lower case.
2. ImportRestApi without `info.description` → KeyError.
3. Swagger 2.0 API documents (what Chalice generates) → "Only OpenAPI 3.x.x are currently supported".
"""

from __future__ import annotations

import re
from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.apigateway.models import APIGatewayBackend
    from moto.s3.responses import S3Response

    read_notifications = S3Response._notification_config_from_body

    def lower_case_filter_names(self: Any) -> dict[str, Any]:
        pattern = r"<Name>(Prefix|Suffix)</Name>"
        if isinstance(self.body, bytes):
            self.body = re.sub(pattern.encode(), lambda m: b"<Name>" + m.group(1).lower() + b"</Name>", self.body)
        elif isinstance(self.body, str):
            self.body = re.sub(pattern, lambda m: f"<Name>{m.group(1).lower()}</Name>", self.body)
        return read_notifications(self)

    import_rest_api = APIGatewayBackend.import_rest_api

    def import_without_description(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        api_doc.setdefault("info", {}).setdefault("description", "")
        return import_rest_api(self, api_doc, fail_on_warnings)

    put_rest_api = APIGatewayBackend.put_rest_api

    def accept_swagger_2(self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool,
                         mode: str = "merge") -> Any:
        if api_doc.get("swagger"):
            api_doc = {**api_doc, "openapi": "3.0.1"}
            api_doc.pop("swagger")
        return put_rest_api(self, function_id, api_doc, fail_on_warnings, mode)

    S3Response._notification_config_from_body = lower_case_filter_names
    APIGatewayBackend.import_rest_api = import_without_description
    APIGatewayBackend.put_rest_api = accept_swagger_2
    _applied = True
