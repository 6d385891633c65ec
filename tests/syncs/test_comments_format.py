"""Jira documents ↔ CRM note text: what a person reads in the CRM, and round trips that are stable."""

from __future__ import annotations

from typing import Any

import pytest

from jirasync.syncs.comments import JIRA_LIMIT, mirror_text
from jirasync.syncs.comments_format import adf_to_text, text_to_adf


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"marks": list(marks)} if marks else {})}


def paragraph(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def item(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(content)}


def doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


LINK = {"type": "link", "attrs": {"href": "https://status.example.com/incidents/42"}}
MENTION = {"type": "mention", "attrs": {"id": "712020:abc", "text": "@Jane Doe", "accessLevel": ""}}
EMOJI = {"type": "emoji", "attrs": {"shortName": ":tada:", "id": "1f389", "text": "🎉"}}

# An agent's answer on a support issue: greeting with a mention and emoji, a nested checklist, an
# ordered list starting at 3, a link, inline code and a code block, a quote and a table.
SUPPORT_REPLY = doc(
    paragraph(
        text("Hi "),
        MENTION,
        text(", thanks for the logs "),
        EMOJI,
        {"type": "hardBreak"},
        text("Next steps:"),
    ),
    {
        "type": "bulletList",
        "content": [
            item(
                paragraph(text("Restart the "), text("sync-agent", {"type": "code"}), text(" service")),
                {
                    "type": "bulletList",
                    "content": [
                        item(paragraph(text("on every node"))),
                        item(paragraph(text("one at a time"))),
                    ],
                },
            ),
            item(paragraph(text("Check "), text("the status page", LINK))),
        ],
    },
    {
        "type": "orderedList",
        "attrs": {"order": 3},
        "content": [item(paragraph(text("Upgrade", {"type": "strong"}))), item(paragraph(text("Reboot")))],
    },
    {
        "type": "codeBlock",
        "attrs": {"language": "bash"},
        "content": [text("systemctl restart agent\n\njournalctl -u agent")],
    },
    {"type": "blockquote", "content": [paragraph(text("It failed at 14:05 UTC."))]},
    {
        "type": "table",
        "content": [
            {
                "type": "tableRow",
                "content": [
                    {"type": "tableHeader", "content": [paragraph(text("Node"))]},
                    {"type": "tableHeader", "content": [paragraph(text("State"))]},
                ],
            },
            {
                "type": "tableRow",
                "content": [
                    {"type": "tableCell", "content": [paragraph(text("eu-1"))]},
                    {"type": "tableCell", "content": [paragraph(text("down 😞"))]},
                ],
            },
        ],
    },
    paragraph(text("See https://docs.example.com/agent for more.")),
)

SUPPORT_TEXT = """Hi @Jane Doe, thanks for the logs 🎉
Next steps:

- Restart the `sync-agent` service
  - on every node
  - one at a time
- Check [the status page](https://status.example.com/incidents/42)

3. **Upgrade**
4. Reboot

```bash
systemctl restart agent

journalctl -u agent
```

> It failed at 14:05 UTC.

| Node | State |
| --- | --- |
| eu-1 | down 😞 |

See https://docs.example.com/agent for more."""


def test_a_support_reply_reads_as_a_person_would_type_it() -> None:
    assert adf_to_text(SUPPORT_REPLY) == SUPPORT_TEXT


def test_the_text_goes_back_to_the_same_structure() -> None:
    document = text_to_adf(SUPPORT_TEXT)
    kinds = [block["type"] for block in document["content"]]
    assert kinds == [
        "paragraph",
        "bulletList",
        "orderedList",
        "codeBlock",
        "blockquote",
        "table",
        "paragraph",
    ]
    nested = document["content"][1]["content"][0]["content"][1]
    assert nested["type"] == "bulletList" and len(nested["content"]) == 2
    assert document["content"][2]["attrs"] == {"order": 3}
    assert document["content"][3]["content"][0]["text"] == "systemctl restart agent\n\njournalctl -u agent"
    assert document["content"][5]["content"][0]["content"][0]["type"] == "tableHeader"
    link = document["content"][1]["content"][1]["content"][0]["content"][1]
    assert link["marks"] == [LINK]
    bare = document["content"][6]["content"][1]
    assert bare["marks"][0]["attrs"]["href"] == "https://docs.example.com/agent"


@pytest.mark.parametrize(
    "note",
    [
        SUPPORT_TEXT,
        "Spoke with the customer about 4150868000000224005.",
        "Line one\nline two\n\n\nafter blank lines",
        "1. first\n   continued\n2. second\n   - nested bullet\n     - deeper 🚀",
        "Price is 5 * 3 and snake_case_names stay, _emphasis_ too",
        "Tabs\tand trailing spaces   \n| not | a table",
        "```\nunterminated code",
    ],
)
def test_round_trips_are_stable(note: str) -> None:
    once = adf_to_text(text_to_adf(note))
    assert adf_to_text(text_to_adf(once)) == once
    assert adf_to_text(SUPPORT_REPLY) == adf_to_text(text_to_adf(adf_to_text(SUPPORT_REPLY)))


def test_plain_notes_come_back_unchanged() -> None:
    for note in ("Spoke with the customer.", "a\nb\n\nc", "Ünïcödé — “quotes” 👍"):
        assert adf_to_text(text_to_adf(note)) == note


def test_unknown_and_empty_documents() -> None:
    assert adf_to_text(None) == ""
    assert (
        adf_to_text(doc({"type": "panel", "content": [paragraph(text("inside a panel"))]}))
        == "inside a panel"
    )
    assert adf_to_text(doc({"type": "mediaSingle", "content": []})) == "[attachment]"


def test_a_mirror_too_long_for_its_side_is_cut_saying_so_and_keeps_its_marker() -> None:
    header, trailer = "Jane Doe in Jira, 2026-01-03 14:05 UTC\n\n", "\n\n[jirasync:jira:10001]"
    short, kept = mirror_text(header, "fits", trailer, 4_000)
    assert short == header + "fits" + trailer and kept == 4
    long = "x" * 5_000
    cut, kept = mirror_text(header, long, trailer, 4_000)
    assert len(cut) == 4_000 and kept < 5_000
    assert cut.startswith(header + "x" * kept + "\n\n[… cut by jirasync: 5000 characters")
    assert cut.endswith(trailer)
    jira, kept = mirror_text(header, "y" * 40_000, "", JIRA_LIMIT)
    assert len(jira) == JIRA_LIMIT == 32_767
