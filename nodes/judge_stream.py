"""The judge's verdict in one streamed call: analysis fields first, `answer` last,
with only the answer's text streamed as tokens.

The provider streams the verdict as JSON (a forced tool call's arguments, or JSON
content for `json_schema`/`json_mode`). `VerdictReader` parses that JSON
incrementally as partial JSON (jiter, the parser the OpenAI SDK streams with) and
hands out the decoded characters of `answer` as they arrive: escapes, `\\uXXXX`
pairs and multi-byte characters split across chunks come out whole, and no JSON
syntax ever does.

`VerdictStream` is a chat model around the provider's model: the provider call is
hidden from LangGraph's `messages` mode (`TAG_NOSTREAM`), and its own chunks are
the answer's Markdown text, so `messages` mode (tag `fusion:answer`), `fusion
serve`'s content chunks and the CLI's live view all get readable tokens. With no
streaming listener (`fuse()`), the provider call is one whole reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

import jiter
from langchain_core.callbacks import AsyncCallbackManager, AsyncCallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict, PrivateAttr

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*")


class VerdictReader:
    """Accumulates the verdict's JSON text and yields the answer's new characters."""

    def __init__(self) -> None:
        self.tool_args = ""  # the first tool call's arguments, as streamed
        self.content = ""  # text content (JSON for json_schema/json_mode, else prose)
        self._sent = 0

    def feed(self, chunk: AIMessageChunk) -> str:
        """Take one provider chunk; return the answer text it adds ("" if none)."""
        for call in chunk.tool_call_chunks:
            if (call.get("index") or 0) == 0 and call.get("args"):
                self.tool_args += call["args"] or ""
        if isinstance(chunk.content, str):
            self.content += chunk.content
        else:
            self.content += chunk.text
        return self._new_answer_text()

    def feed_whole(self, message: AIMessage) -> None:
        """Take a whole (non-streamed) reply."""
        if message.tool_calls:
            self.tool_args = json.dumps(message.tool_calls[0]["args"])
        self.content = message.text

    @property
    def json_text(self) -> str:
        """The verdict's JSON as written: tool arguments, else the content."""
        return self.tool_args if self.tool_args else _unfenced(self.content)

    def answer_so_far(self) -> str:
        """The decoded answer written so far ("" before it starts)."""
        text = self.json_text
        if '"answer"' not in text:
            return ""
        try:
            value = jiter.from_json(text.encode(), partial_mode="trailing-strings")
        except ValueError:
            return ""
        answer = value.get("answer") if isinstance(value, dict) else None
        return answer if isinstance(answer, str) else ""

    def _new_answer_text(self) -> str:
        answer = self.answer_so_far()
        if len(answer) <= self._sent:
            return ""
        delta, self._sent = answer[self._sent :], len(answer)
        return delta


def _unfenced(text: str) -> str:
    """JSON content without a Markdown code fence around it."""
    stripped = _FENCE.sub("", text, count=1) if text.lstrip().startswith("```") else text
    return stripped.rstrip().removesuffix("```")


class VerdictStream(BaseChatModel):
    """Streams the `answer` field of `provider`'s structured reply as plain text.

    One instance per call: after it, `reader` holds the verdict's JSON and
    `reply` the provider's message (usage, cost, tool calls)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    provider: Runnable[Any, BaseMessage]
    _reader: VerdictReader = PrivateAttr(default_factory=VerdictReader)
    _reply: AIMessage | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "fusion-judge-verdict"

    @cached_property
    def _serialized(self) -> dict[str, Any]:
        # What callbacks and tracers are handed at the call's start. LangChain's
        # default is the repr of the whole instance, verdict schema and all: built
        # anew for each call (one instance per call), a tenth of the judge's CPU.
        return {"lc": 1, "type": "not_implemented", "id": [*__name__.split("."), "VerdictStream"]}

    @property
    def reader(self) -> VerdictReader:
        return self._reader

    @property
    def reply(self) -> AIMessage | None:
        return self._reply

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError("the judge runs async only")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = await self.provider.ainvoke(messages, _hidden(run_manager))
        message = reply if isinstance(reply, AIMessage) else AIMessage(reply.text)
        self._reply = message
        self._reader.feed_whole(message)
        answer = AIMessage(
            self._reader.answer_so_far(),
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=answer)])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        chunks: list[AIMessageChunk] = []
        async for chunk in self.provider.astream(messages, _hidden(run_manager)):
            if not isinstance(chunk, AIMessageChunk):
                continue
            chunks.append(chunk)
            delta = self._reader.feed(chunk)
            if delta:  # LangChain hands each chunk to the listeners (messages mode)
                yield ChatGenerationChunk(message=AIMessageChunk(content=delta))
        if not chunks:
            return
        # Merged once at the end: `whole + chunk` per chunk re-parses the growing tool
        # arguments as partial JSON each time, quadratic in the verdict's length (43% of
        # fusion serve's CPU with 20 judges streaming).
        whole = add_ai_message_chunks(chunks[0], *chunks[1:])
        self._reply = AIMessage(
            whole.text,
            tool_calls=whole.tool_calls,
            invalid_tool_calls=whole.invalid_tool_calls,
            usage_metadata=whole.usage_metadata,
            response_metadata=whole.response_metadata,
        )
        # The last chunk carries no text, only the call's usage and cost.
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=whole.usage_metadata,
                response_metadata=whole.response_metadata,
            )
        )


def _hidden(run_manager: AsyncCallbackManagerForLLMRun | None) -> RunnableConfig:
    """The provider call's config: a child run, kept out of `messages` mode."""
    config: RunnableConfig = {"tags": [TAG_NOSTREAM]}
    if run_manager is not None:
        child = AsyncCallbackManager(
            handlers=run_manager.inheritable_handlers,
            inheritable_handlers=run_manager.inheritable_handlers,
            parent_run_id=run_manager.run_id,
        )
        child.add_tags(run_manager.inheritable_tags)
        child.add_metadata(run_manager.inheritable_metadata)
        config["callbacks"] = child
    return config
