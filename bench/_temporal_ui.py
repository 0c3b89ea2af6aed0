"""Decisions sent the way the Temporal Web UI sends them: its own HTTP API.

The UI's "Send a Signal" dialog POSTs to the UI server, which forwards to Temporal's frontend;
the UI server guards writes with a double-submit CSRF cookie (`_csrf`, echoed in the
`X-CSRF-TOKEN` header). Sending the same request is what an operator's click does, so a
promotion approved here passed through the UI's path, not the SDK's."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Any

import httpx

JSON_PLAIN = base64.b64encode(b"json/plain").decode()


def json_payload(value: Any) -> dict[str, Any]:
    """A Temporal payload as the UI encodes a JSON signal argument."""
    data = json.dumps(asdict(value) if hasattr(value, "__dataclass_fields__") else value)
    return {"metadata": {"encoding": JSON_PLAIN}, "data": base64.b64encode(data.encode()).decode()}


def signal_through_ui(ui_base: str, workflow_id: str, signal: str, argument: Any,
                      namespace: str = "default", identity: str = "temporal-ui") -> None:
    """Send `signal(argument)` to the workflow's latest run through the UI server at
    `ui_base` (e.g. http://127.0.0.1:8233); raises on any refusal."""
    with httpx.Client(base_url=ui_base, timeout=30) as ui:
        ui.get("/api/v1/settings").raise_for_status()  # sets the _csrf cookie
        token = ui.cookies.get("_csrf")
        if not token:
            raise RuntimeError(f"the Temporal UI at {ui_base} set no CSRF cookie")
        reply = ui.post(
            f"/api/v1/namespaces/{namespace}/workflows/{workflow_id}/signal/{signal}",
            headers={"X-CSRF-TOKEN": token},
            json={"signalName": signal, "workflowExecution": {"workflowId": workflow_id},
                  "input": {"payloads": [json_payload(argument)]}, "identity": identity})
    if reply.status_code != 200:
        raise RuntimeError(f"the Temporal UI refused the {signal!r} signal to {workflow_id}: "
                           f"{reply.status_code} {reply.text[:300]}")
