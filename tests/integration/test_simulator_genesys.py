"""The genesys profile of the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scim_tui.simulator import SimulatorConfig, SimulatorServer, preload_user_name

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GENESYS_USER = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"
GENESYS_ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}
RATE_HEADERS = ("inin-ratelimit-allowed", "inin-ratelimit-count", "inin-ratelimit-reset")


def new_user(user_name: str, **extra: object) -> dict[str, object]:
    return {"schemas": [CORE_USER], "userName": user_name, "displayName": user_name.split("@")[0], **extra}


def fetch_token(sim: SimulatorServer) -> str:
    response = httpx.post(
        sim.token_url or "",
        auth=(sim.client_id, sim.client_secret),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(preload_count=4, preload_inactive=2)) as server:
        yield server


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fetch_token(sim)}"}
    with httpx.Client(base_url=sim.scim_url + "/", headers=headers, timeout=10) as http:
        yield http


# -- OAuth ---------------------------------------------------------------------


def test_token_with_basic_auth(sim: SimulatorServer) -> None:
    response = httpx.post(
        sim.token_url or "",
        auth=(sim.client_id, sim.client_secret),
        data={"grant_type": "client_credentials"},
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert sim.login_url == sim.base_url
    assert sim.token_url == sim.base_url + "/oauth/token"


def test_token_with_bad_secret_is_401(sim: SimulatorServer) -> None:
    response = httpx.post(
        sim.token_url or "",
        auth=(sim.client_id, sim.client_secret + "x"),
        data={"grant_type": "client_credentials"},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.text


def test_token_with_other_grant_is_400(sim: SimulatorServer) -> None:
    response = httpx.post(sim.token_url or "", auth=(sim.client_id, sim.client_secret), data={"grant_type": "password"})

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_scim_without_token_is_401(sim: SimulatorServer) -> None:
    response = httpx.get(sim.scim_url + "/users")

    assert response.status_code == 401
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["status"] == 401
    assert body["code"] == "authentication.required"


def test_scim_with_unknown_token_is_401(sim: SimulatorServer) -> None:
    response = httpx.get(sim.scim_url + "/users", headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"


def test_expired_token_is_401(sim: SimulatorServer) -> None:
    lasting = fetch_token(sim)
    sim.configure(token_lifetime=0.05)
    response = httpx.post(sim.token_url or "", auth=(sim.client_id, sim.client_secret), data={"grant_type": "client_credentials"})
    short = response.json()["access_token"]

    statuses = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = httpx.get(sim.scim_url + "/users", headers={"Authorization": f"Bearer {short}"}).status_code
        statuses.append(status)
        if status == 401:
            break
        time.sleep(0.01)

    assert response.json()["expires_in"] == 1
    assert statuses[-1] == 401
    assert httpx.get(sim.scim_url + "/users", headers={"Authorization": f"Bearer {lasting}"}).status_code == 200


def test_token_property_issues_valid_token(sim: SimulatorServer) -> None:
    token = sim.token

    response = httpx.get(sim.scim_url + "/users", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


# -- Paths and discovery -------------------------------------------------------


def test_lowercase_and_capitalised_paths(client: httpx.Client) -> None:
    lowercase = client.get("users")
    capitalised = client.get("Users")
    older_family = httpx.get(str(client.base_url).replace("/scim/v2/", "/scim/") + "users", headers=client.headers)

    assert lowercase.status_code == 200
    assert capitalised.status_code == 200
    assert older_family.status_code == 200


def test_service_provider_config_has_no_bulk(client: httpx.Client) -> None:
    response = client.get("serviceproviderconfig")

    assert response.status_code == 200
    config = response.json()
    assert config["bulk"]["supported"] is False
    assert config["filter"]["supported"] is True
    assert config["filter"]["maxResults"] == 25


@pytest.mark.parametrize("path", ["bulk", "Bulk", "groups", "nothing-here"])
def test_unserved_endpoints_are_404(client: httpx.Client, path: str) -> None:
    response = client.post(path, json={}) if path.lower() == "bulk" else client.get(path)

    assert response.status_code == 404
    assert set(response.json()) == GENESYS_ERROR_KEYS


def test_discovery_lists_genesys_extension(client: httpx.Client) -> None:
    resource_types = client.get("resourcetypes").json()["Resources"]
    schemas = client.get("schemas").json()["Resources"]

    users = next(item for item in resource_types if item["name"] == "User")
    assert users["endpoint"] == "/users"
    assert {extension["schema"] for extension in users["schemaExtensions"]} == {ENTERPRISE_USER, GENESYS_USER}
    assert GENESYS_USER in {schema["id"] for schema in schemas}


def test_genesys_extension_is_stored(sim: SimulatorServer, client: httpx.Client) -> None:
    payload = new_user(
        "agent@example.com",
        schemas=[CORE_USER, ENTERPRISE_USER, GENESYS_USER],
        **{
            ENTERPRISE_USER: {"division": "Home", "department": "Sales", "employeeNumber": "E-1"},
            GENESYS_USER: {
                "routingSkills": [{"name": "Support", "proficiency": 4.5}],
                "routingLanguages": [{"name": "French", "proficiency": 3}],
                "externalIds": [{"authority": "hr", "value": "1234"}],
            },
        },
    )

    response = client.post("users", json=payload)

    assert response.status_code == 201, response.text
    stored = next(user for user in sim.users() if user["userName"] == "agent@example.com")
    assert stored[GENESYS_USER]["routingSkills"] == [{"name": "Support", "proficiency": 4.5}]
    assert stored[GENESYS_USER]["externalIds"] == [{"authority": "hr", "value": "1234"}]
    assert stored[ENTERPRISE_USER]["division"] == "Home"
    assert response.json()["meta"]["location"].endswith("/api/v2/scim/v2/users/" + response.json()["id"])


def test_created_user_defaults_to_active(client: httpx.Client) -> None:
    response = client.post("users", json=new_user("fresh@example.com"))

    assert response.status_code == 201
    assert response.json()["active"] is True


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"schemas": [CORE_USER], "userName": "nodisplay@example.com"}, "displayName"),
        (new_user("not-an-email"), "email"),
    ],
)
def test_invalid_user_is_400_scim_error(client: httpx.Client, payload: dict[str, object], detail: str) -> None:
    response = client.post("users", json=payload)

    assert response.status_code == 400
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "400"
    assert detail in body["detail"]


def test_unknown_user_id_is_404_genesys_body(client: httpx.Client) -> None:
    response = client.get("users/does-not-exist")

    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert set(response.json()) == GENESYS_ERROR_KEYS


# -- Duplicates and inactive users ---------------------------------------------


def test_duplicate_user_name_is_409_case_insensitive(client: httpx.Client) -> None:
    first = client.post("users", json=new_user("Jane.Doe@Example.com"))
    second = client.post("users", json=new_user("jane.doe@example.COM"))

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "409",
        "detail": "User name already in use by non-deleted user.",
    }


def test_conflict_scim_type_is_configurable() -> None:
    with SimulatorServer(SimulatorConfig(conflict_scim_type=True, preload_count=1)) as sim:
        headers = {"Authorization": f"Bearer {fetch_token(sim)}"}

        response = httpx.post(sim.scim_url + "/users", json=new_user(preload_user_name(1)), headers=headers)

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_duplicate_of_inactive_user_is_409(client: httpx.Client) -> None:
    inactive = preload_user_name(4)

    response = client.post("users", json=new_user(inactive))

    assert response.status_code == 409


def test_inactive_user_hidden_from_plain_filter(client: httpx.Client) -> None:
    inactive = preload_user_name(4)

    plain = client.get("users", params={"filter": f'userName eq "{inactive}"'})
    listed = client.get("users")

    assert plain.json()["totalResults"] == 0
    assert listed.json()["totalResults"] == 2
    assert inactive not in {user["userName"] for user in listed.json()["Resources"]}


def test_inactive_user_found_with_active_eq_false(client: httpx.Client) -> None:
    inactive = preload_user_name(4)

    combined = client.get("users", params={"filter": f'userName eq "{inactive.upper()}" and active eq false'})
    all_inactive = client.get("users", params={"filter": "active eq false"})

    assert combined.json()["totalResults"] == 1
    assert combined.json()["Resources"][0]["userName"] == inactive
    assert all_inactive.json()["totalResults"] == 2


def test_active_user_not_found_with_active_eq_false(client: httpx.Client) -> None:
    active = preload_user_name(1)

    found = client.get("users", params={"filter": f'userName eq "{active}" and active eq false'})
    plain = client.get("users", params={"filter": f'userName eq "{active}"'})

    assert found.json()["totalResults"] == 0
    assert plain.json()["totalResults"] == 1


def test_quoted_active_word_does_not_count_as_term(client: httpx.Client) -> None:
    response = client.get("users", params={"filter": 'displayName eq "active"'})

    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


def test_search_by_id_returns_inactive_user(sim: SimulatorServer, client: httpx.Client) -> None:
    inactive = next(user for user in sim.users() if user["active"] is False)

    response = client.get(f"users/{inactive['id']}")

    assert response.status_code == 200
    assert response.json()["active"] is False


# -- List limits ---------------------------------------------------------------


def test_count_above_limit_is_429(client: httpx.Client) -> None:
    rejected = client.get("users", params={"count": 26})
    accepted = client.get("users", params={"count": 25})

    assert rejected.status_code == 429
    assert rejected.json()["code"] == "too.many.requests"
    assert accepted.status_code == 200


def test_list_defaults_to_25_per_page() -> None:
    with SimulatorServer(SimulatorConfig(preload_count=30)) as sim:
        headers = {"Authorization": f"Bearer {fetch_token(sim)}"}

        response = httpx.get(sim.scim_url + "/users", headers=headers)

    assert response.json()["totalResults"] == 30
    assert response.json()["itemsPerPage"] == 25


# -- Rate limit ----------------------------------------------------------------


def test_rate_headers_on_every_response() -> None:
    with SimulatorServer(SimulatorConfig(rate_limit_per_minute=100, preload_count=1)) as sim:
        headers = {"Authorization": f"Bearer {fetch_token(sim)}"}
        with httpx.Client(base_url=sim.scim_url + "/", headers=headers) as http:
            responses = [
                http.get("users"),
                http.get("serviceproviderconfig"),
                http.post("users", json=new_user("rate@example.com")),
                http.post("users", json=new_user("rate@example.com")),
                http.post("users", json={"schemas": [CORE_USER]}),
                http.get("users/missing"),
                http.get("users", params={"count": 100}),
                http.post("bulk", json={}),
                httpx.get(sim.scim_url + "/users"),
            ]

    assert [response.status_code for response in responses] == [200, 200, 201, 409, 400, 404, 429, 404, 401]
    for response in responses:
        for name in RATE_HEADERS:
            assert name in response.headers, (response.status_code, name)
    assert responses[0].headers["inin-ratelimit-allowed"] == "100"
    assert [response.headers["inin-ratelimit-count"] for response in responses[:8]] == [str(n) for n in range(1, 9)]
    assert 1 <= int(responses[0].headers["inin-ratelimit-reset"]) <= 60


def test_rate_limit_429_with_retry_after() -> None:
    with SimulatorServer(SimulatorConfig(rate_limit_per_minute=3)) as sim:
        headers = {"Authorization": f"Bearer {fetch_token(sim)}"}
        responses = [httpx.get(sim.scim_url + "/users", headers=headers) for _ in range(5)]
        stats = sim.stats()

    assert [response.status_code for response in responses] == [200, 200, 200, 429, 429]
    limited = responses[3]
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    body = limited.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert body["code"] == "too.many.requests.retry.after"
    assert body["status"] == 429
    assert body["message"] == f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
    assert limited.headers["inin-ratelimit-count"] == "4"
    assert stats.rate_limited == 2


def test_rate_limit_is_per_token() -> None:
    with SimulatorServer(SimulatorConfig(rate_limit_per_minute=1)) as sim:
        first = {"Authorization": f"Bearer {fetch_token(sim)}"}
        second = {"Authorization": f"Bearer {fetch_token(sim)}"}

        statuses = [
            httpx.get(sim.scim_url + "/users", headers=first).status_code,
            httpx.get(sim.scim_url + "/users", headers=first).status_code,
            httpx.get(sim.scim_url + "/users", headers=second).status_code,
        ]

    assert statuses == [200, 429, 200]


def test_rate_window_resets() -> None:
    with SimulatorServer(SimulatorConfig(rate_limit_per_minute=1, rate_limit_window=1.0)) as sim:
        headers = {"Authorization": f"Bearer {fetch_token(sim)}"}
        statuses = [httpx.get(sim.scim_url + "/users", headers=headers).status_code]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = httpx.get(sim.scim_url + "/users", headers=headers).status_code
            statuses.append(status)
            if status == 200:
                break
            time.sleep(0.01)

    assert statuses[0] == 200
    assert 429 in statuses
    assert statuses[-1] == 200


# -- Preload -------------------------------------------------------------------


def test_preload_count_and_inactive(sim: SimulatorServer) -> None:
    users = sim.users()

    assert [user["userName"] for user in users] == [preload_user_name(index) for index in range(1, 5)]
    assert [user["active"] for user in users] == [True, True, False, False]


def test_preload_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            [
                {"userName": "json.one@example.com", "displayName": "One"},
                {"userName": "json.two@example.com", "displayName": "Two", "active": False},
            ]
        )
    )

    with SimulatorServer(SimulatorConfig(preload_file=path)) as sim:
        users = {user["userName"]: user for user in sim.users()}

    assert users["json.one@example.com"]["active"] is True
    assert users["json.two@example.com"]["active"] is False


def test_preload_from_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("userName,displayName,active\ncsv.one@example.com,One,true\ncsv.two@example.com,Two,no\n")

    with SimulatorServer(SimulatorConfig(preload_file=path, preload_count=1)) as sim:
        users = {user["userName"]: user for user in sim.users()}

    assert set(users) == {preload_user_name(1), "csv.one@example.com", "csv.two@example.com"}
    assert users["csv.two@example.com"]["active"] is False


def test_preload_duplicate_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(f"userName,displayName\n{preload_user_name(1).upper()},Copy\n")

    with pytest.raises(ValueError, match="already taken"):
        SimulatorServer(SimulatorConfig(preload_file=path, preload_count=1))
