"""Check the internal links of a built HTML site: every relative ``href`` and ``src`` of
every page must name a file of the site, and every ``#anchor`` an element id of its
target page.

    python docs/check_links.py docs/_build/html

Prints one line per broken link and exits 1 if there is any, else 0. Links with a scheme
(``https:``, ``mailto:``, ...) or a network location are external and not checked. The
theme's assets under ``_static/`` (which include Jinja templates with an .html suffix) are
link targets, not pages.
"""
from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Attributes that hold a URL, by tag.
URL_ATTRS = {"a": ("href",), "link": ("href",), "img": ("src",), "script": ("src",),
             "source": ("src",), "iframe": ("src",)}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = {k: v for k, v in attrs if v is not None}
        for key in ("id", "name"):
            if key in d and (key == "id" or tag == "a"):
                self.ids.add(d[key])
        for attr in URL_ATTRS.get(tag, ()):
            if attr in d:
                self.urls.append((tag, d[attr]))


def _parse(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def _pages(root: Path) -> list[Path]:
    """The site's pages: its HTML files outside ``_static/`` and ``_sources/``."""
    return sorted(p for p in root.rglob("*.html")
                  if p.relative_to(root).parts[0] not in ("_static", "_sources"))


def check_site(root: Path | str) -> list[str]:
    """Every broken internal link of the HTML files under ``root``, as
    ``"page: tag url (reason)"`` lines (empty when every link resolves)."""
    root = Path(root).resolve()
    cache: dict[Path, _Page] = {}
    problems: list[str] = []
    pages = _pages(root)
    if not pages:
        return [f"{root}: no HTML files"]
    for page_path in pages:
        page = _parse(page_path, cache)
        for tag, url in page.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("//"):
                continue
            rel = page_path.relative_to(root)
            if parts.path:
                target = (page_path.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = page_path
            if root not in target.parents and target != root:
                problems.append(f"{rel}: <{tag}> {url} (outside the site)")
                continue
            if not target.is_file():
                problems.append(f"{rel}: <{tag}> {url} (no such file)")
                continue
            anchor = unquote(parts.fragment)
            if anchor and target.suffix == ".html" and anchor not in _parse(target, cache).ids:
                problems.append(f"{rel}: <{tag}> {url} (no anchor #{anchor})")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python docs/check_links.py BUILT_HTML_FOLDER", file=sys.stderr)
        return 2
    root = Path(args[0])
    if not root.is_dir():
        print(f"{root}: not a folder", file=sys.stderr)
        return 2
    problems = check_site(root)
    for line in problems:
        print(line)
    n = len(_pages(root.resolve()))
    print(f"{n} pages checked, {len(problems)} broken internal link(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
