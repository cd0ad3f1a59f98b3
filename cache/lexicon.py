"""Word lists the verifier reads; data only, all lower case, all frozen.

Kept general on purpose (English function words, common synonyms and antonyms,
units, currencies, languages): the verifier must hold on questions nobody tuned it
on, so nothing here names a topic of the evaluation files.
"""

from __future__ import annotations

from types import MappingProxyType

# Words that carry no question of their own: function words, question words,
# politeness, and the verbs people wrap a request in ("can you tell me ...").
FILLER = frozenset(
    """
    a an the this that these those it its it's i me my we us our you your yours he him his
    she her they them their there here what which who whom whose when where why how whats
    is are was were be been being am do does did done doing have has had having will would shall
    should can could may might must of on at by for with about as into onto to in from up out
    over under and or but if then so than too very just also really quite some any each every
    all both either few several much many lot lots more most other another such
    please kindly tell give show explain describe let know want need like help get getting
    way ways method steps step thing things one ones something anything
    simple simply term terms brief briefly short detail details example examples
    possible actually basically exactly generally typically usually someone somebody people person
    go going try able use using
    command syntax formula name names tip tips per
    suggest recommend share provide whether also via u ur pls thanks thank-you hi hello hey ok okay
    """.split()
)
# "thank you" and "hello" are fillers as politeness, but content inside quotes;
# quoted spans are kept whole by the verifier, so this list does not reach them.

# Request frames removed as whole phrases before tokenising.
FILLER_PHRASES = (
    "the best way to",
    "a good way to",
    "the way to",
    "good ways to",
    "best ways to",
    "what are the steps to",
    "what are some ways to",
    "what are ways to",
    "can you tell me",
    "could you tell me",
    "can you explain",
    "can you give me",
    "can you",
    "could you",
    "would you",
    "i want to know",
    "i would like to know",
    "do you know",
    "in simple terms",
    "in a way a beginner can understand",
)

NEGATIONS = frozenset(
    "not no never without none nothing nobody neither nor except excluding exclude cannot n't avoid".split()
)

# Pairs of words that flip an answer when one replaces the other.
ANTONYMS = (
    ("buy", "sell"), ("increase", "decrease"), ("raise", "lower"), ("high", "low"),
    ("higher", "lower"), ("above", "below"), ("before", "after"), ("ascending", "descending"),
    ("install", "uninstall"), ("enable", "disable"), ("on", "off"), ("open", "close"),
    ("start", "stop"), ("min", "max"), ("minimum", "maximum"), ("first", "last"),
    ("large", "small"), ("largest", "smallest"), ("big", "small"), ("biggest", "smallest"),
    ("long", "short"), ("longest", "shortest"), ("tall", "short"), ("tallest", "shortest"),
    ("fast", "slow"), ("fastest", "slowest"), ("faster", "slower"), ("good", "bad"),
    ("best", "worst"), ("better", "worse"), ("most", "least"), ("more", "less"),
    ("hot", "cold"), ("warm", "cold"), ("old", "young"), ("older", "younger"),
    ("gain", "lose"), ("win", "lose"), ("import", "export"), ("push", "pull"),
    ("encrypt", "decrypt"), ("compress", "decompress"), ("accept", "decline"),
    ("accept", "reject"), ("add", "remove"), ("add", "drop"), ("include", "exclude"),
    ("upload", "download"), ("input", "output"), ("read", "write"), ("send", "receive"),
    ("benefit", "risk"), ("pro", "con"), ("advantage", "disadvantage"), ("cheap", "expensive"),
    ("cheapest", "most expensive"), ("early", "late"), ("positive", "negative"),
    ("true", "false"), ("left", "right"), ("north", "south"), ("east", "west"),
    ("lock", "unlock"), ("connect", "disconnect"),
    ("why", "how"), ("when", "where"), ("who", "where"),
    ("hard", "soft"), ("wet", "dry"), ("heavy", "light"), ("boil", "freeze"), ("boiling", "freezing"),
)

