from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, departments and sign-in."""

    name = "accounts"
