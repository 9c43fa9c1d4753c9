"""The Genesys Cloud SCIM user extension as a scim2-models :class:`Extension`.

Genesys Cloud adds routing skills, routing languages and external ids to the
SCIM User under ``urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User``.
Combined with the enterprise extension, ``GenesysScimUser`` describes a
complete Genesys user so that payloads built by hand can be checked against
it (see :mod:`scim_tui.scim.payloads`).
"""

from __future__ import annotations

from typing import Annotated, Union

from scim2_models import URN, ComplexAttribute, EnterpriseUser, Extension, Required, User

from scim_tui.scim.payloads import GENESYS_USER_SCHEMA


class RoutingProficiency(ComplexAttribute):
    """A routing skill or language by name, with a proficiency from 0.0 to 5.0."""

    name: Annotated[str | None, Required.true] = None
    """The skill or language name; it must already exist in the organization (case-sensitive)."""

    proficiency: float | None = None


class GenesysExternalId(ComplexAttribute):
    """An identifier from another system, unique within its authority."""

    authority: Annotated[str | None, Required.true] = None
    value: Annotated[str | None, Required.true] = None


class GenesysUser(Extension):
    """The attributes Genesys Cloud adds to a SCIM User."""

    __schema__ = URN(GENESYS_USER_SCHEMA)

    routing_skills: list[RoutingProficiency] | None = None
    routing_languages: list[RoutingProficiency] | None = None
    external_ids: list[GenesysExternalId] | None = None


GenesysScimUser = User[Union[EnterpriseUser, GenesysUser]]
"""A SCIM User with the enterprise and Genesys extensions."""
