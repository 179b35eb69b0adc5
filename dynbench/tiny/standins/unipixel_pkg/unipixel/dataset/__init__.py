"""Stand-in of ``unipixel.dataset`` (the real one also defines training datasets)."""
