"""SIGKILL at random points of a headless run, then resume, until the job is done.

The child is killed at least ``MIN_KILLS`` times. Some kills come while it
starts, before or while it writes its journal. Most come once the journal
shows that a random number of further users finished, after a random delay
of a few milliseconds, so that some kills land between a create and its
outcome. The simulator injects every fault it has meanwhile. After the last
session, the server must hold exactly the valid users, each stored once, and
the report must count every row exactly.

The kill points come from one seed, printed at the start; set
``SCIM_TUI_KILL_SEED`` to replay a failing sequence.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess

import pytest

from tests.integration.test_resume_support import (
    cli_environment,
    creations_per_user,
    expected_summary,
    journal_states,
    read_report,
    simulator,
    start_cli,
    stored_user_names,
    target_arguments,
    wait_for,
    write_input,
)

log = logging.getLogger(__name__)

MIN_KILLS = 12
MAX_SESSIONS = 60
VALID_USERS = 300
SESSION_TIMEOUT = 60.0


@pytest.mark.parametrize(
    ("profile", "mode_arguments"),
    [("genesys", []), ("generic", ["--batch-size", "10"])],
    ids=["genesys-per-user", "generic-bulk"],
)
def test_kill_and_resume_until_done(tmp_path, profile, mode_arguments):
    seed = int(os.environ.get("SCIM_TUI_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill points seed: {seed} (set SCIM_TUI_KILL_SEED={seed} to replay)")
    log.warning("kill points seed: %d", seed)
    rng = random.Random(seed)

    source = write_input(tmp_path / "users.csv", VALID_USERS)
    report_dir = tmp_path / "report"
    journal = report_dir / "journal.sqlite"
    output = tmp_path / "cli.log"

    with simulator(
        profile,
        rate_limit_per_minute=100_000,
        latency_ms=(1, 4),
        p503_before=0.05,
        p500_after=0.05,
        p_slow_after=0.03,
        slow_seconds=0.3,
        p_drop=0.03,
        seed=seed % 2**31,
    ) as server:
        environment = cli_environment(server)
        kills = 0
        sessions = 0
        final_code = None

        while final_code is None:
            sessions += 1
            assert sessions <= MAX_SESSIONS, f"no session finished the job after {MAX_SESSIONS} sessions (seed {seed})"

            if journal.is_file():
                arguments = ["resume", str(journal), "--headless"]
            else:
                arguments = [
                    "run", str(source.path), "--headless", *target_arguments(server), *mode_arguments,
                    "--report-dir", str(report_dir), "--max-attempts", "10",
                ]
            before = journal_states(journal).get("finished", 0)
            remaining = VALID_USERS - before
            kills_needed = max(0, MIN_KILLS - kills)
            process = start_cli(arguments, environment=environment, cwd=tmp_path, log=output)

            if kills_needed:
                # Every session may finish only a few users, so that the job
                # outlasts MIN_KILLS kills whatever the machine's speed.
                step = rng.randint(1, max(1, remaining // (kills_needed + 2)))
                # The first kill and one in five of the others are early: while
                # the child imports, discovers or writes its journal, unless it
                # gets further first.
                early = sessions == 1 or rng.random() < 0.2
                wait_for(
                    lambda: process.poll() is not None or journal_states(journal).get("finished", 0) >= before + step,
                    timeout=rng.uniform(0.05, 1.0) if early else SESSION_TIMEOUT,
                )
                if not early:
                    wait_for(lambda: process.poll() is not None, timeout=rng.uniform(0.0, 0.02))
            else:
                wait_for(lambda: process.poll() is not None, timeout=SESSION_TIMEOUT)

            if process.poll() is None and kills_needed:
                process.kill()
                process.wait()
                kills += 1
                states = journal_states(journal)
                print(f"session {sessions}: killed ({' '.join(arguments[:1])}), journal states {states}")
                continue

            try:
                code = process.wait(SESSION_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"session {sessions} did not end within {SESSION_TIMEOUT} s (seed {seed})") from None
            print(f"session {sessions}: ended with exit code {code}")
            if journal_states(journal).get("finished", 0) == VALID_USERS and (report_dir / "report.json").is_file():
                final_code = code

        stored = stored_user_names(server)
        server_ids = {user["userName"].lower(): user["id"] for user in server.users()}
        creations = creations_per_user(server)
        faults = server.stats(include_timeline=False).faults

    report = read_report(report_dir)
    log_text = output.read_text(encoding="utf-8", errors="replace")

    assert kills >= MIN_KILLS, f"only {kills} kills (seed {seed})"
    assert final_code == 0, f"last session exit code {final_code} (seed {seed}); output:\n{log_text[-4000:]}"
    assert sum(faults.values()) > 0
    assert stored == sorted(source.valid), f"seed {seed}"
    duplicated = {name: count for name, count in creations.items() if count != 1}
    assert duplicated == {}, f"created more than once (seed {seed})"
    assert report["summary"] == expected_summary(source, created=VALID_USERS), f"seed {seed}"
    assert len(report["users"]) == source.rows
    reported_ids = {entry["userName"].lower(): entry.get("id") for entry in report["users"] if entry["outcome"] == "created"}
    assert reported_ids == server_ids, f"seed {seed}"
