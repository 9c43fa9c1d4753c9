"""The simulator's admin endpoints, gate and measurements over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from scim_tui.simulator import SimulatorConfig, SimulatorServer

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def new_user(user_name: str) -> dict[str, object]:
    return {"schemas": [CORE_USER], "userName": user_name, "displayName": user_name.split("@")[0]}


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(profile="generic", preload_count=2, preload_inactive=1)) as server:
        yield server


async def test_gate_holds_requests_until_release() -> None:
    async with SimulatorServer(SimulatorConfig(profile="generic")) as sim:
        async with httpx.AsyncClient(base_url=sim.scim_url + "/", timeout=10) as client:
            sim.gate()
            tasks = [asyncio.create_task(client.post("Users", json=new_user(f"held{index}@example.com"))) for index in range(4)]
            await sim.async_wait_until_held(4)
            held = sim.stats(include_timeline=False)

            assert not any(task.done() for task in tasks)
            assert sim.users() == []
            assert held.in_flight == 4
            assert held.max_in_flight >= 4

            sim.release()
            responses = await asyncio.gather(*tasks)

    assert [response.status_code for response in responses] == [201] * 4


async def test_gate_spares_token_and_admin() -> None:
    async with SimulatorServer(SimulatorConfig()) as sim:
        async with httpx.AsyncClient(timeout=10) as client:
            await client.post(sim.base_url + "/_admin/gate")

            token = await client.post(
                sim.token_url or "", auth=(sim.client_id, sim.client_secret), data={"grant_type": "client_credentials"}
            )
            stats = await client.get(sim.base_url + "/_admin/stats")
            gate = await client.get(sim.base_url + "/_admin/gate")
            await client.post(sim.base_url + "/_admin/release")

    assert token.status_code == 200
    assert stats.status_code == 200
    assert gate.json() == {"gate": "closed", "held": 0}


def test_admin_gate_and_release_over_http(sim: SimulatorServer) -> None:
    results: list[int] = []

    def post() -> None:
        results.append(httpx.post(sim.scim_url + "/Users", json=new_user("thread@example.com"), timeout=10).status_code)

    closed = httpx.post(sim.base_url + "/_admin/gate").json()
    worker = threading.Thread(target=post)
    worker.start()
    sim.wait_until_held(1)
    state = httpx.get(sim.base_url + "/_admin/gate").json()
    opened = httpx.post(sim.base_url + "/_admin/release").json()
    worker.join(10)

    assert closed["gate"] == "closed"
    assert state == {"gate": "closed", "held": 1}
    assert opened["gate"] == "open"
    assert results == [201]


def test_stop_answers_held_requests() -> None:
    sim = SimulatorServer(SimulatorConfig(profile="generic")).start()
    results: list[int] = []

    def post() -> None:
        results.append(httpx.post(sim.scim_url + "/Users", json=new_user("late@example.com"), timeout=10).status_code)

    sim.gate()
    worker = threading.Thread(target=post)
    worker.start()
    sim.wait_until_held(1)
    sim.stop()
    worker.join(10)

    assert results == [503]
    assert not sim.running


def test_stats_count_routes_and_statuses(sim: SimulatorServer) -> None:
    with httpx.Client(base_url=sim.scim_url + "/", timeout=10) as client:
        client.post("Users", json=new_user("s1@example.com"))
        client.post("Users", json=new_user("S1@example.com"))
        client.get("Users")
        client.get("Users/unknown")

    stats = sim.stats()
    remote = httpx.get(sim.base_url + "/_admin/stats").json()

    assert stats.count("POST /users", 201) == 1
    assert stats.count("POST /users", 409) == 1
    assert stats.count("GET /users") == 1
    assert stats.count("GET /users/{id}", 404) == 1
    assert stats.requests_total == 4
    assert stats.posts_for("s1@example.com").posts == 2
    assert stats.posts_for("s1@example.com").stored == 1
    assert stats.posts_for("s1@example.com").created_responses == 1
    assert [record.route for record in stats.timeline] == ["/users", "/users", "/users", "/users/{id}"]
    assert all(record.finished >= record.started for record in stats.timeline)
    assert remote["responses"]["POST /users"] == {"201": 1, "409": 1}
    assert remote["user_posts"]["s1@example.com"] == {"posts": 2, "stored": 1, "created_responses": 1}
    assert len(remote["timeline"]) == 4
    assert "timeline" not in httpx.get(sim.base_url + "/_admin/stats", params={"timeline": "0"}).json()


def test_users_endpoint_lists_inactive(sim: SimulatorServer) -> None:
    body = httpx.get(sim.base_url + "/_admin/users").json()

    assert body["totalResults"] == 2
    assert [user["active"] for user in body["Resources"]] == [True, False]


def test_reset_restores_preload_and_clears_stats(sim: SimulatorServer) -> None:
    httpx.post(sim.scim_url + "/Users", json=new_user("extra@example.com"))
    sim.gate()

    response = httpx.post(sim.base_url + "/_admin/reset")
    stats = sim.stats()

    assert response.json() == {"reset": True, "users": 2}
    assert len(sim.users()) == 2
    assert stats.requests_total == 0
    assert stats.user_posts == {}
    assert httpx.get(sim.base_url + "/_admin/gate").json()["gate"] == "open"


def test_config_over_http(sim: SimulatorServer) -> None:
    changed = httpx.post(sim.base_url + "/_admin/config", json={"p500_after": 1, "latency_ms": "1-2"})
    rejected = httpx.post(sim.base_url + "/_admin/config", json={"profile": "genesys"})
    invalid = httpx.post(sim.base_url + "/_admin/config", json={"p_drop": "often"})
    current = httpx.get(sim.base_url + "/_admin/config").json()
    created = httpx.post(sim.scim_url + "/Users", json=new_user("cfg@example.com"))

    assert changed.status_code == 200
    assert changed.json()["p500_after"] == 1.0
    assert changed.json()["latency_ms"] == [1.0, 2.0]
    assert rejected.status_code == 400
    assert "profile" in rejected.json()["error"]
    assert invalid.status_code == 400
    assert current["p500_after"] == 1.0
    assert "client_secret" not in current
    assert "bearer_token" not in current
    assert created.status_code == 500


def test_runtime_bulk_limit_is_published(sim: SimulatorServer) -> None:
    sim.configure(bulk_max_operations=7)

    config = httpx.get(sim.scim_url + "/ServiceProviderConfig").json()

    assert config["bulk"]["maxOperations"] == 7


def test_unknown_admin_path_is_404(sim: SimulatorServer) -> None:
    missing = httpx.get(sim.base_url + "/_admin/nothing")
    wrong_method = httpx.get(sim.base_url + "/_admin/reset")

    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"


def test_restart_after_stop() -> None:
    sim = SimulatorServer(SimulatorConfig(profile="generic"))
    with sim:
        first = httpx.get(sim.scim_url + "/Users").status_code
    with sim:
        sim.gate()
        sim.release()
        second = httpx.get(sim.scim_url + "/Users").status_code

    assert first == 200
    assert second == 200
