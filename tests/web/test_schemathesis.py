"""Schemathesis against the service's OpenAPI document: generated requests (as an administrator, who may call
everything) never get a 5xx, and every response matches its declared schema. Bounded: a few examples per operation
(positive and negative data; CALTRACE_SCHEMATHESIS_EXAMPLES sets how many, 15 by default), no per-example deadline
on a shared machine, derandomized so a failure reproduces.

The schemathesis pytest plugin's lazy fixtures do not run under this pytest, so each operation's strategy is driven
by hypothesis directly; a failure names the operation and hypothesis prints the smallest failing case.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.web.conftest import Api, _api

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("CALTRACE_SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    schemas = folder / "schemas" / "v3.3.0"
    schemas.mkdir(parents=True)
    (schemas / "dcc.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:  # readiness is then 200 (its 503 is not a server error)
        patch.setenv("CALTRACE_SCHEMA_DIR", str(folder / "schemas"))
        yield from _api(f"sqlite:///{folder / 'caltrace.db'}", folder)


def test_no_server_errors_and_responses_match_their_schemas(service: Api) -> None:
    admin = service.bearer("adm")
    # logout would end the administrator's token the other operations use
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", service.app).exclude(operation_id="auth_logout")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=admin, checks=[not_a_server_error, response_schema_conformance])

            try:
                check()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # an operation with no input has no invalid input
            except Exception as exc:
                raise AssertionError(f"{operation.label} ({mode.value} data): {exc}") from exc
