"""The generic RFC 7644 profile of the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from scim_tui.simulator import SimulatorConfig, SimulatorServer

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
TOKEN = "generic-test-token"


def new_user(user_name: str) -> dict[str, object]:
    return {"schemas": [CORE_USER], "userName": user_name, "displayName": user_name}


def bulk_post(user_names: list[str], fail_on_errors: int | None = None) -> dict[str, object]:
    request: dict[str, object] = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": f"b{index}", "data": new_user(name)}
            for index, name in enumerate(user_names)
        ],
    }
    if fail_on_errors is not None:
        request["failOnErrors"] = fail_on_errors
    return request


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(profile="generic", bearer_token=TOKEN, bulk_max_operations=5)) as server:
        yield server


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.scim_url + "/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
        yield http


def test_scim_url_and_v2_alias(sim: SimulatorServer, client: httpx.Client) -> None:
    alias = httpx.get(sim.base_url + "/v2/Users", headers={"Authorization": f"Bearer {TOKEN}"})

    assert sim.scim_url == sim.base_url + "/scim/v2"
    assert sim.login_url is None
    assert client.get("Users").status_code == 200
    assert alias.status_code == 200


def test_bearer_token_required(sim: SimulatorServer) -> None:
    missing = httpx.get(sim.scim_url + "/Users")
    wrong = httpx.get(sim.scim_url + "/Users", headers={"Authorization": "Bearer nope"})

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert missing.json()["status"] == "401"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert sim.token == TOKEN


def test_no_token_means_no_auth() -> None:
    with SimulatorServer(SimulatorConfig(profile="generic")) as sim:
        response = httpx.get(sim.scim_url + "/Users")

    assert response.status_code == 200
    assert sim.token is None


def test_service_provider_config_announces_bulk(client: httpx.Client) -> None:
    config = client.get("ServiceProviderConfig").json()

    assert config["bulk"] == {"supported": True, "maxOperations": 5, "maxPayloadSize": 1048576}


def test_bulk_creates_users(sim: SimulatorServer, client: httpx.Client) -> None:
    response = client.post("Bulk", json=bulk_post(["one@example.com", "two@example.com"]))
    stats = sim.stats()

    assert response.status_code == 200
    assert [operation["status"] for operation in response.json()["Operations"]] == ["201", "201"]
    assert sorted(user["userName"] for user in sim.users()) == ["one@example.com", "two@example.com"]
    assert stats.posts_for("one@example.com").posts == 1
    assert stats.posts_for("one@example.com").stored == 1
    assert stats.posts_for("one@example.com").created_responses == 1
    assert stats.count("POST /bulk", 200) == 1


def test_bulk_stops_at_fail_on_errors(sim: SimulatorServer, client: httpx.Client) -> None:
    client.post("Users", json=new_user("taken1@example.com"))
    client.post("Users", json=new_user("taken2@example.com"))
    names = ["taken1@example.com", "taken2@example.com", "new1@example.com", "new2@example.com"]

    response = client.post("Bulk", json=bulk_post(names, fail_on_errors=2))

    statuses = [operation["status"] for operation in response.json()["Operations"]]
    assert response.status_code == 200
    assert statuses == ["409", "409"]
    assert "new1@example.com" not in {user["userName"] for user in sim.users()}


def test_bulk_without_fail_on_errors_runs_all(client: httpx.Client) -> None:
    client.post("Users", json=new_user("dup@example.com"))

    response = client.post("Bulk", json=bulk_post(["dup@example.com", "other@example.com"]))

    assert [operation["status"] for operation in response.json()["Operations"]] == ["409", "201"]


def test_bulk_above_max_operations_is_413(client: httpx.Client) -> None:
    names = [f"u{index}@example.com" for index in range(6)]

    response = client.post("Bulk", json=bulk_post(names))

    assert response.status_code == 413


def test_bulk_above_max_payload_is_413() -> None:
    with SimulatorServer(SimulatorConfig(profile="generic", bulk_max_payload=200)) as sim:
        body = json.dumps(bulk_post(["x@example.com", "y@example.com"]))

        response = httpx.post(sim.scim_url + "/Bulk", content=body, headers={"Content-Type": "application/scim+json"})

    assert len(body) > 200
    assert response.status_code == 413


def test_duplicate_is_409_with_scim_type(client: httpx.Client) -> None:
    client.post("Users", json=new_user("Same@Example.com"))

    response = client.post("Users", json=new_user("same@example.com"))

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_inactive_users_are_listed(client: httpx.Client) -> None:
    client.post("Users", json={**new_user("off@example.com"), "active": False})

    response = client.get("Users", params={"filter": 'userName eq "off@example.com"'})

    assert response.json()["totalResults"] == 1


def test_optional_rate_limit_headers() -> None:
    with SimulatorServer(SimulatorConfig(profile="generic", rate_limit_per_minute=2)) as sim:
        responses = [httpx.get(sim.scim_url + "/Users") for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 429]
    assert [response.headers["X-RateLimit-Remaining"] for response in responses] == ["1", "0", "0"]
    assert responses[0].headers["X-RateLimit-Limit"] == "2"
    assert 1 <= int(responses[2].headers["X-RateLimit-Reset"]) <= 60
    assert int(responses[2].headers["Retry-After"]) >= 1
    assert responses[2].json()["status"] == "429"


def test_no_rate_headers_without_limit(client: httpx.Client) -> None:
    response = client.get("Users")

    assert "X-RateLimit-Limit" not in response.headers
    assert "inin-ratelimit-count" not in response.headers
