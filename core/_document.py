"""The document shape RETRIEVER spans return, as MLflow defines it."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Document:
    """A retrieved document.

    Args:
        page_content: The document text.
        metadata: Free-form metadata (source, score, ...).
        id: The document id, if the store has one.
    """

    __slots__ = ("id", "metadata", "page_content")

    def __init__(
        self,
        page_content: str,
        metadata: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> None:
        self.page_content = page_content
        self.metadata: dict[str, Any] = dict(metadata) if metadata else {}
        self.id = id

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"page_content", "metadata", "id"}``."""
        return {"page_content": self.page_content, "metadata": self.metadata, "id": self.id}

    @classmethod
    def from_langchain_document(cls, document: Any) -> Document:
        """Convert a LangChain ``Document`` (duck-typed; LangChain is not imported)."""
        return cls(
            page_content=document.page_content,
            metadata=dict(getattr(document, "metadata", None) or {}),
            id=getattr(document, "id", None),
        )

    @classmethod
    def from_llama_index_node_with_score(cls, node_with_score: Any) -> Document:
        """Convert a LlamaIndex ``NodeWithScore``; the score goes into ``metadata["score"]``."""
        node = node_with_score.node
        metadata = dict(getattr(node, "metadata", None) or {})
        metadata["score"] = node_with_score.score
        return cls(page_content=node.get_content(), metadata=metadata, id=node.node_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Document(page_content={self.page_content!r}, metadata={self.metadata!r}, id={self.id!r})"
