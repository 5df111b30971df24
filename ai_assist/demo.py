"""Demo tickets for `make run` (called by seed_demo): a short resolved history per department, a
router trained on it, and a few new tickets that get routed live. Idempotent."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from accounts.models import Department, User

HISTORY = {
    "Hardware": [
        ("Laptop screen flickers", "The screen of my laptop flickers when I move the lid."),
        ("Docking station not detected", "My laptop does not see the docking station, no external monitors."),
        ("Keyboard keys stuck", "Several keys of my laptop keyboard are stuck after a coffee spill."),
        ("Monitor has no signal", "The second monitor on my desk shows no signal."),
        ("Printer paper jam", "The printer on the third floor has a paper jam and shows an error light."),
        ("Laptop battery drains fast", "My laptop battery lasts less than an hour, I think it needs replacing."),
        ("New mouse and headset", "Please order a new mouse and a headset for video calls."),
        ("Phone charger broken", "The charger of my company phone stopped working."),
    ],
    "Software": [
        ("Outlook crashes on start", "Outlook closes immediately with an error message when I open it."),
        ("Install Visio", "Please install Microsoft Visio on my laptop, my manager approved the licence."),
        ("Excel add-in missing", "The reporting add-in disappeared from Excel after the update."),
        ("Browser keeps freezing", "Chrome freezes every few minutes on the intranet pages."),
        ("Licence expired for Adobe", "Adobe Acrobat says my licence has expired."),
        ("Teams update fails", "The Teams update fails with error code 0x80070005."),
        ("Word documents open read-only", "All Word documents open as read-only since yesterday."),
        ("Need Python installed", "Please install Python and VS Code for the data project."),
    ],
    "Network": [
        ("VPN disconnects", "The VPN drops every hour when I work from home."),
        ("Wi-Fi slow in meeting area", "The office Wi-Fi is very slow in the open meeting area."),
        ("Cannot reach internal site", "The intranet site does not load, DNS error name not resolved."),
        ("Firewall blocks supplier portal", "The firewall blocks the supplier portal we need for orders."),
        ("No internet on desk port", "The network port at my desk gives no connection."),
        ("VPN certificate expired", "The VPN client says the certificate has expired."),
        ("Guest Wi-Fi password", "Our visitors cannot join the guest Wi-Fi, the password is rejected."),
        ("Remote desktop times out", "Remote desktop to the build server times out from the VPN."),
    ],
    "Access": [
        ("Password reset", "I forgot my password and cannot sign in."),
        ("Account locked", "My account is locked after too many wrong passwords."),
        ("MFA on new phone", "I have a new phone and need to move my multi-factor authentication."),
        ("Access to shared drive", "Please give me access to the marketing shared drive."),
        ("Add me to the finance group", "I need permissions of the finance group for the reports."),
        ("Remove access of leaver", "Please remove all access of a colleague who left on Friday."),
        ("Active Directory group change", "Add the new team members to the project AD group."),
        ("Password expired on portal", "My password expired and the portal does not let me change it."),
    ],
    "Facilities": [
        ("Meeting room screen broken", "The screen in meeting room 2 does not turn on."),
        ("Badge does not open door", "My badge no longer opens the main entrance door."),
        ("Desk move next week", "Our team moves to the second floor next week, please move the desks."),
        ("Projector bulb", "The projector in the board room is very dark, the bulb may be dead."),
        ("Air conditioning too cold", "The air conditioning on floor four is far too cold."),
        ("Visitor badge request", "Please prepare visitor badges for tomorrow's workshop."),
        ("Conference phone crackles", "The conference phone in room 5 crackles during calls."),
        ("Broken chair", "My office chair is broken, please replace it."),
    ],
    "HR Systems": [
        ("Payslip not visible", "I cannot see my payslip in the HR portal this month."),
        ("Leave request stuck", "My leave request is stuck in the approval step."),
        ("Onboarding checklist", "The onboarding checklist for our new hire is empty in the HR portal."),
        ("Wrong bank details in payroll", "Payroll shows my old bank account, please update it."),
        ("Employee record wrong title", "My job title in the employee record is wrong."),
        ("Offboarding tasks", "Start the offboarding tasks for a colleague leaving at month end."),
        ("Holiday balance incorrect", "The HR portal shows the wrong holiday balance."),
        ("Cannot log in to HR portal", "The HR portal says my employee number is unknown."),
    ],
}

NEW_TICKETS = [
    ("Laptop screen cracked", "My laptop fell and the screen is cracked; I need a replacement."),
    ("VPN keeps dropping", "Since Monday the VPN disconnects every hour when I work from home."),
    ("Excel crashes with an error", "Excel closes with an error message whenever I open a large file."),
    ("Locked out after password change", "I changed my password and now my account is locked."),
    ("Payslip missing", "My November payslip is missing in the HR portal."),
    ("Help", "It does not work since this morning, please help."),
]

DEMO_PREFIX = "demo-history-"


def seed_demo_tickets(*, requester: User, write=print) -> None:
    """Create the history (resolved, with departments), train the router on it, open the new
    tickets (each routed as any new ticket is) and print where they went."""
    from ai_assist import store, training
    from tickets import services
    from tickets.models import Ticket

    departments = {department.name: department for department in Department.objects.filter(name__in=HISTORY)}
    created = 0
    n = 0
    for name, tickets in HISTORY.items():
        for title, description in tickets:
            n += 1
            if name in departments:
                _, made = services.ticket_import(
                    external_id=f"{DEMO_PREFIX}{n}",
                    requester=requester,
                    title=title,
                    description=description,
                    department=departments[name],
                )
                created += made
    if created or not store.models_path().is_file():
        training.train_from_database()
    write("Routing the demo tickets (department, agent, confidence):")
    for title, description in NEW_TICKETS:
        ticket = Ticket.objects.filter(requester=requester, title=title, external_id="").first()
        if ticket is None:
            with transaction.atomic():  # routing runs right after the commit, as for any new ticket
                ticket = services.ticket_create(requester=requester, title=title, description=description)
            ticket.refresh_from_db()
        write(f"  {describe(ticket)}")


def seed(*, write: Callable[[str], object], quiet: bool = False) -> None:
    """seed_demo's part: past tickets, a trained router, and new tickets routed live."""
    from accounts import demo

    seed_demo_tickets(requester=demo.user("employee"), write=write)


def describe(ticket) -> str:
    from ai_assist.models import Suggestion

    routed = Suggestion.objects.filter(ticket=ticket, kind=Suggestion.Kind.ROUTE).order_by("-created_at").first()
    confidence = f"{routed.confidence:.2f}" if routed is not None and routed.confidence is not None else "-"
    if ticket.department_id is None:
        guess = f" (best guess {routed.department.name})" if routed is not None and routed.department else ""
        return f"{ticket.title!r:40} -> triage, confidence {confidence}{guess}: waits for a lead"
    agent = ticket.assignee.email if ticket.assignee_id else "no agent free"
    return f"{ticket.title!r:40} -> {ticket.department.name}, {agent}, confidence {confidence}"
