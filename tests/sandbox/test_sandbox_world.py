"""The generator builds one coherent world, the same for the same seed."""

from __future__ import annotations

from sandbox.world import World


def test_same_seed_gives_the_same_people() -> None:
    assert World(seed=3, users=500).people == World(seed=3, users=500).people


def test_another_seed_gives_other_people() -> None:
    assert World(seed=3, users=500).people != World(seed=4, users=500).people


def test_jira_users_all_have_an_identity_user() -> None:
    world = World(seed=3, users=2000)
    identity = {p.index for p in world.members("identity")}
    jira = {p.index for p in world.members("jira")}
    assert jira <= identity
    assert 0.85 < len(jira) / len(world.staff) < 0.95
    assert 0.92 < len(identity) / len(world.staff) < 0.98


def test_customers_are_not_staff_and_have_other_domains() -> None:
    world = World(seed=3, users=1000)
    assert len(world.customers) == 100
    assert not any(p.email.endswith("@northwind.example") for p in world.customers)


def test_emails_are_unique() -> None:
    people = World(seed=5, users=5000).people
    assert len({p.email for p in people}) == len(people)


def test_recase_changes_case_only_for_some() -> None:
    world = World(seed=3, users=300)
    recased = [world.recase(p) for p in world.staff]
    assert all(r.casefold() == p.email for r, p in zip(recased, world.staff, strict=True))
    assert 0.2 < sum(r != p.email for r, p in zip(recased, world.staff, strict=True)) / len(recased) < 0.5


def test_managers_are_earlier_staff() -> None:
    staff = World(seed=3, users=300).staff
    assert staff[0].manager_index is None
    assert all(p.manager_index < p.index for p in staff[1:])
