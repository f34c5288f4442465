"""`flask contributions issue-annual`: added by the annual-run work."""
