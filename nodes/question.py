"""Read the question and its conversation from the run's input."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from fusion.core.errors import ConfigError
from fusion.core.state import InputState


def conversation_from(state: InputState) -> list[BaseMessage]:
    """The turns the panel sees, ending with the question as a human message.

    A parent agent's system prompts, tool calls and tool results are its own
    business: panelists see only the human and AI text turns.
    """
    turns: list[BaseMessage] = []
    for message in state.get("messages") or []:
        if isinstance(message, HumanMessage) and message.text.strip():
            turns.append(HumanMessage(message.text))
        elif isinstance(message, AIMessage) and message.text.strip():
            turns.append(AIMessage(message.text))
    prompt = (state.get("prompt") or "").strip()
    if prompt:
        turns.append(HumanMessage(prompt))
    while turns and not isinstance(turns[-1], HumanMessage):
        turns.pop()
    if not turns:
        raise ConfigError("the prompt is empty: give a question (or a conversation ending in one)")
    return turns
