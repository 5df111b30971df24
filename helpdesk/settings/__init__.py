"""Settings: `main` for every deployment, `test` for the suite, `mongo_migrations` for a MongoDB-only chore."""
