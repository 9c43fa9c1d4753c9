"""Seeded fault injection of the simulator, seen by a real HTTP client on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from scim_tui.simulator import FaultScope, SimulatorConfig, SimulatorServer

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def new_user(user_name: str) -> dict[str, object]:
    return {"schemas": [CORE_USER], "userName": user_name, "displayName": user_name.split("@")[0]}


def generic(**knobs: object) -> SimulatorServer:
    return SimulatorServer(SimulatorConfig(profile="generic", seed=11, **knobs))  # type: ignore[arg-type]


def stored_names(sim: SimulatorServer) -> list[str]:
    return [user["userName"] for user in sim.users()]


def test_503_before_store_stores_nothing() -> None:
    with generic(p503_before=1.0) as sim:
        response = httpx.post(sim.scim_url + "/Users", json=new_user("a@example.com"))
        stats = sim.stats()

        assert response.status_code == 503
        assert response.json()["status"] == "503"
        assert stored_names(sim) == []
        assert stats.posts_for("a@example.com").posts == 1
        assert stats.posts_for("a@example.com").stored == 0
        assert stats.faults == {"503_before": 1}


def test_503_on_genesys_uses_genesys_body() -> None:
    with SimulatorServer(SimulatorConfig(p503_before=1.0)) as sim:
        headers = {"Authorization": f"Bearer {sim.token}"}

        response = httpx.post(sim.scim_url + "/users", json=new_user("g@example.com"), headers=headers)

    assert response.status_code == 503
    assert response.json()["status"] == 503
    assert response.json()["code"] == "service.unavailable"
    assert "inin-ratelimit-count" in response.headers


def test_500_after_store_keeps_user() -> None:
    with generic(p500_after=1.0) as sim:
        response = httpx.post(sim.scim_url + "/Users", json=new_user("b@example.com"))
        counts = sim.stats().posts_for("b@example.com")

        assert response.status_code == 500
        assert stored_names(sim) == ["b@example.com"]
        assert counts.stored == 1
        assert counts.created_responses == 0


def test_slow_answer_times_out_client_after_store() -> None:
    with generic(p_slow_after=1.0, slow_seconds=30) as sim:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(sim.scim_url + "/Users", json=new_user("c@example.com"), timeout=httpx.Timeout(10, read=0.3))

        stats = sim.wait_for(lambda snapshot: snapshot.in_flight == 0, timeout=10)

        assert stored_names(sim) == ["c@example.com"]
        assert stats.count("POST /users", 0) == 1
        assert stats.faults == {"slow_after": 1}
        assert stats.posts_for("c@example.com").created_responses == 0


def test_slow_answer_arrives_for_patient_client() -> None:
    with generic(p_slow_after=1.0, slow_seconds=0.05) as sim:
        response = httpx.post(sim.scim_url + "/Users", json=new_user("d@example.com"), timeout=10)
        stats = sim.stats()

    assert response.status_code == 201
    assert stats.posts_for("d@example.com").created_responses == 1
    assert stats.timeline[0].finished - stats.timeline[0].started >= 0.05


def test_dropped_connection_after_store() -> None:
    with generic(p_drop=1.0) as sim:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(sim.scim_url + "/Users", json=new_user("e@example.com"), timeout=10)

        stats = sim.wait_for(lambda snapshot: snapshot.in_flight == 0, timeout=10)

        assert stored_names(sim) == ["e@example.com"]
        assert stats.count("POST /users", 0) == 1
        assert stats.faults == {"drop": 1}
        assert sim.stats().timeline[0].fault == "drop"


def test_server_keeps_serving_after_drop() -> None:
    with generic(p_drop=1.0) as sim:
        with httpx.Client(base_url=sim.scim_url + "/", timeout=10) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.post("Users", json=new_user("f@example.com"))
            sim.configure(p_drop=0.0)

            response = client.post("Users", json=new_user("g@example.com"))

    assert response.status_code == 201


def test_faults_skip_reads_in_create_scope() -> None:
    with generic(p503_before=1.0) as sim:
        reads = [httpx.get(sim.scim_url + "/Users").status_code for _ in range(5)]

    assert reads == [200] * 5


def test_faults_hit_reads_in_all_scope() -> None:
    with generic(p503_before=1.0, fault_scope=FaultScope.ALL) as sim:
        reads = [httpx.get(sim.scim_url + "/Users").status_code for _ in range(3)]

    assert reads == [503] * 3


def post_statuses(sim: SimulatorServer, count: int, prefix: str) -> list[int]:
    with httpx.Client(base_url=sim.scim_url + "/", timeout=10) as client:
        return [client.post("Users", json=new_user(f"{prefix}{index}@example.com")).status_code for index in range(count)]


def test_same_seed_same_fault_sequence() -> None:
    with generic(p503_before=0.5) as first:
        statuses = post_statuses(first, 20, "first")
        first.reset()
        after_reset = post_statuses(first, 20, "again")
    with generic(p503_before=0.5) as second:
        replayed = post_statuses(second, 20, "second")
    with SimulatorServer(SimulatorConfig(profile="generic", seed=12, p503_before=0.5)) as other:
        other_seed = post_statuses(other, 20, "other")

    assert set(statuses) == {201, 503}
    assert after_reset == statuses
    assert replayed == statuses
    assert other_seed != statuses


def test_latency_is_added() -> None:
    with generic(latency_ms=(30, 40)) as sim:
        for index in range(3):
            httpx.get(sim.scim_url + "/Users")
        durations = [record.finished - record.started for record in sim.stats().timeline]

    assert len(durations) == 3
    assert min(durations) >= 0.03


def test_fault_knobs_change_at_run_time() -> None:
    with generic() as sim:
        before = httpx.post(sim.scim_url + "/Users", json=new_user("h@example.com")).status_code
        config = sim.configure(p500_after=1.0)
        after = httpx.post(sim.scim_url + "/Users", json=new_user("i@example.com")).status_code

    assert before == 201
    assert after == 500
    assert config.p500_after == 1.0


def test_invalid_fault_knob_is_rejected() -> None:
    with generic() as sim:
        with pytest.raises(ValueError, match="must not exceed 1"):
            sim.configure(p503_before=0.7, p500_after=0.7)

        assert sim.config.p503_before == 0.0