# Words (after stemming) that name the same thing; each maps to its group's first word.
SYNONYM_GROUPS = (
    ("large", "big", "huge"), ("largest", "biggest"), ("small", "little", "tiny"),
    ("tallest", "highest"), ("fast", "quick", "rapid"), ("fastest", "quickest"),
    ("ocean", "sea"), ("refrigerator", "fridge"), ("bicycle", "bike"),
    ("dictionary", "dict"), ("integer", "int"), ("string", "str"),
    ("write", "compose", "draft", "author", "writer"), ("create", "make", "build", "generate"),
    ("remove", "delete", "erase", "rid", "drop"), ("revert", "undo"), ("reduce", "lower", "decrease"),
    ("increase", "raise", "boost"), ("novel", "book"),
    ("symptom", "sign"), ("plot", "story", "storyline"), ("improve", "better"), ("last", "final"),
    ("element", "item"), ("program", "application", "app"), ("difference", "differ", "different"), ("begin", "start"), ("finish", "end"), ("author", "writer"),
    ("combine", "merge"), ("repair", "fix"), ("picture", "image", "photo"),
    ("film", "movie"), ("car", "automobile"), ("kid", "child", "children"),
    ("summary", "summarize", "summarise", "overview"), ("calculate", "compute"),
    ("stop", "halt"), ("terminate", "kill"), ("number", "count"), ("cost", "price"),
    ("earth", "world"), ("maker", "manufacturer"), ("distance", "far"),
)

NUMBER_WORDS = MappingProxyType(
    {
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
        "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
        "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
        "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12,
    }
)

# Multi-word names rewritten to one token before anything else.
PHRASES = MappingProxyType(
    {
        "us dollars": "usd", "us dollar": "usd", "u.s. dollars": "usd", "american dollars": "usd",
        "dollars": "usd", "dollar": "usd", "euros": "eur", "euro": "eur",
        "british pounds": "gbp", "pounds sterling": "gbp", "japanese yen": "jpy", "yen": "jpy",
        "swiss francs": "chf", "canadian dollars": "cad", "australian dollars": "aud",
        "percent": "%", "per cent": "%", "sci-fi": "science fiction", "e-mail": "email",
        "how do you say": "translate", "how do i say": "translate", "multiplied by": "times",
        "raised to the power of": "to the power of", "how fast": "speed", "how old": "age",
        "how tall": "height", "how far": "distance", "how heavy": "weight", "how deep": "depth",
        "how many people live in": "population of", "how many people are in": "population of",
        "a.m.": "am", "p.m.": "pm", "c++": "cpp", "c#": "csharp", "f#": "fsharp", ".net": "dotnet",
    }
)
SYMBOLS = MappingProxyType({"$": " usd ", "€": " eur ", "£": " gbp ", "¥": " jpy ", "%": " % "})

CURRENCIES = frozenset("usd eur gbp jpy chf cad aud cny inr btc bitcoin ethereum".split())
UNITS = frozenset(
    """
    % km kilometer kilometre mile meter metre feet foot inch cm mm yard kg kilogram gram g pound lb
    ounce oz ton liter litre ml gallon quart pint cup tablespoon teaspoon celsius fahrenheit kelvin
    degree am pm mph kph byte kb mb gb tb
    """.split()
)
# Units of time name a question's subject too often ("how many hours of sleep") to be
# fatal when unbound; bound to a number they are checked like any unit.
TIME_UNITS = frozenset("second minute hour day week month year decade century".split())
LANGUAGES = frozenset(
    """
    english french spanish german italian portuguese dutch russian chinese mandarin cantonese
    japanese korean arabic hindi bengali urdu turkish greek latin hebrew polish swedish norwegian
    danish finnish czech hungarian vietnamese thai indonesian swahili
    """.split()
)
# Words that mean the answer depends on a direction between two things.
DIRECTION_WORDS = frozenset("to into from in".split())
ROMAN_NUMERALS = MappingProxyType({"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7})
