"""Migrations of Django's contrib apps for MongoDB (ObjectId auto fields). Generated; see helpdesk/settings/mongo_migrations.py."""
