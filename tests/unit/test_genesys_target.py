"""Unit tests of the Genesys Cloud target and the region table, with a mocked token endpoint."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr
import pytest
import respx

from scim_tui.config import ConfigError
from scim_tui.targets import regions
from scim_tui.targets.base import CredentialsRejected, Target
from scim_tui.targets.genesys import GenesysTarget

SECRET = "k3Y_s3cret-value+/="
TOKEN_URL = "https://login.mypurecloud.ie/oauth/token"

# The region table of Genesys Cloud's SDK documentation, typed out independently of the module under test.
GENESYS_REGIONS = [
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
]


def make_target(**overrides) -> GenesysTarget:
    arguments = {
        "api_url": "https://api.mypurecloud.ie",
        "login_url": "https://login.mypurecloud.ie",
        "client_id": "client-1",
        "client_secret": SecretStr(SECRET),
        "region": "eu-west-1",
    }
    arguments.update(overrides)
    return GenesysTarget(**arguments)


def numbered_tokens():
    issued = 0

    def issue(request: httpx.Request) -> httpx.Response:
        nonlocal issued
        issued += 1
        return httpx.Response(200, json={"access_token": f"token-{issued}", "expires_in": 86400})

    return issue


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as http_client:
        yield http_client


def test_region_table_complete():
    assert dict(regions.REGIONS) == dict(GENESYS_REGIONS)


@pytest.mark.parametrize(("region", "domain"), GENESYS_REGIONS)
def test_region_name_resolves(region, domain):
    assert regions.resolve_domain(region) == domain
    assert regions.resolve_domain(domain) == domain
    assert regions.region_of_domain(domain) == region


@pytest.mark.parametrize(("region", "domain"), GENESYS_REGIONS)
def test_region_hosts(region, domain):
    assert regions.api_url(regions.resolve_domain(region)) == f"https://api.{domain}"
    assert regions.login_url(regions.resolve_domain(region)) == f"https://login.{domain}"


@pytest.mark.parametrize(
    "value",
    [
        "eu-west-1",
        " EU-WEST-1 ",
        "eu_west_1",
        "mypurecloud.ie",
        "MyPureCloud.IE",
        "mypurecloud.ie.",
        "api.mypurecloud.ie",
        "login.mypurecloud.ie",
        "apps.mypurecloud.ie",
        "https://api.mypurecloud.ie",
        "https://login.mypurecloud.ie/oauth/token",
        "https://apps.mypurecloud.ie/directory/#/admin",
        "api.mypurecloud.ie:443",
        "mypurecloud.ie/",
    ],
)
def test_region_lenient_inputs(value):
    assert regions.resolve_domain(value) == "mypurecloud.ie"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "eu-west-9",
        "mypurecloud.fr",
        "api.example.com",
        "pure.cloud",
        "https://[::1",
        "evil.mypurecloud.ie.example.com",
    ],
)
def test_region_unknown_rejected(value):
    with pytest.raises(ValueError) as caught:
        regions.resolve_domain(value)

    message = str(caught.value)
    assert "eu-west-1" in message
    assert "ap-southeast-1" in message
    assert "GENESYS_API_URL" in message


def test_unknown_region_named_in_error():
    with pytest.raises(ValueError, match="'eu-west-9'"):
        regions.resolve_domain("eu-west-9")


def test_target_class_attributes():
    target = make_target()

    assert isinstance(target, Target)
    assert target.kind == "genesys"
    assert target.users_path == "users"
    assert target.max_page_size == 25
    assert target.user_name_is_email is True


def test_target_urls():
    target = make_target()

    assert target.base_url == "https://api.mypurecloud.ie/api/v2/scim/v2"
    assert target.oauth.token_url == TOKEN_URL


@pytest.mark.parametrize(
    ("api_url", "login_url"),
    [
        ("https://api.mypurecloud.ie/", "https://login.mypurecloud.ie/"),
        ("https://api.mypurecloud.ie/api/v2/scim/v2/", "https://login.mypurecloud.ie/oauth/token"),
        ("api.mypurecloud.ie", "login.mypurecloud.ie"),
    ],
)
def test_target_url_forms_accepted(api_url, login_url):
    target = make_target(api_url=api_url, login_url=login_url)

    assert target.base_url == "https://api.mypurecloud.ie/api/v2/scim/v2"
    assert target.oauth.token_url == TOKEN_URL


def test_target_loopback_http_allowed():
    target = make_target(api_url="http://127.0.0.1:8123", login_url="http://localhost:8123")

    assert target.base_url == "http://127.0.0.1:8123/api/v2/scim/v2"
    assert target.oauth.token_url == "http://localhost:8123/oauth/token"


def test_target_remote_http_rejected():
    with pytest.raises(ConfigError, match="plain http://"):
        make_target(api_url="http://api.mypurecloud.ie")
    with pytest.raises(ConfigError, match="plain http://"):
        make_target(login_url="http://login.mypurecloud.ie")


def test_target_remote_http_allowed_explicitly():
    target = make_target(
        api_url="http://proxy.example.net", login_url="http://proxy.example.net", allow_insecure_http=True
    )

    assert target.base_url == "http://proxy.example.net/api/v2/scim/v2"


def test_lookup_filters_find_inactive_users():
    target = make_target()

    assert target.lookup_filters('ana."quoted"@example.com') == [
        'userName eq "ana.\\"quoted\\"@example.com"',
        'userName eq "ana.\\"quoted\\"@example.com" and active eq false',
    ]


def test_service_provider_config_lowercase_first():
    paths = make_target().service_provider_config_paths()

    assert paths[0] == "serviceproviderconfig"
    assert "ServiceProviderConfig" in paths
    assert len(paths) == len(set(paths))


def test_describe_has_no_secret():
    target = make_target()

    description = target.describe()

    assert description == {
        "kind": "genesys",
        "base_url": "https://api.mypurecloud.ie/api/v2/scim/v2",
        "region": "eu-west-1",
        "api_host": "api.mypurecloud.ie",
        "login_host": "login.mypurecloud.ie",
        "token_url": TOKEN_URL,
        "client_id": "client-1",
    }
    assert SECRET not in repr(target)
    assert SECRET not in str(description)


@respx.mock
async def test_auth_headers_carry_bearer_token(client):
    route = respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    target = make_target()

    first = await target.auth_headers(client)
    second = await target.auth_headers(client)

    assert first == {"Authorization": "Bearer token-1"}
    assert second == first
    assert route.call_count == 1


@respx.mock
async def test_refresh_credentials_once_for_same_token(client):
    route = respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    target = make_target()
    rejected = await target.auth_headers(client)

    outcomes = await asyncio.gather(*(target.refresh_credentials(client, rejected) for _ in range(50)))
    fresh = await target.auth_headers(client)

    assert outcomes == [True] * 50
    assert route.call_count == 2
    assert fresh == {"Authorization": "Bearer token-2"}


@respx.mock
async def test_refresh_credentials_with_replaced_token(client):
    route = respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    target = make_target()
    old = await target.auth_headers(client)
    await target.refresh_credentials(client, old)

    # A request that was sent with token-1 before the refresh comes back 401 only now.
    assert await target.refresh_credentials(client, old) is True
    assert route.call_count == 2
    assert await target.auth_headers(client) == {"Authorization": "Bearer token-2"}


@respx.mock
async def test_refresh_credentials_rejected_client(client):
    respx.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(200, json={"access_token": "t", "expires_in": 60}), httpx.Response(401)]
    )
    target = make_target()
    headers = await target.auth_headers(client)

    with pytest.raises(CredentialsRejected) as caught:
        await target.refresh_credentials(client, headers)

    assert "login.mypurecloud.ie" in str(caught.value)
    assert SECRET not in str(caught.value)


@respx.mock
async def test_on_refresh_setter_forwards(client):
    respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    target = make_target()
    seen: list[tuple[str, float | None]] = []
    target.on_refresh = lambda reason, expires_in: seen.append((reason, expires_in))

    headers = await target.auth_headers(client)
    await target.refresh_credentials(client, headers)

    assert seen == [("initial", 86400.0), ("rejected", 86400.0)]
    assert target.oauth.on_refresh is target.on_refresh
