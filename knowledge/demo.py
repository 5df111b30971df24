"""Demo knowledge base for a laptop: a few true, generic IT help articles (`manage.py seed_demo`).

Idempotent: categories by slug, articles by title; existing ones are left as they are (an editor
may have changed them). Written through the services, so they have versions, tags and events.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import User
from knowledge import services
from knowledge.models import Article, Category, Visibility

CATEGORIES = [
    # slug, name, parent slug, description
    ("accounts-and-passwords", "Accounts and passwords", None, "Signing in, passwords and account problems."),
    ("multi-factor-authentication", "Multi-factor authentication", "accounts-and-passwords", "Authenticator apps."),
    ("network-and-vpn", "Network and VPN", None, "VPN, Wi-Fi and the office network."),
    ("devices-and-printing", "Devices and printing", None, "Laptops, phones, monitors and printers."),
    ("email-and-collaboration", "Email and collaboration", None, "Mail, calendars and chat on every device."),
    ("security", "Security", None, "Phishing, lost devices and what to do when something looks wrong."),
]

E, A, L = Visibility.EVERYONE, Visibility.AGENTS, Visibility.LEADS

ARTICLES = [
    (
        "accounts-and-passwords",
        E,
        ["password", "self-service", "account"],
        "Reset a forgotten password",
        "Use the self-service portal to choose a new password without calling the helpdesk.",
        """You can reset your own password at any time, from any device, with the self-service portal.

## Steps
1. Open the self-service portal from the intranet home page (or the link on the sign-in screen: *Forgot password?*).
2. Enter your work email address.
3. Approve the sign-in request in your authenticator app, or type the code it shows.
4. Choose a new password: at least 12 characters; a short sentence is easier to remember than symbols.
5. Sign in again on your laptop, then on your phone (mail and chat apps will ask for the new password).

## If it does not work
- No authenticator app on your new phone? See *Set up multi-factor authentication on a new phone*.
- After five wrong tries the account locks for 15 minutes. Wait, or open a ticket and an agent unlocks it.

Never send your password to anyone, the helpdesk included: we will never ask for it.""",
    ),
    (
        "multi-factor-authentication",
        E,
        ["mfa", "authenticator", "phone"],
        "Set up multi-factor authentication on a new phone",
        "Move your authenticator app to a new phone before you wipe the old one.",
        """Your account needs a second factor: the authenticator app on your phone.

## While you still have the old phone
1. Install the authenticator app on the new phone.
2. On a laptop, open *My sign-ins* from the intranet and choose **Add sign-in method** > **Authenticator app**.
3. Scan the QR code with the new phone and approve the test notification.
4. Remove the old phone from the list. Only then reset or hand in the old phone.

## If the old phone is lost or broken
Open a ticket (category *Access*) from a colleague's laptop, or call the helpdesk. An agent checks who you
are and issues a temporary access pass so that you can register the new phone.""",
    ),
    (
        "accounts-and-passwords",
        A,
        ["account", "lockout", "identity check"],
        "Unlock an account and verify the caller",
        "Agents: how to check identity before unlocking an account or resetting MFA.",
        """Before you unlock an account, reset a password or issue a temporary access pass, verify the person.

## Identity check
1. Call the person back on the phone number in the HR directory, never on a number they give you.
2. Ask for their employee number and their manager's name; compare with the HR directory.
3. If anything does not match, stop and escalate to the Access lead.

## Unlock
- Directory console > Users > the account > **Unlock**. Lockouts clear themselves after 15 minutes anyway.
- Repeated lockouts every few minutes usually mean an old password saved on a phone or a mapped drive:
  ask the user to update it everywhere.

Write in the ticket which checks you did (not the answers).""",
    ),
    (
        "network-and-vpn",
        E,
        ["vpn", "remote", "home"],
        "Connect to the VPN from home",
        "Install the VPN client and sign in with your work account to reach internal systems from anywhere.",
        """The VPN connects your work laptop to the office network, so intranet sites and shared drives work at home.

## Steps
1. The VPN client is already installed on work laptops. If it is missing, install it from the Software Center.
2. Open the VPN client and choose the profile **Office (automatic)**.
3. Sign in with your work email and approve the request in your authenticator app.
4. The icon turns green when you are connected.

## Good to know
- You do not need the VPN for email, chat or the web: only for internal sites and shared drives.
- Hotel and café networks sometimes block the VPN. Choose the profile **Office (443)** instead.""",
    ),
    (
        "network-and-vpn",
        E,
        ["vpn", "disconnects", "wi-fi"],
        "The VPN keeps disconnecting",
        "What to check when the VPN drops every few minutes, before you open a ticket.",
        """If the VPN connects but drops again and again, check these in order.

1. **Wi-Fi signal.** Move closer to the router or use a cable: a weak signal is the most common cause.
2. **Sleep settings.** The laptop may turn off Wi-Fi to save power. Plug it in and try again.
3. **Profile.** Use **Office (443)** on networks that block other ports (hotels, trains, some home routers).
4. **Client version.** Update the VPN client from the Software Center and restart.

