"""The package's layout holds: imports flow one way, no private names cross modules, rooms stay
small (DESIGN.md's layout and the README's developer section)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "facenmf"
MODULES = sorted(PACKAGE.rglob("*.py"))


def room(path):
    """The top-level room of a module: 'nmf', 'data', 'view', ..., '_validation', ..."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py")


def imports(path):
    """(room or external top-level name, imported names) for each import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = path.relative_to(PACKAGE).parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")
                found.append((top[1] if top[0] == "facenmf" and len(top) > 1 else top[0], []))
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level == 0:
                top = (node.module or "").split(".")
                target = top[1] if top[0] == "facenmf" and len(top) > 1 else top[0]
                if top[0] == "facenmf" and len(top) == 1:
                    target = "facenmf"
            else:
                base = here[:len(here) - (node.level - 1)]
                parts = list(base) + (node.module.split(".") if node.module else [])
                target = parts[0].removesuffix(".py") if parts else "facenmf"
                if not parts:  # "from . import x" at the top level: x is the room
                    for name in names:
                        found.append((name, []))
                    continue
            found.append((target, names))
    return found


ALLOWED = {
    # room: the rooms of ours it may import
    "_validation": set(),
    "_atomic": set(),
    "data": {"_validation", "_atomic", "data"},
    "nmf": {"_validation", "_atomic", "nmf"},
    "baselines": {"_validation", "nmf"},
    "metrics": {"_validation", "nmf"},
    "recognition": {"_validation", "nmf", "baselines", "metrics", "recognition", "data"},
    "compress": {"_validation", "_atomic", "nmf", "metrics", "compress", "data"},
    "view": {"_validation", "_atomic", "metrics", "baselines", "view"},
    # scikit-learn's orientation over the engine; the only module that imports scikit-learn
    # (whose top-level name is this room's: "sklearn" here is scikit-learn or the room)
    "sklearn": {"_validation", "nmf", "sklearn"},
    "cli": None,  # the top: anything
    "__init__": None,
}
OURS = {"_validation", "_atomic", "data", "nmf", "baselines", "metrics", "recognition",
        "compress", "view", "cli", "sklearn"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    allowed = ALLOWED.get(room(path), set())
    for target, _ in imports(path):
        if target in OURS and allowed is not None:
            assert target in allowed, f"{path.name} ({room(path)}) imports {target}"
        assert target != "cli" or room(path) == "cli", f"{path} imports cli"
        if room(path) == "nmf":
            assert target not in {"PIL", "matplotlib", "skimage"}, f"{path} imports {target}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_crosses_modules(path):
    for target, names in imports(path):
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.relative_to(PACKAGE)} imports {private} from {target}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 420, f"{path.relative_to(PACKAGE)} has {lines} lines"
