"""Jira comments (Atlassian Document Format) ↔ CRM notes (plain text), for mirrored comments.

CRM notes and case comments are plain text, so a Jira comment becomes text a person reads as
written: paragraphs split by blank lines, hard breaks as newlines, ``- `` and ``1. `` lists
(nested two spaces deeper), ``[text](url)`` links, mentions as ``@Name``, emoji as their
character, ``code`` and fenced code blocks, ``> `` quotes and ``| a | b |`` tables. The same text
read back gives the same document again, so a mirror compared with its origin never differs by
formatting alone: ``adf_to_text(text_to_adf(t)) == t`` for any ``t`` this module wrote.

Builds on ``jirasync.connectors.adf``, which keeps the paragraphs-only conversion other syncs use.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]

INDENT = "  "
FENCE = "```"
LIST_ITEM = re.compile(r"^(?P<indent>(?:  )*)(?:(?P<bullet>[-*])|(?P<number>\d+)\.) (?P<text>.*)$")
TABLE_ROW = re.compile(r"^\|.*\|$")
TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+$")
HEADING = re.compile(r"^(?P<level>#{1,6}) (?P<text>.*)$")
# Inline marks, in the order they are tried: code, links, bare URLs, strong, emphasis.
INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<link_text>[^\]\n]+)\]\((?P<link_href>[^)\s]+)\)"
    r"|(?P<url>https?://[^\s<>()\[\]]+[^\s<>()\[\].,;:!?'\"])"
    r"|\*\*(?P<strong>[^*\n]+)\*\*"
    r"|(?<![\w*])_(?P<em>[^_\n]+)_(?![\w])"
)


# ---- ADF → text -------------------------------------------------------------------------------


def adf_to_text(document: Node | None) -> str:
    """The text of a Jira document, as a person would type it in a CRM note."""
    if not document:
        return ""
    return "\n\n".join(_block(node, "") for node in document.get("content") or []).strip("\n")


def _block(node: Node, indent: str) -> str:
    kind = node.get("type")
    content = node.get("content") or []
    if kind == "paragraph":
        return _inline(content)
    if kind == "heading":
        return "#" * int((node.get("attrs") or {}).get("level", 1)) + " " + _inline(content)
    if kind in ("bulletList", "orderedList"):
        return _list(node, indent)
    if kind == "codeBlock":
        language = (node.get("attrs") or {}).get("language") or ""
        return f"{FENCE}{language}\n{_inline(content)}\n{FENCE}"
    if kind == "blockquote":
        inner = "\n\n".join(_block(child, "") for child in content)
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node)
    if kind in ("mediaSingle", "mediaGroup", "media"):
        return "[attachment]"
    # panels, expands and what else holds blocks: their blocks
    return "\n\n".join(_block(child, indent) for child in content)


def _list(node: Node, indent: str) -> str:
    ordered = node.get("type") == "orderedList"
    number = int((node.get("attrs") or {}).get("order", 1)) if ordered else 0
    lines = []
    for item in node.get("content") or []:
        marker = f"{number}. " if ordered else "- "
        number += 1
        parts = []
        for child in item.get("content") or []:
            if child.get("type") in ("bulletList", "orderedList"):
                parts.append(_list(child, indent + INDENT))
            else:
                text = _block(child, indent).replace("\n", "\n" + indent + " " * len(marker))
                parts.append(text if not parts else indent + " " * len(marker) + text)
        first, *rest = parts or [""]
        lines.append(indent + marker + first)
        lines += rest
    return "\n".join(lines)


def _table(node: Node) -> str:
    rows = []
    for number, row in enumerate(node.get("content") or []):
        cells = row.get("content") or []
        texts = [
            " ".join(_block(block, "").replace("\n", " ") for block in cell.get("content") or [])
            for cell in cells
        ]
        rows.append("| " + " | ".join(texts) + " |")
        if number == 0 and cells and all(cell.get("type") == "tableHeader" for cell in cells):
            rows.append("|" + "|".join(" --- " for _ in cells) + "|")
    return "\n".join(rows)


def _inline(nodes: list[Node]) -> str:
    return "".join(_inline_node(node) for node in nodes)


def _inline_node(node: Node) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return _marked(node.get("text", ""), node.get("marks") or [])
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        name = str(attrs.get("text") or attrs.get("id") or "someone")
        return name if name.startswith("@") else "@" + name
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard"):
        return str(attrs.get("url") or "")
    if kind == "status":
        return f"[{attrs.get('text', '')}]"
    if kind == "date":
        return str(attrs.get("timestamp", ""))
    return _inline(node.get("content") or [])


def _marked(text: str, marks: list[Node]) -> str:
    kinds = {mark.get("type"): mark.get("attrs") or {} for mark in marks}
    if "code" in kinds:
        return f"`{text}`"
    if "strong" in kinds:
        text = f"**{text}**"
    if "em" in kinds:
        text = f"_{text}_"
    if "link" in kinds:
        href = kinds["link"].get("href", "")
        return href if text == href else f"[{text}]({href})"
    return text


# ---- text → ADF -------------------------------------------------------------------------------


def text_to_adf(text: str) -> Node:
    """A Jira document of CRM text, reading back what ``adf_to_text`` writes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Node] = []
    position = 0
    while position < len(lines):
        line = lines[position]
        if not line.strip():
            position += 1
        elif line.startswith(FENCE):
            position = _code_block(lines, position, blocks)
        elif LIST_ITEM.match(line) and not line.startswith(INDENT):
            position = _list_block(lines, position, blocks)
        elif TABLE_ROW.match(line):
            position = _table_block(lines, position, blocks)
        elif line.startswith(">"):
            position = _quote_block(lines, position, blocks)
        elif line == "---":
            blocks.append({"type": "rule"})
            position += 1
        elif HEADING.match(line):
            found = HEADING.match(line)
            assert found is not None
            level = len(found["level"])
            blocks.append({"type": "heading", "attrs": {"level": level}, "content": _inlines(found["text"])})
            position += 1
        else:
            position = _paragraph(lines, position, blocks)
    return {"type": "doc", "version": 1, "content": blocks}


