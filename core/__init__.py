"""Framework-free building blocks that `auth/` and `services/` both use.

It imports nothing else of the project (shared/DESIGN.md): the exception tree, the key-set
cache, the clock, the audit-writer port, and the ciphers for personal data at rest (ID
numbers and uploaded files).
"""
