"""The documentation site: it builds without a warning, every internal link and anchor
resolves, every registered format and every notebook has its page, and a browser shows
a family page and a notebook page with their figures.

The site is built once per session into pytest's temporary folder (the build also writes
its generated sources, ignored by git, under docs/families, docs/api and docs/notebooks).
Screenshots of the pages opened in the browser go to $REFQUANT_ARTIFACTS when it is set,
else to the temporary folder. Needs the `docs` extra; the browser check needs Chromium and
its driver (Debian: `apt-get install -y chromium chromium-driver`).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_missing = [m for m in ("sphinx", "myst_nb", "pydata_sphinx_theme")
            if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"the docs extra is not installed (missing: {', '.join(_missing)}); "
                           "pip install -e '.[docs]'")


def _check_links():
    spec = importlib.util.spec_from_file_location("refquant_docs_check_links",
                                                  DOCS / "check_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the site once: (html folder, warnings text, sphinx output)."""
    out = tmp_path_factory.mktemp("docs")
    warnings = out / "warnings.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-w", str(warnings), str(DOCS), str(out / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out / "html", warnings.read_text(), proc.stdout + proc.stderr


def test_site_builds_without_warnings(site):
    html, warnings, _ = site
    assert warnings.strip() == "", f"the build warned:\n{warnings}"
    assert (html / "index.html").is_file()


def test_every_internal_link_and_anchor_resolves(site):
    html, _, _ = site
    problems = _check_links().check_site(html)
    assert problems == [], "broken internal links:\n" + "\n".join(problems)


def test_the_link_check_finds_broken_links(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a href="b.html#gone">x</a><a href="#here">y</a><img src="missing.png">'
        '<p id="here"></p><a href="https://example.org/x">external</a>')
    (tmp_path / "b.html").write_text('<p id="there"></p>')
    assert _check_links().check_site(tmp_path) == [
        "a.html: <a> b.html#gone (no anchor #gone)",
        "a.html: <img> missing.png (no such file)"]


def test_every_registered_format_has_its_section_and_plot(site):
    import refquant
    from refquant import registry

    html, _, _ = site
    pages = {fam.rsplit(".", 1)[-1]: (html / "families" / f"{fam.rsplit('.', 1)[-1]}.html")
             for fam in registry.FAMILIES}
    assert all(p.is_file() for p in pages.values()), pages
    text = "".join(p.read_text() for p in pages.values())
    for name in refquant.format_names():
        assert f'alt="value grid of {name}"' in text, f"{name} has no plot on a family page"
    # the table of every code: e2m1's sixteen codes, +0 to -6
    floats = pages["floats"].read_text()
    assert "<code class=\"docutils literal notranslate\"><span class=\"pre\">0x0</span>" in floats
    images = list((html / "_images").glob("*.png"))
    assert len(images) >= len(refquant.format_names())


def test_every_notebook_has_a_page_with_its_figures(site):
    html, _, _ = site
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = html / "notebooks" / f"{nb.stem}.html"
        assert page.is_file(), f"{nb.name} has no page"
        assert "<img" in page.read_text(), f"{nb.name}'s page shows no figure"


def test_api_reference_lists_every_face(site):
    html, _, _ = site
    index = (html / "api" / "index.html").read_text()
    for face in ("refquant", "refquant.modes", "refquant.intops", "refquant.sparse",
                 "refquant.sim", "refquant.integer", "refquant.floats", "refquant.posit",
                 "refquant.pow2"):
        assert (html / "api" / f"{face}.html").is_file(), face
        assert face in index
    quantize = (html / "api" / "refquant.html").read_text()
    assert 'id="refquant.quantize"' in quantize


def _browser_tools() -> tuple[str | None, str | None]:
    chromium = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                                 "/usr/bin/chromium") if p and os.path.exists(p)), None)
    driver = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver")
                   if p and os.path.exists(p)), None)
    return chromium, driver


def test_browser_shows_a_family_page_and_a_notebook_page_with_figures(site, tmp_path):
    chromium, driver_path = _browser_tools()
    if chromium is None or driver_path is None:
        pytest.skip("Chromium or chromedriver is not installed "
                    "(Debian: apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    html, _, _ = site
    shots = Path(os.environ.get("REFQUANT_ARTIFACTS") or tmp_path) / "docs-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--allow-file-access-from-files"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.set_page_load_timeout(60)
        browser.set_script_timeout(60)
        first_notebook = sorted((ROOT / "notebooks").glob("*.ipynb"))[0].stem
        for page, shot in ((html / "families" / "floats.html", "family-floats.png"),
                           (html / "notebooks" / f"{first_notebook}.html",
                            f"notebook-{first_notebook}.png")):
            browser.get(page.as_uri())
            images = browser.execute_script("""
                const imgs = Array.from(document.querySelectorAll('article img, main img'));
                imgs.forEach(i => { i.loading = 'eager'; });
                return imgs.length;""")
            assert images > 0, f"{page.name}: no images in the page"
            # wait until every image has loaded (or failed)
            browser.execute_async_script("""
                const done = arguments[arguments.length - 1];
                const imgs = Array.from(document.querySelectorAll('article img, main img'));
                Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
                    i.addEventListener('load', r); i.addEventListener('error', r); })))
                  .then(() => done(true));""")
            broken = browser.execute_script("""
                return Array.from(document.querySelectorAll('article img, main img'))
                    .filter(i => !(i.complete && i.naturalWidth > 0))
                    .map(i => i.getAttribute('src'));""")
            assert broken == [], f"{page.name}: images that did not render: {broken}"
            title = browser.title
            assert title and "refquant" in title, title
            # the screenshot shows the page's first figure with the text above it
            browser.execute_script("""
                const img = document.querySelector('article img, main img');
                img.scrollIntoView({block: 'center'});""")
            browser.save_screenshot(str(shots / shot))
            assert (shots / shot).stat().st_size > 10_000
    finally:
        browser.quit()
