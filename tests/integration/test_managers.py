"""Managers named by email address end up as the manager's server id, in Bulk and per-user mode."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from scim_tui.engine.job import TargetSpec
from scim_tui.engine.settings import RunSettings
from scim_tui.headless import HeadlessJob, run_job
from tests.support.scim2_server import Faults, Scim2Server

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize("per_user", [False, True], ids=["bulk", "per-user"])
async def test_manager_emails_become_ids(tmp_path, per_user):
    rows = [
        "userName,displayName,manager",
        "agent.one@example.com,Agent One,lead@example.com",  # manager comes later in the file
        "agent.two@example.com,Agent Two,boss@example.com",  # manager already on the server
        "agent.three@example.com,Agent Three,nobody@example.com",  # manager nowhere
        "lead@example.com,Team Lead,Boss@Example.com",
    ]
    (tmp_path / "users.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    with Scim2Server(Faults(bulk_max_operations=2)) as server:
        await server.preload(["boss@example.com"])
        job = HeadlessJob(
            input_path=tmp_path / "users.csv",
            target_spec=TargetSpec(kind="generic", url=server.url, read_env_file=False, environ={}),
            settings=RunSettings(force_per_user=per_user, concurrency=4),
            report_dir=tmp_path / "report",
        )
        await run_job(job, stream=io.StringIO())

        async with httpx.AsyncClient() as client:
            listing = (await client.get(f"{server.url}/Users", params={"count": "50"})).json()

    by_name = {user["userName"].lower(): user for user in listing["Resources"]}
    manager_of = {name: user.get(ENTERPRISE, {}).get("manager", {}).get("value") for name, user in by_name.items()}

    assert manager_of["agent.one@example.com"] == by_name["lead@example.com"]["id"]
    assert manager_of["agent.two@example.com"] == by_name["boss@example.com"]["id"]
    assert manager_of["lead@example.com"] == by_name["boss@example.com"]["id"]
    assert manager_of["agent.three@example.com"] is None

    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["created"] == 4
    notes = {user["userName"]: user.get("detail") for user in report["users"]}
    assert "nobody@example.com was not found" in notes["agent.three@example.com"]


async def test_manager_cycle_does_not_stall(tmp_path):
    rows = [
        "userName,displayName,manager",
        "a@example.com,A,b@example.com",
        "b@example.com,B,a@example.com",
        "c@example.com,C,a@example.com",
    ]
    (tmp_path / "users.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    with Scim2Server(Faults(bulk_supported=False)) as server:
        job = HeadlessJob(
            input_path=tmp_path / "users.csv",
            target_spec=TargetSpec(kind="generic", url=server.url, read_env_file=False, environ={}),
            settings=RunSettings(concurrency=2),
            report_dir=tmp_path / "report",
        )
        await run_job(job, stream=io.StringIO())
        async with httpx.AsyncClient() as client:
            listing = (await client.get(f"{server.url}/Users", params={"count": "50"})).json()

    by_name = {user["userName"]: user for user in listing["Resources"]}
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    notes = {user["userName"]: user.get("detail") or "" for user in report["users"]}

    assert report["summary"]["created"] == 3
    assert "cycle" in notes["a@example.com"] or "cycle" in notes["b@example.com"]
    assert by_name["c@example.com"][ENTERPRISE]["manager"]["value"] == by_name["a@example.com"]["id"]
