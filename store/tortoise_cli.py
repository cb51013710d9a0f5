"""Configuration for the `tortoise` command line (makemigrations), and only for it."""

import os

from store.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://:memory:"))
