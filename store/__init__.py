"""The plumbing under the domain: where `auth/` and `services/` keep things.

db.py          tortoise's configuration, opening and closing, migrations, transactions, and
               the asyncpg client the statements written out for PostgreSQL run on
fair_pool.py   the PostgreSQL pool whose waits are served in order and bounded
kv.py          Redis (one, Sentinel or Cluster), or the in-process stand-in
models.py      the domain's tables (auth's own are in auth/models.py)
audit.py       the one audit writer: one column list, one truncation rule
migrations/    the schema, by tortoise's built-in migrations

It imports `core` and nothing else of Lingpao; `auth` and `services` both import it.
"""
