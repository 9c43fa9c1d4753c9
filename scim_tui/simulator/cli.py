"""``scim-tui simulate``: run the SCIM simulator in the foreground until ctrl+c.

It binds 127.0.0.1 only and prints the URLs and the credentials to use. The
credentials are the simulator's own, generated for this process (or given on
the command line) and valid nowhere else, so printing them is safe and is
what makes the simulator usable from another terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from pathlib import Path

import uvicorn

from scim_tui.simulator.app import GENERIC_PREFIXES, GENESYS_PREFIXES, TOKEN_PATH, SimulatorApp
from scim_tui.simulator.config import FaultScope, Profile, SimulatorConfig, parse_latency
from scim_tui.simulator.server import HOST, bind_socket, uvicorn_config

DEFAULT_PORT = 8700


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {value}")
    return value


def _latency(text: str) -> tuple[float, float] | None:
    try:
        return parse_latency(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scim-tui simulate",
        description="Run a SCIM 2.0 simulator on 127.0.0.1: Genesys Cloud-like (OAuth, rate limit, no Bulk) "
        "or a generic RFC 7644 server with Bulk, with optional injected faults. Stop it with ctrl+c.",
    )
    parser.add_argument("--profile", choices=[profile.value for profile in Profile], default=Profile.GENESYS.value, help="server to imitate (default genesys)")
    parser.add_argument("--port", type=_non_negative_int, default=DEFAULT_PORT, help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free port)")
    parser.add_argument("--http", choices=["auto", "h11", "httptools"], default="auto", help="uvicorn HTTP implementation (default auto: httptools when installed)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default="INFO")

    limits = parser.add_argument_group("limits")
    limits.add_argument("--rate-limit", type=_non_negative_int, metavar="N", help="requests allowed per token per window (default 300 on genesys, none on generic; 0 = no limit)")
    limits.add_argument("--rate-window", type=_positive_float, default=60.0, metavar="SECONDS", help="length of the fixed rate-limit window (default 60)")
    limits.add_argument("--token-lifetime", type=_positive_float, default=86400.0, metavar="SECONDS", help="lifetime of OAuth tokens, reported as expires_in (default 86400)")
    limits.add_argument("--max-list-count", type=_non_negative_int, metavar="N", help="largest count a list may ask for before a 429 (default 25 on genesys, none on generic)")
    limits.add_argument("--bulk-max-operations", type=_non_negative_int, default=100, metavar="N", help="bulk.maxOperations on generic (default 100)")
    limits.add_argument("--bulk-max-payload", type=_non_negative_int, default=1_048_576, metavar="BYTES", help="bulk.maxPayloadSize on generic (default 1048576)")
    limits.add_argument("--conflict-scim-type", action="store_true", help="genesys: send scimType uniqueness on a duplicate userName 409")

    faults = parser.add_argument_group("faults")
    faults.add_argument("--latency-ms", type=_latency, metavar="A-B", help="added latency per SCIM request, uniform between A and B milliseconds (or a fixed A)")
    faults.add_argument("--p503", type=_probability, default=0.0, metavar="P", help="probability of a 503 before the request is served (nothing stored)")
    faults.add_argument("--p500-after", type=_probability, default=0.0, metavar="P", help="probability of a 500 after the request is served (user stored)")
    faults.add_argument("--p-slow", type=_probability, default=0.0, metavar="P", help="probability of sending the response only after --slow-seconds (user stored)")
    faults.add_argument("--slow-seconds", type=_positive_float, default=30.0, metavar="SECONDS", help="delay of a slow response, in seconds (default 30)")
    faults.add_argument("--p-drop", type=_probability, default=0.0, metavar="P", help="probability of closing the connection without a response (user stored)")
    faults.add_argument("--fault-scope", choices=[scope.value for scope in FaultScope], default=FaultScope.CREATE.value, help="requests the fault probabilities apply to: create (POST Users and Bulk, default) or all SCIM requests")
    faults.add_argument("--seed", type=int, help="seed of the fault and latency draws (default: a random seed, printed at start)")

    preload = parser.add_argument_group("preloaded users")
    preload.add_argument("--preload", type=_non_negative_int, default=0, metavar="N", help="users to store at start, named user00001@example.com and on")
    preload.add_argument("--preload-inactive", type=_non_negative_int, default=0, metavar="M", help="how many of the --preload users are inactive (the last M)")
    preload.add_argument("--preload-file", type=Path, metavar="FILE", help="JSON or CSV file of users to store at start")

    credentials = parser.add_argument_group("credentials (test credentials of this simulator only)")
    credentials.add_argument("--client-id", help="genesys: OAuth client id to accept (default: generated)")
    credentials.add_argument("--client-secret", help="genesys: OAuth client secret to accept (default: generated)")
    auth = credentials.add_mutually_exclusive_group()
    auth.add_argument("--token", help="generic: static bearer token to require (default: generated)")
    auth.add_argument("--no-auth", action="store_true", help="generic: accept requests without a token")
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Build the simulator settings from parsed options; raises ValueError on an invalid combination."""
    generic = args.profile == Profile.GENERIC.value
    bearer_token = None
    if generic and not args.no_auth:
        bearer_token = args.token or secrets.token_urlsafe(24)
    return SimulatorConfig(
        profile=Profile(args.profile),
        rate_limit_per_minute=args.rate_limit,
        rate_limit_window=args.rate_window,
        token_lifetime=args.token_lifetime,
        latency_ms=args.latency_ms,
        p503_before=args.p503,
        p500_after=args.p500_after,
        p_slow_after=args.p_slow,
        slow_seconds=args.slow_seconds,
        p_drop=args.p_drop,
        fault_scope=FaultScope(args.fault_scope),
        seed=args.seed,
        max_list_count=args.max_list_count,
        bulk_max_operations=args.bulk_max_operations,
        bulk_max_payload=args.bulk_max_payload,
        conflict_scim_type=args.conflict_scim_type,
        preload_count=args.preload,
        preload_inactive=args.preload_inactive,
        preload_file=args.preload_file,
        client_id=args.client_id,
        client_secret=args.client_secret,
        bearer_token=bearer_token,
    )


