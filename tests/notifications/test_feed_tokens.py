"""Token attacks on the live feed (/ws/feed/), issue 15 point 6 "the same on the websocket": every
forged or stale token of tests/accounts/test_tokens_attacks.py, in the URL and in the first message,
closes the socket with 4401 before it hears anything; a deactivated or deleted user cannot connect;
a demoted user connects with the rights of the new role only. (test_feed.py covers garbage, a bad
signature, expiry while open, and demotion or deactivation of an open socket.)"""

from __future__ import annotations

import pytest

from accounts import services as accounts
from accounts.models import Role, User
from accounts.tokens import issue_pair
from tests.accounts.test_tokens_attacks import forgeries
from tests.notifications.conftest import Socket, db, run, settle, token_of
from tickets import services

# Forging HS384/HS512 tokens with the test key makes PyJWT warn that it is short for those algorithms.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.filterwarnings("ignore:The HMAC key is")]


async def refused(raw, how: str) -> int | None:
    """Open a socket, present `raw` by URL or by the first message; the close code it gets (nothing
    else may arrive first: closed_with fails on a hello)."""
    if how == "url":
        socket = await Socket.open(token=raw, hello=False)
    else:
        socket = await Socket.open()
        await socket.send({"type": "auth", "token": raw})
    output = await socket.communicator.receive_output(3)
    # Let the consumer finish before the loop closes: a consumer left running on the Redis channel
    # layer can keep the loop's shutdown waiting for ever (it hung the PostgreSQL + Redis run).
    await socket.close()
    assert output["type"] == "websocket.close", (how, output)
    return output.get("code")


def test_forged_and_stale_access_tokens_close_with_4401_by_url_and_by_message(people):
    cases = forgeries(people["employee"], people["admin"], "access")
    cases["a refresh token used as access"] = issue_pair(people["employee"])["refresh"]

    async def scenario():
        for name, raw in cases.items():
            for how in ("url", "message"):
                assert await refused(raw, how) == 4401, (name, how)

    run(scenario)


@pytest.mark.parametrize(
    "token", [123, None, ["a.b.c"], {"token": "x"}, "", "a.b.c", "x" * 4000], ids=lambda value: type(value).__name__
)
def test_an_auth_message_with_anything_but_a_token_closes_with_4401(people, token):
    async def scenario():
        assert await refused(token, "message") == 4401

    run(scenario)


@pytest.mark.parametrize("how", ["url", "message"])
def test_a_deactivated_or_deleted_user_cannot_connect_with_a_token_from_before(people, how):
    lead_token, agent_token = token_of(people["lead"]), token_of(people["agent"])

    async def scenario():
        await db(accounts.user_deactivate)(actor=people["admin"], user=people["lead"])
        await db(User.objects.filter(pk=people["agent"].pk).delete)()
        assert await refused(lead_token, how) == 4401
        assert await refused(agent_token, how) == 4401

    run(scenario)


@pytest.mark.parametrize("how", ["url", "message"])
def test_a_demoted_user_connects_with_the_new_role_only(people, department, how):
    token = token_of(people["lead"])  # issued while a lead

    async def scenario():
        await db(accounts.user_update)(actor=people["admin"], user=people["lead"], role=Role.EMPLOYEE)
        if how == "url":
            socket = await Socket.open(token=token, hello=False)
        else:
            socket = await Socket.open()
            await socket.send({"type": "auth", "token": token})
        hello = await socket.next()
        assert hello["type"] == "hello" and hello["data"]["role"] == "employee"
        # A lead hears the department's new tickets and triage; an employee only their own.
        await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        await db(services.ticket_create)(requester=people["employee"], title="Triage", description="?")
        await settle()
        assert await socket.quiet(0.3)
        own = await db(services.ticket_create)(requester=people["lead"], title="Mine", description="x")
        message = await socket.next()
        assert message["type"] == "ticket.created" and message["data"]["ticket_id"] == own.pk
        await socket.close()

    run(scenario)
