"""Tickets: lifecycle, comments, attachments, SLA and escalation."""
