"""Person search API latency at 100,000 persons with cards, on SQLite.

Creates a temporary SQLite database, bulk-inserts the persons, starts the app in-process
(TestClient) and times ~500 searches by user ID, name and card, paged. Prints p50/p99 in ms.
Usage: python benchmarks/people.py [--persons N] [--queries N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from openpss.platform.app import create_app
from openpss.platform.db import make_engine, make_session_factory, migrate
from openpss.platform.people import org
from openpss.platform.people.cards import canonical, to_decimal
from openpss.platform.people.demo import FIRST, LAST
from openpss.platform.people.models import Card, Person
from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import create_api_token
from openpss.platform.settings import Settings

CARD_BASE = 0x10000000


def populate(url: str, persons: int) -> str:
    """Bulk-insert departments, persons and one card each; return an operator API token."""
    factory = make_session_factory(make_engine(url))
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        root = org.get_root(session=session)
        depts = [
            org.add_department(session=session, name=f"Dept {i}", parent_id=root.id).id
            for i in range(10)
        ]
        rng = random.Random(1)
        rows = [
            {
                "user_id": str(100000 + i),
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
                "department_id": depts[i % len(depts)],
                "user_type": "general",
                "valid_from": now,
                "valid_to": now + dt.timedelta(days=3650),
                "gender": "",
                "title": "",
                "tel": "",
                "email": "",
                "mailing_address": "",
                "administrator": False,
                "remark": "",
                "id_type": "",
                "id_number": "",
                "company": "",
                "occupation": "",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(persons)
        ]
        session.execute(insert(Person), rows)
        cards = [
            {
                "person_id": i + 1,
                "number": canonical(CARD_BASE + i * 7),
                "number_dec": to_decimal(canonical(CARD_BASE + i * 7)),
                "kind": "main",
                "frozen": False,
                "created_at": now,
            }
            for i in range(persons)
        ]
        session.execute(insert(Card), cards)
        account = Account(username="bench", password_hash="x", role=Role.operator)
        session.add(account)
        session.flush()
        token, _ = create_api_token(session=session, account=account, name="bench")
        session.commit()
    return token


def queries(count: int, persons: int) -> list[tuple[str, dict[str, str | int]]]:
    """A reproducible mix of searches: user ID prefix, name part, card prefix, paging."""
    rng = random.Random(2)
    result: list[tuple[str, dict[str, str | int]]] = []
    for i in range(count):
        n = rng.randrange(persons)
        kind = ("id", "name", "card", "page", "any")[i % 5]
        if kind == "id":
            params: dict[str, str | int] = {"q": str(100000 + n)[:5], "field": "id"}
        elif kind == "name":
            params = {"q": rng.choice(LAST).lower()[:4], "field": "name"}
        elif kind == "card":
            params = {"q": canonical(CARD_BASE + n * 7)[:6], "field": "card"}
        elif kind == "page":
            params = {"offset": rng.randrange(0, persons - 50, 50), "limit": 50}
        else:
            params = {"q": str(100000 + n)}
        result.append((kind, params))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        started = time.perf_counter()
        token = populate(url, args.persons)
        print(
            f"inserted {args.persons} persons with cards in {time.perf_counter() - started:.1f} s"
        )
        settings = Settings(
            environment="test",
            data_dir=Path(tmp),
            database_url=url,
            secret_key="benchmark-secret-0123456789",
            background_services=False,
        )
        headers = {"Authorization": f"Bearer {token}"}
        timings: dict[str, list[float]] = {}
        with TestClient(create_app(settings)) as client:
            client.get("/api/v1/people/persons", headers=headers)  # warm up
            for kind, params in queries(args.queries, args.persons):
                t0 = time.perf_counter()
                response = client.get("/api/v1/people/persons", params=params, headers=headers)
                timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.text
        report(timings)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(timings: dict[str, list[float]]) -> None:
    everything = [t for values in timings.values() for t in values]
    for kind, values in [*sorted(timings.items()), ("all", everything)]:
        print(
            f"{kind:>5}: n={len(values):4d}  p50={statistics.median(values):6.1f} ms  "
            f"p99={percentile(values, 99):6.1f} ms"
        )


if __name__ == "__main__":
    main()