def _starts_block(line: str) -> bool:
    return (
        not line.strip()
        or line.startswith(FENCE)
        or bool(LIST_ITEM.match(line) and not line.startswith(INDENT))
        or bool(TABLE_ROW.match(line))
        or line.startswith(">")
        or line == "---"
        or bool(HEADING.match(line))
    )


def _paragraph(lines: list[str], position: int, blocks: list[Node]) -> int:
    taken = [lines[position]]
    position += 1
    while position < len(lines) and not _starts_block(lines[position]):
        taken.append(lines[position])
        position += 1
    blocks.append(_paragraph_node(taken))
    return position


def _paragraph_node(lines: list[str]) -> Node:
    content: list[Node] = []
    for number, line in enumerate(lines):
        if number:
            content.append({"type": "hardBreak"})
        content += _inlines(line)
    return {"type": "paragraph", "content": content}


def _code_block(lines: list[str], position: int, blocks: list[Node]) -> int:
    language = lines[position][len(FENCE) :].strip()
    end = position + 1
    while end < len(lines) and lines[end] != FENCE:
        end += 1
    code = "\n".join(lines[position + 1 : end])
    node: Node = {"type": "codeBlock", "content": [{"type": "text", "text": code}] if code else []}
    if language:
        node["attrs"] = {"language": language}
    blocks.append(node)
    return end + 1


def _quote_block(lines: list[str], position: int, blocks: list[Node]) -> int:
    taken = []
    while position < len(lines) and lines[position].startswith(">"):
        taken.append(lines[position][2:] if lines[position].startswith("> ") else lines[position][1:])
        position += 1
    inner = text_to_adf("\n".join(taken))["content"]
    blocks.append({"type": "blockquote", "content": inner})
    return position


def _table_block(lines: list[str], position: int, blocks: list[Node]) -> int:
    rows: list[list[str]] = []
    header = False
    while position < len(lines) and TABLE_ROW.match(lines[position]):
        if TABLE_RULE.match(lines[position].replace(" ", "")) and len(rows) == 1:
            header = True
        else:
            rows.append([cell.strip() for cell in lines[position][1:-1].split("|")])
        position += 1
    table_rows = []
    for number, cells in enumerate(rows):
        kind = "tableHeader" if header and number == 0 else "tableCell"
        table_rows.append(
            {
                "type": "tableRow",
                "content": [
                    {"type": kind, "content": [{"type": "paragraph", "content": _inlines(cell)}]}
                    for cell in cells
                ],
            }
        )
    blocks.append({"type": "table", "content": table_rows})
    return position


def _list_block(lines: list[str], position: int, blocks: list[Node]) -> int:
    """Consecutive list lines (and their indented continuations) as one list, nested by indent."""
    end = position
    while (
        end < len(lines)
        and lines[end].strip()
        and (LIST_ITEM.match(lines[end]) or lines[end].startswith(" "))
    ):
        end += 1
    blocks.append(_list_node(lines[position:end], ""))
    return end


def _list_node(lines: list[str], indent: str) -> Node:
    first = LIST_ITEM.match(lines[0])
    assert first is not None
    ordered = first["number"] is not None
    node: Node = {"type": "orderedList" if ordered else "bulletList", "content": []}
    if ordered and int(first["number"]) != 1:
        node["attrs"] = {"order": int(first["number"])}
    items: list[list[str]] = []
    for line in lines:
        found = LIST_ITEM.match(line)
        if found and found["indent"] == indent:
            items.append([line])
        else:
            items[-1].append(line)
    for item in items:
        found = LIST_ITEM.match(item[0])
        assert found is not None
        marker_width = len(item[0]) - len(found["text"])
        text_lines = [found["text"]]
        nested: list[str] = []
        for line in item[1:]:
            inner = LIST_ITEM.match(line)
            if nested or (inner and inner["indent"] == indent + INDENT):
                nested.append(line)
            else:
                text_lines.append(line[marker_width:])
        content: list[Node] = [_paragraph_node(text_lines)]
        if nested:
            content.append(_list_node(nested, indent + INDENT))
        node["content"].append({"type": "listItem", "content": content})
    return node


def _inlines(text: str) -> list[Node]:
    """Text nodes of one line, with the marks its code, links, strong and emphasis spell."""
    nodes: list[Node] = []
    position = 0
    for found in INLINE.finditer(text):
        if found.start() > position:
            nodes.append({"type": "text", "text": text[position : found.start()]})
        if found["code"] is not None:
            nodes.append({"type": "text", "text": found["code"], "marks": [{"type": "code"}]})
        elif found["link_text"] is not None:
            link = {"type": "link", "attrs": {"href": found["link_href"]}}
            nodes.append({"type": "text", "text": found["link_text"], "marks": [link]})
        elif found["url"] is not None:
            link = {"type": "link", "attrs": {"href": found["url"]}}
            nodes.append({"type": "text", "text": found["url"], "marks": [link]})
        elif found["strong"] is not None:
            nodes.append({"type": "text", "text": found["strong"], "marks": [{"type": "strong"}]})
        else:
            nodes.append({"type": "text", "text": found["em"], "marks": [{"type": "em"}]})
        position = found.end()
    if position < len(text):
        nodes.append({"type": "text", "text": text[position:]})
    return nodes
