"""The environment-file program: what ``__main__.py`` builds from the stack's environment file.

A client of the public API like any other program: it builds every resource through
``components.api`` (an import-linter contract in pyproject.toml keeps it from reaching past the API
into ``components.resources`` or ``components.providers``). ``estate.Estate`` is one whole
environment in one stack.
"""
