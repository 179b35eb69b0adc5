"""Stand-in of ``unipixel.utils``."""