Still dropping? Open a ticket with the times it dropped and the network you were on (home, hotel, phone hotspot).""",
    ),
    (
        "network-and-vpn",
        A,
        ["vpn", "gateway", "tunnel"],
        "Reset a user's stuck VPN session",
        "Agents: end a hung VPN session on the gateway so the user can connect again.",
        """Sometimes the gateway keeps an old session and refuses a new one ("already connected").

## Steps
1. Open the VPN gateway console (Network tools > VPN gateway) with your admin account.
2. Search **Active sessions** for the user's email address.
3. Select the session and choose **Disconnect**; wait 30 seconds.
4. Ask the user to connect again with the **Office (automatic)** profile.

If the same user gets stuck every day, note the client version and escalate to the Network lead.""",
    ),
    (
        "devices-and-printing",
        E,
        ["printer", "printing"],
        "Add an office printer",
        "Add the printer near you from the print portal; drivers install by themselves.",
        """Every office printer is on the print portal, named by floor and number (for example **HP-2-01**).

## Windows
1. Open **Settings > Bluetooth & devices > Printers & scanners** and choose **Add device**.
2. If the printer is not listed, choose **Add manually** and type `\\\\print\\HP-2-01` (your printer's name).

## macOS
1. Open **System Settings > Printers & Scanners** and click **+**.
2. Choose the printer by name; the driver installs by itself.

Secure print: your job waits at the printer until you tap your badge.""",
    ),
    (
        "devices-and-printing",
        E,
        ["printer", "offline"],
        "The printer says offline",
        "Most offline printers come back after a restart of the print queue on your laptop.",
        """1. Check the printer's own screen: paper jams and empty trays show there first.
2. On your laptop, open the print queue, cancel stuck jobs, and restart the laptop.
3. Remove the printer and add it again (see *Add an office printer*).
4. If nobody on the floor can print, open a ticket: the printer itself or the print server needs us.""",
    ),
    (
        "devices-and-printing",
        E,
        ["laptop", "request", "hardware"],
        "Request a new or replacement laptop",
        "Order a laptop for a new starter or replace a broken one through the service portal.",
        """## New starters
Managers order the laptop at least five working days before the start date: service portal >
**Hardware** > **Laptop request**. It is ready at reception on the first morning.

## Broken laptop
Open a ticket in the Hardware category with what happened. Bring the laptop and charger to the IT desk;
you get a loan laptop the same day while yours is repaired. Files in your cloud drive are safe; files
only on the desktop may not be.""",
    ),
    (
        "email-and-collaboration",
        E,
        ["email", "phone", "calendar"],
        "Get work email on your phone",
        "Install the mail app, sign in with your work account, and approve the device policy.",
        """1. Install the official mail app from your phone's app store.
2. Add an account with your work email address and sign in; approve in your authenticator app.
3. Accept the device policy: it asks for a screen lock and lets us wipe *work data only* if the phone is lost.
4. Calendar and contacts appear in the same app after a few minutes.

Personal photos, apps and messages are never visible to IT.""",
    ),
    (
        "security",
        E,
        ["phishing", "email", "security"],
        "Report a phishing email",
        "Use the Report button in the mail app; do not click links or open attachments.",
        """Signs of phishing: urgency ("your account closes today"), a sender address that does not match the name,
links to unfamiliar sites, unexpected attachments or requests for passwords or payments.

1. Do not click links, open attachments or reply.
2. Use **Report > Phishing** in the mail app. It goes to the security team and leaves your inbox.
3. If you already clicked or typed your password, reset your password at once (see *Reset a forgotten
   password*) and open an urgent ticket. Reporting quickly matters more than feeling embarrassed.""",
    ),
    (
        "security",
        L,
        ["laptop", "lost", "security", "escalation"],
        "Lost or stolen laptop: lead checklist",
        "Leads: the steps and notifications when a laptop with company data is lost or stolen.",
        """Within the hour of the report:
1. Confirm the asset tag and the user with the ticket; mark the ticket urgent and escalated.
2. Ask an Access agent to revoke the user's sessions and reset their password and MFA.
3. Send the remote wipe from the device management console and note the time in the ticket.
4. Tell the security officer (security on-call rota) with the asset tag and when and where it was lost.
5. If personal data of customers may have been on it, the security officer decides about the data
   protection report: it has a 72-hour deadline.

Then order a replacement (see *Request a new or replacement laptop*).""",
    ),
]


def seed_articles(*, author: User) -> int:
    """Create the demo categories and published articles that do not exist yet; return how many are new."""
    categories: dict[str, Category] = {}
    for slug, name, parent, description in CATEGORIES:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            category = services.category_create(
                actor=author, name=name, slug=slug, parent=categories.get(parent), description=description
            )
        categories[slug] = category
    created = 0
    for category, visibility, tags, title, summary, body in ARTICLES:
        if Article.objects.filter(title=title).exists():
            continue
        article = services.article_create(
            actor=author,
            title=title,
            summary=summary,
            body=body,
            category=categories[category],
            tags=tags,
            visibility=visibility,
        )
        services.article_publish(actor=author, article=article)
        created += 1
    return created


def seed(*, write: Callable[[str], object], quiet: bool = False) -> None:
    """seed_demo's part: the articles, written and published by the demo admin."""
    from accounts import demo

    write(f"Knowledge base: demo articles in place ({seed_articles(author=demo.user('admin'))} new).")
