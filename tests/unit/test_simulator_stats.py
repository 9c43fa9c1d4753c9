"""StatsRecorder counting and snapshots."""

from __future__ import annotations

from scim_tui.simulator.stats import NO_RESPONSE, StatsRecorder


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_in_flight_and_maximum() -> None:
    recorder = StatsRecorder(clock=FakeClock())
    first = recorder.begin()
    second = recorder.begin()
    recorder.finish("GET", "/users", 200, first)
    recorder.begin()

    snapshot = recorder.snapshot(seed=1)

    assert snapshot.in_flight == 2
    assert snapshot.max_in_flight == 2
    assert snapshot.requests_total == 1
    assert second == first


def test_counts_and_timeline() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock=clock)
    started = recorder.begin()
    clock.now += 0.5
    recorder.finish("POST", "/users", 201, started)
    started = recorder.begin()
    recorder.finish("POST", "/users", NO_RESPONSE, started, "drop")

    snapshot = recorder.snapshot(seed=7)

    assert snapshot.responses == {"POST /users": {NO_RESPONSE: 1, 201: 1}}
    assert snapshot.count("POST /users") == 2
    assert snapshot.count("POST /users", 201) == 1
    assert snapshot.count("GET /users") == 0
    assert snapshot.timeline[0].started == 0.0
    assert snapshot.timeline[0].finished == 0.5
    assert snapshot.timeline[1].fault == "drop"
    assert snapshot.seed == 7


def test_user_posts_case_insensitive() -> None:
    recorder = StatsRecorder()
    recorder.user_posted("Ann@Example.com")
    recorder.user_posted("ann@example.com")
    recorder.user_stored("ANN@example.com")
    recorder.user_created_response("ann@example.com")

    counts = recorder.snapshot(seed=0).posts_for("ann@EXAMPLE.com")

    assert (counts.posts, counts.stored, counts.created_responses) == (2, 1, 1)


def test_reset_keeps_in_flight() -> None:
    recorder = StatsRecorder()
    recorder.begin()
    started = recorder.begin()
    recorder.finish("GET", "/users", 200, started)
    recorder.count_fault("drop")

    recorder.reset()
    snapshot = recorder.snapshot(seed=0)

    assert snapshot.in_flight == 1
    assert snapshot.max_in_flight == 1
    assert snapshot.requests_total == 0
    assert snapshot.faults == {}
    assert snapshot.timeline == ()


def test_to_json_shapes() -> None:
    recorder = StatsRecorder()
    started = recorder.begin()
    recorder.finish("GET", "/users", 200, started)
    snapshot = recorder.snapshot(seed=3)

    full = snapshot.to_json()
    short = snapshot.to_json(include_timeline=False)

    assert full["responses"] == {"GET /users": {"200": 1}}
    assert full["timeline"][0]["route"] == "/users"
    assert "timeline" not in short
