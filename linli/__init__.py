"""Linli: a Matrix bot for the chat rooms of residential compounds (邻里牵手).

Everything Linli installs lives under this one name. The repository keeps one folder per part
(``bot/``, ``verification/``, ``broadcasts/``, ...); ``setup.py`` maps each to ``linli.<folder>``.
"""

__version__ = "0.1.0"
