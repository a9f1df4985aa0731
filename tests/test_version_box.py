"""The "Tested with" box and the footer: collapsed, after the text, and true about Python."""

from __future__ import annotations

from tools import docs_hooks
from tools.chapters import chapters
from tools.docs_hooks import ROOT

PAGE = """# A decision

<!-- versions -->

The first paragraph.

The second paragraph.

```markdown
## Not a heading: inside a fence
```

## The first section

Text.
"""


def expand(page: str) -> str:
    return docs_hooks.expand_versions(page, ROOT, "page.md")


def test_a_box_under_the_title_comes_after_the_introduction():
    out = expand(PAGE)
    assert "<!-- versions -->" not in out
    assert out.index("The second paragraph.") < out.index("??? info")
    assert out.index("Not a heading") < out.index("??? info") < out.index("## The first section")


def test_a_box_under_the_title_of_a_page_without_sections_ends_it():
    out = expand("# A page\n\n<!-- versions:03-plain-sqlalchemy -->\n\nAll of it.")
    assert out.startswith("# A page\n\n\nAll of it.\n\n??? info")


def test_a_box_after_some_text_stays_where_it_is():
    out = expand("# A page\n\nText.\n\n<!-- versions -->\n\n## Section\n")
    assert out.index("Text.") < out.index("??? info") < out.index("## Section")
    assert out.startswith("# A page\n\nText.\n\n??? info")


def test_every_box_is_collapsed():
    boxes = [docs_hooks.versions_all(ROOT)]
    boxes += [docs_hooks.versions_chapter(path.name, ROOT) for path in chapters().values()]
    for box in boxes:
        assert box.startswith('??? info "Tested with '), box.splitlines()[0]


def test_the_boxes_and_footer_name_the_python_the_readme_promises():
    python = docs_hooks.tested_python(ROOT)
    assert f"You need Python {python} or newer" in (ROOT / "README.md").read_text("utf-8")
    every = docs_hooks.versions_all(ROOT)
    assert every.splitlines()[0].endswith(f'· Python {python}"')
    assert "`chapter-NN-lowest` sessions run each" in every
    assert "on Python >=" not in docs_hooks.footer_stamp(ROOT)
    assert docs_hooks.footer_stamp(ROOT).endswith(
        f"on Python {python} (stamped by the docs build)."
    )
    for number, chapter in chapters().items():
        box = docs_hooks.versions_chapter(chapter.name, ROOT)
        assert box.splitlines()[0].endswith(f'· Python {python}"')
        assert f"`nox -s chapter-{number}-lowest` runs the same tests without the pins" in box
