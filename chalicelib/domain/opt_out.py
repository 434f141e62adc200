"""What a voter's WhatsApp reply asks for: to stop, to start again, or nothing we act on.

Meta does not handle a typed "STOP" (platforms.md): the business keeps its own suppression list, and DPDP says a
withdrawal must be as easy as the consent was. So a reply that *is* a stop phrase — in English or Hindi, in
Devanagari or typed in Latin letters, in any case, with stray spaces, punctuation, emoji or a polite word around
it — stops the number. A phrase inside a longer sentence ("don't stop the good work") is not a request, so the
whole reply must be the phrase: a false stop silences a supporter, a missed one is answered by the next reply.
"""

from __future__ import annotations

import enum
import re
import unicodedata

MAX_REPLY = 200  # a request is a few words; a longer message is a conversation, not a keyword


class Request(enum.StrEnum):
    STOP = "stop"
    START = "start"


# Words people add around the request that do not change it.
_POLITE = {"please", "pls", "plz", "kindly", "now", "ji", "kripya", "kripaya", "krupya", "कृपया", "अब", "जी",
           "sir", "bhai", "all", "messages", "message", "msg", "msgs", "sms", "संदेश", "मैसेज", "मेसेज", "सभी",
           "sab", "sabhi", "whatsapp", "hai", "है", "ये", "yeh", "ye", "ab", "me", "mujhe", "muje", "मुझे", "मुझको",
           "sending", "send", "bhejna", "भेजना", "these", "this", "your", "from", "us", "it"}

_STOP = {
    # English, and what carriers and Meta accept as stop words
    "stop", "stopall", "stop all", "unsubscribe", "unsub", "cancel", "end", "quit", "opt out", "optout",
    "remove", "remove me", "do not send", "dont send", "do not", "dont", "no more", "stopp", "stop it",
    # Hindi in Devanagari: रोकें / रोको / रोक दो, बंद करो (with anusvara or with न्), मत भेजो
    "रोकें", "रोके", "रोको", "रोक", "रोक दो", "रोक दें", "रोक दे", "रोकिए", "रोकिये", "रोक दीजिए", "रोक दीजिये",
    "बंद", "बंद करो", "बंद करें", "बंद करे", "बंद कर दो", "बंद कर दें", "बंद कीजिए", "बंद कीजिये",
    "स्टॉप", "स्टाप", "स्टॉप करो", "अनसब्सक्राइब",
    "मत भेजो", "मत भेजें", "मत भेजिए", "न भेजें", "ना भेजें", "भेजना बंद करो", "भेजना बंद करें",
    # Hindi typed in Latin letters, with the spellings people use
    "roko", "rok", "rok do", "rok de", "rok dein", "rok den", "roke", "roken", "rokein", "rokiye",
    "rokie", "band", "bandh", "bund", "band karo", "bandh karo", "bund karo", "band kro", "band kar do",
    "bandh kar do", "band karein", "band karen", "band kare", "band kijiye", "band kijie", "mat bhejo",
    "mat bhejen", "mat bhejein", "mat bhejiye", "na bheje", "bhejna band karo", "stop karo", "stop kar do",
    "stop kare", "stop karein", "stop kijiye",
}

_START = {
    "start", "unstop", "subscribe", "resume", "शुरू", "शुरु", "शुरू करो", "शुरू करें", "शुरु करो",
    "फिर से शुरू करें", "फिर से शुरू करो", "चालू", "चालू करो", "चालू करें", "shuru", "shuru karo", "shuru karein",
    "chalu", "chalu karo", "phir se shuru karo",
}

# Zero-width characters that phones insert, and marks people type for emphasis
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_NOT_WORD = re.compile(r"[^\w\u0900-\u097f]+")


def request_in(reply: str | None) -> Request | None:
    """STOP, START, or None for anything else. Pure; never raises."""
    if not isinstance(reply, str) or not reply.strip() or len(reply) > MAX_REPLY:
        return None
    words = _words(reply)
    while words and words[0] in _POLITE:
        words = words[1:]
    while words and words[-1] in _POLITE:
        words = words[:-1]
    phrase = " ".join(words)
    if phrase in _STOP or phrase.replace(" ", "") in _STOP:
        return Request.STOP
    if phrase in _START or phrase.replace(" ", "") in _START:
        return Request.START
    return None


def _words(reply: str) -> list[str]:
    # NFKC: full-width letters (ＳＴＯＰ) and other compatibility forms as the plain ones.
    text = unicodedata.normalize("NFKC", reply).translate(_INVISIBLE).casefold()
    text = text.replace("\u0964", " ").replace("\u0965", " ")  # danda, double danda
    # One spelling for what people write two ways: chandrabindu as anusvara (रोकेँ → रोकें), न् before द as
    # anusvara (बन्द → बंद); an apostrophe joins its word (don't).
    text = text.replace("\u0901", "\u0902").replace("\u0928\u094d\u0926", "\u0902\u0926")
    text = text.replace("'", "").replace("\u2019", "")
    # Repeated letters for emphasis ("stoppp", "plzzz") count once, and so does a repeated word ("STOP STOP").
    words = [re.sub(r"(.)\1{2,}", r"\1", w) for w in _NOT_WORD.sub(" ", text).split()]
    return [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
