"""The auth layer's exceptions; `server.errors` maps each to the contract's envelope.

    AuthError
    ├── InvalidIdentityToken       the IdP's token does not verify, or was used before
    ├── InvalidToken               our access or refresh token is bad, expired or revoked
    ├── RefreshTokenReused         a rotated refresh token came back: the family is revoked
    ├── AccountDisabled            the user exists but may not sign in
    ├── AssuranceTooLow            the login was not face-verified
    ├── Forbidden                  the caller lacks the role
    └── IdentityProviderUnavailable  no IdP keys could be had
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of every error the auth layer raises on purpose."""

    code = "unauthorized"
    message = "未认证 Unauthorized"

    def __init__(self, message: str | None = None, *, reason: str = "") -> None:
        self.message = message or type(self).message
        # For our logs and audit only; never sent to the client.
        self.reason = reason
        super().__init__(self.message)


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


class AccountDisabled(AuthError):
    """The account is disabled."""

    code = "account_disabled"
    message = "账号已停用 Account disabled"


class AssuranceTooLow(AuthError):
    """The caller logged in without face verification."""

    code = "assurance_too_low"
    message = "该操作需要人脸识别登录 Face-verified login required"


class Forbidden(AuthError):
    """The caller lacks the role the route needs."""

    code = "forbidden"
    message = "无权访问 Forbidden"


class IdentityProviderUnavailable(AuthError):
    """The IdP's keys could not be fetched and none are cached."""

    code = "gateway_unavailable"
    message = "身份认证服务暂不可用 Identity provider unavailable"
