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
    way ways method steps step reason reasons thing things one ones something anything
    simple simply term terms brief briefly short detail details example examples
    possible actually basically exactly generally typically usually someone somebody people person
    go going try able use using
    command syntax formula name names tip tips per between vs versus
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
    # Politeness frames with a negation that negates nothing asked ("it's" and
    # "don't" arrive here already expanded).
    "if it not too much trouble",
    "if it is not too much trouble",
    "if you do not mind",
    "thanks in advance",
    "thank you in advance",
    "the following",
)

# Words that never take a suffix. A content word the stemmer would cut down to one of
# them ("notes" -> "not", "theme" -> "them", "innings" -> "in", "cane" -> "can") would
# vanish as a function word or count as a negation, so it keeps its own form.
CLOSED_CLASS = frozenset(
    """
    a an the i me my we us our ours you your yours he him his she her hers they them their theirs
    it its this that these those thee of on at by for with about as into onto to in from up out
    over under via per and or but if then so than nor is are was were be been am do does did
    have has had will would shall should can could may might must not no never none cannot except
    what which who whom whose when where why how
    """.split()
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
    ("up", "down"), ("rise", "fall"), ("plus", "minus"), ("add", "subtract"), ("multiply", "divide"),
    ("upgrade", "downgrade"), ("upper", "lower"), ("uppercase", "lowercase"), ("inside", "outside"),
    ("forward", "backward"), ("encode", "decode"), ("arrive", "depart"), ("arrival", "departure"),
    ("sunrise", "sunset"), ("mean", "median"), ("signin", "signout"), ("login", "logout"),
    ("turnon", "turnoff"), ("optin", "optout"), ("zoomin", "zoomout"), ("show", "hide"), ("set", "reset"),
    ("more", "fewer"), ("greater", "less"), ("greater", "fewer"), ("greater", "smaller"),
    ("larger", "smaller"), ("bigger", "smaller"),
)

