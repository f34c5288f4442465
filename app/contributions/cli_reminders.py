"""`flask contributions send-reminders`: added by the reminders work."""
