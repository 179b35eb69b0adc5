"""Stand-in of ``unipixel.model``: the real one registers its classes with the Auto API."""
