"""Plain text to and from the Atlassian Document Format that Jira comments and descriptions require."""

from __future__ import annotations

from typing import Any


def text_to_adf(text: str) -> dict[str, Any]:
    """One paragraph per blank-line-separated block; single newlines become hard breaks."""
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        content: list[dict[str, Any]] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_to_text(document: dict[str, Any] | None) -> str:
    """The text of an ADF document, paragraphs separated by blank lines (for CRM notes)."""
    if not document:
        return ""
    return "\n\n".join(_inline_text(block) for block in document.get("content", []))


def _inline_text(node: dict[str, Any]) -> str:
    if node.get("type") == "text":
        return node.get("text", "")
    if node.get("type") == "hardBreak":
        return "\n"
    return "".join(_inline_text(child) for child in node.get("content", []))
