"""The resources, schemas and ServiceProviderConfig each simulator profile serves.

Both profiles build their provider from scim2-models' static ``User``,
``EnterpriseUser`` and ``Group`` models, which validate faster than models
built from schema JSON at run time.

The genesys profile serves Users only, at the lowercase endpoint ``/users``,
and announces no Bulk. Users carry the enterprise extension and the Genesys
extension ``urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User``
(routingSkills, routingLanguages, externalIds), with the same model the
client checks its payloads with. Skill and language names are stored without
checking that they exist, although Genesys checks them.

The generic profile serves Users and Groups as scim2-server's defaults do,
with Bulk limited by the configured maxOperations and maxPayloadSize.
"""

from __future__ import annotations

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    External,
    Filter,
    Group,
    Patch,
    Reference,
    ResourceType,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from scim_tui.scim.genesys_schema import GenesysUser
from scim_tui.simulator.config import SimulatorConfig

BEARER_SCHEME = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="OAuth Bearer Token",
    description="Authentication with an OAuth bearer token",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
    primary=True,
)


def build_provider(config: SimulatorConfig) -> ScimProvider:
    """Build the scim2-models provider that describes the profile of ``config``."""
    if config.is_genesys:
        return _genesys_provider(config)
    return _generic_provider(config)


def _genesys_provider(config: SimulatorConfig) -> ScimProvider:
    users = ResourceType.from_resource(User[EnterpriseUser | GenesysUser]).model_copy(
        update={"endpoint": "/users", "description": "Genesys Cloud users"}
    )
    service_provider_config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=config.max_list_count or None),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[BEARER_SCHEME],
    )
    return ScimProvider(
        models=[User, EnterpriseUser, GenesysUser],
        resource_types=[users],
        config=service_provider_config,
    )


def _generic_provider(config: SimulatorConfig) -> ScimProvider:
    users = ResourceType.from_resource(User[EnterpriseUser])
    groups = ResourceType.from_resource(Group)
    service_provider_config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=config.bulk_max_operations,
            max_payload_size=config.bulk_max_payload,
        ),
        filter=Filter(supported=True, max_results=config.max_list_count or 1000),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[BEARER_SCHEME] if config.bearer_token else [],
    )
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[users, groups],
        config=service_provider_config,
    )


def apply_runtime_limits(service_config: ServiceProviderConfig, config: SimulatorConfig) -> None:
    """Update the published ServiceProviderConfig after a runtime change of list or Bulk limits."""
    if service_config.filter is not None:
        if config.is_genesys:
            service_config.filter.max_results = config.max_list_count or None
        else:
            service_config.filter.max_results = config.max_list_count or 1000

    if service_config.bulk is not None and service_config.bulk.supported:
        service_config.bulk.max_operations = config.bulk_max_operations
        service_config.bulk.max_payload_size = config.bulk_max_payload
