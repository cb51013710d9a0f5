"""The mock gateway's typed context: what `app.ctx` holds, and nothing else."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import cast

from sanic import Sanic
from sanic.config import Config
from sanic.request import Request

from mock_gateway import catalog, holdings, population, signing
from mock_gateway.callbacks import Callbacks
from mock_gateway.certificates import Library
from mock_gateway.config import MockConfig
from mock_gateway.faults import Faults
from mock_gateway.idp import IdentityProvider
from mock_gateway.intake import Intake


@dataclass
class GatewayContext:
    # Not slots: sanic-ext keeps its own state on the app's ctx, and tests hang clients on it.
    config: MockConfig
    register: population.Register
    library: Library
    items: dict[str, dict]  # the catalog by item code
    idp: IdentityProvider
    rng: random.Random  # the faults' dice, from the seed so a rehearsal repeats
    verifier: signing.Verifier
    faults: Faults = field(default_factory=Faults)
    # What a test of several senders checks: the catalog fetched once (GET /_admin/tally).
    catalog_fetches: int = 0
    # Opened per server start in before_server_start: they must live in its event loop.
    callbacks: Callbacks = field(init=False)
    intake: Intake = field(init=False)

    @classmethod
    def build(cls, config: MockConfig) -> GatewayContext:
        """The demo data, all drawn from `config.seed`: two gateways of one seed agree."""
        people = population.generate(config.seed)
        return cls(
            config=config,
            register=population.Register(people),
            library=holdings.build(people, config.seed),
            items={item["code"]: item for item in catalog.build()},
            idp=IdentityProvider(config.issuer, config.seed),
            rng=random.Random(config.seed),
            verifier=signing.Verifier({config.app_key: config.app_secret}, config.signature),
        )


App = Sanic[Config, GatewayContext]


def state(request: Request) -> GatewayContext:
    """The context of the gateway serving this request."""
    # Sanic types a plain Request's app with a SimpleNamespace ctx; ours is always this one.
    return cast(GatewayContext, request.app.ctx)
