"""The JSON shapes that the adapter's modules pass each other, for a type checker to hold.

Gemini's side follows the REST reference of `generateContent` (camelCase), OpenAI's side the Chat
Completions objects the adapter writes (snake_case), with this adapter's additions (`images`,
`code_execution`, `reasoning_content`). They describe what the code reads and writes, not every
field either API defines: a field that is passed through untouched is not listed.

These are type hints only. What Gemini sends is parsed JSON, typed as a
`GenerateContentResponse` where it enters (`upstream.stream_event`); the translators read it with
`.get()` and defaults, as they would any untrusted JSON.
"""

from __future__ import annotations

from typing import Any, Final, Literal, NotRequired, TypedDict

# Gemini: request and answer content.


class Blob(TypedDict):
    """`inlineData`: media carried in the request or answer, base64."""

    mimeType: str
    data: str


class FileData(TypedDict, total=False):
    """`fileData`: media Gemini reads itself (Files API, YouTube)."""

    mimeType: str
    fileUri: str


class FunctionCall(TypedDict, total=False):
    id: str
    name: str
    args: dict[str, Any]


class FunctionResponse(TypedDict):
    id: NotRequired[str]
    name: str
    response: dict[str, Any]


class ExecutableCode(TypedDict, total=False):
    id: str
    language: str
    code: str


class CodeExecutionResult(TypedDict, total=False):
    id: str
    outcome: str
    output: str


class FetchSpec(TypedDict):
    """What the HTTP shell must fetch for a media URL given in a request (`content.py`)."""

    url: str
    param: str  # the request field it came from, for errors
    kind: str  # "image" or "file"


FETCH: Final = "_fetch"  # the key of a placeholder part the shell replaces with `inlineData`


class FileRefSpec(TypedDict):
    """An OpenAI file id given in a request (`content.py`): the shell looks the file up (it
    must be the caller's) and puts its Gemini URI in the part's `fileData`."""

    id: str
    param: str  # the request field it came from, for errors


FILE_REF: Final = "_file"  # the key of a placeholder part the shell replaces with `fileData`


class Part(TypedDict, total=False):
    """One Gemini `Part`: one of the data fields, plus the fields that describe it."""

    text: str
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse
    executableCode: ExecutableCode
    codeExecutionResult: CodeExecutionResult
    thought: bool
    thoughtSignature: str
    partMetadata: dict[str, Any]
    videoMetadata: dict[str, Any]
    _fetch: FetchSpec  # the adapter's own placeholders, never sent
    _file: FileRefSpec


class Content(TypedDict):
    role: NotRequired[str]  # "user" or "model"; none in `systemInstruction`
    parts: list[Part]


# Gemini: the answer.


class Segment(TypedDict, total=False):
    startIndex: int  # UTF-8 bytes
    endIndex: int
    text: str


class GroundingSupport(TypedDict, total=False):
    segment: Segment
    groundingChunkIndices: list[int]


class GroundingSource(TypedDict, total=False):
    uri: str
    title: str


class GroundingChunk(TypedDict, total=False):
    web: GroundingSource
    retrievedContext: GroundingSource


class GroundingMetadata(TypedDict, total=False):
    groundingChunks: list[GroundingChunk]
    groundingSupports: list[GroundingSupport]
    webSearchQueries: list[str]


class LogprobsCandidate(TypedDict, total=False):
    token: str
    tokenId: int
    logProbability: float


class TopCandidates(TypedDict, total=False):
    candidates: list[LogprobsCandidate]


class LogprobsResult(TypedDict, total=False):
    chosenCandidates: list[LogprobsCandidate]
    topCandidates: list[TopCandidates]


class Candidate(TypedDict, total=False):
    index: int
    content: Content
    finishReason: str
    finishMessage: str
    groundingMetadata: GroundingMetadata
    logprobsResult: LogprobsResult


class ModalityTokenCount(TypedDict, total=False):
    modality: str  # "TEXT", "IMAGE", "AUDIO", ...
    tokenCount: int


class UsageMetadata(TypedDict, total=False):
    promptTokenCount: int
    candidatesTokenCount: int
    totalTokenCount: int
    thoughtsTokenCount: int
    cachedContentTokenCount: int
    toolUsePromptTokenCount: int
    promptTokensDetails: list[ModalityTokenCount]
    candidatesTokensDetails: list[ModalityTokenCount]


class PromptFeedback(TypedDict, total=False):
    blockReason: str
    blockReasonMessage: str


class GenerateContentResponse(TypedDict, total=False):
    """One answer, or one event of a stream."""

    candidates: list[Candidate]
    usageMetadata: UsageMetadata
    promptFeedback: PromptFeedback
    responseId: str
    modelVersion: str


# OpenAI: what the chat translators write.


class FunctionCallOut(TypedDict):
    name: str
    arguments: str  # a JSON object, as text


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class ToolCallDelta(ToolCall):
    index: int  # which call of the choice (a stream's deltas merge by it)


class ImageURL(TypedDict):
    url: str


class ImageEntry(TypedDict):
    """An entry of a message's `images`."""

    index: int
    type: Literal["image_url"]
    image_url: ImageURL
    thought_signature: NotRequired[str]


class CodeRun(TypedDict, total=False):
    """An entry of `code_execution`; a delta gives the code or the result, merged by index."""

    index: int
    id: str
    language: str
    code: str
    outcome: str
    output: str
    thought_signature: str


class URLCitation(TypedDict):
    start_index: int  # characters
    end_index: int
    url: str
    title: str


class Annotation(TypedDict):
    type: Literal["url_citation"]
    url_citation: URLCitation


class TokenLogprob(TypedDict):
    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: NotRequired[list[TokenLogprob]]


class ChoiceLogprobs(TypedDict):
    content: list[TokenLogprob]
    refusal: None


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, int]  # cached_tokens, image_tokens
    completion_tokens_details: dict[str, int]  # reasoning_tokens, image_tokens


class AudioDelta(TypedDict, total=False):
    """A piece of a spoken answer (`delta.audio`): the first has the id, the last `expires_at`."""

    id: str
    data: str  # base64; the pieces' strings join into the whole
    transcript: str
    expires_at: int


class Audio(TypedDict):
    """A message's `audio`."""

    id: str
    data: str
    expires_at: int
    transcript: str


class Delta(TypedDict, total=False):
    role: Literal["assistant"]
    content: str
    reasoning_content: str
    tool_calls: list[ToolCallDelta]
    images: list[ImageEntry]
    audio: AudioDelta
    code_execution: list[CodeRun]
    annotations: list[Annotation]


class ChunkChoice(TypedDict):
    index: int
    delta: Delta
    finish_reason: str | None
    logprobs: NotRequired[ChoiceLogprobs]


class ChatCompletionChunk(TypedDict):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: NotRequired[Usage]


class Message(TypedDict):
    """The assistant message of a `chat.completion` choice."""

    role: Literal["assistant"]
    content: str | None
    refusal: None
    reasoning_content: NotRequired[str]
    annotations: NotRequired[list[Annotation]]
    images: NotRequired[list[ImageEntry]]
    audio: NotRequired[Audio]
    code_execution: NotRequired[list[CodeRun]]
    tool_calls: NotRequired[list[ToolCall]]


class Choice(TypedDict):
    index: int
    message: Message
    logprobs: ChoiceLogprobs | None
    finish_reason: str | None


class ChatCompletion(TypedDict):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
