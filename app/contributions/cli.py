def register(app):
    """Contribution commands are added with the invoicing work."""
