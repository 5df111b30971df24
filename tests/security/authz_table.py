"""The authorization matrix: what every endpoint answers to every caller, in one table.

tests/security/test_authz_matrix.py walks the URL configuration (helpdesk/urls.py `api_v1`, and the
websocket routes) and fails when an endpoint and method has no row here, or a row names one that
does not exist. Each row is one request, made once as each caller against the object in `case`.

Callers, from the outside in (the world is built in test_authz_matrix.py):
  anon   no token
  emp    employee: the requester of `ticket` (Network), owner of `conversation` and `notification`
  emp2   another employee: the requester of `hw_ticket` (Hardware)
  agO    agent of the other department (Hardware)
  agent  agent of Network, assignee of `ticket`
  lead   lead of Network
  admin  admin (no department)

Cases (the object a row acts on; `object:variant` changes only the request):
  -                  no object (lists, creates, the caller's own things)
  ticket             employee's open ticket in Network, assigned to agent, with a public reply, an
                     internal note and an attachment; the AI routed it
  hw_ticket          emp2's resolved ticket in Hardware, routed by the AI
  triage_ticket      employee's ticket no department has taken yet
  attachment         ticket's file, through the download link issued to the employee
  article            published, for everyone (two versions)
  agents_article     published, for agents; leads_article: published, for leads
  draft_article      a draft; doc_article: a draft imported from a document (its file: doc_file)
  history_article    published, for everyone; its version 1 was a draft never published (MKDRAFTHIST)
  category / empty_category, department / empty_department
  agent_user         the Network agent's account
  conversation       employee's chatbot conversation
  route_suggestion   the AI's routing of `ticket`
  gap                a knowledge gap id that no report has
  audit_net / audit_hw   audit entries about Network / Hardware
  notification       employee's in-app notification
  reset_token        a password-reset link that is not valid
  (auth-oidc-token: company sign-in is not configured in the suite's settings, so 404 for everyone;
  tests/e2e/test_oidc.py signs in against a real provider; so do sso-login and sso-callback, which
  send every browser back to the admin sign-in page here)
  intake-*: a mail provider's post (Postmark's JSON from the employee's address). With the webhook's
  credentials (:signed) it opens the employee's ticket whoever "calls", since the provider, not a
  person, is the caller; with only a person's bearer token it is refused and writes nothing.

Statuses: HTTP status codes; for the websocket 101 means accepted (with its `hello` message) and 4401
the close code. A 404 where the object exists means "hidden": the test checks it answers exactly what
a missing id answers (a role that may not use the endpoint at all gets that endpoint's 403 for any id).
"""

from __future__ import annotations

from dataclasses import dataclass

CALLERS = ("anonymous", "employee", "employee_other", "agent_other", "agent", "lead", "admin")
SHORT = ("anon", "emp", "emp2", "agO", "agent", "lead", "admin")

# Who may see each object of the world (the source of truth for "hidden": a caller not listed here
# must get what a missing id gets, never a 403 that confirms the object exists).
VISIBLE: dict[str, set[str]] = {
    "ticket": {"employee", "agent", "lead", "admin"},
    "hw_ticket": {"employee_other", "agent_other", "admin"},
    "triage_ticket": {"employee", "lead", "admin"},
    "article": {"employee", "employee_other", "agent_other", "agent", "lead", "admin"},
    "agents_article": {"agent_other", "agent", "lead", "admin"},
    "leads_article": {"lead", "admin"},
    "draft_article": {"lead", "admin"},
    "history_article": {"employee", "employee_other", "agent_other", "agent", "lead", "admin"},
    "doc_article": {"lead", "admin"},
    "agent_user": {"agent", "lead", "admin"},
    "conversation": {"employee"},
    "route_suggestion": {"agent", "lead", "admin"},
    "audit_net": {"lead", "admin"},
    "audit_hw": {"admin"},
    "notification": {"employee"},
}

# Marker words in the world's objects, and who may read each. Every 2xx body (JSON, event stream,
# websocket message) is searched: a marker reaching anyone else is a leak.
MARKERS: dict[str, set[str]] = {
    "MKTICKET": VISIBLE["ticket"],
    "MKNOTE": {"agent", "lead", "admin"},  # the internal note of `ticket`
    "MKHWTICKET": VISIBLE["hw_ticket"],
    "MKTRIAGE": VISIBLE["triage_ticket"],
    "MKAGENTS": VISIBLE["agents_article"],
    "MKLEADS": VISIBLE["leads_article"],
    "MKDRAFT": VISIBLE["draft_article"],
    "MKDRAFTHIST": {"lead", "admin"},  # the never-published version 1 of `history_article`: its editors
    "MKCONV": {"employee", "admin"},  # admins read every chat answer in the suggestion log
    "MKAUDITNET": VISIBLE["audit_net"],
    "MKAUDITHW": VISIBLE["audit_hw"],
    "MKNOTIF": VISIBLE["notification"],
}

