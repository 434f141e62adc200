"""Inbound messages and Meta's marketing-preference changes, in the shapes Meta sends (see pywa's recordings)."""

from chalicelib.domain.whatsapp_webhook import parse


def envelope(field, value):
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": field, "value": {"messaging_product": "whatsapp",
                                  "metadata": {"display_phone_number": "919000000000",
                                               "phone_number_id": "109000000000003"}, **value}}]}]}


def message(kind, part, sender="919876500001"):
    return {"contacts": [{"profile": {"name": "मतदाता"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": "wamid.IN1", "timestamp": "1617000000", "type": kind, kind: part}]}


def test_a_typed_reply_a_button_and_an_interactive_reply_carry_their_words():
    [typed] = parse(envelope("messages", message("text", {"body": "रोकें"}))).messages
    assert (typed.sender, typed.phone_number_id, typed.text, typed.timestamp) == (
        "919876500001", "109000000000003", "रोकें", 1617000000)
    [button] = parse(envelope("messages", message("button", {"payload": "STOP", "text": "Stop promotions"}))).messages
    assert button.text == "Stop promotions"
    [tapped] = parse(envelope("messages", message("interactive", {
        "type": "button_reply", "button_reply": {"id": "stop", "title": "STOP"}}))).messages
    assert tapped.text == "STOP"
    [image] = parse(envelope("messages", message("image", {"id": "1", "mime_type": "image/jpeg"}))).messages
    assert image.text is None


def test_a_message_without_a_sender_is_noted_not_acted_on():
    batch = parse(envelope("messages", {"messages": [{"id": "wamid.X", "type": "text", "text": {"body": "STOP"}},
                                                     {"from": "+91 98765", "id": "wamid.Y", "type": "text"}]}))
    assert batch.messages == [] and batch.inbound_messages == 2 and batch.not_understood_count == 2


def test_metas_marketing_stop_and_resume():
    batch = parse(envelope("user_preferences", {
        "contacts": [{"profile": {"name": "मतदाता"}, "wa_id": "919876500001"}],
        "user_preferences": [{"wa_id": "919876500001", "detail": "User requested to stop marketing messages",
                              "category": "marketing_messages", "value": "stop", "timestamp": 1731705721},
                             {"wa_id": "919876500002", "category": "marketing_messages", "value": "resume",
                              "timestamp": 1731705722}]}))
    assert [(p.sender, p.category, p.value, p.phone_number_id) for p in batch.preferences] == [
        ("919876500001", "marketing_messages", "stop", "109000000000003"),
        ("919876500002", "marketing_messages", "resume", "109000000000003")]
    assert batch.preference_changes == 2
