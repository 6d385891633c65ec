"""Plain text survives the trip to ADF and back; the ADF is the shape Jira requires."""

from __future__ import annotations

from jirasync.connectors.adf import adf_to_text, text_to_adf


def test_minimal_adf_of_one_line() -> None:
    assert text_to_adf("Hello") == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}],
    }


def test_paragraphs_and_line_breaks_round_trip() -> None:
    text = "Customer called.\nSecond line.\n\nNew paragraph."
    document = text_to_adf(text)

    assert [block["type"] for block in document["content"]] == ["paragraph", "paragraph"]
    assert {"type": "hardBreak"} in document["content"][0]["content"]
    assert adf_to_text(document) == text
    assert adf_to_text(text_to_adf("a\r\nb")) == "a\nb"
    assert adf_to_text(None) == ""
