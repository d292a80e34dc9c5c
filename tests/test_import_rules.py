"""The import graph has no arrow running back up: domain/ knows nothing above it, workers/
nothing of the API or the tools, the API neither the ORM nor the tools, and the dashboard
is a pure GraphQL client. Read from the source with `ast`, without importing it, so that
function-level imports count too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package: the top-level modules it may not import, and why
RULES = {
    "domain": ({"gql_api", "workers", "ops", "dashboard"}, "the domain knows nothing above it"),
    "workers": ({"ops", "gql_api"}, "workers sit beside the API, below the tools"),
    "gql_api": ({"tortoise", "ops"}, "the ORM stays behind the domain; the tools sit above the API"),
    "dashboard": ({"domain", "gql_api", "workers"}, "the dashboard is a GraphQL client only"),
}


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for every import in a file, relative imports made absolute."""
    package = list(path.relative_to(root).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            # `from . import x` at the top names modules, not a package
            found += [(node.lineno, module or alias.name) for alias in node.names]
    return found


def violations(package: str, forbidden: set[str], root: Path = ROOT) -> list[str]:
    files = sorted((root / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return sorted({
        f"{path.relative_to(root)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path, root)
        if module.split(".")[0] in forbidden
    })


@pytest.mark.parametrize("package", RULES)
def test_no_import_runs_against_the_rules(package):
    forbidden, why = RULES[package]
    assert violations(package, forbidden) == [], why


def test_every_kind_of_import_is_read(tmp_path):
    """Plain, from, nested and relative imports: the check can fail on each."""
    source = tmp_path / "domain" / "services" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "import gql_api.app\n"
        "from workers import queue\n"
        "def later():\n"
        "    from ops.cli import main\n"
        "from ... import dashboard\n"
        "from .. import clock\n"
    )
    assert sorted(imported_modules(source, tmp_path)) == [
        (1, "gql_api.app"), (2, "workers"), (4, "ops.cli"), (5, "dashboard"), (6, "domain"),
    ]
