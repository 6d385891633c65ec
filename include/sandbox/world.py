"""One coherent, deterministic world of people from which every vendor module derives its records.

The people are neutral: no vendor's field names. Each vendor module picks the people it
covers with :meth:`World.members` and the shares in :data:`COVERAGE`, so the same person
is, say, both an Entra user and a Jira user, and the sync between them has something to
match. The same (seed, size) always gives the same world.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cached_property

STAFF_DOMAIN = "northwind.example"

# The share of people each vendor covers. Selection is by a per-person draw in [0, 1) for a
# named "salt" (World.members): people drawn under the same salt nest, so every Jira user
# (0.90 of "staff") also has an identity user (0.95 of "staff").
COVERAGE: dict[str, tuple[str, float]] = {
    # key: (salt, share of the people of that kind)
    "identity": ("staff", 0.95),  # Entra / SCIM users; emails re-cased with World.recase
    "jira": ("staff", 0.90),  # Jira users (accountType atlassian)
    "jira_hidden_email": ("jira-email-hidden", 0.05),  # of Jira users: emailAddress hidden
    "crm_contact": ("crm", 0.40),  # of staff and customers: a CRM contact (Zoho or Salesforce)
    "assets_employee": ("assets", 0.30),  # of staff: an existing "Employee" object in Assets
}
# Of the people, this share are no longer active (deactivated in every system that has them).
INACTIVE_SHARE = 0.03
# Customers (people outside the company, JSM portal customers) per member of staff.
CUSTOMER_SHARE = 0.10
# Non-human Jira accounts (accountType app).
APP_ACCOUNTS = ("Automation for Jira", "Jira Service Management Widget", "Slack", "Zoho CRM for Jira")

_GIVEN = [
    "Aiko",
    "Amara",
    "Anders",
    "Ana",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloe",
    "Dara",
    "Diego",
    "Elena",
    "Emeka",
    "Eva",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jana",
    "Jonas",
    "Kai",
    "Karin",
    "Lars",
    "Leila",
    "Luca",
    "Maya",
    "Mia",
    "Nadia",
    "Nils",
    "Noor",
    "Omar",
    "Olga",
    "Pablo",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Sven",
    "Tara",
    "Theo",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
]
_FAMILY = [
    "Abbott",
    "Adeyemi",
    "Bauer",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Gupta",
    "Hansen",
    "Haddad",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Krystof",
    "Larsen",
    "Lopez",
    "Martin",
    "Meyer",
    "Molina",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Petrov",
    "Quinn",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Sousa",
    "Tanaka",
    "Torres",
    "Ueda",
    "Vargas",
    "Weber",
    "Wong",
    "Yilmaz",
    "Zhang",
    "Ziegler",
]
_DEPARTMENTS = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager", "SRE"),
    "Support": ("Support Agent", "Support Lead", "Support Manager"),
    "Sales": ("Account Executive", "Sales Development Rep", "Sales Manager"),
    "Finance": ("Accountant", "Controller", "Finance Manager"),
    "People": ("HR Partner", "Recruiter", "People Manager"),
    "Marketing": ("Content Marketer", "Designer", "Marketing Manager"),
}
_PLACES = (
    ("Europe/Berlin", "de_DE", "+49 30"),
    ("Europe/London", "en_GB", "+44 20"),
    ("America/New_York", "en_US", "+1 212"),
    ("America/Los_Angeles", "en_US", "+1 415"),
    ("Asia/Tokyo", "ja_JP", "+81 3"),
    ("Australia/Sydney", "en_AU", "+61 2"),
)
_CUSTOMER_DOMAINS = ("acme.example", "globex.example", "initech.example", "umbrella.example", "stark.example")


@dataclass(frozen=True, slots=True)
class Person:
    """A human in the world, before any vendor has a record of them."""

    index: int
    kind: str  # "staff" or "customer"
    given_name: str
    family_name: str
    email: str  # lower case; vendors may re-case it (World.recase)
    department: str | None
    title: str | None
    phone: str
    employee_number: str | None
    manager_index: int | None
    active: bool
    time_zone: str
    locale: str
    company: str

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class World:
    """The people of one (seed, size), and deterministic draws that vendor modules seed from."""

    def __init__(self, seed: int, users: int) -> None:
        self.seed = seed
        self.users = users
        self._draws: dict[str, list[float]] = {}

    @cached_property
    def people(self) -> list[Person]:
        """Staff first (``users`` of them), then customers (``CUSTOMER_SHARE`` of that)."""
        rng = random.Random(f"{self.seed}:people")
        staff = [self._person(rng, i, "staff") for i in range(self.users)]
        customers = [
            self._person(rng, self.users + i, "customer") for i in range(int(self.users * CUSTOMER_SHARE))
        ]
        return staff + customers

    @cached_property
    def staff(self) -> list[Person]:
        return [p for p in self.people if p.kind == "staff"]

    @cached_property
    def customers(self) -> list[Person]:
        return [p for p in self.people if p.kind == "customer"]

    def rng(self, name: str) -> random.Random:
        """A random generator of its own per vendor (or purpose), so vendors seed independently."""
        return random.Random(f"{self.seed}:{name}")

    def draws(self, salt: str) -> list[float]:
        """One uniform draw in [0, 1) per person (by index) for ``salt``; equal salts give equal draws."""
        if salt not in self._draws:  # kept: every vendor draws under the same few salts
            rng = random.Random(f"{self.seed}:draw:{salt}")
            self._draws[salt] = [rng.random() for _ in self.people]
        return self._draws[salt]

    def members(self, coverage: str, people: list[Person] | None = None) -> list[Person]:
        """The people a vendor covers for a :data:`COVERAGE` key, taken from ``people`` (default: staff)."""
        salt, share = COVERAGE[coverage]
        draws = self.draws(salt)
        return [p for p in (self.staff if people is None else people) if draws[p.index] < share]

    def recase(self, person: Person) -> str:
        """The person's email as another system typed it: about a third differ from it in case only."""
        return self._recased[person.index]

    @cached_property
    def _recased(self) -> list[str]:
        """Every person's re-cased email, worked out once: four vendors ask for most of them."""
        return [self._recase(person) for person in self.people]

    def _recase(self, person: Person) -> str:
        digest = hashlib.blake2b(f"{self.seed}:{person.email}".encode(), digest_size=1).digest()[0]
        if digest % 3:
            return person.email
        local, _, domain = person.email.partition("@")
        return f"{local.title()}@{domain.upper() if digest % 2 else domain}"

    def _person(self, rng: random.Random, index: int, kind: str) -> Person:
        given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
        time_zone, locale, dial = rng.choice(_PLACES)
        phone = f"{dial} {rng.randrange(1000000, 9999999)}"
        if kind == "staff":
            department = rng.choice(tuple(_DEPARTMENTS))
            return Person(
                index=index,
                kind=kind,
                given_name=given,
                family_name=family,
                email=f"{given}.{family}.{index}@{STAFF_DOMAIN}".lower(),
                department=department,
                title=rng.choice(_DEPARTMENTS[department]),
                phone=phone,
                employee_number=f"E{100000 + index}",
                manager_index=rng.randrange(0, max(1, index // 10)) if index else None,
                active=rng.random() >= INACTIVE_SHARE,
                time_zone=time_zone,
                locale=locale,
                company="Northwind",
            )
        domain = rng.choice(_CUSTOMER_DOMAINS)
        return Person(
            index=index,
            kind=kind,
            given_name=given,
            family_name=family,
            email=f"{given}.{family}.{index}@{domain}".lower(),
            department=None,
            title=None,
            phone=phone,
            employee_number=None,
            manager_index=None,
            active=rng.random() >= INACTIVE_SHARE,
            time_zone=time_zone,
            locale=locale,
            company=domain.split(".")[0].title(),
        )
