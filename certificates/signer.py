"""Who makes a signature: a :class:`Signer` signs bytes and names its certificate and issuer chain.

Two implementations: :class:`FileKeySigner` (a lab-issued key in the data directory, decrypted with its
passphrase) and :class:`Pkcs11Signer` (a key on a USB token or HSM through its PKCS#11 module, e.g. a signatory's
token from a licensed Vietnamese CA, or SoftHSM2). Both return the signature in the form the ``cryptography``
package makes and verifies it (:func:`verify_signature`): RSA PKCS#1 v1.5 (RFC 8017 section 8.2) as the modulus-
length octet string, ECDSA as the DER ``ECDSA-Sig-Value`` (RFC 3279 section 2.2.3). XAdES (signxml) and PAdES
(pyHanko) plug in as described in docs/decisions/0410-lab-pki-and-tokens.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pkcs11
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from certificates.errors import PkiError, PkiNotFoundError, PkiRefusedError
from certificates.pki import PkiPaths, ca_chain, load_certificate, load_private_key, normalise_serial, pki_paths

#: DigestInfo DER prefixes for RSA PKCS#1 v1.5 over a precomputed digest: RFC 8017 section 9.2, note 1
DIGEST_INFO_PREFIX: dict[str, bytes] = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


@runtime_checkable
class Signer(Protocol):
    """Something that signs with a private key bound to an X.509 certificate."""

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's certificate (its public key verifies the signatures)."""
        ...

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """The issuer certificates from the signer's issuer up towards a root (may be empty)."""
        ...

    def sign(self, data: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        """The signature of ``data`` (hashed here with ``hash_algorithm``: SHA-256, -384 or -512)."""
        ...


def verify_signature(
    cert: x509.Certificate, signature: bytes, data: bytes, hash_algorithm: hashes.HashAlgorithm
) -> bool:
    """True when ``signature`` over ``data`` verifies with the public key of ``cert`` (RSA PKCS#1 v1.5 or ECDSA)."""
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            raise PkiRefusedError(f"unsupported public key type {type(key).__name__}: RSA or EC keys only")
    except InvalidSignature:
        return False
    return True


def _digest(data: bytes, hash_algorithm: hashes.HashAlgorithm) -> tuple[str, bytes]:
    name = hash_algorithm.name
    if name not in DIGEST_INFO_PREFIX:
        raise PkiRefusedError(f"hash algorithm {name} is not supported: use SHA-256, SHA-384 or SHA-512")
    return name, hashlib.new(name, data).digest()


class FileKeySigner:
    """A signer whose encrypted key and certificate are files (as ``caltrace pki issue-signer`` makes them)."""

    def __init__(self, cert_path: Path, key_path: Path, passphrase: str, chain: Sequence[x509.Certificate] = ()):
        self._cert = load_certificate(cert_path)
        key = load_private_key(key_path, passphrase)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise PkiRefusedError(f"the key {key_path} is neither RSA nor EC")
        if key.public_key().public_numbers() != self._cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise PkiRefusedError(f"the key {key_path} does not belong to the certificate {cert_path}")
        self._key = key
        self._chain = tuple(chain)

    @classmethod
    def issued(cls, serial: str, passphrase: str, paths: PkiPaths | None = None) -> FileKeySigner:
        """The signer of the lab-issued certificate ``serial`` (hex), with the lab CA as its chain."""
        paths = paths or pki_paths()
        wanted = normalise_serial(serial)
        if not paths.signer_cert(wanted).is_file():
            raise PkiNotFoundError(f"no signing certificate with serial {serial} in {paths.signers}")
        return cls(paths.signer_cert(wanted), paths.signer_key(wanted), passphrase, ca_chain(paths))

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's certificate."""
        return self._cert

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """The issuer chain (the lab CA for a lab-issued key)."""
        return self._chain

    @property
    def private_key(self) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
        """The decrypted key, for libraries that take a ``cryptography`` key object (signxml, pyHanko)."""
        return self._key

    def sign(self, data: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        """RSA PKCS#1 v1.5 or ECDSA (DER) signature of ``data``."""
        _digest(data, hash_algorithm)  # refuse unsupported hashes alike for both signers
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algorithm)
        return self._key.sign(data, ec.ECDSA(hash_algorithm))


class Pkcs11Signer:
    """A signer whose key stays on a PKCS#11 token (USB token, smart card, HSM, SoftHSM2).

    The key is found by label and/or id (hex) among the token's private keys, and the certificate on the token with
    the same label/id (or ``certificate`` when the token holds none). The digest is computed here and the token
    signs it raw (``CKM_RSA_PKCS`` over the DigestInfo, or ``CKM_ECDSA``): every token has these mechanisms,
    unlike the hash-and-sign ones. A session is opened and logged in for each signature.
    """

    def __init__(
        self,
        module: Path,
        token_label: str,
        pin: str,
        *,
        key_label: str | None = None,
        key_id: str | None = None,
        certificate: x509.Certificate | None = None,
        chain: Sequence[x509.Certificate] = (),
        read_certificate: bool = True,
    ) -> None:
        """Without ``certificate`` the token's certificate is read now (so a wrong PIN, token or key is said at
        once), unless ``read_certificate`` is false (a key about to be certified: :meth:`public_key`)."""
        if key_label is None and key_id is None:
            raise PkiRefusedError("name the token's key by its label or its id")
        if not module.is_file():
            raise PkiNotFoundError(f"no PKCS#11 module at {module}: give the token driver's .so file")
        self._module = module
        self._token_label = token_label
        self._pin = pin
        self._key_attrs: dict[str, Any] = {}
        if key_label is not None:
            self._key_attrs["label"] = key_label
        if key_id is not None:
            try:
                self._key_attrs["id"] = bytes.fromhex(key_id)
            except ValueError:
                raise PkiRefusedError(f"key id {key_id!r} is not hexadecimal") from None
        self._chain = tuple(chain)
        self._cert = certificate
        if certificate is None and read_certificate:
            self._cert = self._token_certificate()

    def _token(self) -> Any:

        try:
            lib = pkcs11.lib(str(self._module))
        except RuntimeError as exc:  # not a PKCS#11 module, or another module loaded already
            raise PkiRefusedError(f"cannot load the PKCS#11 module {self._module}: {exc}") from None
        try:
            return lib.get_token(token_label=self._token_label)
        except pkcs11.NoSuchToken:
            raise PkiNotFoundError(
                f"no token labelled {self._token_label!r} in {self._module}: is it plugged in? "
                "(list tokens with `pkcs11-tool --module MODULE -L`)"
            ) from None
        except pkcs11.MultipleTokensReturned:
            raise PkiRefusedError(f"several tokens are labelled {self._token_label!r}: plug in only one") from None

    def _open(self) -> Any:

        token = self._token()
        try:
            return token.open(user_pin=self._pin)
        except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.ArgumentsBad):
            raise PkiRefusedError(f"wrong PIN for token {self._token_label!r}") from None
        except pkcs11.PinLocked:
            raise PkiRefusedError(
                f"the PIN of token {self._token_label!r} is locked: unblock it with the SO PIN"
            ) from None

    def _what(self) -> str:
        parts = []
        if "label" in self._key_attrs:
            parts.append(f"label {self._key_attrs['label']!r}")
        if "id" in self._key_attrs:
            parts.append(f"id {self._key_attrs['id'].hex()}")
        return " and ".join(parts)

    def _token_certificate(self) -> x509.Certificate:

        template: dict[Any, Any] = {Attribute.CLASS: ObjectClass.CERTIFICATE}
        if "label" in self._key_attrs:
            template[Attribute.LABEL] = self._key_attrs["label"]
        if "id" in self._key_attrs:
            template[Attribute.ID] = self._key_attrs["id"]
        with self._open() as session:
            self._private_key(session)  # the key must be there too
            try:
                found = [bytes(obj[Attribute.VALUE]) for obj in session.get_objects(template)]
            except pkcs11.PKCS11Error as exc:
                raise PkiError(f"token {self._token_label!r} could not list its certificates: {exc!r}") from None
        if not found:
            raise PkiNotFoundError(
                f"token {self._token_label!r} holds no certificate with {self._what()}: give the certificate file"
            )
        return x509.load_der_x509_certificate(found[0])

    def _private_key(self, session: Any) -> Any:

        try:
            return session.get_key(object_class=ObjectClass.PRIVATE_KEY, **self._key_attrs)
        except pkcs11.NoSuchKey:
            raise PkiNotFoundError(f"token {self._token_label!r} holds no private key with {self._what()}") from None
        except pkcs11.MultipleObjectsReturned:
            raise PkiRefusedError(
                f"token {self._token_label!r} holds several private keys with {self._what()}: give the key id too"
            ) from None

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's certificate (read from the token on first use unless given)."""
        if self._cert is None:
            self._cert = self._token_certificate()
        return self._cert

    def public_key(self) -> rsa.RSAPublicKey:
        """The public half of the token's RSA key, from the private key object's modulus and public exponent
        (PKCS#11 v2.40 section 2.1.3: readable on an RSA private key), for the lab CA to certify a key that never
        leaves the token (``caltrace pki issue-signer --pkcs11-module``)."""
        with self._open() as session:
            key = self._private_key(session)
            if key.key_type != KeyType.RSA:
                raise PkiRefusedError(
                    f"the token's key {self._what()} is {key.key_type.name}: the lab CA certifies RSA token keys; "
                    "for another key give the certificate the token holds"
                )
            try:
                modulus = int.from_bytes(bytes(key[Attribute.MODULUS]), "big")
                exponent = int.from_bytes(bytes(key[Attribute.PUBLIC_EXPONENT]), "big")
            except pkcs11.PKCS11Error as exc:
                raise PkiError(f"token {self._token_label!r} does not show the key's public part: {exc!r}") from None
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """The issuer chain given (the licensed CA's certificates)."""
        return self._chain

    def sign(self, data: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        """RSA PKCS#1 v1.5 or ECDSA (DER) signature of ``data``, made on the token."""

        name, digest = _digest(data, hash_algorithm)
        with self._open() as session:
            key = self._private_key(session)
            try:
                if key.key_type == KeyType.RSA:
                    return bytes(key.sign(DIGEST_INFO_PREFIX[name] + digest, mechanism=Mechanism.RSA_PKCS))
                if key.key_type == KeyType.EC:
                    raw = bytes(key.sign(digest, mechanism=Mechanism.ECDSA))
                    half = len(raw) // 2
                    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
            except pkcs11.PKCS11Error as exc:
                raise PkiError(f"token {self._token_label!r} refused to sign: {exc!r}") from None
        raise PkiRefusedError(f"the token's key {self._what()} is {key.key_type.name}: RSA or EC keys only")
