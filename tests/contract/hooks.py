"""Schemathesis hooks for our runs (SCHEMATHESIS_HOOKS=tests.contract.hooks).

A cursor is an opaque token the server issued: no generator can make a valid one, and the
document cannot describe one beyond "a string". Cursors are left out of generated
requests; what a forged or broken cursor gets (400) is tested in
tests/api/test_numbers_from_outside.py.
"""

from __future__ import annotations

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.query:
        case.query.pop("cursor", None)
