"""`python -m mock_gateway`: the provincial gateway stand-in on 127.0.0.1:8100."""

from __future__ import annotations

import logging

from mock_gateway.app import create_app
from mock_gateway.config import MockConfig

log = logging.getLogger("mock_gateway")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx says INFO for every callback it posts: thousands a second under a burst, a
    # share of the CPU the bench's mock gateway has with everything else on the machine.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = MockConfig.from_env()
    app = create_app(config)

    # Said once it listens, and said as what it is: its log sits beside the API's in `make run`.
    @app.after_server_start
    async def announce(app) -> None:
        log.info(
            "mock provincial gateway (not the Lingpao API) listening on http://%s:%s",
            config.host,
            config.port,
        )

    app.run(host=config.host, port=config.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
