"""Amazon SNS message signatures, for the Amazon SES inbound webhook.

anymail checks an SNS post's headers against its body and the basic-auth secret, but not the SNS
signature (a "Future" in its source). This checks it, as AWS documents
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): the signing
certificate comes only from an `https://sns.<region>.amazonaws.com/...pem` URL, is fetched once and
cached, and its key must verify the signature (SignatureVersion 1: SHA1, 2: SHA256) over the
message's canonical string. With EMAIL_INTAKE_SNS_TOPIC_ARNS set, only those topics are accepted.
"""

from __future__ import annotations

import base64
import re
import urllib.request
from urllib.parse import urlsplit

from anymail.exceptions import AnymailWebhookValidationFailure
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.cache import cache

CERT_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
CERT_CACHE_SECONDS = 24 * 3600
CERT_TIMEOUT_SECONDS = 10
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}  # SNS signature version 1 is SHA1: what AWS signs with


def canonical(message: dict) -> bytes:
    """The string SNS signed: each present key and its value, one a line, in AWS's order."""
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode()


def certificate_url_is_amazons(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(CERT_HOST.fullmatch(parts.hostname or "")) and parts.path.endswith(".pem")


def certificate(url: str) -> bytes:
    """The PEM at `url` (checked to be Amazon's), cached."""
    key = f"intake:sns-cert:{url}"
    pem = cache.get(key)
    if pem is None:  # verify() checked the URL first: https, sns.<region>.amazonaws.com, a .pem
        with urllib.request.urlopen(url, timeout=CERT_TIMEOUT_SECONDS) as answer:  # noqa: S310 # nosec B310
            pem = answer.read()
        cache.set(key, pem, CERT_CACHE_SECONDS)
    return pem


def verify(message: dict) -> None:
    """Raise AnymailWebhookValidationFailure (a 400) unless SNS signed `message`."""
    topics = settings.EMAIL_INTAKE_SNS_TOPIC_ARNS
    if topics and message.get("TopicArn") not in topics:
        raise AnymailWebhookValidationFailure("SNS message from a topic not in EMAIL_INTAKE_SNS_TOPIC_ARNS")
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    url = str(message.get("SigningCertURL") or "")
    if algorithm is None or not certificate_url_is_amazons(url):
        raise AnymailWebhookValidationFailure("SNS message without a signature we can check")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
        public_key = x509.load_pem_x509_certificate(certificate(url)).public_key()
    except (ValueError, OSError) as error:
        raise AnymailWebhookValidationFailure(f"SNS signature not checkable: {type(error).__name__}") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise AnymailWebhookValidationFailure("SNS signing certificate without an RSA key")
    try:
        public_key.verify(signature, canonical(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise AnymailWebhookValidationFailure("SNS signature does not match the message") from None
