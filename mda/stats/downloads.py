"""A release's download in a reader's language: built once, then kept with its checksum.

Every release stores its CSV and XLSX in the contract's own names when it is made
(``csv``, ``xlsx``). A download in a language (``nl``, ``en``) is the same file with the
language's labels (:mod:`mda.stats.exports`). It is built from the release's published
content on its first download and stored beside the release's own files as ``csv-nl``,
``xlsx-en``..., so every later download of it is those same bytes with that same checksum,
whatever becomes of the catalogue afterwards. The files table takes no UPDATE or DELETE.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mda.models import StatsRelease, StatsReleaseFile
from mda.services.context import Actor
from mda.services.uow import unit_of_work
from mda.stats import exports, releases

LANGUAGES = ("nl", "en")


def file_format(fmt: str, language: str | None) -> str:
    """The stored file's format key: ``csv`` (the contract's names) or ``csv-nl``."""
    return fmt if language is None else f"{fmt}-{language}"


def build(release: StatsRelease, fmt: str, labels: exports.Labels) -> bytes:
    """The file's bytes: a function of the release and the labels only."""
    if fmt == "csv":
        return exports.to_csv(release.content, labels)
    return exports.to_xlsx(release.content, release.created_at, labels)


def release_download(
    session: Session,
    actor: Actor,
    release_id: int,
    fmt: str,
    labels: exports.Labels = exports.CODES,
) -> tuple[StatsRelease, StatsReleaseFile]:
    """A release's CSV or XLSX in the language of ``labels``; the programme team.

    Authorised and written to the access log by :func:`mda.stats.releases.release_file`;
    ``labels.language`` None gives the release's own file.
    """
    with unit_of_work(session):
        language = labels.language
        release, own = releases.release_file(session, actor, release_id, fmt, language)
        if language is None:
            return release, own
        if language not in LANGUAGES:
            raise ValueError(f"no downloads in {language!r}")
        key = (release.id, file_format(fmt, language))
        found = session.get(StatsReleaseFile, key)
        if found is not None:
            return release, found
        data = build(release, fmt, labels)
        made = StatsReleaseFile(
            release_id=release.id,
            format=key[1],
            media_type=own.media_type,
            content=data,
            checksum=releases.sha256(data),
        )
        try:
            with session.begin_nested():
                session.add(made)
        except IntegrityError:
            # Built at the same moment by another download: theirs is kept, and served.
            kept = session.get(StatsReleaseFile, key, populate_existing=True)
            assert kept is not None
            return release, kept
        return release, made
