"""A FastAPI service that verifies Gatehouse access tokens itself, with PyJWT, against the
identity provider's JWKS, and requires a role for its report. No Gatehouse code: what any Python
team would write (docs/sdk/other-languages.md).

Configuration (environment):
  GATEHOUSE_ISSUER    exact `iss`, e.g. http://localhost:8080/auth
  GATEHOUSE_AUDIENCE  this service's audience (`aud` must contain it)
  GATEHOUSE_JWKS_URI  where the public keys are (default: issuer + /jwks)
  HOST, PORT          where to listen (default 127.0.0.1, 0 = any free port)
On start it prints one JSON line, {"port": N}, so whoever started it knows where it listens.
"""

import json
import os
import socket
import sys

import jwt
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

ISSUER = os.environ["GATEHOUSE_ISSUER"]
AUDIENCE = os.environ["GATEHOUSE_AUDIENCE"]
JWKS_URI = os.environ.get("GATEHOUSE_JWKS_URI", ISSUER.rstrip("/") + "/jwks")
# Gatehouse signs with ES256 by default; never accept "none" or an HMAC algorithm.
ALGORITHMS = ["ES256", "EdDSA"]
LEEWAY_SECONDS = 60

# Caches the keys and refetches the set when a token names an unknown `kid` (key rotation).
jwks = jwt.PyJWKClient(JWKS_URI, cache_keys=True, lifespan=300)

app = FastAPI(title="python-service", docs_url=None, redoc_url=None, openapi_url=None)


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, bearer_error: str | None = "invalid_token"):
        self.status = status
        self.code = code
        self.message = message
        self.bearer_error = bearer_error


@app.exception_handler(Refusal)
async def refuse(_request: Request, err: Refusal) -> JSONResponse:
    challenge = "Bearer"
    if err.bearer_error:
        challenge += f' error="{err.bearer_error}", error_description="{err.message}"'
    return JSONResponse(
        {"error": err.code, "message": err.message},
        status_code=err.status,
        headers={"www-authenticate": challenge, "cache-control": "no-store"},
    )


def principal(request: Request) -> dict:
    """The verified claims of the bearer token, or a 401 refusal."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Refusal(401, "TOKEN_MISSING", "No bearer token was presented", bearer_error=None)
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Refusal(401, "TOKEN_MALFORMED", "The Authorization header is not 'Bearer <token>'", "invalid_request")
    try:
        # RFC 9068: an access token says so in its header; an ID token or a session token is refused.
        typ = str(jwt.get_unverified_header(token).get("typ", "")).lower()
        if typ not in ("at+jwt", "application/at+jwt"):
            raise Refusal(401, "TOKEN_TYPE_INVALID", "The token is not an access token (typ at+jwt)")
        key = jwks.get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refusal(401, "TOKEN_EXPIRED", "The token has expired")
    except jwt.InvalidAudienceError:
        raise Refusal(401, "AUDIENCE_INVALID", "The token is not meant for this service")
    except jwt.InvalidIssuerError:
        raise Refusal(401, "ISSUER_INVALID", "The token issuer is not trusted")
    except jwt.PyJWKClientError:
        # An unknown key, or the JWKS could not be fetched: either way the token is not accepted.
        raise Refusal(401, "KEY_UNKNOWN", "The token signing key is not in the issuer's JWKS")
    except jwt.InvalidTokenError:
        raise Refusal(401, "TOKEN_INVALID", "The token is invalid")


def require_role(role: str):
    def check(claims: dict = Depends(principal)) -> dict:
        roles = claims.get("roles")
        if not isinstance(roles, list) or role not in roles:
            raise Refusal(403, "INSUFFICIENT_ROLE", f"The token lacks the role {role}", "insufficient_scope")
        return claims

    return check


@app.get("/py/health")
def health() -> dict:
    return {"status": "ok"}


@app.get("/py/whoami")
def whoami(claims: dict = Depends(principal)) -> dict:
    return {
        "subject": claims["sub"],
        "username": claims.get("username"),
        "roles": claims.get("roles", []),
        "clientId": claims.get("client_id"),
    }


@app.get("/py/reports")
def reports(claims: dict = Depends(require_role("admin"))) -> dict:
    return {"report": "parts inventory", "for": claims.get("username") or claims["sub"]}


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "0"))))
    # Listening before the port is announced: a caller that connects at once waits in the backlog
    # until uvicorn accepts, instead of being refused.
    sock.listen(128)
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
