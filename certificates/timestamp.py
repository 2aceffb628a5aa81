"""An RFC 3161 timestamp token from a timestamp server (TSA), for XAdES level T.

The request (RFC 3161 section 2.4.1) carries the SHA-256 of the data, a random 64-bit nonce and ``certReq`` TRUE (so
the token includes the TSA's certificate); it is POSTed as ``application/timestamp-query`` (RFC 3161 section 3.4).
The answer must be ``granted`` or ``grantedWithMods`` and its token's TSTInfo must carry the same message imprint
and nonce (RFC 3161 section 2.4.2); otherwise nothing is embedded. The TSA's signature on the token is not checked
here: checking it needs the TSA's trust anchor, which is the verifier's business (and not implemented there yet).
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request

from asn1crypto import algos, cms, tsp  # type: ignore[import-untyped]

from certificates.errors import PkiError

#: seconds to wait for the timestamp server
TIMEOUT = 15.0


class TimestampError(PkiError):
    """The timestamp server could not be reached or gave no usable token (exit 1)."""


def request_der(digest: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for the SHA-256 ``digest`` with ``nonce`` and certReq TRUE."""
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": tsp.MessageImprint(
                {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest}
            ),
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return bytes(req.dump())


def token_from_response(response: bytes, digest: bytes, nonce: int) -> bytes:
    """The DER TimeStampToken (a CMS ContentInfo) of a TimeStampResp, after checking status, imprint and nonce."""
    try:
        resp = tsp.TimeStampResp.load(response)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = resp["status"]["status_string"].native
            raise TimestampError(f"the timestamp server refused the request ({status}: {text})")
        token = resp["time_stamp_token"]
        if token["content_type"].native != "signed_data":
            raise TimestampError("the timestamp server's answer holds no signed token")
        info = token["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]
        same = imprint["hash_algorithm"]["algorithm"].native == "sha256" and imprint["hashed_message"].native == digest
        if not same:
            raise TimestampError("the timestamp server stamped other data than was asked: token not used")
        if info["nonce"].native != nonce:
            raise TimestampError("the timestamp server's answer does not carry our nonce: token not used")
        return bytes(cms.ContentInfo.load(token.dump()).dump())
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the timestamp server's answer is not an RFC 3161 response ({exc})") from None


def fetch_token(url: str, digest: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """A timestamp token over the SHA-256 ``digest`` from the server at ``url``."""
    if not url.startswith(("http://", "https://")):
        raise TimestampError(f"timestamp server {url!r} is not an http(s) URL")
    nonce = secrets.randbits(63) | 1
    request = urllib.request.Request(
        url,
        data=request_der(digest, nonce),
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"timestamp server {url} answered HTTP {exc.code}: check the URL") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TimestampError(f"timestamp server {url} did not answer ({reason}): check the URL and network") from None
    return token_from_response(body, digest, nonce)
