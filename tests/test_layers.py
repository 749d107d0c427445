"""Data flows one way: no module imports from a layer further along the flow.

The order is the one docs/design.md draws. The snapshot model sits below the sources because
every source produces it; the Smartsheet client sits with the sources because both the reader
and the audit-sheet publisher use it. A new module must be placed in a layer here, so this test
fails until someone decides where it belongs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[tuple[str, ...]] = [
    ("auditor", "auditor.errors", "auditor.text", "auditor.markup", "auditor.config"),
    ("auditor.snapshot",),
    ("auditor.sources", "auditor.smartsheet_client"),
    ("auditor.store",),
    ("auditor.diff",),
    ("auditor.audit",),
    ("auditor.outputs",),
    ("auditor.commands",),
    ("auditor.cli", "auditor.__main__"),
]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of the longest name in LAYERS that is `module` or a package holding it."""
    matches = [
        (len(name), index)
        for index, names in enumerate(LAYERS)
        for name in names
        if module == name or (name != "auditor" and module.startswith(name + "."))
    ]
    assert matches, f"{module} is in no layer of tests/test_layers.py: place it"
    return max(matches)[1]


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every auditor module a file imports, anywhere in it (top level or inside a function)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: the package uses absolute imports"
            found.append((node.lineno, node.module or ""))
    return [(line, name) for line, name in found if name.split(".")[0] == "auditor"]


def wrong_imports(root: Path) -> list[str]:
    wrong = []
    for path in sorted((root / "auditor").rglob("*.py")):
        own = layer_of(module_name(path, root))
        for line, imported in imports_of(path):
            if layer_of(imported) > own:
                wrong.append(f"{path.relative_to(root)}:{line} imports {imported}")
    return wrong


def test_no_module_imports_a_later_layer():
    assert not wrong_imports(ROOT), "\n".join(wrong_imports(ROOT))


def test_the_check_sees_a_wrong_import(tmp_path):
    forged = tmp_path / "auditor" / "snapshot" / "model.py"
    forged.parent.mkdir(parents=True)
    forged.write_text(
        "import auditor.text\n\ndef f():\n    from auditor.outputs.excel import write_report\n",
        encoding="utf-8",
    )
    assert wrong_imports(tmp_path) == ["auditor/snapshot/model.py:4 imports auditor.outputs.excel"]
