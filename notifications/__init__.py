"""Notifications: outbox, email, in-app notifications and the agents' websocket feed."""
