"""Atlassian Document Format to Jira wiki markup and plain text to ADF, for REST v2.

Jira stores rich text once and renders it per API version: v3 answers ADF, v2 the wiki
markup of the same document (``*bold*``, ``h1.``, ``{code}``...). A v2 write is taken as
plain text: its blank-line-separated blocks become paragraphs and its single newlines hard
breaks, so a v2 client reads back what it wrote; markup in it stays literal text in ADF.
"""

from __future__ import annotations

from typing import Any

# Marks as wiki markup wraps them: the text goes between the two strings.
_MARKS = {
    "strong": ("*", "*"),
    "em": ("_", "_"),
    "strike": ("-", "-"),
    "underline": ("+", "+"),
    "code": ("{{", "}}"),
}
# The block nodes written as wiki blocks; a container of them (a panel, a table cell) shows its blocks.
_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule"}


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content"), list)


def text_to_adf(text: str) -> dict[str, Any]:
    """A document of one paragraph per block of ``text``, its line ends as hard breaks."""
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        inline: list[dict[str, Any]] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_to_wiki(document: dict[str, Any]) -> str:
    """The wiki markup of a document: blocks apart by a blank line, as Jira's v2 answers it."""
    return "\n\n".join(_block(node, "") for node in document["content"])


def _block(node: dict[str, Any], bullets: str) -> str:
    """A block node; ``bullets`` are the markers of the lists it is in (``*#`` in an ordered
    list inside a bullet list), which prefix the markers of a list nested in it."""
    kind = node.get("type")
    children = node.get("content") or []
    attrs = node.get("attrs") or {}
    if kind == "heading":
        return f"h{attrs.get('level', 1)}. {_inline(children)}"
    if kind in {"bulletList", "orderedList"}:
        bullet = bullets + ("*" if kind == "bulletList" else "#")
        return "\n".join(_list_item(item, bullet) for item in children)
    if kind == "codeBlock":
        language = f":{attrs['language']}" if attrs.get("language") else ""
        return f"{{code{language}}}\n{_inline(children)}\n{{code}}"
    if kind == "blockquote":
        return "{quote}\n" + "\n\n".join(_block(child, bullets) for child in children) + "\n{quote}"
    if kind == "rule":
        return "----"
    if kind == "paragraph" or not any(child.get("type") in _BLOCKS for child in children):
        return _inline(children)
    return "\n\n".join(_block(child, bullets) for child in children)


def _list_item(item: dict[str, Any], bullet: str) -> str:
    """``* text`` for the item's paragraphs, nested lists below it with one more marker."""
    lines = []
    for child in item.get("content") or []:
        if child.get("type") in {"bulletList", "orderedList"}:
            lines.append(_block(child, bullet))
        else:
            lines.append(f"{bullet} {_block(child, bullet)}")
    return "\n".join(lines)


def _inline(nodes: list[dict[str, Any]]) -> str:
    return "".join(_inline_node(node) for node in nodes)


def _inline_node(node: dict[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return _marked(node.get("text", ""), node.get("marks") or [])
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return f"[~accountid:{attrs.get('id', '')}]"
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName", ""))
    if kind == "inlineCard":
        return f"[{attrs.get('url', '')}|{attrs.get('url', '')}|smart-link]"
    return _inline(node.get("content") or [])


def _marked(text: str, marks: list[dict[str, Any]]) -> str:
    for mark in marks:
        kind = mark.get("type")
        if kind in _MARKS:
            opening, closing = _MARKS[kind]
            text = f"{opening}{text}{closing}"
        elif kind == "link":
            text = f"[{text}|{(mark.get('attrs') or {}).get('href', '')}]"
    return text
