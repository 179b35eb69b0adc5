"""Stand-in for the UniPixel package (NOT the real one): its inference entry points only.

The real ``unipixel`` is a namespace package (no ``__init__``); this marker file lets the
adapter tell the stand-in from the real code.
"""

STANDIN = True
