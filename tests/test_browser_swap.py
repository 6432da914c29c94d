"""Real browser: notebook 09's garment-swap panel in Voila, driven with the mouse — another article,
then another person, each gives a new picture. The plumbing is in ``tests/jupyter_browser.py``
and ``tests/test_browser.py`` (recipe and pitfalls: ``../shared/docs/browser-testing.md``).
Select with ``-m browser``."""
from __future__ import annotations

import pytest

from tests import jupyter_browser as jb
from tests.test_browser import browser, open_notebook, picker_shows, session  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.timeout(900)
def test_voila_swap_panel_follows_the_article_and_the_person(browser, tmp_path, request):  # noqa: F811
    view = "fsutils-swap-view"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        start = open_notebook(server, page, "09_garment_swap.ipynb", view)
        jb.assert_no_tracebacks(page)
        picker_shows(page, "ccp_0001", ".fsutils-swap")       # a fresh pipeline: the first sample
        captions = page.locator(".fsutils-swap-captions").inner_text()
        assert "α" in captions and "x̃" in captions and "pasted back" in captions, captions
        article = page.locator(".fsutils-article select").first
        assert article.input_value() == "top of ccp_0500"     # the notebook's choice
        article.select_option("mondrian top")
        after = jb.wait_for_change(page, view, start, "choosing the Mondrian top")
        page.locator(".fsutils-swap .fsutils-photo-picker select").first.select_option("ccp_0750")
        jb.wait_for_change(page, view, after, "choosing another person")
        picker_shows(page, "ccp_0750", ".fsutils-swap")
        jb.assert_no_tracebacks(page)
