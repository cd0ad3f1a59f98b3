"""British and American spellings of one word meet: "colour"/"color", "centre"/"center".

Every word is written the American way before it is stemmed, on both sides alike, so
the rules only have to be safe against one thing: two different words coming out the
same. They are therefore narrow: endings long enough to be the variant and not a word
of their own ("four" is no "for", "acre" keeps its "re"), and a short list of stems
whose consonant doubles ("travelled"), of Greek and Latin digraphs ("anaemia"), and of
whole words that differ more ("tyre", "cheque", "aluminium").
"""

from __future__ import annotations

import re
from functools import lru_cache

_WHOLE_WORDS = {
    "aluminium": "aluminum", "tyre": "tire", "tyres": "tires", "cheque": "check", "cheques": "checks",
    "grey": "gray", "programme": "program", "programmes": "programs", "plough": "plow", "mould": "mold",
    "mouldy": "moldy", "pyjamas": "pajamas", "sceptical": "skeptical", "kerb": "curb", "defence": "defense",
    "offence": "offense", "licence": "license", "pretence": "pretense", "storey": "story", "storeys": "stories",
    "jewellery": "jewelry", "odour": "odor", "odours": "odors", "draught": "draft", "manoeuvre": "maneuver", "manoeuvres": "maneuvers",
}
_SUFFIXES = (
    # (pattern, replacement, shortest word it applies to)
    (re.compile(r"our(s|ed|ing|ite|ites|able|ful)?$"), r"or\1", 6),  # colour, flavoured, favourite
    (re.compile(r"(?<=[tb])re(s|d)?$"), r"er\1", 5),  # centre, fibres, theatre
    (re.compile(r"is(e|es|ed|ing|ation|ations|er|ers)$"), r"iz\1", 6),  # organise, recognised
    (re.compile(r"ys(e|es|ed|ing)$"), r"yz\1", 6),  # analyse, paralysed
    (re.compile(r"ogue(s)?$"), r"og\1", 7),  # catalogue, dialogue (not vogue, rogue)
)
_DOUBLED = re.compile(
    r"^(travel|cancel|model|label|fuel|signal|counsel|level|total|channel|tunnel|marvel|dial|jewel|quarrel)l(ed|ing|er|ers)$"
)
_DIGRAPHS = (("haem", "hem"), ("anaem", "anem"), ("paed", "ped"), ("aesth", "esth"), ("oestr", "estr"),
             ("oesoph", "esoph"), ("foet", "fet"), ("leukaem", "leukem"), ("diarrhoe", "diarrhe"))


@lru_cache(maxsize=65_536)
def american(word: str) -> str:
    """``word`` spelt the American way where it is a known British variant; otherwise ``word``."""
    if not word.isalpha():
        return word
    if word in _WHOLE_WORDS:
        return _WHOLE_WORDS[word]
    doubled = _DOUBLED.match(word)
    if doubled:
        return doubled.group(1) + doubled.group(2)
    for british, us in _DIGRAPHS:
        if british in word:
            word = word.replace(british, us)
    for pattern, replacement, shortest in _SUFFIXES:
        if len(word) >= shortest and pattern.search(word):
            return pattern.sub(replacement, word)
    return word
