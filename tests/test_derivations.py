"""The repository's derivations/ is what the code generates, and its pages render on GitHub."""
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from symgrad.publish import COMMAND, comparable, stale, write
from symgrad.render.editions import NOTABLE, editions, slug
from symgrad import catalog

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"
PAGES = sorted(DERIVATIONS.glob("*.md"))


def test_derivations_are_current():
    problems = stale(DERIVATIONS, version("symgrad"))
    assert not problems, ("derivations/ is not what the code generates: "
                          + ", ".join(f"{name} ({why})" for name, why in problems)
                          + f". Regenerate it from the repository root with: {COMMAND}")


def test_every_catalog_model_and_notable_option_has_a_page_and_a_sheet():
    assert set(NOTABLE) <= set(catalog.names()), "NOTABLE names a model the catalog lacks"
    for name, options in editions():
        stem = slug(name, options)
        assert (DERIVATIONS / f"{stem}.md").is_file() and (DERIVATIONS / f"{stem}.tex").is_file(), stem
    index = (DERIVATIONS / "README.md").read_text(encoding="utf-8")
    assert COMMAND in index
    assert index.count("](lstm-cifg.md)") == 1 and "`lstm --variant CIFG`" in index


def test_the_date_is_kept_when_nothing_else_changed(tmp_path):
    """Regenerating leaves a file alone when only its date would change, and rewrites it when
    anything else does: git sees only real changes."""
    old = "Checked on 2020-01-02 with symgrad 0.1.0.\n$$\nx = y\n$$\n"
    (tmp_path / "a.md").write_text(old, encoding="utf-8")
    written, kept = write(tmp_path, {"a.md": old.replace("2020-01-02", "2031-12-30")})
    assert written == [] and (tmp_path / "a.md").read_text(encoding="utf-8") == old
    written, kept = write(tmp_path, {"a.md": old.replace("x = y", "x = z").replace("2020-01-02", "2031-12-30")})
    assert written == [tmp_path / "a.md"] and "2031-12-30" in (tmp_path / "a.md").read_text(encoding="utf-8")


def test_a_graph_layout_is_compared_only_under_the_graphviz_that_made_it():
    sheet = "a\n% graph layout by Graphviz dot 2.43.0\n\\draw (1,2);\n% end of graph layout\nb"
    moved = sheet.replace("(1,2)", "(1,3)")
    assert comparable(sheet, "2.43.0") != comparable(moved, "2.43.0")     # same dot: a change counts
    assert comparable(sheet, "9.0.0") == comparable(moved, "9.0.0")       # another dot: layout set aside
    assert comparable(sheet, "9.0.0") != comparable(sheet.replace("a\n", "c\n"), "9.0.0")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_use_only_math_that_github_renders(page):
    """GitHub runs Markdown over the math: no _ that could open emphasis, no backslash before
    punctuation (it would be eaten), no \\\\ (it breaks inside $$), $ never glued to a letter,
    display blocks alone between blank lines."""
    text = page.read_text(encoding="utf-8")
    code = re.compile(r"```.*?```", re.S)
    text = code.sub("", text)
    displays = re.findall(r"(?<=\n)\$\$\n(.*?)\n\$\$(?=\n)", text, re.S)
    inline = re.findall(r"(?<!\$)\$([^$\n]+)\$(?!\$)", re.sub(r"\$\$\n.*?\n\$\$", "", text, flags=re.S))
    assert displays or page.name == "README.md"
    for math in displays + inline:
        assert not re.search(r"_(?! )", math), math
        assert not re.search(r"\\[!-/:-@\[-`{-~]", math), math
        assert "*" not in math and "<" not in math, math
    prose = re.sub(r"\$\$\n.*?\n\$\$", "", text, flags=re.S).split("$")
    for i in range(1, len(prose) - 1, 2):          # prose[i] is math: what opens and closes it
        assert prose[i - 1][-1:] in ("", " ", "\n"), f"{page.name}: $ glued to {prose[i - 1][-12:]!r}"
        assert prose[i + 1][:1] in ("", " ", "\n", ",", ".", ";", ":", ")"), f"{page.name}: {prose[i + 1][:12]!r}"
    for block in re.finditer(r"\$\$\n.*?\n\$\$", text, re.S):
        before, after = text[:block.start()], text[block.end():]
        assert before.endswith("\n\n") and (after.startswith("\n\n") or after == "\n"), page.name
