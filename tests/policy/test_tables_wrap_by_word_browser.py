"""Tables on the public pages wrap between words, never inside one ("3/개/월", "Googl e Analy
tics" was the complaint): checked in Chromium at phone and desktop width by measuring, for every
word of every table cell, that it sits on one line."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_database")]

BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll("main td, main th")) {
    if (cell.getBoundingClientRect().width < 20) { continue; }  // a phone's visually hidden header
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.data.includes("://")) { continue; }  // a link longer than the column breaks anywhere
      // Words; a line may end before an opening bracket and after a closing one, a slash, a
      // hyphen, a tilde or a middle dot ("계정" / "(YouTube)", "제35조~" / "제38조", "이메일·" /
      // "문자"), as in print.
      const re = /[^\\s()\\/~·-]+/g;
      let m;
      while ((m = re.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) { broken.push(m[0]); }
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("language", ["ko-KR", "en-US"])
def test_policy_tables_never_break_a_word(live_server, chromium, width, language):
    # This package's conftest puts a version generated from the records in force: it has tables.
    context = chromium.new_context(locale=language, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/privacy/")
        assert page.locator("main td").count() > 0
        # A word longer than a phone's line may still break; none of the policy's words is.
        assert page.evaluate(BROKEN_WORDS) == []
    finally:
        context.close()
