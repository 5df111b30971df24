"""Email in through the providers' inbound webhooks: each provider's own payload shape, posted to
anymail's URL (/anymail/<provider>/inbound/) through Django's test client, so that anymail's own
verification (signature, basic auth) and parsing run before intake.services.receive."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from intake.models import InboundMessage
from tests.helpers import PNG
from tests.intake.conftest import email
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SECRET = "intake-user:a-long-random-webhook-password"
SIGNING_KEY = "key-mailgun-signing-0123456789"


@pytest.fixture(autouse=True)
def anymail_secrets(settings):
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,
    }


def basic_auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def only_ticket() -> Ticket:
    [ticket] = Ticket.objects.all()
    return ticket


# --- Mailgun: a form post (raw MIME in body-mime), signed with the webhook signing key ---------------


def mailgun_form(raw: bytes, *, key: str = SIGNING_KEY, spam: str = "No") -> dict[str, str]:
    timestamp, token = str(int(time.time())), "f3a9c0de" * 6
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    text = raw.decode()
    if spam != "No":
        text = f"X-Mailgun-Sflag: {spam}\r\n" + text
    return {
        "recipient": "support@example.com",
        "sender": "employee@example.com",
        "body-mime": text,
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
    }


def test_mailgun_signed_post_opens_a_ticket(client, people):
    raw = email(subject="Mailgun: laptop fan is loud")
    answer = client.post("/anymail/mailgun/inbound_mime/", mailgun_form(raw), **basic_auth())
    assert answer.status_code == 200
    ticket = only_ticket()
    assert ticket.title == "Mailgun: laptop fan is loud" and ticket.requester == people["employee"]
    assert InboundMessage.objects.get().source == "mailgun"


def test_mailgun_with_a_wrong_signature_is_refused_by_anymail_and_makes_nothing(client, people):
    form = mailgun_form(email(), key="not-the-signing-key")
    assert client.post("/anymail/mailgun/inbound_mime/", form, **basic_auth()).status_code == 400
    assert Ticket.objects.count() == 0 and InboundMessage.objects.count() == 0


def test_mailgun_spam_flag_makes_no_ticket(client, people):
    answer = client.post("/anymail/mailgun/inbound_mime/", mailgun_form(email(), spam="Yes"), **basic_auth())
    assert answer.status_code == 200 and Ticket.objects.count() == 0
    assert InboundMessage.objects.get().reason.startswith("spam")


def test_a_provider_retry_of_the_same_post_makes_one_ticket(client, people):
    form = mailgun_form(email())
    for _ in range(2):
        assert client.post("/anymail/mailgun/inbound_mime/", form, **basic_auth()).status_code == 200
    assert Ticket.objects.count() == 1


# --- SendGrid: the Inbound Parse multipart post ("Send Raw"), basic auth in the URL ---------------


def sendgrid_form(raw: bytes, *, spam_score: str = "0.1") -> dict[str, str]:
    return {
        "email": raw.decode(),
        "envelope": json.dumps({"to": ["support@example.com"], "from": "employee@example.com"}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        "spam_score": spam_score,
        "SPF": "pass",
    }


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_sendgrid_parse_webhook_opens_a_ticket_with_its_attachment(client, people):
    raw = email(subject="SendGrid: monitor flickers", files=(("photo.png", PNG, "image/png"),))
    answer = client.post("/anymail/sendgrid/inbound/", sendgrid_form(raw), **basic_auth())  # multipart
    assert answer.status_code == 200
    ticket = only_ticket()
    assert ticket.title == "SendGrid: monitor flickers"
    assert {a["name"] for a in ticket.attachments} == {"photo.png", "original-message.eml"}


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_sendgrid_without_the_basic_auth_secret_is_refused(client, people):
    answer = client.post("/anymail/sendgrid/inbound/", sendgrid_form(email()), **basic_auth("intake-user:wrong"))
    assert answer.status_code == 400 and Ticket.objects.count() == 0


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_sendgrid_spam_score_over_the_limit_makes_no_ticket(client, people, settings):
    settings.EMAIL_INTAKE_SPAM_SCORE = 5.0
    answer = client.post("/anymail/sendgrid/inbound/", sendgrid_form(email(), spam_score="9.3"), **basic_auth())
    assert answer.status_code == 200 and Ticket.objects.count() == 0


# --- Postmark: the inbound JSON (parsed fields, no RawEmail), basic auth ----------------------------


def postmark_json(*, sender: str = "employee@example.com", spam: str = "No") -> dict:
    return {
        "FromName": "Erin Employee",
        "From": sender,
        "FromFull": {"Email": sender, "Name": "Erin Employee", "MailboxHash": ""},
        "To": "support@example.com",
        "ToFull": [{"Email": "support@example.com", "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "OriginalRecipient": "support@example.com",
        "Subject": "Postmark: cannot print to PDF",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Mon, 7 Dec 2026 10:00:00 +0000",
        "TextBody": "Printing to PDF hangs Word.\n\nThanks,\nErin",
        "HtmlBody": "<p>Printing to PDF hangs Word.</p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": f"<{sender}>"},
            {"Name": "X-Spam-Status", "Value": spam},
            {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "Message-ID", "Value": "<pm-1@client.example.org>"},
        ],
        "Attachments": [
            {
                "Name": "error.png",
                "Content": base64.b64encode(PNG).decode(),
                "ContentType": "image/png",
                "ContentLength": len(PNG),
            }
        ],
    }


def test_postmark_json_opens_a_ticket(client, people):
    answer = client.post("/anymail/postmark/inbound/", postmark_json(), content_type="application/json", **basic_auth())
    assert answer.status_code == 200
    ticket = only_ticket()
    assert ticket.title == "Postmark: cannot print to PDF"
    assert ticket.description == "Printing to PDF hangs Word."
    assert {a["name"] for a in ticket.attachments} == {"error.png", "original-message.eml"}


def test_a_message_larger_than_an_api_body_is_taken_with_its_file(client, people, settings):
    """An inbound post carries the whole message: it may be far over MAX_REQUEST_BYTES (1 MB)."""
    log = ("2026-12-07 10:00:00 VPN tunnel reset by peer\n" * 40_000).encode()  # about 1.8 MB
    payload = postmark_json()
    payload["Attachments"] = [
        {"Name": "vpn.log", "Content": base64.b64encode(log).decode(), "ContentType": "text/plain"}
    ]
    body = json.dumps(payload)
    assert len(body) > 2 * settings.MAX_REQUEST_BYTES
    answer = client.post("/anymail/postmark/inbound/", body, content_type="application/json", **basic_auth())
    assert answer.status_code == 200
    assert {a["name"]: a["size"] for a in only_ticket().attachments}["vpn.log"] == len(log)


def test_the_api_keeps_its_own_body_limit(client, people, settings):
    body = json.dumps({"title": "x", "description": "y" * (2 * settings.MAX_REQUEST_BYTES)})
    assert client.post("/api/v1/tickets/", body, content_type="application/json").status_code == 413


def test_postmark_without_basic_auth_is_refused(client, people):
    answer = client.post("/anymail/postmark/inbound/", postmark_json(), content_type="application/json")
    assert answer.status_code == 400 and Ticket.objects.count() == 0


def test_postmark_spam_status_makes_no_ticket(client, people):
    payload = postmark_json(spam="Yes")
    answer = client.post("/anymail/postmark/inbound/", payload, content_type="application/json", **basic_auth())
    assert answer.status_code == 200 and Ticket.objects.count() == 0


def test_without_a_webhook_secret_nothing_is_taken_and_the_provider_keeps_the_message(client, people, settings):
    """anymail itself only warns when WEBHOOK_SECRET is unset and takes the post; intake answers 503
    with Retry-After before anymail reads it, so the provider retries until it is configured."""
    settings.ANYMAIL = {key: value for key, value in settings.ANYMAIL.items() if key != "WEBHOOK_SECRET"}
    answer = client.post("/anymail/postmark/inbound/", postmark_json(), content_type="application/json")
    assert answer.status_code == 503 and answer["Retry-After"]
    assert answer.json()["code"] == "email_intake_not_secured" and "ANYMAIL_WEBHOOK_SECRET" in answer.json()["detail"]
    assert Ticket.objects.count() == 0 and InboundMessage.objects.count() == 0


def test_a_provider_whose_key_is_not_configured_is_off_not_a_crash(client, people, settings):
    settings.ANYMAIL = {key: value for key, value in settings.ANYMAIL.items() if key != "MAILGUN_WEBHOOK_SIGNING_KEY"}
    answer = client.post("/anymail/mailgun/inbound_mime/", mailgun_form(email()), **basic_auth())
    assert answer.status_code == 404 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "email_intake_off" and Ticket.objects.count() == 0


def test_a_refused_post_and_an_unknown_provider_answer_problem_json(client, people):
    refused = client.post("/anymail/postmark/inbound/", postmark_json(), content_type="application/json")
    assert (refused.status_code, refused["Content-Type"]) == (400, "application/problem+json")
    assert refused.json()["code"] == "webhook_not_verified"
    unknown = client.post("/anymail/nobody/inbound/", postmark_json(), content_type="application/json", **basic_auth())
    assert (unknown.status_code, unknown["Content-Type"]) == (404, "application/problem+json")
    # anymail's tracking webhooks are not mounted: nothing listens to them.
    assert client.post("/anymail/postmark/tracking/", {}, **basic_auth()).status_code == 404


# --- Amazon SES: an SNS Notification of a "Received" event with the message inline (SNS action), ------
# signed as SNS signs (intake.sns checks it; the signing certificate is one of the test's own, served
# from the cache where a fetched one would be kept, under an Amazon-shaped URL).

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:helpdesk-inbound"


@pytest.fixture(scope="module")
def sns_key():
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(autouse=True)
def sns_certificate(sns_key):
    from django.core.cache import cache

    cache.set(f"intake:sns-cert:{CERT_URL}", sns_key[1], 60)
    yield
    cache.delete(f"intake:sns-cert:{CERT_URL}")


def ses_notification(raw: bytes, sns_key, *, verdict: str = "PASS", version: str = "2", tamper: bool = False):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from intake import sns

    event = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-12-07T10:00:00.000Z",
            "source": "employee@example.com",
            "messageId": "ses-0a1b2c3d",
            "destination": ["support@example.com"],
            "headersTruncated": False,
            "commonHeaders": {"from": ["employee@example.com"], "subject": "SES"},
        },
        "receipt": {
            "recipients": ["support@example.com"],
            "spamVerdict": {"status": verdict},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": TOPIC, "encoding": "BASE64"},
        },
        "content": base64.b64encode(raw).decode(),
    }
    message_id = "8f2b9e4c-4a3d-5f6e-9a1b-2c3d4e5f6a7b"
    body = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(event),
        "Timestamp": "2026-12-07T10:00:00.000Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }
    digest = hashes.SHA256() if version == "2" else hashes.SHA1()
    body["Signature"] = base64.b64encode(sns_key[0].sign(sns.canonical(body), padding.PKCS1v15(), digest)).decode()
    if tamper:
        body["Message"] = body["Message"].replace("PASS", "PASS ", 1)  # after signing
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": message_id}
    return json.dumps(body), headers


def post_ses(client, body, headers, **auth):
    return client.post("/anymail/amazon_ses/inbound/", body, content_type="text/plain", **headers, **auth)


@pytest.mark.parametrize("version", ["1", "2"])
def test_amazon_ses_signed_sns_notification_opens_a_ticket(client, people, sns_key, version):
    body, headers = ses_notification(
        email(subject="SES: Outlook keeps asking for my password"), sns_key, version=version
    )
    assert post_ses(client, body, headers, **basic_auth()).status_code == 200
    assert only_ticket().title == "SES: Outlook keeps asking for my password"


def test_amazon_ses_with_a_signature_that_does_not_match_is_refused(client, people, sns_key):
    body, headers = ses_notification(email(), sns_key, tamper=True)
    assert post_ses(client, body, headers, **basic_auth()).status_code == 400
    assert Ticket.objects.count() == 0


def test_amazon_ses_with_a_certificate_url_that_is_not_amazons_is_refused(client, people, sns_key):
    body, headers = ses_notification(email(), sns_key)
    forged = json.loads(body)
    forged["SigningCertURL"] = "https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem"
    assert post_ses(client, json.dumps(forged), headers, **basic_auth()).status_code == 400
    assert Ticket.objects.count() == 0


def test_amazon_ses_from_a_topic_not_configured_is_refused(client, people, sns_key, settings):
    settings.EMAIL_INTAKE_SNS_TOPIC_ARNS = ["arn:aws:sns:eu-west-1:123456789012:another-topic"]
    body, headers = ses_notification(email(), sns_key)
    assert post_ses(client, body, headers, **basic_auth()).status_code == 400
    settings.EMAIL_INTAKE_SNS_TOPIC_ARNS = [TOPIC]
    assert post_ses(client, body, headers, **basic_auth()).status_code == 200
    assert Ticket.objects.count() == 1


def test_amazon_ses_asks_for_basic_auth_and_makes_nothing_without_it(client, people, sns_key):
    body, headers = ses_notification(email(), sns_key)
    assert post_ses(client, body, headers).status_code == 401 and Ticket.objects.count() == 0


def test_amazon_ses_spam_verdict_makes_no_ticket(client, people, sns_key):
    body, headers = ses_notification(email(), sns_key, verdict="FAIL")
    assert post_ses(client, body, headers, **basic_auth()).status_code == 200
    assert Ticket.objects.count() == 0
