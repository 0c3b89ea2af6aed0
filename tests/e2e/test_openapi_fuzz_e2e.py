"""Schemathesis fuzzes every operation of the gateway's OpenAPI document against a running
mesh: none may answer 5xx, and every answer the document declares must match its schema.

The document is the gateway's own (`create_app(...).openapi()`, the same code the running
gateway serves, checked equal to its /openapi.json below), so routes added later are fuzzed
without touching this file. It is built when the module is collected: schemathesis 4.32's
lazy loader (`schemathesis.pytest.from_fixture`) needs pytest's `Function._nodeid`, which
pytest 9.2 no longer has; the eager loader gives one test per operation too.

The fuzzer calls every operation with an admin key, those that change state included
(events, promotion approval, model rollback), so it runs in a mesh of its own rather than the
session's: what it posts and rolls back cannot disturb the data other e2e tests assert on.
Rate limiting is off there, so fuzzed calls reach the handlers instead of stopping at 429 (the
limiter has its own tests). Generation is derandomized: every run sends the same requests.

Alone: .venv/bin/pytest -q tests/e2e/test_openapi_fuzz_e2e.py
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import Mesh, running_mesh

# Examples per operation in the fuzzing phase; the examples and coverage phases (boundary
# values, wrong types, missing parameters, undeclared content types) add their own.
MAX_EXAMPLES = 50
# Status codes answered per operation ("POST /api/v1/events"), filled by the fuzz test.
ANSWERS: defaultdict[str, Counter[int]] = defaultdict(Counter)


def _gateway_document() -> dict[str, Any]:
    from gateway.app import create_app
    from services.common.config import Settings

    return create_app(Settings.from_env({})).openapi()


DOCUMENT = _gateway_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def fuzz_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """A fresh mesh with the MusicBrainz sample, so lookups and recommendations find a
    catalog; rate limiting off (JUKE_RATE_LIMIT_PER_MINUTE=0)."""
    with running_mesh(tmp_path_factory.mktemp("fuzz-mesh"),
                      JUKE_RATE_LIMIT_PER_MINUTE="0") as mesh:
        imported = mesh.juke("catalog", "import", "musicbrainz")
        assert imported.returncode == 0, imported.stdout + imported.stderr
        yield mesh


def _admin(mesh: Mesh) -> dict[str, str]:
    """The owner's admin key (only it may decide promotions, so every operation is reached
    past its key) in both headers the document declares: the fuzzer fills the X-API-Key
    one too, and a request carrying two different keys is refused."""
    key = mesh.api_keys["owner"]
    return {"Authorization": f"Bearer {key}", "X-API-Key": key}


def test_the_running_gateway_serves_the_fuzzed_document(fuzz_mesh: Mesh) -> None:
    served = httpx.get(f"{fuzz_mesh.gateway}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: schemathesis.Case, fuzz_mesh: Mesh) -> None:
    response = case.call(base_url=fuzz_mesh.gateway, headers=_admin(fuzz_mesh), timeout=30)
    ANSWERS[case.operation.label][response.status_code] += 1
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_the_fuzzer_reached_every_operation_past_its_key() -> None:
    """Guards the test above against passing vacuously: every operation was called, the admin
    key was accepted every time, nothing was rate limited, and some calls succeeded."""
    if not ANSWERS:
        pytest.skip("the fuzz test did not run in this session")
    labels = {f"{method.upper()} {path}" for path, ops in DOCUMENT["paths"].items()
              for method in ops}
    assert set(ANSWERS) == labels, set(ANSWERS) ^ labels
    statuses: Counter[int] = sum(ANSWERS.values(), Counter())
    assert not {401, 403, 429} & set(statuses), statuses
    assert statuses[200] > 0, statuses
    print(f"\n{sum(statuses.values())} calls over {len(labels)} operations: "
          f"{dict(sorted(statuses.items()))}")


def test_every_operation_refuses_a_call_without_a_valid_key(fuzz_mesh: Mesh) -> None:
    """One call per /api operation with no key and one with a wrong key: 401 JSON with a
    Bearer challenge, before anything else about the request is looked at."""
    operations = [(method.upper(), path) for path, ops in DOCUMENT["paths"].items()
                  if path.startswith("/api/") for method in ops]
    assert len(operations) >= 10, operations
    with httpx.Client(base_url=fuzz_mesh.gateway, timeout=30) as http:
        for method, path in operations:
            url = path.replace("{", "").replace("}", "")  # /users/{user_id} -> /users/user_id
            for headers in ({}, {"X-API-Key": "not-a-key"}):
                reply = http.request(method, url, headers=headers)
                assert reply.status_code == 401, (method, path, headers, reply.text)
                assert reply.json()["error"]["code"] == "UNAUTHENTICATED"
                assert reply.headers["www-authenticate"].startswith("Bearer")
