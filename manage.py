#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.main")
    from django.core.management import execute_from_command_line

    from helpdesk.startup import configured

    configured(execute_from_command_line, sys.argv)  # a configuration error: one line, exit 1


if __name__ == "__main__":
    main()