# Words (after stemming) that name the same thing; each maps to its group's first word.
SYNONYM_GROUPS = (
    ("large", "big", "huge"), ("largest", "biggest"), ("small", "little", "tiny"),
    ("tallest", "highest"), ("fast", "quick", "rapid"), ("fastest", "quickest"),
    ("ocean", "sea"), ("refrigerator", "fridge"), ("bicycle", "bike"),
    ("dictionary", "dict"), ("integer", "int"), ("string", "str"),
    ("write", "compose", "draft", "author", "writer"), ("create", "make", "build", "generate", "construct"),
    ("remove", "delete", "erase", "rid", "drop", "eliminate"), ("revert", "undo"), ("reduce", "lower", "decrease"),
    ("increase", "raise", "boost"), ("novel", "book"),
    ("symptom", "sign"), ("plot", "story", "storyline"), ("improve", "better"), ("last", "final"),
    ("element", "item"), ("program", "application", "app"), ("difference", "differ", "different", "diff"), ("begin", "start"), ("finish", "end"), ("author", "writer"),
    ("combine", "merge"), ("repair", "fix", "correct"), ("picture", "image", "photo"),
    ("change", "update", "modify"), ("typical", "normal"), ("fly", "flight"),
    ("film", "movie"), ("car", "automobile"), ("kid", "child", "children"),
    ("summary", "summarize", "summarise", "overview"), ("calculate", "compute"),
    ("stop", "halt"), ("terminate", "kill"), ("number", "count"), ("cost", "price"),
    ("earth", "world"), ("maker", "manufacturer"), ("distance", "far"), ("less", "fewer"),
    ("cause", "trigger"), ("answer", "respond", "reply"), ("country", "nation"), ("visible", "observable"),
    ("main", "primary", "principal"), ("benefit", "advantage"), ("versus", "vs"),
    # Clipped forms people type for the whole word.
    ("environment", "env"), ("variable", "var"), ("document", "doc"), ("repository", "repo"),
    ("temperature", "temp"), ("biography", "bio"), ("signin", "login"), ("signout", "logout"),
    ("specific", "particular"), ("good", "great"), ("thaw", "defrost"),
    ("configuration", "config"), ("directory", "dir"), ("information", "info"), ("kubernetes", "k8s"),
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
        "percent": "%", "per cent": "%", "percentage": "%", "sci-fi": "science fiction", "e-mail": "email",
        "how to say": "translate", "how would i say": "translate", "how would you say": "translate",
        "how can i say": "translate", "how does one say": "translate",
        "squared": "to the power of 2", "cubed": "to the power of 3", "sqrt": "square root",
        "fl oz": "fluid ounce", "fl. oz.": "fluid ounce", "regex": "regular expression",
        "regexes": "regular expression", "venv": "virtual environment", "virtualenv": "virtual environment",
        "segfault": "segmentation fault", "new york city": "nyc",
        "in the world": " ", "on earth": " ", "on the planet": " ", "on planet earth": " ",
        "how do you say": "translate", "how do i say": "translate", "multiplied by": "times",
        "raised to the power of": "to the power of", "how fast": "speed", "how old": "age",
        "how tall": "height", "how far": "distance", "how heavy": "weight", "how deep": "depth",
        "how many people live in": "population of", "how many people are in": "population of",
        "a.m.": "am", "p.m.": "pm", "c++": "cpp", "c#": "csharp", "f#": "fsharp", ".net": "dotnet",
        # One spelling per unit, so "8 km" meets "8 kilometers" and "in °F" meets "in degrees Fahrenheit".
        "km": "kilometer", "kms": "kilometer", "kilometres": "kilometer", "kilometre": "kilometer",
        "cm": "centimeter", "mm": "millimeter", "kg": "kilogram", "kgs": "kilogram",
        "lb": "pound", "lbs": "pound", "oz": "ounce", "ml": "milliliter", "millilitres": "milliliter",
        "millilitre": "milliliter", "litres": "liter", "litre": "liter", "metres": "meter", "metre": "meter",
        "degrees fahrenheit": "fahrenheit", "degree fahrenheit": "fahrenheit",
        "degrees celsius": "celsius", "degree celsius": "celsius", "degrees centigrade": "celsius",
        "centigrade": "celsius", "miles per hour": "mph", "kilometers per hour": "kph", "km/h": "kph",
        # The United States under one token ("us" alone is a pronoun and a filler word).
        "united states of america": "usa", "united states": "usa", "u.s.a.": "usa", "u.s.": "usa",
        "american": "usa", "americans": "usa", "united kingdom": "uk",
        "js": "javascript", "node.js": "node", "nodejs": "node", "heart rate": "pulse",
        "twice": "2 times", "thrice": "3 times", "soviet union": "ussr",
        # Verbs whose particle turns them around: one token each, so "sign in" and "sign
        # out" differ in a content word instead of in two function words.
        "sign in": "signin", "signed in": "signin", "signing in": "signin",
        "sign out": "signout", "signed out": "signout", "signing out": "signout",
        "sign up": "signup", "signed up": "signup", "signing up": "signup",
        "log in": "login", "logged in": "login", "logging in": "login", "log into": "login into",
        "logged into": "login into", "sign into": "signin into", "signed into": "signin into",
        "log out": "logout", "logged out": "logout", "logging out": "logout", "log off": "logout",
        "turn on": "turnon", "turned on": "turnon", "turning on": "turnon",
        "turn off": "turnoff", "turned off": "turnoff", "turning off": "turnoff",
        "switch on": "turnon", "switch off": "turnoff", "opt in": "optin", "opt out": "optout",
        "zoom in": "zoomin", "zoom out": "zoomout",
        # Sort orders said as ends.
        "a to z": "ascending", "a-z": "ascending", "z to a": "descending", "z-a": "descending",
        "smallest to largest": "ascending", "largest to smallest": "descending",
        "lowest to highest": "ascending", "highest to lowest": "descending",
        "oldest to newest": "ascending", "newest to oldest": "descending",
        "low to high": "ascending", "high to low": "descending",
        "first world war": "world war 1", "second world war": "world war 2",
        "wwi": "world war 1", "ww1": "world war 1", "wwii": "world war 2", "ww2": "world war 2",
    }
)
SYMBOLS = MappingProxyType(
    {"$": " usd ", "€": " eur ", "£": " gbp ", "¥": " jpy ", "%": " % ", "^": " to the power of ",
     "°f": " fahrenheit ", "°c": " celsius ", "°": " degree "}
)

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
# Ordinals name a position, which changes the answer ("the second largest desert"); they
# become numbers, so "Second World War" meets "World War II" and "16th" meets "sixteenth".
# "first" stays a word: it pairs with "last".
ORDINALS = MappingProxyType(
    {
        "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
        "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
        "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
        "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "hundredth": 100,
    }
)
# Before these, "second" is the ordinal, not the unit of time ("the second largest").
ORDINAL_DETERMINERS = frozenset("the a its his her their my our your".split())
# Irregular past forms, so "when did the wall fall" meets "when the wall fell". Forms that
# are also other words ("left", "found", "saw", "won", "lay") are left out on purpose.
IRREGULAR_VERBS = MappingProxyType(
    {
        "fell": "fall", "fallen": "fall", "built": "build", "went": "go", "gone": "go", "came": "come",
        "took": "take", "taken": "take", "gave": "give", "given": "give", "got": "get", "gotten": "get",
        "began": "begin", "begun": "begin", "ate": "eat", "eaten": "eat", "drank": "drink",
        "bought": "buy", "sold": "sell", "sank": "sink", "sunk": "sink", "lost": "lose", "paid": "pay",
        "sent": "send", "spent": "spend", "taught": "teach", "thought": "think", "told": "tell",
        "rose": "rise", "risen": "rise", "grew": "grow", "grown": "grow", "drew": "draw", "drawn": "draw",
        "flew": "fly", "flown": "fly", "knew": "know", "known": "know", "froze": "freeze",
        "frozen": "freeze", "chose": "choose", "chosen": "choose", "broke": "break", "broken": "break",
        "led": "lead", "held": "hold", "fought": "fight", "caught": "catch", "brought": "bring",
        "became": "become", "sang": "sing", "sung": "sing", "swam": "swim", "threw": "throw",
        "thrown": "throw", "wore": "wear", "worn": "wear", "stole": "steal", "stolen": "steal",
        "spoke": "speak", "forgot": "forget", "forgotten": "forget", "hid": "hide", "hidden": "hide",
    }
)
# Verbs that name a task done to a text; one side asking for a task the other does not is
# a different request ("Explain this code" vs "Optimize this code"), even where the other
# side's verb is a filler word. "translate" is not one: a translation names its language,
# and "What is 'x' in Japanese?" asks for one without the verb.
TASK_VERBS = frozenset(
    """
    summarize summarise optimize optimise refactor debug proofread paraphrase rewrite
    classify extract analyze analyse critique simplify shorten expand tokenize minify
    remove undo uninstall disable cancel unsubscribe deactivate thaw
    """.split()
)
# Operations a request asks to be done, in classes of the same operation. Each side asking
# for an operation of a class the other lacks is a different request ("Find the bug in
# this code" vs "Explain what this code does", "find the PID of a process" vs "kill a
# process by its PID"); one side naming no operation of its own may still ask the same.
OPERATION_CLASSES = (
    ("explain", "describe"),
    ("find", "locate", "identify", "detect"),
    ("kill", "terminate"),
    ("fix", "repair", "debug", "resolve"),
)
# Dimensions a question may measure, in classes of the same dimension: each side
# measuring one the other does not is a different question ("How much does an elephant
# weigh?" vs "How tall is an elephant?"). "long" and "high" are left out: "how long" is a
# length or a time, "high in iron" no height.
MEASURE_CLASSES = (
    ("weigh", "weight", "heavy", "mass"),
    ("tall", "height"),
    ("length",),
    ("old", "age"),
    ("far", "distance"),
    ("big", "size"),
    ("fast", "speed"),
    ("deep", "depth"),
    ("wide", "width"),
    ("hot", "cold", "warm", "temperature"),
    ("cost", "expensive", "cheap"),
    ("population",),
)
# Words that open a question and say what kind of answer it wants (cache/intent.py)
# and after which its auxiliary carries the tense (cache/tense.py).
QUESTION_WORDS = ("who", "whom", "whose", "when", "where", "why", "how", "what", "which")
SYMMETRIC_CONNECTORS = frozenset("and or vs versus between & with".split())
# Nouns that stand for "whoever/whatever": a specific noun in their place narrows the
# question ("the richest person" vs "the richest woman").
PLACEHOLDER_NOUNS = frozenset("person people someone somebody thing things one ones".split())

# A phrase these open at the end of one side only narrows the question ("home remedies
# for a sore throat in toddlers", "... during pregnancy", "... for beginners").
RESTRICTING_PREPOSITIONS = frozenset("in for on at during among under over without with".split())
# Words that open a noun phrase before its modifiers and noun: articles, possessives and
# quantifiers ("for each customer", "with my kids").
DETERMINERS = frozenset("a an the my your our his her their its each every all any some".split())
# Adjectives that grade or hedge a noun rather than pick out a kind of it: "the main
# causes of inflation" and "a good gift" ask what "the causes" and "a gift" ask, where
# "vegetarian dinners" and "compound interest" name a narrower kind.
EVALUATIVE_MODIFIERS = frozenset(
    """
    good great nice main major key important common usual typical customary official popular
    basic top effective useful helpful
    """.split()
)
# Filler verbs a request opens with; what follows them is their object ("suggest
# vegetarian dinners", "explain quantum physics").
REQUEST_VERBS = frozenset("tell give show explain describe suggest recommend share provide list name".split())

ROMAN_NUMERALS = MappingProxyType({"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7})
