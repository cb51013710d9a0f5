"""Where the auth domain's facts are kept.

port.py      `Account`, `Family`, a login's draft, and the ports: users, sessions, logins,
             security decisions, the refusal mirror
orm.py       every port through tortoise (a login: one transaction)
postgres.py  a login as one written-out statement, on PostgreSQL
"""

from auth.records.port import (
    JTI_MAX,
    Account,
    DecisionRecords,
    Family,
    LoginDraft,
    LoginRecorded,
    LoginRecords,
    NewFamily,
    RefusalMirror,
    Refusals,
    SessionRecords,
    UserRecords,
    login_line,
)

__all__ = [
    "JTI_MAX",
    "Account",
    "DecisionRecords",
    "Family",
    "LoginDraft",
    "LoginRecorded",
    "LoginRecords",
    "NewFamily",
    "RefusalMirror",
    "Refusals",
    "SessionRecords",
    "UserRecords",
    "login_line",
]
