"""Resolution of input columns (CSV headers, JSON keys) to the SCIM attributes they set.

Files come from HR exports, spreadsheets and other tools, so their headers
vary: ``First Name``, ``first_name`` and ``givenName`` all mean the SCIM
``name.givenName``. A header is resolved in this order:

1. an explicit mapping (``--map`` or the mapping file), matched exactly and
   then case-insensitively;
2. a SCIM attribute path such as ``name.givenName``,
   ``emails[type eq "work"].value`` or an extension URN path;
3. the alias table below, compared after case folding and removing every
   character that is not a letter or a digit.

A column that none of these resolves is unknown: it is reported, never
silently dropped. The targets are the SCIM paths that the mapping syntax
accepts (see :data:`MAPPABLE_TARGETS`), plus a few internal ones, starting
with ``~``, for columns whose meaning depends on the rest of the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import re

from scim_tui.input.errors import MappingError

USER_NAME = "userName"
DISPLAY_NAME = "displayName"
GIVEN_NAME = "name.givenName"
FAMILY_NAME = "name.familyName"
TITLE = "title"
ACTIVE = "active"
EXTERNAL_ID = "externalId"
EMAIL = "emails.work"
DEPARTMENT = "enterprise.department"
DIVISION = "enterprise.division"
EMPLOYEE_NUMBER = "enterprise.employeeNumber"
MANAGER = "enterprise.manager"
ROUTING_SKILLS = "genesys.routingSkills"
ROUTING_LANGUAGES = "genesys.routingLanguages"
EXTERNAL_IDS = "genesys.externalIds"
ROLES = "roles"
IGNORE = "ignore"

PHONE_TYPES = ("work", "work2", "work3", "work4", "home", "mobile", "other")
PHONE_TARGETS = {f"phoneNumbers.{phone_type}": phone_type for phone_type in PHONE_TYPES}

# Internal targets. EMAIL_OR_USER_NAME is an email column that becomes the
# userName when the row has no userName column, and the work email otherwise.
EMAIL_OR_USER_NAME = "~emailOrUserName"
NAME_TO_SPLIT = "~nameToSplit"
PHONE_EXTENSION = "~phoneExtension"
ROLES_WITH_DIVISIONS = "~rolesWithDivisions"
UNSUPPORTED = "~unsupported"

MAPPABLE_TARGETS: tuple[str, ...] = (
    USER_NAME,
    DISPLAY_NAME,
    GIVEN_NAME,
    FAMILY_NAME,
    TITLE,
    ACTIVE,
    EXTERNAL_ID,
    EMAIL,
    *PHONE_TARGETS,
    DEPARTMENT,
    DIVISION,
    EMPLOYEE_NUMBER,
    MANAGER,
    ROUTING_SKILLS,
    ROUTING_LANGUAGES,
    EXTERNAL_IDS,
    ROLES,
    IGNORE,
)

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GENESYS_URN = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"

_LOCATION = (
    "Genesys Cloud's SCIM API cannot set a user's work location, so this column is ignored in every row",
    "Assign work locations in Genesys Cloud, in the admin UI or with the Users API, after the users are created",
)

# Reason and fix for each column of the Genesys CSV import that its SCIM API cannot set.
UNSUPPORTED_REASONS = {
    "locationwork": _LOCATION,
    "location": _LOCATION,
    "queues": (
        "queue membership is not a user attribute in Genesys Cloud's SCIM API, so this column is ignored in every row",
        "Add the users to queues in Genesys Cloud, in the admin UI or with the Routing API, after they are created",
    ),
}

# Normalized header (case folded, letters and digits only) -> target.
ALIASES: dict[str, str] = {
    "username": USER_NAME,
    "userprincipalname": USER_NAME,
    "login": USER_NAME,
    "loginname": USER_NAME,
    "email": EMAIL_OR_USER_NAME,
    "mail": EMAIL_OR_USER_NAME,
    "emailaddress": EMAIL_OR_USER_NAME,
    "workemail": EMAIL_OR_USER_NAME,
    "emailwork": EMAIL_OR_USER_NAME,
    "primaryemail": EMAIL_OR_USER_NAME,
    "givenname": GIVEN_NAME,
    "firstname": GIVEN_NAME,
    "first": GIVEN_NAME,
    "forename": GIVEN_NAME,
    "familyname": FAMILY_NAME,
    "lastname": FAMILY_NAME,
    "surname": FAMILY_NAME,
    "last": FAMILY_NAME,
    "displayname": DISPLAY_NAME,
    "name": DISPLAY_NAME,
    "fullname": DISPLAY_NAME,
    "title": TITLE,
    "jobtitle": TITLE,
    "department": DEPARTMENT,
    "dept": DEPARTMENT,
    "division": DIVISION,
    "employeenumber": EMPLOYEE_NUMBER,
    "employeeid": EMPLOYEE_NUMBER,
    "employeeno": EMPLOYEE_NUMBER,
    "manager": MANAGER,
    "manageremail": MANAGER,
    "managerid": MANAGER,
    "managerusername": MANAGER,
    "emailmanager": MANAGER,
    "active": ACTIVE,
    "enabled": ACTIVE,
    "status": ACTIVE,
    "externalid": EXTERNAL_ID,
    "phone": "phoneNumbers.work",
    "phonenumber": "phoneNumbers.work",
    "workphone": "phoneNumbers.work",
    "phonework": "phoneNumbers.work",
    "telephone": "phoneNumbers.work",
    "telephonenumber": "phoneNumbers.work",
    "businessphone": "phoneNumbers.work",
    "officephone": "phoneNumbers.work",
    "deskphone": "phoneNumbers.work",
    "workphone2": "phoneNumbers.work2",
    "phonework2": "phoneNumbers.work2",
    "workphone3": "phoneNumbers.work3",
    "phonework3": "phoneNumbers.work3",
    "workphone4": "phoneNumbers.work4",
    "phonework4": "phoneNumbers.work4",
    "mobile": "phoneNumbers.mobile",
    "mobilephone": "phoneNumbers.mobile",
    "mobilenumber": "phoneNumbers.mobile",
    "phonemobile": "phoneNumbers.mobile",
    "cell": "phoneNumbers.mobile",
    "cellphone": "phoneNumbers.mobile",
    "homephone": "phoneNumbers.home",
    "phonehome": "phoneNumbers.home",
    "otherphone": "phoneNumbers.other",
    "phoneother": "phoneNumbers.other",
    "extension": PHONE_EXTENSION,
    "routingskills": ROUTING_SKILLS,
    "skills": ROUTING_SKILLS,
    "routinglanguages": ROUTING_LANGUAGES,
    "languages": ROUTING_LANGUAGES,
    "roles": ROLES,
    "rolesdivisions": ROLES_WITH_DIVISIONS,
    "externalids": EXTERNAL_IDS,
    "locationwork": UNSUPPORTED,
    "location": UNSUPPORTED,
    "queues": UNSUPPORTED,
}

# The headers that userName may have, as the error for a missing userName column lists them.
USER_NAME_HEADERS = "userName, user_name, username, login, email, mail, e-mail, emailAddress"

# Columns that only the Genesys Cloud admin CSV import uses, normalized. Its full layout is
# name,email,phone_work,extension,title,department,email_manager,location_work,roles_divisions,queues,division,skills.
_GENESYS_MARKERS = frozenset({"phonework", "emailmanager", "locationwork", "rolesdivisions", "queues"})

_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_FILTER = re.compile(r'\[\s*type\s+eq\s+"?([A-Za-z0-9]+)"?\s*\]', re.IGNORECASE)
_INDEX = re.compile(r"\[\s*\d+\s*\]")


def normalize_header(header: str) -> str:
    """Fold case and drop everything but letters and digits: ``E-Mail Address`` becomes ``emailaddress``."""
    return _NOT_ALPHANUMERIC.sub("", header.casefold())


def _canonical_paths() -> dict[str, str]:
    paths = {target.casefold(): target for target in MAPPABLE_TARGETS}
    for target in MAPPABLE_TARGETS:
        prefix, _, attribute = target.partition(".")
        if prefix in ("enterprise", "genesys"):
            urn = ENTERPRISE_URN if prefix == "enterprise" else GENESYS_URN
            paths[f"{urn}:{attribute}".casefold()] = target
    paths["emails"] = EMAIL
    paths["emails.value"] = EMAIL
    paths["enterprise.manager.value"] = MANAGER
    paths[f"{ENTERPRISE_URN}:manager.value".casefold()] = MANAGER
    paths["roles.value"] = ROLES
    return paths


_CANONICAL_PATHS = _canonical_paths()


def parse_target(path: str) -> str:
    """Return the target for a SCIM path written in a mapping or a header, or raise MappingError.

    Accepts the short forms of :data:`MAPPABLE_TARGETS` in any case, the
    extension URN forms (``urn:...:enterprise:2.0:User:department``) and
    filtered forms (``phoneNumbers[type eq "mobile"].value``).
    """
    text = path.strip()
    text = _FILTER.sub(lambda match: "." + match.group(1), text)
    text = _INDEX.sub("", text)
    key = text.casefold()
    if key.endswith(".value") and key not in _CANONICAL_PATHS:
        key = key.removesuffix(".value")
    target = _CANONICAL_PATHS.get(key)
    if target is None:
        raise MappingError(
            f"unknown SCIM path {path!r}. Use one of: {', '.join(MAPPABLE_TARGETS)} (see docs/input.md)"
        )
    return target


def _looks_like_path(header: str) -> bool:
    return "." in header or "[" in header or header.casefold().startswith("urn:")


@dataclass(slots=True, frozen=True)
class ColumnResolver:
    """Resolves headers (CSV) and keys (JSON) to targets, with the explicit mapping first."""

    mapping: dict[str, str]
    genesys_layout: bool = False

    def resolve(self, header: str) -> str | None:
        """Return the target of ``header``, or None when the column is unknown."""
        target = self.mapping.get(header)
        if target is not None:
            return target
        folded = header.strip().casefold()
        for column, mapped in self.mapping.items():
            if column.strip().casefold() == folded:
                return mapped

        if _looks_like_path(header):
            try:
                return parse_target(header)
            except MappingError:
                pass

        normalized = normalize_header(header)
        if self.genesys_layout and normalized == "name":
            return NAME_TO_SPLIT
        return ALIASES.get(normalized)


def is_genesys_layout(headers: Iterable[str]) -> bool:
    """Tell whether a CSV header is the Genesys Cloud admin import layout.

    It is when it has ``name`` and ``email`` and at least one column that
    only that layout uses, such as ``phone_work`` or ``roles_divisions``.
    """
    normalized = {normalize_header(header) for header in headers}
    return {"name", "email"} <= normalized and bool(normalized & _GENESYS_MARKERS)
