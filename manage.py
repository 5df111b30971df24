#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.main")
    from helpdesk.startup import configured, manage

    configured(manage, sys.argv)  # a configuration error, or a part that is missing: one line, exit 1


if __name__ == "__main__":
    main()
