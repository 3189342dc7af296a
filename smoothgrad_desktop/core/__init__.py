"""The attribution core: pure Python, torch and numpy.

Nothing under this package may import Qt (a test enforces it); the GUI and the CLI both call into it.
"""
