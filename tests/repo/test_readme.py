"""The README's Layout names every module, and its docs table every doc (issue 24)."""

from __future__ import annotations

import re

from tests.support.paths import ROOT

PACKAGES = ["api", "api/v1", "api/sql", "api/cache", "api/access", "api/commands", "utilities", "serving"]


def layout_sections() -> dict[str, str]:
    """Folder -> the text of its entry: its line, its indented lines and its continuation lines."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    sections: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        head = re.match(r"^([a-z0-9_./-]+/)\s", line)
        if head:
            current = head.group(1).rstrip("/")
            sections[current] = line
        elif current and line.startswith(" "):
            sections[current] += "\n" + line
        else:
            current = ""
    return sections


def test_the_layout_names_every_module_in_its_folder():
    sections = layout_sections()
    missing = []
    for package in PACKAGES:
        text = sections.get(package, "")
        for module in sorted((ROOT / package).glob("*.py")):
            if module.name == "__init__.py" and package != "api":
                continue
            if not re.search(rf"(?<![\w/]){re.escape(module.name)}\b", text):
                missing.append(f"{package}/{module.name}")
    assert missing == []


def test_the_docs_table_names_every_doc():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Documentation", 1)[1].split("## Layout", 1)[0]
    listed = set(re.findall(r"\(docs/([\w.-]+\.md)\)", table))
    assert listed == {doc.name for doc in (ROOT / "docs").glob("*.md")}
