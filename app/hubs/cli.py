def register(app):
    """Hubs have no commands of their own yet."""
