"""Stand-in for the UniPixel package (NOT the real one): just the inference entry points."""

STANDIN = True