def describe(app: SimulatorApp, port: int) -> str:
    """Return the start-up banner: URLs, credentials and how to point scim-tui at the simulator."""
    config = app.config
    base = f"http://{HOST}:{port}"
    stored = len(app.storage.users())
    lines = [f"SCIM simulator, {config.profile} profile"]
    lines.append(f"  base URL     {base}")
    if app.genesys:
        lines += [
            f"  SCIM URL     {base}{GENESYS_PREFIXES[0]}",
            f"  login URL    {base}   (token endpoint {base}{TOKEN_PATH})",
            f"  client id    {config.client_id}",
            f"  secret       {config.client_secret}",
            f"  rate limit   {_limit_text(config)}",
            f"  users        {stored} preloaded",
            f"  fault seed   {app.faults.seed}",
            f"  admin        {base}/_admin/stats, /_admin/users, /_admin/config",
            "",
            "Test credentials of this simulator only. To provision with scim-tui:",
            f"  export GENESYS_API_URL={base}",
            f"  export GENESYS_LOGIN_URL={base}",
            f"  export GENESYS_CLIENT_ID={config.client_id}",
            f"  export GENESYS_CLIENT_SECRET={config.client_secret}",
            "  scim-tui run FILE --target genesys",
        ]
    else:
        scim_url = f"{base}{GENERIC_PREFIXES[0]}"
        lines += [
            f"  SCIM URL     {scim_url}",
            f"  token        {config.bearer_token or '(none: no authentication)'}",
            f"  rate limit   {_limit_text(config)}",
            f"  users        {stored} preloaded",
            f"  fault seed   {app.faults.seed}",
            f"  admin        {base}/_admin/stats, /_admin/users, /_admin/config",
            "",
            "To provision with scim-tui:",
        ]
        if config.bearer_token:
            lines.append(f"  export SCIM_TOKEN={config.bearer_token}")
        lines.append(f"  scim-tui run FILE --url {scim_url}")
    lines.append("")
    lines.append("Press ctrl+c to stop.")
    return "\n".join(lines)


def _limit_text(config: SimulatorConfig) -> str:
    if not config.rate_limit_per_minute:
        return "none"
    return f"{config.rate_limit_per_minute} requests per token per {config.rate_limit_window:g} s"


def simulate_main(argv: list[str]) -> int:
    """Run ``scim-tui simulate`` with ``argv`` (the options after ``simulate``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        app = SimulatorApp(config_from_args(args))
    except ValueError as error:
        print(f"scim-tui simulate: {error}", file=sys.stderr)
        return 2

    try:
        sock = bind_socket(args.port)
    except OSError as error:
        print(
            f"scim-tui simulate: cannot listen on {HOST}:{args.port}: {error.strerror or error}. "
            "Choose another --port, or --port 0 for a free one.",
            file=sys.stderr,
        )
        return 1

    port = sock.getsockname()[1]
    print(describe(app, port), flush=True)

    server = uvicorn.Server(uvicorn_config(app, args.http))
    try:
        # uvicorn handles SIGINT and SIGTERM itself when it runs on the main thread.
        asyncio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("simulator stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(simulate_main(sys.argv[1:]))
