"""Turn a question into the facts the verifier compares.

The pipeline is deliberately plain: normalise contractions and symbols, rewrite
multi-word names (``US dollars`` -> ``usd``), tokenise, turn number words into
digits, stem, map synonyms, then split the tokens into content words and the
typed facts (numbers with their units, negations, quoted text, directions,
capitalised names). No model runs here: about 75 microseconds of CPU per question.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from tokenyard.cache.code import code_spans
from tokenyard.cache.directions import directions
from tokenyard.cache.flags import flags, without_flags
from tokenyard.cache.lexicon import (
    CLOSED_CLASS,
    CURRENCIES,
    DIRECTION_WORDS,
    FILLER,
    FILLER_PHRASES,
    IRREGULAR_VERBS,
    LANGUAGES,
    NEGATIONS,
    PHRASES,
    ROMAN_NUMERALS,
    SYMBOLS,
    SYNONYM_GROUPS,
    TIME_UNITS,
    UNITS,
)
from tokenyard.cache.numbers import NUMBER as _NUMBER
from tokenyard.cache.variants import american
from tokenyard.cache.numbers import merge_number_words, ordinals_as_numbers

_QUOTE = re.compile(r"(?<![\w'])'([^']+)'(?![\w])|\"([^\"]+)\"|“([^”]+)”")
# "World War I", but not "Can I" or "Did I" at the start of a question.
_ROMAN_AFTER_NAME = re.compile(
    r"(?<=[A-Z][a-z]{2} )(?<!\b(?:Can|Did|May|Was|Had|Has|How|Why|Who|Are|And|But|Now|Let) )(VII|VI|IV|V|III|II|I)\b"
)
_CAPITALISED = re.compile(r"[A-Za-z][\w+#-]*")
# Date and time format strings: "YYYY-MM-DD", "MM/DD/YYYY", "HH:MM:SS", "dd.mm.yyyy".
_FORMAT_STRING = re.compile(r"(?<![\w/])((?:[YMDHhmsy]{1,4}[-/.:]){1,5}[YMDHhmsy]{1,4})(?![\w/])")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,5}\b")
_TOKEN = re.compile(r"[a-z0-9]+(?:[._][a-z0-9]+)*|%")
# "List the planets" asks what "What are the planets" asks; only at the very start,
# where the word can only be the imperative (elsewhere "list" is a data structure).
_LEADING_REQUEST_VERB = re.compile(r"^\s*(?:list|name|show|give me|tell me)\b")
# "dairy-free" asks what "without dairy" asks.
_FREE_OF = re.compile(r"\b([a-z]+)-free\b")
# "get a stain out of a carpet", "get old caulk off a tub": removing, said with "get".
_GET_OUT = re.compile(r"\bget ((?:[a-z'-]+ ){1,4}?)(?:out|off)\b")
# "Thanks!" before or after a request is politeness (a filler); "say thank you in
# Japanese", "a thank-you note" ask about the thanks, between other words.
_THANKS_ASKED = re.compile(r"(?<=[a-z] )(?:thank you|thank-you|thanks|thanking)(?= [a-z])|\bthanking\b")
_ONE_HYPHEN = re.compile(r"\bone-(?=[a-z])")
# "US" in capitals is the country; lower-cased it would be the pronoun.
_US = re.compile(r"\bUS\b(?!\s+[Dd]ollars?)")
# "Go" capitalised inside a sentence is the language ("in Go", "with Go"), lower-case "go" a verb.
_GO_LANGUAGE = re.compile(r"(?<=[a-z,] )Go\b(?![-'])|(?<=\b[Ii]n )go(?=\s*[?.!]*\s*$)")  # or "... in go" at the end
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(?:s|re|ve|ll|d|m)\b"), ""),
)


def _word_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + re.escape(phrase) + r"(?![\w])")


_FILLER_PHRASES = tuple(_word_pattern(p) for p in sorted(FILLER_PHRASES, key=len, reverse=True))
# One pass over an alternation, longest phrase first (a regex takes the first alternative
# that matches): "us dollars" wins over "dollars", "united states of america" over "united states".
_PHRASE_PATTERN = re.compile(
    r"(?<![\w])(" + "|".join(re.escape(k) for k in sorted(PHRASES, key=len, reverse=True)) + r")(?![\w])"
)


_STEM_EXCEPTIONS = {"does": "do", "goes": "go", "has": "has", "was": "was", "this": "this", "news": "news", "wrote": "write", "written": "write", "made": "make", "ran": "run", "spoken": "speak",
    "inventor": "invent", "discoverer": "discover", "creator": "create", "founder": "found",
    "settings": "settings",  # the noun, not "set" ("factory settings" vs "factory reset")
    # Who did it, as the verb: "the director of Inception" / "who directed Inception".
    "director": "direct", "composer": "compose", "painter": "paint", "singer": "sing", "designer": "design",
    "developer": "develop", "producer": "produce", "publisher": "publish", "winner": "win", "leader": "lead",
    **IRREGULAR_VERBS}


def _strip_suffixes(word: str) -> str:
    """A light suffix stripper; it only has to treat both sides of a pair alike."""
    if word in _STEM_EXCEPTIONS:
        target = _STEM_EXCEPTIONS[word]
        return target if target == word else _strip_suffixes(target)
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith(("tion", "sion")) and len(word) >= 8:
        return word[:-3]  # "invention"/"invented", "dehydration"/"dehydrated" meet at invent, dehydrat
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # running -> run
            break
    # A final e goes too, so "freeze"/"freezing" and "declare"/"declared" meet.
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def stem(word: str) -> str:
    """Suffixes stripped, but a word is never cut down to a different closed-class word."""
    stemmed = _strip_suffixes(word)
    if stemmed not in CLOSED_CLASS or word in CLOSED_CLASS or word in _STEM_EXCEPTIONS:
        return stemmed
    # "note" and "notes" both stay "note", "exceptions" becomes "exception"; "noted", "cans" stay as written.
    singular = word[:-1] if word.endswith("s") and not word.endswith("ss") else word
    return singular if singular not in CLOSED_CLASS else word


def _synonym_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for group in SYNONYM_GROUPS:
        head = stem(group[0])
        for word in group:
            table.setdefault(stem(word), head)
    return table


_SYNONYMS = _synonym_table()


def canonical(word: str) -> str:
    stemmed = stem(american(word))
    return _SYNONYMS.get(stemmed, stemmed)


def _initials_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for stemmed, head in _SYNONYMS.items():
        table.setdefault(head, {head[0]}).add(stemmed[0])
    return {head: frozenset(letters) for head, letters in table.items()}


_INITIALS = _initials_table()


def initials(word: str) -> frozenset[str]:
    """First letters a canonical word may have been written with: "nation" became "country"."""
    return _INITIALS.get(word, frozenset(word[:1]))


def _canonical_set(words: frozenset[str]) -> frozenset[str]:
    return frozenset(words | {canonical(w) for w in words})


# The word lists, in the form tokens take after stemming and synonym mapping.
FILLER_C = _canonical_set(FILLER)
NEGATIONS_C = _canonical_set(NEGATIONS)
DIRECTION_C = _canonical_set(DIRECTION_WORDS)
LANGUAGES_C = _canonical_set(LANGUAGES)
UNITS_C = _canonical_set(UNITS)
TIME_UNITS_C = _canonical_set(TIME_UNITS)
CURRENCIES_C = _canonical_set(CURRENCIES)


@dataclass(frozen=True, slots=True)
class Analysis:
    text: str
    tokens: tuple[str, ...]  # every canonical token in order, fillers included
    content: tuple[str, ...]  # tokens that carry the question
    numbers: tuple[str, ...]  # in order of appearance
    number_units: frozenset[tuple[str, str]]
    negations: int
    negated: tuple[str, ...]  # the first content word after each negation, sorted
    negation_scopes: tuple[tuple[str, ...], ...]  # a few content words after each negation
    quotes: tuple[str, ...]
    directions: frozenset[tuple[str, str]]  # (source, target) around to/into/from/in
    names: frozenset[str]  # canonical tokens written with a capital mid-sentence, or code-like
    languages: frozenset[str]
    flags: frozenset[str] = frozenset()  # command-line flags, kept out of the tokens
    code: tuple[str, ...] = ()  # backtick spans, spacing normalised, sorted
    #: Function words written in capitals ("the HAVING clause"), kept as content words.
    keywords: frozenset[str] = frozenset()
    #: Each quote's token and its words as tokens, so a side that writes the same words
    #: unquoted ("What does 'carpe diem' mean?" / "the phrase carpe diem") can be met.
    quote_words: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def content_set(self) -> frozenset[str]:
        return frozenset(self.content)


def is_content(token: str) -> bool:
    """Does a canonical token carry the question (not a filler, negation or direction word)?"""
    return token not in FILLER_C and token not in NEGATIONS_C and token not in DIRECTION_C


def content_words(tokens: tuple[str, ...], keywords: frozenset[str]) -> tuple[str, ...]:
    """The tokens that carry the question: content words, and function words used as keywords."""
    return tuple(t for t in tokens if is_content(t) or t in keywords)


def _quote_token(quoted: str) -> str:
    normal = " ".join(quoted.lower().split())
    return "q" + hashlib.blake2b(normal.encode(), digest_size=4).hexdigest()


def _in_capitals(text: str) -> list[str]:
    """Words written in capitals; none in a text written all in capitals, where capitals
    say nothing."""
    if not any(c.islower() for c in text):
        return []
    return _ACRONYM.findall(text)


def _acronyms(capitals: list[str]) -> frozenset[str]:
    """Capitalised words that end in "s" ("HTTPS", "DNS"), lower-cased: their "s" is no
    plural ("HTTPS" is not "HTTP"s), so they are not stemmed ("DELETE" and "JOIN" are
    stemmed as words when a whole text is in capitals, see :func:`_in_capitals`)."""
    return frozenset(w.lower() for w in capitals if w.endswith("S"))


def _capitalised_function_words(capitals: list[str]) -> frozenset[str]:
    """Function words among the capitalised words ("the HAVING clause", "AND vs OR", "the
    IT department"): keywords and names, so they carry the question. Negations and
    direction words keep their own checks."""
    words = (canonical(w.lower()) for w in capitals)
    return frozenset(w for w in words if w in FILLER_C and w not in NEGATIONS_C and w not in DIRECTION_C)


def _names(text: str, acronyms: frozenset[str]) -> set[str]:
    """Capitalised words that do not start a sentence, and words with inner capitals or
    digits; spelt as the tokens are (``acronyms`` unstemmed)."""
    names: set[str] = set()
    sentence_start = True
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".?!:;\n"
        lowered = word.lower()
        inner_caps = any(c.isupper() for c in word[1:]) and not word.isupper()
        acronym = word.isupper() and len(word) >= 2
        if (word[0].isupper() and not sentence_start) or inner_caps or acronym:
            if lowered not in FILLER and canonical(lowered) not in FILLER_C:
                names.update(t if t in acronyms else canonical(t) for t in _TOKEN.findall(lowered))
    return names


def _negation_scopes(tokens: tuple[str, ...], content: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The next few content words after each negation, in order of appearance.

    "Why isn't my car starting" and "Why is my car not starting" negate the same thing
    although the first word after the negation differs; the verifier accepts a pair of
    negations when one's first word lies in the other's scope.
    """
    kept = set(content)
    scopes = []
    for i, token in enumerate(tokens):
        if token in NEGATIONS_C:
            scopes.append(tuple([t for t in tokens[i + 1 :] if t in kept][:3]) or ("$",))
    return tuple(scopes)


def _negated(tokens: tuple[str, ...], content: tuple[str, ...]) -> list[str]:
    """What each negation applies to: "can't sleep at night" negates sleep, "not during the day" day."""
    kept = set(content)
    out = []
    for i, token in enumerate(tokens):
        if token in NEGATIONS_C:
            out.append(next((t for t in tokens[i + 1 :] if t in kept), "$"))
    return out


def analyse(text: str) -> Analysis:
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    code = code_spans(text)  # before quotes are held: "`'5' + '3'`" is code, quotes and all
    quotes: list[str] = []
    quote_words: list[tuple[str, tuple[str, ...]]] = []

    def _hold_quote(match: re.Match[str]) -> str:
        quoted = next(g for g in match.groups() if g is not None)
        quotes.append(_quote_token(quoted))
        quote_words.append((quotes[-1], tuple(canonical(t) for t in _TOKEN.findall(quoted.lower()))))
        return f" {quotes[-1]} "

    text = _QUOTE.sub(_hold_quote, text)
    text = _FORMAT_STRING.sub(_hold_quote, text)  # "YYYY-MM-DD" is a literal, like a quote
    text = _ROMAN_AFTER_NAME.sub(lambda m: str(ROMAN_NUMERALS[m.group(1).lower()]), text)
    text = _US.sub("USA", text)
    text = _GO_LANGUAGE.sub("Golang", text)
    command_flags = flags(text)
    capitals = _in_capitals(text)
    acronyms = _acronyms(capitals)
    names = _names(without_flags(text), acronyms)

    low = without_flags(text).lower()
    for pattern, replacement in _CONTRACTIONS:
        low = pattern.sub(replacement, low)
    for pattern in _FILLER_PHRASES:
        low = pattern.sub(" ", low)
    low = _LEADING_REQUEST_VERB.sub(" ", low)
    for symbol, replacement in SYMBOLS.items():
        low = low.replace(symbol, replacement)
    low = _PHRASE_PATTERN.sub(lambda m: f" {PHRASES[m.group(1)]} ", low)
    low = re.sub(r"(\d),(\d{3})\b", r"\1\2", low)
    low = _FREE_OF.sub(r"without \1", low)
    low = _GET_OUT.sub(r"remove \1", low)
    low = _THANKS_ASKED.sub("gratitude", low)
    low = _ONE_HYPHEN.sub("1 ", low)  # "a one-word answer" counts; a lone "one" is an article

    raw = ordinals_as_numbers(merge_number_words(_TOKEN.findall(low)))
    tokens = tuple(t if _NUMBER.match(t) or t in acronyms else canonical(t) for t in raw)
    keywords = _capitalised_function_words(capitals)
    content = content_words(tokens, keywords)
    numbers = tuple(t for t in tokens if _NUMBER.match(t))

    units = UNITS_C | CURRENCIES_C | TIME_UNITS_C
    number_units: set[tuple[str, str]] = set()
    for i, token in enumerate(tokens):
        if not _NUMBER.match(token):
            continue
        if i + 1 < len(tokens) and tokens[i + 1] in units:
            number_units.add((token, tokens[i + 1]))
        elif i > 0 and tokens[i - 1] in CURRENCIES_C:  # "$10" became "usd 10"
            number_units.add((token, tokens[i - 1]))

    return Analysis(
        text=text,
        tokens=tokens,
        content=content,
        numbers=numbers,
        number_units=frozenset(number_units),
        negations=sum(1 for t in tokens if t in NEGATIONS_C),
        negated=tuple(sorted(_negated(tokens, content))),
        negation_scopes=_negation_scopes(tokens, content),
        quotes=tuple(sorted(quotes)),
        quote_words=tuple(quote_words),
        directions=directions(tokens, set(content), names, DIRECTION_C),
        names=frozenset(names) - FILLER_C,
        languages=frozenset(t for t in tokens if t in LANGUAGES_C),
        flags=command_flags,
        code=code,
        keywords=keywords,
    )
