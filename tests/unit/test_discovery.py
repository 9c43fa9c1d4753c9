"""Unit tests of ServiceProviderConfig discovery: lenient reading, path fallbacks and the per-user default."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
import pytest
import respx

from scim_tui.engine.discovery import DiscoveryError, ServerCapabilities, discover, read_capabilities
from scim_tui.engine.job import choose_mode
from scim_tui.engine.settings import RunSettings
from scim_tui.targets.generic import GenericTarget
from tests.unit.test_engine_support import BASE_URL, RefreshableTarget

CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


class ConfigServer:
    """A server that returns the given responses by path, 404 for any other path, and records the paths requested."""

    def __init__(self, answers: dict[str, httpx.Response]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/scim/v2/")
        self.paths.append(path)
        answer = self.answers.get(path)
        if answer is None:
            return httpx.Response(404, json={"detail": "not found"})
        if isinstance(answer, list):
            return answer.pop(0)
        return answer


async def run_discovery(answers, target=None) -> tuple[ServerCapabilities, ConfigServer]:
    server = ConfigServer(answers)
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=BASE_URL).mock(side_effect=server.handle)
        async with httpx.AsyncClient() as client:
            capabilities = await discover(client, target or GenericTarget(BASE_URL))
    return capabilities, server


def config(**sections) -> dict:
    return {"schemas": [CONFIG_SCHEMA], **sections}


# ---------------------------------------------------------------- read_capabilities


def test_full_config_read():
    document = config(
        bulk={"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576},
        filter={"supported": True, "maxResults": 200},
    )

    capabilities = read_capabilities(document, "ServiceProviderConfig")

    assert capabilities.bulk_supported is True
    assert capabilities.max_operations == 1000
    assert capabilities.max_payload_size == 1048576
    assert capabilities.filter_supported is True
    assert capabilities.config_path == "ServiceProviderConfig"
    assert capabilities.mode == "bulk"


@pytest.mark.parametrize("supported", ["true", "True", " TRUE ", True])
def test_bulk_supported_as_string(supported):
    document = config(bulk={"supported": supported, "maxOperations": "100", "maxPayloadSize": "524288"})

    capabilities = read_capabilities(document, None)

    assert capabilities.bulk_supported is True
    assert capabilities.max_operations == 100
    assert capabilities.max_payload_size == 524288


@pytest.mark.parametrize("supported", ["false", "no", "", None, False, 0, "maybe"])
def test_bulk_not_clearly_supported(supported):
    capabilities = read_capabilities(config(bulk={"supported": supported, "maxOperations": 10}), None)
    assert capabilities.bulk_supported is False
    assert capabilities.mode == "per-user"


@pytest.mark.parametrize(
    "document",
    [config(), {}, config(bulk=None), config(bulk="yes"), config(bulk=[]), config(filter={"supported": True})],
    ids=["no-bulk", "empty", "bulk-null", "bulk-string", "bulk-list", "filter-only"],
)
def test_missing_bulk_means_per_user(document):
    capabilities = read_capabilities(document, "x")

    assert capabilities.bulk_supported is False
    assert capabilities.max_operations is None
    assert capabilities.max_payload_size is None
    assert capabilities.mode == "per-user"


def test_missing_fields_default():
    capabilities = read_capabilities(config(bulk={"supported": True}), None)

    assert capabilities.bulk_supported is True
    assert capabilities.max_operations is None
    assert capabilities.max_payload_size is None
    assert capabilities.filter_supported is True


@pytest.mark.parametrize("value", [0, -5, "many", None, [], "1,000"])
def test_unusable_limits_ignored(value):
    capabilities = read_capabilities(config(bulk={"supported": True, "maxOperations": value, "maxPayloadSize": value}), None)
    assert capabilities.max_operations is None
    assert capabilities.max_payload_size is None


def test_top_level_keys_any_case():
    document = {"Bulk": {"supported": True, "maxOperations": 5}, "FILTER": {"supported": "false"}}

    capabilities = read_capabilities(document, None)

    assert capabilities.bulk_supported is True
    assert capabilities.max_operations == 5
    assert capabilities.filter_supported is False


@pytest.mark.parametrize("document", [None, [], "text", 5])
def test_non_object_config_means_per_user(document):
    capabilities = read_capabilities(document, None)
    assert capabilities == ServerCapabilities(False, None, None, True, None)


# ---------------------------------------------------------------- discover


async def test_lowercase_path_after_404():
    answers = {"serviceproviderconfig": httpx.Response(200, json=config(bulk={"supported": "true", "maxOperations": "50"}))}

    capabilities, server = await run_discovery(answers)

    assert server.paths[:2] == ["ServiceProviderConfig", "serviceproviderconfig"]
    assert capabilities.bulk_supported is True
    assert capabilities.max_operations == 50
    assert capabilities.config_path == "serviceproviderconfig"


async def test_first_path_answer_used():
    answers = {"ServiceProviderConfig": httpx.Response(200, json=config(bulk={"supported": False}))}

    capabilities, server = await run_discovery(answers)

    assert server.paths[0] == "ServiceProviderConfig"
    assert "serviceproviderconfig" not in server.paths
    assert capabilities.mode == "per-user"
    assert capabilities.config_path == "ServiceProviderConfig"


async def test_no_config_falls_back_to_per_user():
    capabilities, server = await run_discovery({})

    assert capabilities.bulk_supported is False
    assert capabilities.mode == "per-user"
    assert capabilities.config_path is None
    assert set(GenericTarget(BASE_URL).service_provider_config_paths()) <= set(server.paths)


async def test_non_json_answer_tries_next_path():
    answers = {
        "ServiceProviderConfig": httpx.Response(200, text="<html>login page</html>"),
        "serviceproviderconfig": httpx.Response(200, json=config(bulk={"supported": True, "maxOperations": 20})),
    }

    capabilities, _ = await run_discovery(answers)

    assert capabilities.bulk_supported is True
    assert capabilities.config_path == "serviceproviderconfig"


async def test_server_error_tries_next_path():
    answers = {
        "ServiceProviderConfig": httpx.Response(500, text="oops"),
        "serviceproviderconfig": httpx.Response(200, json=config()),
    }

    capabilities, _ = await run_discovery(answers)

    assert capabilities.config_path == "serviceproviderconfig"
    assert capabilities.mode == "per-user"


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials_raise(status):
    answers = {"ServiceProviderConfig": httpx.Response(status, json={"detail": "no"})}
    target = GenericTarget(BASE_URL, SecretStr("static-token-value"))

    with pytest.raises(DiscoveryError, match=str(status)):
        await run_discovery(answers, target)


async def test_401_refreshes_then_reads():
    answers = {
        "ServiceProviderConfig": [
            httpx.Response(401, json={"detail": "expired"}),
            httpx.Response(200, json=config(bulk={"supported": True})),
        ]
    }
    target = RefreshableTarget()

    capabilities, server = await run_discovery(answers, target)

    assert target.refreshes == 1
    assert capabilities.bulk_supported is True
    assert server.paths[:2] == ["ServiceProviderConfig", "ServiceProviderConfig"]


async def test_unreachable_server_raises():
    with respx.mock() as router:
        router.route(url__startswith=BASE_URL).mock(side_effect=httpx.ConnectError("connection refused"))
        async with httpx.AsyncClient() as client:
            with pytest.raises(DiscoveryError, match="cannot reach"):
                await discover(client, GenericTarget(BASE_URL))


# ---------------------------------------------------------------- mode choice


def test_choose_mode():
    bulk = ServerCapabilities(True, 100, None, True, "ServiceProviderConfig")
    per_user = ServerCapabilities(False, None, None, True, None)

    assert choose_mode(bulk, RunSettings()) == "bulk"
    assert choose_mode(bulk, RunSettings(force_per_user=True)) == "per-user"
    assert choose_mode(per_user, RunSettings()) == "per-user"
