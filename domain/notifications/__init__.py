"""Notifications (S-25, S-26): what is sent to whom (kinds), how an email is rendered
(render) and handed over (delivery), and how a webhook is signed and where it may go
(webhooks). Which reminder is due when is a rule: domain/reminders.py."""
