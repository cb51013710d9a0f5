"""The one exception tree of the backend.

Every error raised on purpose, by `auth/`, `services/` or `server/`, is one of these;
`server.errors` maps each class to an HTTP status and the contract's envelope in one place.
`message` and `details` go to the client; `reason` goes to our logs and audit only. Upstream
text never travels in any of them.

    LingpaoError                        (400) the request could not be completed
    ├── ConfigError                     the settings cannot start a server (never an HTTP answer)
    ├── CommandFailed                   a command could not do what it was asked (never HTTP)
    ├── InvalidRequest                  (400) well-formed, but not a valid ask
    │   ├── EmptyBody                   a JSON body was required and none came
    │   ├── MalformedJson               the body does not parse as JSON
    │   ├── UnsupportedMediaType        (415) the body is not of the type the route takes
    │   │   └── UnsupportedUploadType   an uploaded file whose bytes are not JPEG, PNG or PDF
    │   ├── PreconditionRequired        (428) a conditional write came without If-Match
    │   ├── IdempotencyKeyRequired      an application came without an Idempotency-Key
    │   ├── MaterialsMissing            (422) materials the item needs were not given or unusable
    │   ├── UploadEmpty                 the uploaded file has no bytes
    │   ├── UploadTooLarge              (413) the upload is over its limit (declared or sent)
    │   └── UnsafeDocument              (422) a PDF with scripts or active content, or encrypted
    ├── NotFound                        (404) no such thing for this caller
    │   ├── ItemNotFound                no service item with that code
    │   ├── CertificateNotFound         not a certificate of this holder (or someone else's)
    │   ├── HolderNotFound              no citizen behind that user id
    │   ├── UserNotFound                no user with that ID number (never logged in)
    │   ├── ApplicationNotFound         no application of this caller with that id
    │   └── OutboxRowNotFound           no delivery with that id
    ├── Conflict                        (409) the ask contradicts the current state
    │   ├── ModeBlocked                 the item cannot take that handling mode
    │   ├── ItemRequiresVisit           an in-person item cannot be applied for online
    │   ├── IdempotencyKeyReused        the key came before with another body
    │   ├── IdempotencyKeyInFlight      the first request with the key is still being handled
    │   └── AccountExists               an account with that ID number was created meanwhile
    ├── VersionMismatch                 (412) it changed since the caller read it
    ├── RateLimited                     (429) too many requests; Retry-After says when
    ├── InvalidSignature                (401) a gateway callback's signature does not hold
    ├── StoredDataCorrupt               (500) data we stored fails its integrity check
    ├── AuthError                       (401) we do not know who is calling
    │   ├── InvalidIdentityToken        the IdP's token does not verify, or was used before
    │   ├── InvalidToken                our access or refresh token is bad, expired or revoked
    │   ├── RefreshTokenReused          a rotated refresh token came back: family revoked
    │   └── Forbidden                   (403) we know the caller, and they may not
    │       ├── AccountDisabled         the account is disabled
    │       └── AssuranceTooLow         the login was not face-verified
    └── Unavailable                     (503) a dependency is not answering; Retry-After
        └── GatewayError                the provincial gateway failed us
            ├── GatewayUnavailable      unreachable or refusing
            │   ├── CircuitOpen         refused here without a call: the breaker is open
            │   └── IdentityProviderUnavailable  no IdP keys could be had
            ├── GatewayTimeout          it did not answer in time
            ├── GatewayRejected         (502) it refused our request (4xx, bad signature)
            └── GatewayBadAnswer        (502) it answered with something we cannot use
"""

from __future__ import annotations


class LingpaoError(Exception):
    """Base of every error the backend raises on purpose."""

    code = "error"
    message = "请求无法完成 The request could not be completed"
    retry_after: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        reason: str = "",
        retry_after: int | None = None,
        **details: object,
    ):
        self.message = message or type(self).message
        # For our logs and audit only; never sent to the client.
        self.reason = reason
        self.details = details
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(self.message)


class ConfigError(LingpaoError):
    """The settings cannot start a server; the message says which setting and why."""

    code = "config_error"


