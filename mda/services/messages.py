"""Messages for people from the services and workflows: English text that a page can say in Dutch.

The services import nothing of Flask, yet their refusals (unmet conditions, the identifier
guard, conflicts, role and region refusals) are shown on Dutch and English pages alike. So a
message is made with :func:`msg`, like Flask-Babel's ``gettext(string, **variables)``::

    raise Conflict(msg("%(what)s is at version %(current)s, not %(expected)s.", what=...,
                       current=3, expected=2))

and the result is a :class:`Text`: a ``str`` whose value is the English sentence (so logs, the
API's JSON, ``"; ".join(...)`` and tests comparing strings see plain English) that also keeps
its ``msgid`` and ``params``. The web layer (:func:`mda.web.i18n.error_text`) says it again in
the page's language by :func:`render`, passing its own gettext: ``gettext(msgid) % params``,
each param rendered the same way first. ``pybabel extract -k msg -k msg_plural:1,2`` puts every
msgid in the catalogue; a test fails when one has no Dutch translation.

Params:

* plain values (numbers, codes, what the user typed) are substituted as they are;
* a :class:`Text` (a translatable phrase) is translated first;
* a :class:`Term` (from :func:`term`) is a value of the public vocabulary (a state, a trigger,
  a checklist item, a closure reason, a field name...). Its English text is the raw value, as
  the API speaks it (``'accept' is not possible now``); on a page it becomes the label the
  page shows for that value (``'Toelaten tot MDA++' kan nu niet``). The labels live in the web
  layer (``mda.web.i18n``), looked up by the term's ``kind``; an unknown value shows as itself.
  Several values in one term are joined by ", ".
* a list of phrases is passed as one param made by :func:`joined` (each part translated).

Plural-sensitive messages use :func:`msg_plural` (``%(num)d`` holds the count).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any


class Text(str):
    """English text for people that carries how to say it in another language.

    ``msgid`` and ``params`` as given to :func:`msg` (``plural`` and ``n`` for
    :func:`msg_plural`); a text made by :func:`joined` has ``parts`` and ``sep`` instead.
    """

    msgid: str | None = None
    plural: str | None = None
    n: int | None = None
    params: Mapping[str, Any] = {}
    parts: tuple[Any, ...] | None = None
    sep: str = ""


class Term(str):
    """One or more values of the vocabulary of ``kind``; English: the values, joined by ", "."""

    kind: str = ""
    values: tuple[str, ...] = ()


Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]
TermLabel = Callable[[str, str], str]


def _english_term(kind: str, value: str) -> str:
    return value


def _english_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def render(
    value: Any,
    *,
    gettext: Gettext = str,
    ngettext: Ngettext = _english_plural,
    term: TermLabel = _english_term,
) -> Any:
    """``value`` said with ``gettext``/``ngettext`` and ``term`` labels; non-texts unchanged.

    The defaults say it in English, which is how a :class:`Text` gets its own value.
    """
    if isinstance(value, Term):
        return ", ".join(term(value.kind, item) for item in value.values)
    if not isinstance(value, Text):
        return value

    def again(part: Any) -> Any:
        return render(part, gettext=gettext, ngettext=ngettext, term=term)

    if value.parts is not None:
        return value.sep.join(str(again(part)) for part in value.parts)
    if value.msgid is None:
        return str.__str__(value)
    if value.plural is not None and value.n is not None:
        template = ngettext(value.msgid, value.plural, value.n)
    else:
        template = gettext(value.msgid)
    if not value.params:
        return template
    return template % {name: again(param) for name, param in value.params.items()}


def _make(
    msgid: str | None,
    params: Mapping[str, Any],
    *,
    plural: str | None = None,
    n: int | None = None,
    parts: tuple[Any, ...] | None = None,
    sep: str = "",
) -> Text:
    probe = Text()
    probe.msgid, probe.plural, probe.n, probe.params = msgid, plural, n, dict(params)
    probe.parts, probe.sep = parts, sep
    text = Text(render(probe))
    text.__dict__.update(probe.__dict__)
    return text


def msg(msgid: str, /, **params: Any) -> Text:
    """A translatable message: ``msgid`` with percent-style named placeholders."""
    return _make(msgid, params)


def msg_plural(singular: str, plural: str, n: int, /, **params: Any) -> Text:
    """A message whose wording depends on the count ``n`` (``%(num)d`` in the text)."""
    params.setdefault("num", n)
    return _make(singular, params, plural=plural, n=n)


def joined(sep: str, parts: Iterable[Any]) -> Text:
    """Phrases (texts or plain strings) joined by ``sep``, each translated on its own."""
    return _make(None, {}, parts=tuple(parts), sep=sep)


def term(kind: str, *values: Any) -> Term:
    """Vocabulary value(s) of ``kind`` (``term("trigger", "accept")``), raw in English."""
    raw = tuple(str(v.value) if isinstance(v, Enum) else str(v) for v in values)
    result = Term(", ".join(raw))
    result.kind, result.values = kind, raw
    return result


def fields_listed(errors: Mapping[str, Any]) -> Text:
    """``{"amount": "between 1 and 9"}`` -> "amount: between 1 and 9" (each field a term)."""
    return joined(
        "; ",
        (
            msg("%(field)s: %(problem)s", field=term("field", k), problem=v)
            for k, v in errors.items()
        ),
    )
