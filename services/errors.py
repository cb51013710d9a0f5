"""The one exception tree of the backend's domain.

Every error a user can see is one of these; `server.errors` maps each class to an HTTP
status and the contract's envelope in one place. Upstream text never travels in them.

    LingpaoError
    ├── InvalidRequest            the request is well-formed JSON but not a valid ask
    ├── NotFound                  no such thing for this caller
    │   ├── ItemNotFound          no service item with that code
    │   └── CertificateNotFound   no such certificate of this holder (or someone else's)
    ├── Conflict                  the ask contradicts the current state
    │   └── ModeBlocked           the item cannot take that handling mode
    ├── VersionMismatch           the resource changed since the caller read it
    ├── RateLimited               too many requests from this client or for this person
    ├── Unavailable               a dependency we need is not answering
    └── GatewayError              the provincial gateway failed us
        ├── GatewayUnavailable    unreachable, refusing, or its breaker is open
        ├── GatewayTimeout        it did not answer in time
        ├── GatewayRejected       it refused our request (4xx, bad signature)
        └── GatewayBadAnswer      it answered with something we cannot use
"""

from __future__ import annotations


class LingpaoError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"
    message = "请求无法完成 The request could not be completed"

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or type(self).message
        self.details = details
        super().__init__(self.message)


class InvalidRequest(LingpaoError):
    """The input does not satisfy the contract."""

    code = "invalid_request"
    message = "请求参数无效 Invalid request"


class NotFound(LingpaoError):
    """Nothing of that kind exists for this caller."""

    code = "not_found"
    message = "未找到 Not found"


class Conflict(LingpaoError):
    """The request contradicts the current state of the resource."""

    code = "conflict"
    message = "状态冲突 Conflict"


class RateLimited(LingpaoError):
    """Too many requests; try again after `retry_after` seconds."""

    code = "rate_limited"
    message = "请求过于频繁，请稍后再试 Too many requests"

    def __init__(self, retry_after: int = 60) -> None:
        super().__init__()
        self.retry_after = retry_after


class ItemNotFound(NotFound):
    """No service item has that code."""

    code = "item_not_found"
    message = "事项不存在 No such service item"


class CertificateNotFound(NotFound):
    """No certificate with that id belongs to the caller; another's looks exactly the same."""

    code = "certificate_not_found"
    message = "证照不存在 No such certificate"


class ModeBlocked(Conflict):
    """The item cannot be switched to that mode; `blockers` says why."""

    code = "mode_blocked"
    message = "该事项暂不能切换为此办理方式 The item cannot take this handling mode"


class VersionMismatch(LingpaoError):
    """The caller's version is not the current one: someone changed it first."""

    code = "version_mismatch"
    message = "事项已被他人修改，请刷新后重试 The item changed; reload and retry"


class Unavailable(LingpaoError):
    """A dependency of ours (database, Redis) is not answering."""

    code = "service_unavailable"
    message = "服务暂不可用 Service temporarily unavailable"

    def __init__(self, message: str | None = None, retry_after: int = 5, **details: object):
        super().__init__(message, **details)
        self.retry_after = retry_after


class GatewayError(Unavailable):
    """The provincial gateway failed us; never carries the gateway's own text."""

    code = "gateway_unavailable"
    message = "省级平台暂不可用 The provincial gateway is unavailable"


class GatewayUnavailable(GatewayError):
    """The gateway is unreachable, refusing, or its circuit breaker is open."""


class GatewayTimeout(GatewayError):
    """The gateway did not answer in time."""

    code = "gateway_timeout"
    message = "省级平台响应超时 The provincial gateway timed out"


class GatewayRejected(GatewayError):
    """The gateway refused our request (a 4xx or a failed signature)."""

    code = "gateway_rejected"
    message = "省级平台拒绝了请求 The provincial gateway refused the request"


class GatewayBadAnswer(GatewayError):
    """The gateway answered with something we cannot use."""

    code = "gateway_bad_answer"
    message = "省级平台返回了无法识别的数据 The provincial gateway answered unexpectedly"
