"""pytest set-up of the checkout (the tests' fixtures are in tests/conftest.py): a module whose
optional dependency is missing is not collected for its doctests (its tests skip)."""

collect_ignore = []
try:
    import sklearn  # noqa: F401
except ImportError:
    collect_ignore.append("facenmf/sklearn.py")
