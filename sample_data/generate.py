"""Generate the sample user files: a contact-centre company of about two thousand people.

The files contain what real HR exports contain: names from many cultures and
scripts, mixed-case email addresses, ``+tag`` addresses, phone numbers in E.164
and as tel URIs with an extension, and routing skills and languages with
proficiencies. Some users are inactive and some have no display name. A known
set of invalid rows and case-insensitive duplicates sits at fixed rows.

The output is deterministic: a seeded ``random.Random`` drives every choice, so
running the script twice writes identical bytes. Only the standard library is
used, so the script runs without the project installed.

Usage::

    python sample_data/generate.py             # write users.csv and users.json next to this script
    python sample_data/generate.py --check     # exit 1 if the files on disk differ from a fresh run

Row numbers below follow a spreadsheet's view of ``users.csv``: the header is
row 1 and the first user is row 2. In ``users.json`` the same user is at
array index ``row - 2``. Phone numbers come from ranges reserved for fiction
(NANP 555-0100 to 555-0199, Ofcom's 020 7946 0xxx and 07700 900xxx, ACMA's
02 5550 xxxx and a few of its 0491 570 xxx mobiles), and every address is at
example.com, example.org or example.net.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
import random
import sys
from typing import NamedTuple
import unicodedata
import uuid

SEED = 20_240_611

COLUMNS = (
    "userName",
    "givenName",
    "familyName",
    "displayName",
    "email",
    "title",
    "department",
    "division",
    "employeeNumber",
    "manager",
    "active",
    "externalId",
    "workPhone",
    "mobilePhone",
    "routingSkills",
    "routingLanguages",
)

#: Number of valid, unique users. Every row not listed below is one of them.
VALID_USERS = 2_080


class InvalidRow(NamedTuple):
    row: int
    column: str
    problem: str


class DuplicateRow(NamedTuple):
    row: int
    original_row: int


INVALID_ROWS = (
    InvalidRow(66, "userName", "address without @"),
    InvalidRow(233, "workPhone", "letters in the phone number"),
    InvalidRow(409, "routingSkills", "proficiency 7, above the maximum of 5"),
    InvalidRow(590, "userName", "missing"),
    InvalidRow(761, "active", "'maybe' is not a boolean"),
    InvalidRow(940, "displayName", "BEL control character"),
    InvalidRow(1117, "userName", "address with two @"),
    InvalidRow(1299, "routingLanguages", "proficiency -1, below the minimum of 0"),
    InvalidRow(1473, "mobilePhone", "letters in the phone number"),
    InvalidRow(1650, "routingSkills", "proficiency 'high' is not a number"),
    InvalidRow(1822, "title", "ESC control characters"),
    InvalidRow(1999, "userName", "domain without a dot"),
)

DUPLICATE_ROWS = (
    DuplicateRow(141, 12),
    DuplicateRow(366, 205),
    DuplicateRow(688, 687),
    DuplicateRow(905, 63),
    DuplicateRow(1188, 1021),
    DuplicateRow(1404, 1403),
    DuplicateRow(1730, 999),
    DuplicateRow(2071, 1580),
)

#: The person in each invalid row, in the order of INVALID_ROWS.
INVALID_ROW_PEOPLE = (
    ("María", "López"),
    ("Tomás", "Dvořák"),
    ("Ayşe", "Kılıç"),
    ("Zoë", "Ørsted"),
    ("Pádraig", "Ó Briain"),
    ("Çağla", "Çelik"),
    ("Kenji", "Tanaka"),
    ("Thị Lan", "Nguyễn"),
    ("Björn", "Åberg"),
    ("Hélène", "Côté"),
    ("Małgorzata", "Wiśniewska"),
    ("Li", "Wei"),
)

TOTAL_ROWS = VALID_USERS + len(INVALID_ROWS) + len(DUPLICATE_ROWS)
FIRST_ROW = 2

OUTPUT_DIRECTORY = Path(__file__).resolve().parent
CSV_NAME = "users.csv"
JSON_NAME = "users.json"


class Name(NamedTuple):
    """One given name or family name, in its own script and as ASCII letters for the address."""

    native: str
    latin: str
    gender: str = ""
    """"m" or "f" where the family name agrees with it (Russian, Greek, Polish), else empty."""


class Culture(NamedTuple):
    language: str
    given: tuple[Name, ...]
    family: tuple[tuple[Name, Name], ...]
    """Pairs of (masculine, feminine) family names, the same name twice where the language does not inflect it."""
    family_first: bool = False
    """Whether the display name puts the family name first (Chinese, Japanese, Korean, Vietnamese)."""
    spaced: bool = True
    """Whether the display name separates the names with a space."""
    latin_script: bool = True


def _latin(names: str, gender: str = "") -> tuple[Name, ...]:
    """Build names in Latin script, whose ASCII form is derived when the address is made."""
    return tuple(Name(name, name, gender) for name in names.split("|"))


def _same(names: str) -> tuple[tuple[Name, Name], ...]:
    return tuple((name, name) for name in _latin(names))


def _script(entries: str) -> tuple[Name, ...]:
    """Build names in another script from ``native=latin`` entries separated by ``|``."""
    return tuple(Name(*entry.split("=")) for entry in entries.split("|"))


def _script_family(entries: str) -> tuple[tuple[Name, Name], ...]:
    return tuple((name, name) for name in _script(entries))


def _gendered(*entries: tuple[str, str, str]) -> tuple[Name, ...]:
    return tuple(Name(native, latin, gender) for native, latin, gender in entries)


CULTURES: dict[str, Culture] = {
    "english": Culture(
        "English",
        _latin("James|Olivia|Liam|Emily|Zoë|Renée|Michael|Sarah|David|Jessica|Daniel|Hannah|Chris|Megan|Tyler|Ashley"),
        _same("Smith|Johnson|Williams|Brown|Taylor|O'Brien|Murphy|MacDonald|Walker|Wright|Thompson|Evans|Hughes|Clarke"),
    ),
    "irish": Culture(
        "Irish",
        _latin("Aoife|Siobhán|Seán|Niamh|Oisín|Pádraig|Ciarán|Saoirse|Éabha|Darragh"),
        _same("Ó Súilleabháin|Ní Bhriain|Kelly|Byrne|Ryan|Ó Briain|Doyle|McCarthy|Gallagher|Ní Dhónaill"),
    ),
    "spanish": Culture(
        "Spanish",
        _latin("José|María|Lucía|Sofía|Martín|Andrés|Íñigo|Nuria|Javier|Carmen|Alejandro|Valentina|Raúl|Mónica"),
        _same(
            "Núñez|García|Fernández|Rodríguez|López|Martínez|Gómez|Peña|Muñoz|Ibáñez|"
            "García Márquez|Hernández"
        ),
    ),
    "portuguese": Culture(
        "Portuguese",
        _latin("João|Conceição|Luís|Ana|Gonçalo|Thiago|Letícia|Beatriz|Vinícius|Inês|Rafael|Luana"),
        _same("Gonçalves|Araújo|Simões|Magalhães|Souza|Silva|Pereira|Oliveira|Conceição|Brandão|Figueiredo"),
    ),
    "french": Culture(
        "French",
        _latin("François|Hélène|Chloé|Benoît|Élodie|Gaëlle|Noël|Mathilde|Jérôme|Anaïs|Étienne|Céline"),
        _same("Lefèvre|Dupré|Bélanger|Gagné|Côté|Lévesque|Moreau|Girard|Fontaine|Bouchard|Tremblay"),
    ),
    "german": Culture(
        "German",
        _latin("Jürgen|Jörg|Käthe|Lena|Björn|Günther|Lukas|Anja|Maximilian|Sophie|Matthias|Jana"),
        _same("Müller|Schröder|Weiß|Groß|Köhler|Schäfer|Wagner|Becker|Hoffmann|Krüger|Fuchs"),
    ),
    "nordic": Culture(
        "Danish",
        _latin("Søren|Åsa|Ørjan|Ingrid|Sigrún|Mikkel|Astrid|Freja|Magnús|Linnéa"),
        _same("Ørsted|Sørensen|Åberg|Lindqvist|Jóhannsdóttir|Nielsen|Hansen|Bjørnstad|Ekström"),
    ),
    "turkish": Culture(
        "Turkish",
        _latin("Çağla|Şule|Emre|Gökhan|İlker|Ayşe|Burak|Elif|Oğuz|Zeynep"),
        _same("Çelik|Yılmaz|Öztürk|Şahin|Doğan|Kılıç|Aydın|Arslan|Güneş"),
    ),
    "polish": Culture(
        "Polish",
        _latin("Łukasz|Wojciech|Paweł|Krzysztof", "m") + _latin("Małgorzata|Agnieszka|Zofia|Katarzyna", "f"),
        tuple(
            (Name(masculine, masculine, "m"), Name(feminine, feminine, "f"))
            for masculine, feminine in (
                ("Wiśniewski", "Wiśniewska"),
                ("Kowalczyk", "Kowalczyk"),
                ("Nowak", "Nowak"),
                ("Zieliński", "Zielińska"),
                ("Wójcik", "Wójcik"),
                ("Dąbrowski", "Dąbrowska"),
            )
        ),
    ),
    "vietnamese": Culture(
        "Vietnamese",
        _latin("Thảo|Minh|Hương|Quốc|Anh|Đức|Lan|Tuấn|Ngọc|Hải"),
        _same("Nguyễn|Trần|Lê|Phạm|Hoàng|Đặng|Vũ|Bùi|Đỗ"),
        family_first=True,
    ),
    "filipino": Culture(
        "Tagalog",
        _latin("Angelica|Mark Anthony|Kristine|Jerome|Ma. Theresa|Rowena|Jericho|Maricel|John Paul|Liezl"),
        _same("Dela Cruz|Santos|Reyes|Bautista|Villanueva|Mendoza|Garcia|Castillo|De los Santos|Aquino"),
    ),
    "russian": Culture(
        "Russian",
        _gendered(
            ("Дмитрий", "Dmitry", "m"),
            ("Сергей", "Sergey", "m"),
            ("Алексей", "Alexey", "m"),
            ("Андрей", "Andrey", "m"),
            ("Анна", "Anna", "f"),
            ("Екатерина", "Ekaterina", "f"),
            ("Ольга", "Olga", "f"),
            ("Наталья", "Natalya", "f"),
        ),
        tuple(
            (Name(masculine, masculine_latin, "m"), Name(feminine, feminine_latin, "f"))
            for masculine, masculine_latin, feminine, feminine_latin in (
                ("Иванов", "Ivanov", "Иванова", "Ivanova"),
                ("Смирнов", "Smirnov", "Смирнова", "Smirnova"),
                ("Кузнецов", "Kuznetsov", "Кузнецова", "Kuznetsova"),
                ("Попов", "Popov", "Попова", "Popova"),
                ("Соколов", "Sokolov", "Соколова", "Sokolova"),
                ("Волков", "Volkov", "Волкова", "Volkova"),
            )
        ),
        latin_script=False,
    ),
    "greek": Culture(
        "Greek",
        _gendered(
            ("Γιώργος", "Giorgos", "m"),
            ("Νίκος", "Nikos", "m"),
            ("Δημήτρης", "Dimitris", "m"),
            ("Κώστας", "Kostas", "m"),
            ("Μαρία", "Maria", "f"),
            ("Ελένη", "Eleni", "f"),
            ("Κατερίνα", "Katerina", "f"),
            ("Σοφία", "Sofia", "f"),
        ),
        tuple(
            (Name(masculine, masculine_latin, "m"), Name(feminine, feminine_latin, "f"))
            for masculine, masculine_latin, feminine, feminine_latin in (
                ("Παπαδόπουλος", "Papadopoulos", "Παπαδοπούλου", "Papadopoulou"),
                ("Οικονόμου", "Oikonomou", "Οικονόμου", "Oikonomou"),
                ("Γεωργίου", "Georgiou", "Γεωργίου", "Georgiou"),
                ("Νικολάου", "Nikolaou", "Νικολάου", "Nikolaou"),
                ("Βασιλείου", "Vasileiou", "Βασιλείου", "Vasileiou"),
            )
        ),
        latin_script=False,
    ),
    "chinese": Culture(
        "Mandarin",
        _script("伟=Wei|芳=Fang|静=Jing|磊=Lei|秀英=Xiuying|浩然=Haoran|丽=Li|军=Jun"),
        _script_family("王=Wang|李=Li|张=Zhang|刘=Liu|陈=Chen|杨=Yang|黄=Huang|赵=Zhao"),
        family_first=True,
        spaced=False,
        latin_script=False,
    ),
    "japanese": Culture(
        "Japanese",
        _script("翔太=Shota|陽菜=Hina|健=Ken|さくら=Sakura|大輔=Daisuke|美咲=Misaki|蓮=Ren|結衣=Yui"),
        _script_family("佐藤=Sato|鈴木=Suzuki|高橋=Takahashi|田中=Tanaka|渡辺=Watanabe|伊藤=Ito"),
        family_first=True,
        latin_script=False,
    ),
    "korean": Culture(
        "Korean",
        _script("민준=Minjun|서연=Seoyeon|지훈=Jihoon|하은=Haeun|도윤=Doyoon|수아=Sua"),
        _script_family("김=Kim|이=Lee|박=Park|최=Choi|정=Jung"),
        family_first=True,
        spaced=False,
        latin_script=False,
    ),
    "arabic": Culture(
        "Arabic",
        _gendered(
            ("محمد", "Mohammed", "m"),
            ("أحمد", "Ahmed", "m"),
            ("يوسف", "Youssef", "m"),
            ("عمر", "Omar", "m"),
            ("فاطمة", "Fatima", "f"),
            ("ليلى", "Layla", "f"),
            ("نور", "Nour", "f"),
            ("مريم", "Mariam", "f"),
        ),
        _script_family("العلي=Al-Ali|حداد=Haddad|منصور=Mansour|الخطيب=Al-Khatib|سليمان=Suleiman"),
        latin_script=False,
    ),
    "indian": Culture(
        "Hindi",
        _gendered(
            ("प्रिया", "Priya", "f"),
            ("अनन्या", "Ananya", "f"),
            ("दीपिका", "Deepika", "f"),
            ("राहुल", "Rahul", "m"),
            ("अर्जुन", "Arjun", "m"),
            ("विक्रम", "Vikram", "m"),
        ),
        _script_family("शर्मा=Sharma|वर्मा=Verma|पटेल=Patel|गुप्ता=Gupta|सिंह=Singh|अय्यर=Iyer"),
        latin_script=False,
    ),
}


class Site(NamedTuple):
    division: str
    domain: str
    share: float
    """Share of the agent population."""
    cultures: tuple[tuple[str, int], ...]
    """Culture names with their weights."""
    phone_plan: str


SITES = (
    Site(
        "North America",
        "example.com",
        0.40,
        (
            ("english", 45), ("spanish", 20), ("french", 8), ("chinese", 6), ("indian", 6),
            ("vietnamese", 5), ("korean", 3), ("arabic", 3), ("filipino", 4),
        ),
        "nanp",
    ),
    Site(
        "EMEA",
        "example.com",
        0.25,
        (
            ("english", 14), ("irish", 11), ("german", 12), ("french", 10), ("spanish", 8), ("portuguese", 6), ("polish", 8),
            ("turkish", 8), ("nordic", 6), ("greek", 5), ("russian", 5), ("arabic", 5), ("indian", 3),
        ),
        "uk",
    ),
    Site(
        "APAC",
        "example.org",
        0.20,
        (
            ("filipino", 35), ("english", 15), ("chinese", 12), ("japanese", 10), ("korean", 6),
            ("indian", 10), ("vietnamese", 8),
        ),
        "au",
    ),
    Site(
        "LATAM",
        "example.net",
        0.15,
        (("spanish", 55), ("portuguese", 35), ("english", 5), ("japanese", 2)),
        "nanp-extension",
    ),
)

HOME = Site(
    "Home",
    "example.com",
    0.0,
    (
        ("english", 50), ("spanish", 10), ("chinese", 6), ("indian", 8), ("vietnamese", 5), ("arabic", 4), ("korean", 3),
        ("french", 3), ("german", 3), ("russian", 2), ("greek", 2), ("irish", 3),
    ),
    "nanp",
)

AGENT_DEPARTMENTS = {
    "Customer Care": ("Customer Service Agent", ("General Enquiries", "Account Changes", "Complaints", "Chat", "Email")),
    "Technical Support": (
        "Technical Support Agent",
        ("Tier 1 Support", "Tier 2 Support", "Internet", "Mobile Devices", "Chat"),
    ),
    "Sales": ("Sales Agent", ("Sales", "Upgrades", "Outbound Sales", "Business Accounts")),
    "Billing": ("Billing Specialist", ("Billing", "Payments", "Refunds", "Collections")),
    "Retention": ("Retention Specialist", ("Retention", "Cancellations", "Win-back", "Complaints")),
}

# NANP numbers 555-0100 to 555-0199 are reserved for fiction in every area code.
NANP_AREA_CODES = ("212", "312", "415", "512", "617", "737", "416", "604", "303", "206")
NANP_MAIN_NUMBER = "+13125550100"
AU_MOBILE_NUMBERS = ("+61491570006", "+61491570110", "+61491570156", "+61491570157", "+61491570158", "+61491570159")
TAGS = ("cc", "bpo", "ops", "temp", "eu")
ACTIVE_WEIGHTS = (("true", 95), ("false", 5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the sample users.csv and users.json.")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIRECTORY, help="directory for the two files")
    parser.add_argument("--check", action="store_true", help="compare the files on disk with a fresh run instead of writing")
    arguments = parser.parse_args(argv)

    rows = build_rows()
    outputs = {CSV_NAME: render_csv(rows), JSON_NAME: render_json(rows)}

    if arguments.check:
        stale = [name for name, data in outputs.items() if _read(arguments.output_dir / name) != data]
        for name in stale:
            print(f"{arguments.output_dir / name} differs from a fresh run; run {Path(__file__).name}", file=sys.stderr)
        return 1 if stale else 0

    arguments.output_dir.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (arguments.output_dir / name).write_bytes(data)
    print(
        f"wrote {len(rows)} users to {arguments.output_dir}: {VALID_USERS} valid, "
        f"{len(INVALID_ROWS)} invalid, {len(DUPLICATE_ROWS)} duplicates"
    )
    return 0


def build_rows() -> list[dict[str, str]]:
    """Return every user row in file order, with the problem rows at their listed row numbers."""
    _check_constants()
    rng = random.Random(SEED)
    valid = _Company(rng).build()

    invalid_at = {entry.row: entry for entry in INVALID_ROWS}
    duplicate_at = {entry.row: entry for entry in DUPLICATE_ROWS}
    rows: list[dict[str, str]] = []
    valid_iter = iter(valid)
    last_valid: dict[str, str] | None = None

    for row_number in range(FIRST_ROW, FIRST_ROW + TOTAL_ROWS):
        if row_number in invalid_at:
            assert last_valid is not None
            rows.append(_invalid_row(rng, invalid_at[row_number], last_valid))
        elif row_number in duplicate_at:
            original = rows[duplicate_at[row_number].original_row - FIRST_ROW]
            rows.append(_duplicate_row(original))
        else:
            last_valid = next(valid_iter)
            rows.append(last_valid)

    _check_rows(rows)
    return rows


def render_csv(rows: list[dict[str, str]]) -> bytes:
    """Render the rows as UTF-8 CSV with a header and CRLF line endings, as Excel writes it."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def render_json(rows: list[dict[str, str]]) -> bytes:
    """Render the rows as a JSON array of flat objects keyed by the CSV column names."""
    return (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def ascii_local_part(text: str) -> str:
    """Transliterate a Latin-script name to the lowercase ASCII letters, digits and hyphens of an address."""
    special = {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "ı": "i", "þ": "th", "ð": "d"}
    lowered = "".join(special.get(character, character) for character in text.lower())
    decomposed = unicodedata.normalize("NFKD", lowered)
    kept = "".join(
        character for character in decomposed if character.isascii() and (character.isalnum() or character == "-")
    )
    return kept.strip("-")


class _Company:
    """Builder of the valid users, top-down, so every manager comes before the people who report to them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: list[dict[str, str]] = []
        self.addresses: set[str] = set()
        self.employee_numbers = iter(rng.sample(range(1_000, 400_000), VALID_USERS))

    def build(self) -> list[dict[str, str]]:
        vp = self._add(HOME, "VP Customer Operations", "Operations", None, "leader")

        for manager_title, department, teams in (
            ("Quality Assurance Manager", "Quality Assurance", (("QA Lead", "Quality Analyst", 8),) * 3),
            (
                "Workforce Manager",
                "Workforce Management",
                (("WFM Lead", "WFM Analyst", 5), ("Real-Time Lead", "Real-Time Analyst", 4)),
            ),
            ("Training Manager", "Training", (("Senior Trainer", "Trainer", 5),) * 2),
        ):
            head = self._add(HOME, manager_title, department, vp, "leader")
            for lead_title, member_title, size in teams:
                lead = self._add(HOME, lead_title, department, head, "support")
                for _ in range(size):
                    self._add(HOME, member_title, department, lead, "support")

        site_managers = [self._add(site, "Contact Centre Manager", "Operations", vp, "leader") for site in SITES]
        remaining = VALID_USERS - len(self.rows)
        quotas = [round(remaining * site.share) for site in SITES]
        quotas[0] += remaining - sum(quotas)

        for site, manager, quota in zip(SITES, site_managers, quotas):
            self._staff_site(site, manager, quota)

        if len(self.rows) != VALID_USERS:
            raise AssertionError(f"built {len(self.rows)} valid users, expected {VALID_USERS}")
        return self.rows

    def _staff_site(self, site: Site, manager: dict[str, str], quota: int) -> None:
        departments = list(AGENT_DEPARTMENTS)
        supervisor_index = 0

        while quota > 0:
            department = departments[supervisor_index % len(departments)]
            supervisor_index += 1
            supervisor = self._add(site, f"{department} Supervisor", department, manager, "leader")
            quota -= 1

            for _ in range(self.rng.randint(3, 5)):
                if quota <= 0:
                    break
                lead = self._add(site, f"Team Lead, {department}", department, supervisor, "lead")
                quota -= 1
                for _ in range(min(quota, self.rng.randint(8, 14))):
                    self._add(site, None, department, lead, "agent")
                    quota -= 1

    def _add(
        self, site: Site, title: str | None, department: str, manager: dict[str, str] | None, role: str
    ) -> dict[str, str]:
        rng = self.rng
        culture = CULTURES[_weighted(rng, site.cultures)]
        given = rng.choice(culture.given)
        masculine, feminine = rng.choice(culture.family)
        family = feminine if given.gender == "f" else masculine

        if title is None:
            base_title = AGENT_DEPARTMENTS[department][0]
            title = f"Senior {base_title}" if rng.random() < 0.18 else base_title

        user_name = self._user_name(given, family, site.domain)
        given_text, family_text, display = self._names(culture, given, family)
        row = {
            "userName": user_name,
            "givenName": given_text,
            "familyName": family_text,
            "displayName": display,
            "email": self._email(user_name),
            "title": title,
            "department": department,
            "division": site.division,
            "employeeNumber": f"{next(self.employee_numbers):06d}",
            "manager": manager["userName"] if manager else "",
            "active": _weighted(rng, ACTIVE_WEIGHTS) if role in ("agent", "support") else "true",
            "externalId": str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng.random() < 0.97 else "",
            "workPhone": _work_phone(rng, site.phone_plan),
            "mobilePhone": _mobile_phone(rng, site.phone_plan),
            "routingSkills": _skills(rng, department, role),
            "routingLanguages": _languages(rng, culture, role),
        }
        self.rows.append(row)
        return row

    def _names(self, culture: Culture, given: Name, family: Name) -> tuple[str, str, str]:
        """Return given name, family name and display name, in native script or Latin letters as HR systems hold them."""
        rng = self.rng
        native_display = _display(culture, given.native, family.native)

        if culture.latin_script:
            display = native_display
            given_text, family_text = given.native, family.native
        else:
            form = rng.random()
            if form < 0.6:
                given_text, family_text, display = given.native, family.native, native_display
            elif form < 0.85:
                given_text, family_text = given.latin, family.latin
                display = f"{given.latin} {family.latin} ({native_display})"
            else:
                given_text, family_text = given.latin, family.latin
                display = f"{given.latin} {family.latin}"

        # Rows without a display name check that the loader builds one from the given and family names.
        if rng.random() < 0.05:
            display = ""
        return given_text, family_text, display

    def _user_name(self, given: Name, family: Name, domain: str) -> str:
        rng = self.rng
        first = ascii_local_part(given.latin)
        last = ascii_local_part(family.latin)
        pattern = rng.random()
        if pattern < 0.68:
            local = f"{first}.{last}"
        elif pattern < 0.78:
            local = f"{first[0]}.{last}"
        elif pattern < 0.84:
            local = f"{first}{last}"
        elif pattern < 0.88:
            local = f"{last}.{first}"
        elif pattern < 0.92:
            local = f"{first}_{last}"
        else:
            local = f"{first}.{last[0]}"

        candidate = local
        suffix = 1
        while f"{candidate}@{domain}" in self.addresses:
            suffix += 1
            candidate = f"{local}{suffix}"
        self.addresses.add(f"{candidate}@{domain}")

        # A +tag makes a different mailbox, so it must not be taken for a duplicate.
        address_local = candidate
        if rng.random() < 0.02:
            address_local = f"{candidate}+{rng.choice(TAGS)}"
            self.addresses.add(f"{address_local}@{domain}")

        address_domain = domain
        if rng.random() < 0.15:
            address_local = ".".join(part.capitalize() for part in address_local.split("."))
            address_domain = rng.choice((domain.capitalize(), domain.upper(), domain))
        return f"{address_local}@{address_domain}"

    def _email(self, user_name: str) -> str:
        draw = self.rng.random()
        if draw < 0.05:
            return ""
        if draw < 0.15:
            return user_name.lower()
        return user_name


def _display(culture: Culture, given: str, family: str) -> str:
    first, second = (family, given) if culture.family_first else (given, family)
    separator = " " if culture.spaced else ""
    return f"{first}{separator}{second}"


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(names, weights=weights)[0]


def _work_phone(rng: random.Random, plan: str) -> str:
    draw = rng.random()
    if draw < 0.08:
        return ""

    if plan == "nanp-extension" or (plan == "nanp" and draw < 0.3):
        return f"tel:{NANP_MAIN_NUMBER};ext={rng.randint(2000, 7999)}"
    if plan == "nanp":
        return f"+1{rng.choice(NANP_AREA_CODES)}55501{rng.randint(0, 99):02d}"
    if plan == "uk":
        if draw < 0.25:
            return f"tel:+442079460000;ext={rng.randint(100, 999)}"
        return f"+442079460{rng.randint(0, 999):03d}"
    if draw < 0.25:
        return f"tel:+61255500000;ext={rng.randint(100, 999)}"
    return f"+6125550{rng.randint(0, 9999):04d}"


def _mobile_phone(rng: random.Random, plan: str) -> str:
    if rng.random() < 0.6:
        return ""
    if plan in ("nanp", "nanp-extension"):
        return f"+1{rng.choice(NANP_AREA_CODES)}55501{rng.randint(0, 99):02d}"
    if plan == "uk":
        return f"+447700900{rng.randint(0, 999):03d}"
    return rng.choice(AU_MOBILE_NUMBERS)


def _proficiency(rng: random.Random, low: float, high: float) -> str:
    steps = int((high - low) * 2)
    value = low + rng.randint(0, steps) / 2
    return f"{value:g}"


def _skills(rng: random.Random, department: str, role: str) -> str:
    if role in ("leader", "support"):
        return "Escalations:5" if role == "leader" and department in AGENT_DEPARTMENTS and rng.random() < 0.5 else ""

    names = AGENT_DEPARTMENTS[department][1]
    count = rng.randint(2, len(names)) if role == "lead" else rng.randint(1, min(4, len(names)))
    chosen = rng.sample(names, count)
    low = 3.0 if role == "lead" else 1.0
    skills = [f"{name}:{_proficiency(rng, low, 5.0)}" for name in chosen]
    if role == "lead":
        skills.append("Escalations:4")
    return ";".join(skills)


def _languages(rng: random.Random, culture: Culture, role: str) -> str:
    if role in ("leader", "support") and rng.random() < 0.7:
        return ""

    languages = [("English", "5" if culture.language == "English" else _proficiency(rng, 3.0, 5.0))]
    if culture.language != "English":
        languages.append((culture.language, "5"))
    if rng.random() < 0.12:
        extra = rng.choice(("Spanish", "French", "German", "Portuguese"))
        if extra not in (name for name, _ in languages):
            languages.append((extra, _proficiency(rng, 1.0, 4.0)))
    return ";".join(f"{name}:{level}" for name, level in languages)


def _invalid_row(rng: random.Random, entry: InvalidRow, neighbour: dict[str, str]) -> dict[str, str]:
    """Build a user whose only problem is ``entry.problem`` in ``entry.column``.

    The row copies its team, manager, phones and skills from ``neighbour``, the
    valid user just above it, so nothing else about it is wrong.
    """
    given, family = INVALID_ROW_PEOPLE[[item.row for item in INVALID_ROWS].index(entry.row)]
    local = f"{ascii_local_part(given)}.{ascii_local_part(family)}"
    address = f"{local}@example.net"

    row = dict(neighbour)
    row.update(
        userName=address,
        givenName=given,
        familyName=family,
        displayName=f"{given} {family}",
        email=address,
        employeeNumber=f"9{entry.row:05d}",
        externalId=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        active="true",
        routingLanguages="English:5",
    )

    problems = {
        "address without @": {"userName": f"{local}.example.net", "email": f"{local}.example.net"},
        "missing": {"userName": "", "email": ""},
        "address with two @": {"userName": f"{local}@@example.net", "email": f"{local}@@example.net"},
        "domain without a dot": {"userName": f"{local}@example", "email": f"{local}@example"},
        "letters in the phone number": {entry.column: "555-CALL-NOW" if entry.column == "workPhone" else "+44 7700 CALLME"},
        "proficiency 7, above the maximum of 5": {"routingSkills": "Billing:4;Payments:7"},
        "proficiency -1, below the minimum of 0": {"routingLanguages": "English:5;Spanish:-1"},
        "proficiency 'high' is not a number": {"routingSkills": "Sales:high"},
        "'maybe' is not a boolean": {"active": "maybe"},
        "BEL control character": {"displayName": f"{given}\x07 {family}"},
        "ESC control characters": {"title": "\x1b[31mTeam Lead\x1b[0m"},
    }
    row.update(problems[entry.problem])
    return row


def _duplicate_row(original: dict[str, str]) -> dict[str, str]:
    """Repeat ``original`` with its address in another letter case, as a second export of the same person."""
    address = original["userName"]
    local, _, domain = address.partition("@")
    variant = f"{'.'.join(part.capitalize() for part in local.split('.'))}@{domain.capitalize()}"
    if variant == address:
        variant = address.lower() if address != address.lower() else address.upper()

    row = dict(original)
    row["userName"] = variant
    row["email"] = variant if original["email"] else ""
    return row


def _check_constants() -> None:
    problem_rows = [entry.row for entry in INVALID_ROWS] + [entry.row for entry in DUPLICATE_ROWS]
    if len(set(problem_rows)) != len(problem_rows):
        raise AssertionError("a row is listed twice among the invalid and duplicate rows")
    if not all(FIRST_ROW < row < FIRST_ROW + TOTAL_ROWS for row in problem_rows):
        raise AssertionError("a problem row lies outside the file")
    for entry in DUPLICATE_ROWS:
        if entry.original_row >= entry.row or entry.original_row in problem_rows:
            raise AssertionError(f"duplicate row {entry.row} must repeat an earlier valid row, not {entry.original_row}")


def _check_rows(rows: list[dict[str, str]]) -> None:
    """Check that the only repeated addresses are the listed duplicates and that managers come first."""
    problem_rows = {entry.row for entry in INVALID_ROWS} | {entry.row for entry in DUPLICATE_ROWS}
    expected_duplicates = {entry.row: entry.original_row for entry in DUPLICATE_ROWS}
    first_row_of: dict[str, int] = {}

    for row_number, row in enumerate(rows, start=FIRST_ROW):
        key = row["userName"].lower()
        if key and key in first_row_of:
            if expected_duplicates.get(row_number) != first_row_of[key]:
                raise AssertionError(f"row {row_number} repeats row {first_row_of[key]} but is not listed as a duplicate")
        elif key:
            first_row_of[key] = row_number

        manager = row["manager"].lower()
        if manager and first_row_of.get(manager, row_number) >= row_number:
            raise AssertionError(f"row {row_number} names a manager that is not on an earlier row")
        if row_number not in problem_rows and row["userName"] != row["userName"].strip():
            raise AssertionError(f"row {row_number} has spaces around its userName")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
