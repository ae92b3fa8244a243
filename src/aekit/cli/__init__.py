"""The ``aekit`` command. ``main.py`` parses; each problem's module registers its sub-commands."""
