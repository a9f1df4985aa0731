"""The repository's own helpers (docs hook, captures, bootstrap). Not part of any chapter."""
