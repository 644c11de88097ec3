"""What a streaming client has been sent of the judge's answer, attempt by attempt.

An OpenAI stream cannot take back content. When the judge is asked again (its
verdict retried, the two-call fallback, the fallback judge) after part of an answer
went out, the client keeps that partial answer, so the stream says plainly that the
answer below replaces it (`RESTARTED`) before the new attempt's tokens. Nothing is
said when nothing was sent. The final flush is measured against the current
attempt only.
"""

from __future__ import annotations

from fusion.core.events import StreamedAnswer

RESTARTED = (
    "\n\n---\n\n"
    "*The judge was asked again: the answer below replaces the partial answer above.*\n\n"
)
"""The Markdown chunk sent between a superseded partial answer and the new one."""


class SentAnswer:
    """The current attempt's streamed text, and whether the client shows answer text
    not yet marked as replaced."""

    def __init__(self) -> None:
        self._answer = StreamedAnswer()  # the current attempt
        self.showing = False  # answer text reached the client since the last RESTARTED

    @property
    def attempt(self) -> str:
        """What the current attempt has streamed."""
        return self._answer.text

    def on_event(self, event: str | None) -> None:
        """A progress event: after a restart, the next token begins a new attempt."""
        self._answer.on_event(event)

    def token(self, text: str) -> list[str]:
        """The content chunks to send for one streamed piece of the answer."""
        pieces: list[str] = []
        if self._answer.add(text) and self.showing:
            pieces.append(RESTARTED)
            self.showing = False
        self.showing = self.showing or bool(text.strip())
        return [*pieces, text]

    def rest(self, answer: str) -> list[str]:
        """The content chunks that complete the client's copy of the final answer."""
        streamed = self.attempt.strip()
        if streamed and answer.startswith(streamed):
            # what the judge node adds after the streamed answer: the missing panelists
            rest = answer[len(streamed) :]
            return [rest] if rest else []
        if self.showing:  # the final answer is not the text the client shows
            return [RESTARTED, answer]
        return [answer]  # nothing streamed (or only whitespace): all of it
