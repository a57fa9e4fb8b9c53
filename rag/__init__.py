"""newsrag: ask questions of a Chinese news archive, get answers that cite outlet, article and passage."""

__version__ = "0.1.0"
