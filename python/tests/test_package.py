"""The package's own structure: imports between its modules go one way."""
import ast
import os

PACKAGE = os.path.join(os.path.dirname(__file__), "..", "ampc")


def _imports(path):
    """Sibling modules a module imports (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycle():
    modules = {name[:-3]: os.path.join(PACKAGE, name) for name in os.listdir(PACKAGE)
               if name.endswith(".py") and name != "__init__.py"}
    graph = {name: _imports(path) & set(modules) for name, path in modules.items()}
    # The CPU runtime imports no other ampc module but MPI's (data-parallel
    # libraries), which is a leaf itself.
    assert graph["runtime"] <= {"distributed"}, "the CPU runtime must not import other ampc modules"
    assert graph["distributed"] == set(), "ampc.distributed must not import other ampc modules"

    def visit(name, path):
        assert name not in path, "import cycle: " + " -> ".join(path + [name])
        for dep in graph[name]:
            visit(dep, path + [name])

    for name in graph:
        visit(name, [])
