"""The OpenAPI document lists every operation's error statuses with the contract's error body (core.openapi)."""

from openapi_spec_validator import validate

METHODS = ("get", "put", "post", "patch", "delete")


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_document_is_valid_openapi(client):
    validate(client.get("/api/v1/openapi.json").get_json())


def test_error_schema_is_the_contract_body(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message", "details"}


def test_every_operation_documents_its_errors_and_no_catch_all(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    missing = []
    for path, method, operation in _operations(spec):
        statuses = set(operation["responses"])
        assert "default" not in statuses, f"{method} {path}"
        expected = set()
        if operation.get("security"):
            expected |= {"401", "403"}
        if "{" in path or operation.get("security"):
            expected.add("404")
        if operation.get("requestBody"):
            expected |= {"400", "413", "422"}
        if operation.get("security") and method != "get":
            expected.add("409")
        if not expected <= statuses:
            missing.append(f"{method.upper()} {path}: {sorted(expected - statuses)}")
    assert missing == []


def test_rate_limited_views_document_429(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "429" in paths["/api/v1/trace/{code}"]["get"]["responses"]
    assert "429" in paths["/api/v1/auth/login"]["post"]["responses"]
