from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, departments and sign-in."""

    name = "accounts"
    # Django admin for leads (accounts.policies collects every app's): their department's users.
    lead_admin_permissions = frozenset({"accounts.view_user", "accounts.change_user", "accounts.view_department"})

    def ready(self) -> None:
        from accounts import personal_data, policies

        policies.lead_admin_permissions()  # every app's declaration is checked at start-up, not at first use
        personal_data.register()  # its part of a person's export and erasure (helpdesk.personal_data)
