from handoff import notices
from handoff.contract import HandoffReason, HandoffRequest
from handoff.summary import build_summary


def test_summary_names_reason_topics_and_last_words() -> None:
    request = HandoffRequest(
        reason=HandoffReason.CITIZEN_REQUEST,
        intent="hablar_con_agente",
        intents_seen=["saludo", "informacion_tramite", "informacion_tramite", "hablar_con_agente"],
    )
    texts = ["hola", "requisitos de la beca", "x" * 300, "quiero una persona"]
    summary = build_summary(request, texts)
    assert summary.startswith("El ciudadano pidió hablar con una persona.")
    assert "Temas detectados: informacion_tramite." in summary
    assert "«hola»" not in summary  # only the last three messages are quoted
    assert "«requisitos de la beca»" in summary and "…»" in summary


def test_summary_without_topics_or_messages() -> None:
    request = HandoffRequest(reason=HandoffReason.BOT_UNAVAILABLE)
    assert build_summary(request, []) == "El asistente virtual no respondía."


def test_queue_notice_counts_people_ahead() -> None:
    assert "Es usted el siguiente" in notices.queued(0, HandoffReason.CITIZEN_REQUEST)
    assert "Hay 1 persona por delante" in notices.queued(1, HandoffReason.LOW_CONFIDENCE)
    assert "Hay 4 personas por delante" in notices.queued(4, HandoffReason.BOT_UNAVAILABLE)


def test_custom_payload_round_trip() -> None:
    request = HandoffRequest(reason=HandoffReason.LOW_CONFIDENCE, intent="x", confidence=0.4)
    assert HandoffRequest.from_custom_payload(request.as_custom_payload()) == request
    assert HandoffRequest.from_custom_payload({"other": 1}) is None
    assert HandoffRequest.from_custom_payload(None) is None
