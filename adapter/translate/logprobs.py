"""Gemini `logprobsResult` -> OpenAI choice `logprobs`."""

from __future__ import annotations

from .wire import ChoiceLogprobs, LogprobsCandidate, LogprobsResult, TokenLogprob


def _token(candidate: LogprobsCandidate) -> TokenLogprob:
    token = candidate.get("token") or ""
    return {
        "token": token,
        "logprob": candidate.get("logProbability", 0.0),
        "bytes": list(token.encode()),
    }


def logprobs(result: LogprobsResult) -> ChoiceLogprobs:
    """OpenAI `{"content": [...], "refusal": None}` for a candidate's logprobsResult."""
    chosen = result.get("chosenCandidates") or []
    top = result.get("topCandidates") or []
    content: list[TokenLogprob] = []
    for i, candidate in enumerate(chosen):
        entry = _token(candidate)
        alternatives = top[i].get("candidates") or [] if i < len(top) else []
        entry["top_logprobs"] = [_token(alt) for alt in alternatives]
        content.append(entry)
    return {"content": content, "refusal": None}
