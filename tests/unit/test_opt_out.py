"""A voter's reply: stop, start again, or nothing — in Hindi and English, however it is typed."""

import pytest

from chalicelib.domain.opt_out import Request, request_in

STOPS = ["STOP", "stop", " Stop ", "stop.", "STOP!!", "Stop 🙏", "stoppp", "please stop", "Stop please",
         "STOP ALL", "stop all messages", "Unsubscribe", "UNSUBSCRIBE", "unsub", "cancel", "opt out", "opt-out",
         "S T O P", "don't send", "don’t send", "do not send", "रोकें", "रोको", "रोक दो", "रोकेँ", " रोकें। ",
         "कृपया रोकें", "बंद करो", "बन्द करो", "बंद करें", "बंद", "मत भेजो", "कृपया मैसेज बंद करो", "स्टॉप",
         "roko", "Rokein", "rok do", "band karo", "Bandh Karo", "bund karo", "band kar do", "mat bhejo",
         "stop karo", "plz band karo", "stop\u200b", "\u200dरोकें"]
STARTS = ["START", "start", "Start please", "unstop", "subscribe", "शुरू", "शुरू करो", "चालू करो", "shuru karo"]
NEITHER = ["", "   ", None, "Don't stop the good work", "stop the road project", "when will the road be built?",
           "ok", "yes", "🙏", "बंद सड़क कब खुलेगी", "ठीक है", "stop" * 60, 42, "hello stop please send more"]


@pytest.mark.parametrize("reply", STOPS)
def test_a_stop_phrase_in_any_spelling_stops(reply):
    assert request_in(reply) is Request.STOP


@pytest.mark.parametrize("reply", STARTS)
def test_a_start_phrase_starts(reply):
    assert request_in(reply) is Request.START


@pytest.mark.parametrize("reply", NEITHER)
def test_a_sentence_that_only_contains_a_keyword_is_not_a_request(reply):
    assert request_in(reply) is None
