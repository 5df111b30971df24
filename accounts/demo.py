"""Demo departments and people for a laptop: one lead and one agent per department, an admin and
two employees, all with the published demo password. Called by `manage.py seed_demo`."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from accounts.models import Department, Role, User

# The demo users' published password (README, `make run` prints it); seed_demo refuses a production
# database unless told --allow-production.
DEMO_PASSWORD = "helpdesk-demo-2026"  # nosec B105
DOMAIN = "example.com"

DEPARTMENTS = {
    "Hardware": (
        "Laptops, desktops, monitors, docking stations, printers, phones and other devices: "
        "broken, slow or missing hardware, replacements and new equipment.",
        ["laptops", "printers", "monitors", "peripherals"],
    ),
    "Software": (
        "Installing, updating and fixing applications: office suite, browsers, licences, "
        "crashes, error messages and software requests.",
        ["office", "licences", "windows", "macos"],
    ),
    "Network": (
        "VPN, Wi-Fi, office network, internet access, firewalls, DNS and remote connectivity.",
        ["vpn", "wi-fi", "dns", "firewall"],
    ),
    "Access": (
        "Accounts, passwords, multi-factor authentication, permissions, shared drives and "
        "access to systems and groups.",
        ["passwords", "mfa", "permissions", "active directory"],
    ),
    "Facilities": (
        "Meeting-room equipment, badges, desks, office moves and building systems.",
        ["meeting rooms", "badges", "office moves"],
    ),
    "HR Systems": (
        "Payroll, leave, onboarding and offboarding, the HR portal and employee records.",
        ["payroll", "onboarding", "hr portal"],
    ),
}


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def user(local: str) -> User:
    """A demo person by the local part of their address (`admin`, `employee`, `agent.network`)."""
    return User.objects.get(email=f"{local}@{DOMAIN}")


def seed(*, write: Callable[[str], object], quiet: bool = False) -> None:
    """Create or refresh the departments and people (idempotent; passwords reset to the demo one)."""
    people = [("admin", Role.ADMIN, None, "Avery", "Admin", [])]
    for name, (_, skills) in DEPARTMENTS.items():
        slug = _slug(name)
        people.append((f"lead.{slug}", Role.LEAD, name, "Lee", f"{name} Lead", skills[:2]))
        people.append((f"agent.{slug}", Role.AGENT, name, "Alex", f"{name} Agent", skills))
    people += [
        ("employee", Role.EMPLOYEE, None, "Emma", "Employee", []),
        ("employee2", Role.EMPLOYEE, None, "Eli", "Employee", []),
    ]

    departments = {}
    for name, (description, _) in DEPARTMENTS.items():
        departments[name], _ = Department.objects.update_or_create(name=name, defaults={"description": description})

    created = 0
    for local, role, department, first, last, skills in tqdm(people, desc="Demo users", unit="user", disable=quiet):
        person, was_created = User.objects.update_or_create(
            email=f"{local}@{DOMAIN}",
            defaults={
                "first_name": first,
                "last_name": last,
                "role": role,
                "department": departments.get(department),
                "skills": skills,
                "is_active": True,
                "is_available": True,
            },
        )
        person.set_password(DEMO_PASSWORD)
        person.save(update_fields=["password"])
        created += was_created

    write(f"Demo data ready: {len(departments)} departments, {len(people)} users ({created} new).")
    write(
        f"Demo logins (password for all: {DEMO_PASSWORD}):\n"
        f"  admin     admin@{DOMAIN}            (Django admin at /admin/)\n"
        f"  lead      lead.network@{DOMAIN}     (one lead per department: lead.<department>@{DOMAIN})\n"
        f"  agent     agent.network@{DOMAIN}    (one agent per department: agent.<department>@{DOMAIN})\n"
        f"  employee  employee@{DOMAIN}, employee2@{DOMAIN}\n"
        f"  departments: {', '.join(_slug(name) for name in DEPARTMENTS)}"
    )
