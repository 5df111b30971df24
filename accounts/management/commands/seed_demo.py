"""Demo data for a laptop: departments and one user of each role per department. Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Department, Role, User
from knowledge.demo import seed_articles

DEMO_PASSWORD = "helpdesk-demo-2026"
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


class Command(BaseCommand):
    help = "Create demo departments and users (idempotent). Passwords are reset to the demo password."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even when DEBUG is false (demo accounts have a published password).",
        )

    def handle(self, *args, allow_production: bool = False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "seed_demo creates accounts with a published password; it runs only with DEBUG=true "
                "(or pass --allow-production if you really mean it)."
            )
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
        for local, role, department, first, last, skills in tqdm(
            people, desc="Demo users", unit="user", disable=options.get("verbosity", 1) < 1
        ):
            user, was_created = User.objects.update_or_create(
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
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            created += was_created

        articles = seed_articles(author=User.objects.get(email=f"admin@{DOMAIN}"))
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {len(departments)} departments, {len(people)} users ({created} new).")
        )
        self.stdout.write(f"Knowledge base: demo articles in place ({articles} new).")
        self.stdout.write(
            f"Demo logins (password for all: {DEMO_PASSWORD}):\n"
            f"  admin     admin@{DOMAIN}            (Django admin at /admin/)\n"
            f"  lead      lead.network@{DOMAIN}     (one lead per department: lead.<department>@{DOMAIN})\n"
            f"  agent     agent.network@{DOMAIN}    (one agent per department: agent.<department>@{DOMAIN})\n"
            f"  employee  employee@{DOMAIN}, employee2@{DOMAIN}\n"
            f"  departments: {', '.join(_slug(name) for name in DEPARTMENTS)}"
        )
        from ai_assist.demo import seed_demo_tickets  # past tickets, a trained router, new tickets routed live

        seed_demo_tickets(requester=User.objects.get(email=f"employee@{DOMAIN}"), write=self.stdout.write)
