"""What the judge reads: the drafts anonymised as letters, in shuffled order.

The letter-to-model map stays in code (and in state, for inspection); the judge's
messages never carry a model name. Each draft sits in a fence whose id is drawn per
call (`fusion.tools.framing.fence_draft`), its tag-like text neutralised, so a draft
can't end its own block or forge another response.
"""

from __future__ import annotations

import random
import string

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from fusion.core.state import JudgeMode, Response
from fusion.nodes import judge_prompts as prompts
from fusion.tools.framing import fence_draft, fence_id


def assign_labels(drafts: list[Response], seed: int | None) -> list[tuple[str, Response]]:
    """Shuffle the drafts and letter them A, B, C... in the shuffled order."""
    shuffled = list(drafts)
    random.Random(seed).shuffle(shuffled)
    return list(zip(letters_for(len(shuffled)), shuffled, strict=True))


def letters_for(count: int) -> list[str]:
    """The letters the judge knows `count` responses by: A, B, ..."""
    return list(string.ascii_uppercase[:count])


def judge_messages(
    question: str,
    earlier_turns: list[BaseMessage],
    labelled: list[tuple[str, Response]],
    instructions: str | None = None,
    mode: JudgeMode = "single_call",
) -> list[BaseMessage]:
    """System and user messages for the judge's first call in `mode`."""
    tag = fence_id()  # per call: a draft can't know it, so can't close its own fence
    blocks = []
    for label, draft in labelled:
        urls = "\n".join(f"- {s['url']}" for s in draft["sources"])
        sources = prompts.SOURCES.format(urls=urls) if urls else ""
        text = draft["text"] + (prompts.CUT_OFF if draft.get("truncated") else "")
        body = prompts.RESPONSE.format(text=text, sources=sources).rstrip("\n")
        blocks.append(fence_draft(label, body, tag))
    conversation = ""
    if earlier_turns:
        turns = "\n".join(f"{m.type}: {m.text}" for m in earlier_turns)
        conversation = prompts.CONVERSATION.format(turns=turns)
    user = prompts.USER.format(
        conversation=conversation,
        question=question,
        responses="\n\n".join(blocks),
        task=prompts.TASK[mode],
    )
    system = prompts.SYSTEM.format(count=len(labelled), steps=prompts.STEPS[mode], fence=tag)
    if instructions:
        system += prompts.INSTRUCTIONS.format(instructions=instructions)
    return [SystemMessage(system), HumanMessage(user)]
