"""Accessibility checks for a page in the browser: axe-core, the keyboard, a phone's width.

- :func:`check_page` runs axe-core (bundled by ``axe-playwright-python``, no CDN) with the WCAG
  2.0 and 2.1 level A and AA rules and fails on every violation of impact serious or critical.
- :func:`check_keyboard` presses Tab from the top of the page until focus comes round again and
  asserts that every focus stop shows where it is (an outline or a box shadow, computed style,
  inside the viewport) and that every interactive element was reached.
- :func:`check_narrow` asserts that the page fits 360 CSS pixels without sideways scrolling.

What these cannot tell (a screen reader's actual reading, colour-blind review, plain language)
is listed in docs/accessibility.md.
"""

from __future__ import annotations

import os
from typing import Any

from axe_playwright_python.sync_playwright import Axe

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
# A phone held upright. WCAG 2.1's reflow criterion (1.4.10) speaks of 320 CSS pixels: set
# MDA_TEST_NARROW_WIDTH=320 to check that instead.
NARROW = {"width": int(os.environ.get("MDA_TEST_NARROW_WIDTH", "360")), "height": 740}

_axe = Axe()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.0/2.1 A and AA rules on the page as it is now."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return list(_axe.run(page, options=options).response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    at {target}: {node.get('html', '')[:160]}")
    return "\n".join(lines)


def check_page(page: Any, where: str = "") -> None:
    """No serious or critical axe-core violation of WCAG 2.0/2.1 A and AA."""
    failing = [v for v in axe_violations(page) if v.get("impact") in FAILING_IMPACTS]
    assert not failing, (
        f"axe-core finds {len(failing)} serious or critical violation(s) on "
        f"{where or page.url}:\n{describe(failing)}"
    )


# Everything a keyboard user must be able to reach; radio buttons count per group (Tab reaches
# one of them, the arrow keys the others).
_MARK_INTERACTIVE = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + 'iframe, [contenteditable=""], [contenteditable=true], [tabindex]:not([tabindex="-1"])';
  const seen = new Set();
  const wanted = [];
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    el.setAttribute('data-kb', String(n++));
    if (el.disabled || el.closest('[inert]') || el.getAttribute('tabindex') === '-1') continue;
    // A closed <details> hides its content; a skip link shows itself on focus.
    if (!el.checkVisibility({visibilityProperty: true}) && !el.classList.contains('skip')) continue;
    let key = el.getAttribute('data-kb');
    if (el.type === 'radio' && el.name) {
      const form = el.form ? el.form.getAttribute('id') || el.form.action : '';
      key = 'radio:' + form + ':' + el.name;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    wanted.push({key, text: describe(el)});
  }
  function describe(el) {
    const name = (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '')
      .trim().replace(/\\s+/g, ' ').slice(0, 60);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + name + '"';
  }
  return wanted;
}"""

_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  let key = el.getAttribute('data-kb');
  if (el.type === 'radio' && el.name) {
    const form = el.form ? el.form.getAttribute('id') || el.form.action : '';
    key = 'radio:' + form + ':' + el.name;
  }
  const name = (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '')
    .trim().replace(/\\s+/g, ' ').slice(0, 60);
  // A date field's calendar button is a focus stop inside the field: the browser draws its
  // own ring around the button (the field itself is then not :focus-visible).
  const picker = /^(date|time|datetime-local|month|week)$/.test(el.type || '')
    && !el.matches(':focus-visible');
  return {
    key, index: el.getAttribute('data-kb'), picker,
    text: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + name + '"',
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
    visible: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.right > 0
      && rect.top < innerHeight && rect.left < innerWidth,
  };
}"""


def check_keyboard(page: Any, where: str = "", max_stops: int = 600) -> list[str]:
    """Tab through the whole page: every stop shows its focus, every control is reached.

    Returns the focus stops in order (tag, id and name) for assertions of one's own.
    """
    where = where or page.url
    wanted = page.evaluate(_MARK_INTERACTIVE)
    # Start from the top: focus a mark at the start of the body (out of the tab order), so
    # that the first Tab goes where it goes when a page has just been opened.
    page.evaluate(
        """() => {
          const start = document.createElement('span');
          start.id = 'kb-start';
          start.tabIndex = -1;
          document.body.prepend(start);
          start.focus();
          window.scrollTo(0, 0);
        }"""
    )
    reached: dict[str, str] = {}
    stops: list[str] = []
    unseen_focus: list[str] = []
    first: str | None = None
    for _ in range(max_stops):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            if stops:
                break  # off the end of the page, into the browser's own controls
            continue
        index = focused["index"] or focused["text"]
        if index == first:
            break  # round again
        first = first or index
        stops.append(focused["text"])
        reached[focused["key"] or focused["text"]] = focused["text"]
        shown = focused["outline"] or focused["shadow"] or focused["picker"]
        if not (shown and focused["visible"]):
            unseen_focus.append(focused["text"])
    else:
        raise AssertionError(f"more than {max_stops} focus stops on {where}: a keyboard trap?")
    page.evaluate("() => document.getElementById('kb-start')?.remove()")
    assert not unseen_focus, f"focus is not visible on {where} at: {unseen_focus}"
    missed = [w["text"] for w in wanted if w["key"] not in reached]
    assert not missed, f"not reachable by Tab on {where}: {missed}"
    return stops


def check_narrow(page: Any, where: str = "") -> None:
    """The page fits a phone's 360 CSS pixels (``NARROW``): no sideways scrolling of the page
    itself (a wide data table may scroll inside its own box)."""
    before = page.viewport_size
    page.set_viewport_size(NARROW)
    try:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        inner = page.evaluate("() => window.innerWidth")
        if width > inner:
            culprits = page.evaluate(
                """(inner) => [...document.querySelectorAll('body *')]
                  .filter(el => el.getBoundingClientRect().right > inner + 0.5)
                  .filter(el => !el.parentElement
                    || el.parentElement.getBoundingClientRect().right <= inner + 0.5)
                  .slice(0, 8)
                  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                    + (el.className && typeof el.className === 'string'
                       ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                    + ' (' + Math.round(el.getBoundingClientRect().right) + 'px)')""",
                inner,
            )
            raise AssertionError(
                f"{where or page.url} is {width}px wide on a {inner}px screen; "
                f"sticking out: {culprits}"
            )
    finally:
        if before:
            page.set_viewport_size(before)


def check_all(page: Any, where: str = "") -> None:
    """The three checks, in the order a failure is easiest to read."""
    check_page(page, where)
    check_keyboard(page, where)
    check_narrow(page, where)