TABLE = """
# url name                        method   case                 anon  emp  emp2  agO agent lead admin
# --- accounts: sign-up and tokens take no bearer token, so every caller gets the same answer
auth-signup                       POST     -                     201  201  201  201  201  201  201
auth-login                        POST     -                     200  200  200  200  200  200  200
auth-refresh                      POST     -                     200  200  200  200  200  200  200
auth-logout                       POST     -                     204  204  204  204  204  204  204
auth-me                           GET      -                     401  200  200  200  200  200  200
auth-me                           PATCH    -                     401  200  200  200  200  200  200
auth-oidc-token                   POST     -                     404  404  404  404  404  404  404
auth-password                     POST     -                     401  200  200  200  200  200  200
auth-password                     POST     -:wrong_old           401  400  400  400  400  400  400
auth-password-reset               POST     -:known_email         202  202  202  202  202  202  202
auth-password-reset               POST     -:unknown_email       202  202  202  202  202  202  202
auth-password-reset-confirm       POST     reset_token           400  400  400  400  400  400  400
# the second factor (decision 0032): verify takes no bearer token; enrol and confirm take a bearer token or,
# without one, a sign-in's enrolment challenge (:challenge, for the Network agent)
auth-2fa                          GET      -                     401  200  200  200  200  200  200
auth-2fa-verify                   POST     -                     401  401  401  401  401  401  401
auth-2fa-verify                   POST     -:code                200  200  200  200  200  200  200
auth-2fa-enrol                    POST     -                     401  403  403  200  200  200  200
auth-2fa-enrol                    POST     -:challenge           200  403  403  200  200  200  200
auth-2fa-confirm                  POST     -                     401  403  403  400  400  400  400
auth-2fa-confirm                  POST     -:challenge           400  403  403  400  400  400  400
auth-2fa-recovery-codes           POST     -                     401  400  400  400  400  400  400
auth-2fa-disable                  POST     -                     401  400  400  400  400  400  400
user-list                         GET      -                     401  403  403  200  200  200  200
user-list                         POST     -                     401  403  403  403  403  403  201
user-detail                       GET      agent_user            401  403  403  404  200  200  200
user-detail                       PATCH    agent_user            401  403  403  403  403  403  200
user-detail                       DELETE   agent_user            401  403  403  403  403  403  204
user-export                       GET      agent_user            401  403  403  403  403  403  200
user-erase                        POST     agent_user            401  403  403  403  403  403  200
user-reset-2fa                    POST     agent_user            401  403  403  403  403  403  400
department-list                   GET      -                     401  200  200  200  200  200  200
department-list                   POST     -                     401  403  403  403  403  403  201
department-detail                 GET      department            401  200  200  200  200  200  200
department-detail                 PATCH    department            401  403  403  403  403  403  200
department-detail                 DELETE   empty_department      401  403  403  403  403  403  204
# --- email in (the providers' webhooks) and company sign-in for admin: plain Django views, no bearer token
intake-inbound                    POST     -                     400  400  400  400  400  400  400
intake-inbound                    POST     -:signed              200  200  200  200  200  200  200
intake-inbound-mandrill           POST     -                     404  404  404  404  404  404  404
sso-login                         GET      -                     302  302  302  302  302  302  302
sso-callback                      GET      -                     302  302  302  302  302  302  302
# --- tickets
ticket-list                       GET      -                     401  200  200  200  200  200  200
ticket-list                       POST     -                     401  201  201  201  201  201  201
ticket-detail                     GET      ticket                401  200  404  404  200  200  200
ticket-detail                     GET      hw_ticket             401  404  200  200  404  404  200
ticket-detail                     GET      triage_ticket         401  200  404  404  404  200  200
ticket-detail                     PATCH    ticket                401  200  404  404  200  200  200
ticket-detail                     PATCH    ticket:priority       401  403  404  404  200  200  200
ticket-detail                     PATCH    hw_ticket:priority    401  404  403  200  404  404  200
ticket-detail                     DELETE   ticket                401  403  404  404  403  403  204
ticket-assign                     POST     ticket                401  403  404  404  200  200  400
ticket-escalate                   POST     ticket                401  403  404  404  200  200  200
ticket-transition                 POST     ticket                401  200  404  404  200  200  200
ticket-transition                 POST     hw_ticket             401  404  200  200  404  404  200
ticket-comments                   GET      ticket                401  200  404  404  200  200  200
ticket-comments                   GET      hw_ticket             401  404  200  200  404  404  200
ticket-comments                   POST     ticket                401  201  404  404  201  201  201
ticket-comments                   POST     ticket:note           401  403  404  404  201  201  201
ticket-attachments                GET      ticket                401  200  404  404  200  200  200
ticket-attachments                POST     ticket                401  201  404  404  201  201  201
ticket-attachment-download        GET      attachment            200  200  200  200  200  200  200
ticket-attachment-download        GET      attachment:no_link    404  404  404  404  404  404  404
# --- knowledge base
kb-category-list                  GET      -                     401  200  200  200  200  200  200
kb-category-list                  POST     -                     401  403  403  403  403  201  201
kb-category-detail                GET      category              401  200  200  200  200  200  200
kb-category-detail                PATCH    category              401  403  403  403  403  200  200
kb-category-detail                DELETE   empty_category        401  403  403  403  403  204  204
kb-article-list                   GET      -                     401  200  200  200  200  200  200
kb-article-list                   POST     -                     401  403  403  403  403  201  201
kb-article-detail                 GET      article               401  200  200  200  200  200  200
kb-article-detail                 GET      agents_article        401  404  404  200  200  200  200
kb-article-detail                 GET      leads_article         401  404  404  404  404  200  200
kb-article-detail                 GET      draft_article         401  404  404  404  404  200  200
kb-article-detail                 PATCH    article               401  403  403  403  403  200  200
kb-article-detail                 PATCH    draft_article         401  404  404  404  404  200  200
kb-article-detail                 DELETE   article               401  403  403  403  403  204  204
kb-article-detail                 DELETE   draft_article         401  404  404  404  404  204  204
kb-article-publish                POST     draft_article         401  404  404  404  404  200  200
kb-article-archive                POST     article               401  403  403  403  403  200  200
kb-article-revert                 POST     article               401  403  403  403  403  200  200
kb-article-versions               GET      article               401  200  200  200  200  200  200
kb-article-versions               GET      leads_article         401  404  404  404  404  200  200
kb-article-version                GET      article               401  200  200  200  200  200  200
kb-article-version                GET      draft_article         401  404  404  404  404  200  200
kb-article-versions               GET      history_article       401  200  200  200  200  200  200
kb-article-version                GET      history_article       401  404  404  404  404  200  200
kb-article-detail                 GET      history_article       401  200  200  200  200  200  200
kb-search                         GET      -                     401  200  200  200  200  200  200
kb-tags                           GET      -                     401  200  200  200  200  200  200
kb-documents                      POST     -                     401  403  403  403  403  201  201
kb-attachment-download            GET      doc_file              200  200  200  200  200  200  200
kb-article-from-ticket            POST     ticket                401  403  403  403  403  400  400
kb-article-from-ticket            POST     hw_ticket             401  403  403  403  403  404  201
# --- AI
ai-route                          POST     -                     401  403  403  200  200  200  200
ai-similar                        POST     -                     401  200  200  200  200  200  200
ai-ticket-routing                 GET      ticket                401  403  403  404  200  200  200
ai-ticket-routing                 GET      hw_ticket             401  403  403  200  404  404  200
ai-chat                           POST     -                     401  200  200  200  200  200  200
ai-chat                           POST     -:event_stream        401  200  200  200  200  200  200
ai-chat                           POST     conversation          401  200  404  404  404  404  404
ai-conversations                  GET      -                     401  200  200  200  200  200  200
ai-conversation-detail            GET      conversation          401  200  404  404  404  404  404
ai-conversation-ticket            POST     conversation          401  201  404  404  404  404  404
ai-draft-reply                    POST     ticket                401  403  403  404  200  200  200
ai-draft-reply                    POST     hw_ticket             401  403  403  200  404  404  200
ai-ticket-summary                 POST     ticket                401  403  403  404  200  200  200
ai-ticket-summary                 POST     hw_ticket             401  403  403  200  404  404  200
ai-suggestions                    GET      -                     401  403  403  403  403  200  200
ai-suggestion-feedback            POST     route_suggestion      401  404  404  404  201  201  201
ai-stats                          GET      -                     401  403  403  403  403  200  200
ai-kb-gaps                        GET      -                     401  403  403  403  403  200  200
ai-kb-gap-draft                   POST     gap                   401  403  403  403  403  404  404
# --- audit and notifications
audit-entry-list                  GET      -                     401  403  403  403  403  200  200
audit-entry-detail                GET      audit_net             401  403  403  403  403  200  200
audit-entry-detail                GET      audit_hw              401  403  403  403  403  404  200
notification-list                 GET      -                     401  200  200  200  200  200  200
notification-read-all             POST     -                     401  200  200  200  200  200  200
notification-read                 POST     notification          401  200  404  404  404  404  404
notification-email-preferences    GET      -                     401  200  200  200  200  200  200
notification-email-preferences    PATCH    -                     401  200  200  200  200  200  200
# --- the live feed (websocket): 101 accepted with its hello, 4401 closed
ws:feed                           CONNECT  -                    4401  101  101  101  101  101  101
"""


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    case: str
    expected: dict[str, int]

    @property
    def object(self) -> str:
        """The world object the row acts on ("-": none)."""
        return self.case.split(":")[0]

    @property
    def id(self) -> str:
        return f"{self.name} {self.method} {self.case}"


def parse(table: str) -> list[Row]:
    rows = []
    for line in table.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, method, case, *statuses = line.split()
        assert len(statuses) == len(CALLERS), f"{name} {method} {case}: {len(statuses)} statuses"
        rows.append(Row(name, method, case, dict(zip(CALLERS, map(int, statuses), strict=True))))
    return rows


ROWS = parse(TABLE)