class CommandFailed(LingpaoError):
    """A command-line command could not do what it was asked; the message says why."""

    code = "command_failed"


class InvalidRequest(LingpaoError):
    """The input does not satisfy the contract."""

    code = "invalid_request"
    message = "请求参数无效 Invalid request"


class EmptyBody(InvalidRequest):
    """A JSON body was required and none was sent."""

    code = "empty_body"
    message = "请求体为空 Request body is empty"


class MalformedJson(InvalidRequest):
    """The body does not parse as JSON."""

    code = "malformed_json"
    message = "请求体不是合法的 JSON Body is not valid JSON"


class UnsupportedMediaType(InvalidRequest):
    """The body is not declared as the route's type: application/json, or multipart for
    uploads (the message says which)."""

    code = "unsupported_media_type"
    message = "请求体必须是 application/json Body must be application/json"


class PreconditionRequired(InvalidRequest):
    """A conditional write came without If-Match."""

    code = "if_match_required"
    message = "修改须带 If-Match 版本号 If-Match with the item version is required"


class IdempotencyKeyRequired(InvalidRequest):
    """An application came without an Idempotency-Key header."""

    code = "idempotency_key_required"
    message = "须带 Idempotency-Key 请求头 The Idempotency-Key header is required"


class MaterialsMissing(InvalidRequest):
    """Materials the item needs were not given, or what was given cannot serve."""

    code = "materials_missing"
    message = "申请材料不全 Materials are missing or unusable"


class UnsupportedUploadType(UnsupportedMediaType):
    """The uploaded file's bytes are not a readable JPEG, PNG or PDF, whatever its name or
    declared type."""

    code = "unsupported_upload_type"
    message = "仅支持 JPEG、PNG 或 PDF 文件 Only JPEG, PNG or PDF files are accepted"


class UploadEmpty(InvalidRequest):
    """The uploaded file has no bytes."""

    code = "upload_empty"
    message = "上传的文件为空 The uploaded file is empty"


class UploadTooLarge(InvalidRequest):
    """The upload is over its limit: by its declared length, the bytes sent, or its pixels."""

    code = "upload_too_large"
    message = "上传的文件过大 The uploaded file is too large"


class UnsafeDocument(InvalidRequest):
    """A PDF that carries JavaScript or other active content, or is encrypted."""

    code = "unsafe_document"
    message = "PDF 含有脚本或已加密，无法接收 The PDF contains scripts or is encrypted"


class NotFound(LingpaoError):
    """Nothing of that kind exists for this caller."""

    code = "not_found"
    message = "未找到 Not found"


class ItemNotFound(NotFound):
    """No service item has that code."""

    code = "item_not_found"
    message = "事项不存在 No such service item"


class CertificateNotFound(NotFound):
    """No certificate with that id belongs to the caller; another's looks exactly the same."""

    code = "certificate_not_found"
    message = "证照不存在 No such certificate"


class HolderNotFound(NotFound):
    """No citizen stands behind that user id."""

    code = "holder_not_found"
    message = "持证人不存在 No such certificate holder"


class UserNotFound(NotFound):
    """No user has that ID number: they have never logged in."""

    code = "user_not_found"
    message = "用户不存在 No such user"


class ApplicationNotFound(NotFound):
    """No application of this caller has that id; someone else's looks exactly the same."""

    code = "application_not_found"
    message = "办件不存在 No such application"


class OutboxRowNotFound(NotFound):
    """No delivery to the gateway has that id."""

    code = "outbox_row_not_found"
    message = "投递记录不存在 No such delivery"


class Conflict(LingpaoError):
    """The request contradicts the current state of the resource."""

    code = "conflict"
    message = "状态冲突 Conflict"


class ModeBlocked(Conflict):
    """The item cannot be switched to that mode; `blockers` says why."""

    code = "mode_blocked"
    message = "该事项暂不能切换为此办理方式 The item cannot take this handling mode"


