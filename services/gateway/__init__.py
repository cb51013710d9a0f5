"""The provincial gateway: the port the domain depends on and the one HTTP client.

port.py     the `Gateway` protocol
client.py   `GatewayClient`: signing, timeouts, retries, the breaker, error mapping
breaker.py  the circuit breaker
signing.py  HMAC request signing and callback verification
"""

from services.gateway.client import GatewayClient, Transport
from services.gateway.port import Gateway

__all__ = ["Gateway", "GatewayClient", "Transport"]
