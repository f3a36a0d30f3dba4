"""The King James Bible from Debian's bible-kjv-text package, as a list of verses.

`bible -l100000 gen1:1-rev22:21` (from the bible-kjv package that bible-kjv-text pulls in)
prints every chapter as a header line "Book N", a blank line, then "  V text" per verse
(-l100000: one line per verse, no wrapping). The text is pure ASCII.
"""

import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Verse:
    book: str
    chapter: int
    verse: int
    text: str

    @property
    def ref(self):
        return f"{self.book} {self.chapter}:{self.verse}"


def read_bible_output():
    try:
        out = subprocess.run(["bible", "-l100000", "gen1:1-rev22:21"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"kjv: cannot run `bible` (apt-get install bible-kjv-text): {e}")
    return out


def parse_verses(text):
    verses, book, chapter = [], None, None
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("  "):
            number, _, body = line.strip().partition(" ")
            if book is None or not number.isdigit():
                raise SystemExit(f"kjv: unexpected verse line {line[:60]!r}")
            verses.append(Verse(book, chapter, int(number), body.strip()))
        else:
            name, _, number = line.rpartition(" ")
            if not number.isdigit():
                raise SystemExit(f"kjv: unexpected header line {line[:60]!r}")
            book, chapter = name, int(number)
    if len(verses) != 31102:  # the KJV's verse count; anything else means a different text
        raise SystemExit(f"kjv: parsed {len(verses)} verses, expected 31102")
    return verses


def chapters(verses):
    """[(book, chapter, [verses])] in canonical order."""
    out = []
    for v in verses:
        if not out or out[-1][0] != v.book or out[-1][1] != v.chapter:
            out.append((v.book, v.chapter, []))
        out[-1][2].append(v)
    return out


def chapter_text(book, chapter, verses):
    """Plain-text form of a chapter: the training text's plain part and the held-out file."""
    return f"{book} {chapter}\n\n" + "".join(f"{v.verse} {v.text}\n" for v in verses)