class ItemRequiresVisit(Conflict):
    """The item is handled in person; `guide` says where and what to bring."""

    code = "item_requires_visit"
    message = "该事项须到现场办理 This item must be handled in person"


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key was used before with another body."""

    code = "idempotency_key_reused"
    message = "该幂等键已用于不同的申请 The Idempotency-Key was used with another body"


class AccountExists(Conflict):
    """An account with that ID number was created meanwhile (two first logins raced)."""

    code = "account_exists"
    message = "账号已存在 The account exists already"


class IdempotencyKeyInFlight(Conflict):
    """The first request with this Idempotency-Key is still being handled."""

    code = "idempotency_key_in_flight"
    message = "相同的申请正在处理中，请稍后查询 The same request is still being handled"
    retry_after: int | None = 2


class VersionMismatch(LingpaoError):
    """The caller's version is not the current one: someone changed it first."""

    code = "version_mismatch"
    message = "事项已被他人修改，请刷新后重试 The item changed; reload and retry"


class RateLimited(LingpaoError):
    """Too many requests; try again after `retry_after` seconds."""

    code = "rate_limited"
    message = "请求过于频繁，请稍后再试 Too many requests"
    retry_after: int | None = 60


class InvalidSignature(LingpaoError):
    """A gateway callback is unsigned, wrongly signed, stale or replayed."""

    code = "invalid_signature"
    message = "签名无效 Invalid signature"


class StoredDataCorrupt(LingpaoError):
    """Something we stored does not decrypt or verify: tampered, truncated or under an
    unknown key. A fault on our side, never the caller's."""

    code = "stored_data_corrupt"
    message = "服务器内部错误，请稍后重试 Internal error; quote the request id"


class AuthError(LingpaoError):
    """We do not know who is calling: no valid token of theirs."""

    code = "unauthorized"
    message = "未认证 Unauthorized"


class InvalidIdentityToken(AuthError):
    """The identity token failed verification or was already used."""

    code = "invalid_identity_token"
    message = "身份令牌无效 Invalid identity token"


class InvalidToken(AuthError):
    """An access or refresh token of ours is malformed, expired or revoked."""

    code = "invalid_token"
    message = "登录已失效，请重新登录 Invalid or expired token"


class RefreshTokenReused(AuthError):
    """A refresh token that was already rotated came back; its family is now revoked."""

    code = "refresh_token_reused"
    message = "刷新令牌已被使用，请重新登录 Refresh token reused; please sign in again"


class Forbidden(AuthError):
    """We know the caller, and they may not do this."""

    code = "forbidden"
    message = "无权访问 Forbidden"


class AccountDisabled(Forbidden):
    """The account is disabled."""

    code = "account_disabled"
    message = "账号已停用 Account disabled"


class AssuranceTooLow(Forbidden):
    """The caller logged in without face verification."""

    code = "assurance_too_low"
    message = "该操作需要人脸识别登录 Face-verified login required"


class Unavailable(LingpaoError):
    """A dependency of ours is not answering; try again after `retry_after` seconds."""

    code = "service_unavailable"
    message = "服务暂不可用 Service temporarily unavailable"
    retry_after: int | None = 5


class GatewayError(Unavailable):
    """The provincial gateway failed us; never carries the gateway's own text."""

    code = "gateway_unavailable"
    message = "省级平台暂不可用 The provincial gateway is unavailable"


class GatewayUnavailable(GatewayError):
    """The gateway is unreachable or refusing."""


class CircuitOpen(GatewayUnavailable):
    """Refused here without a call: the breaker is open. Never retried."""


class IdentityProviderUnavailable(GatewayUnavailable):
    """The IdP's keys could not be fetched and none are cached."""

    message = "身份认证服务暂不可用 Identity provider unavailable"


class GatewayTimeout(GatewayError):
    """The gateway did not answer in time."""

    code = "gateway_timeout"
    message = "省级平台响应超时 The provincial gateway timed out"


class GatewayRejected(GatewayError):
    """The gateway refused our request (a 4xx or a failed signature)."""

    code = "gateway_rejected"
    message = "省级平台拒绝了请求 The provincial gateway refused the request"
    upstream_status: int = 0
    upstream_code: str = ""


class GatewayBadAnswer(GatewayError):
    """The gateway answered with something we cannot use."""

    code = "gateway_bad_answer"
    message = "省级平台返回了无法识别的数据 The provincial gateway answered unexpectedly"
