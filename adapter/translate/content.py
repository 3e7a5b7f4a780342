"""OpenAI message content (a string or an array of parts) -> Gemini `parts`.

Text, images (`image_url`), audio (`input_audio`) and files (`file`) are supported. Media given
inline (a `data:` URL or base64) becomes `inlineData`; a Gemini Files API URI or a YouTube link
becomes `fileData`; any other http(s) URL, checked and made canonical by `urls.checked_url`,
becomes a placeholder part `{"_fetch": {...}}` that the HTTP shell replaces with the fetched
bytes (fetching is I/O, so it does not happen here).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from typing import Any

from . import validate
from .errors import InvalidRequest
from .urls import MAX_URL_LENGTH, checked_url
from .wire import FETCH, FILE_REF, Content, Part

_TEXT_FIELD_BY_TYPE = {"text": "text", "input_text": "text", "output_text": "text",
                       "refusal": "refusal"}
# The head of a data URL, up to its comma; the data after it is never run through a regex.
_DATA_URL_HEAD = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[\w-]+=[^;,]*)*;base64,")
# Base64 is checked this many characters (a multiple of 4) at a time: each slice is one short
# call, so a worker thread checking tens of megabytes leaves the event loop its turns.
_BASE64_SLICE = 1 << 20
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3", "aiff": "audio/aiff", "aac": "audio/aac",
               "ogg": "audio/ogg", "flac": "audio/flac", "webm": "audio/webm", "m4a": "audio/m4a",
               "opus": "audio/ogg"}
_FILE_URI = re.compile(r"https://generativelanguage\.googleapis\.com/v1(?:beta)?/files/[\w-]+|"
                       r"gs://\S+")
_OPENAI_FILE_ID = re.compile(r"file-[\w-]{1,64}")
_YOUTUBE = re.compile(r"https://(?:www\.|m\.)?(?:youtube\.com/(?:watch\?|shorts/|live/)|youtu\.be/)"
                      r"\S+")


def _part_text(part: Any, where: str) -> str:
    part = validate.mapping(part, where)
    kind = part.get("type")
    field = _TEXT_FIELD_BY_TYPE.get(kind) if isinstance(kind, str) else None
    if field is None:
        raise InvalidRequest(f"Content part type {kind!r} is not supported here.", f"{where}.type")
    return validate.string(part.get(field), f"{where}.{field}")


def text_of(content: Any, param: str) -> str:
    """The text of content that may only hold text: a string or an array of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    items = validate.array(content, param)
    return "".join(_part_text(part, f"{param}[{i}]") for i, part in enumerate(items))


def _checked_base64(data: str, where: str) -> str:
    """`data` if it is valid base64 (padding only at its very end), else a 400 naming it."""
    final = max(0, len(data) - 1) // _BASE64_SLICE * _BASE64_SLICE
    try:
        for start in range(0, final, _BASE64_SLICE):
            piece = data[start:start + _BASE64_SLICE]
            if "=" in piece:
                raise ValueError("padding before the end")
            base64.b64decode(piece, validate=True)
        base64.b64decode(data[final:], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"'{where}' is not valid base64 data.", where) from None
    return data


def data_url(url: str, where: str) -> Part:
    """`inlineData` for a `data:<mime>;base64,<data>` URL."""
    match = _DATA_URL_HEAD.match(url, 0, url.find(",", 0, 1024) + 1)
    if match is None:
        raise InvalidRequest(
            f"'{where}' is not a valid data URL; expected data:<mime type>;base64,<data>.", where)
    data = _checked_base64(url[match.end():].strip(), where)
    return {"inlineData": {"mimeType": match["mime"].lower(), "data": data}}


def _url_part(url: str, where: str, kind: str) -> Part:
    if url.startswith("data:"):
        return data_url(url, where)
    if url.startswith(("https://", "http://")):
        canonical = checked_url(url, where)
        if _FILE_URI.fullmatch(url) or _YOUTUBE.fullmatch(url):
            return {"fileData": {"fileUri": url}}
        return {FETCH: {"url": canonical, "param": where, "kind": kind}}
    if url.startswith("gs://") and len(url) <= MAX_URL_LENGTH and _FILE_URI.fullmatch(url):
        return {"fileData": {"fileUri": url}}
    raise InvalidRequest(f"'{where}' must be an http(s) or data URL, or a gs:// URI of at most "
                         f"{MAX_URL_LENGTH} characters.", where)


def _image(part: dict[str, Any], where: str) -> Part:
    image = part.get("image_url")
    if isinstance(image, str):  # a bare URL, as some clients send
        image = {"url": image}
    image = validate.mapping(image, f"{where}.image_url")
    url = validate.string(image.get("url"), f"{where}.image_url.url")
    detail = image.get("detail")
    if detail is not None and detail not in ("auto", "low", "high"):
        raise InvalidRequest("'detail' must be 'auto', 'low' or 'high'.",
                             f"{where}.image_url.detail")
    return _url_part(url, f"{where}.image_url.url", "image")


def _audio(part: dict[str, Any], where: str) -> Part:
    audio = validate.mapping(part.get("input_audio"), f"{where}.input_audio")
    data = validate.string(audio.get("data"), f"{where}.input_audio.data")
    fmt = validate.string(audio.get("format"), f"{where}.input_audio.format")
    if fmt not in _AUDIO_MIME:
        raise InvalidRequest(f"Audio format {fmt!r} is not supported; use one of "
                             f"{', '.join(_AUDIO_MIME)}.", f"{where}.input_audio.format")
    return {"inlineData": {"mimeType": _AUDIO_MIME[fmt],
                           "data": _checked_base64(data, f"{where}.input_audio.data")}}


def _file(part: dict[str, Any], where: str) -> Part:
    file = validate.mapping(part.get("file"), f"{where}.file")
    if (data := file.get("file_data")) is not None:
        data = validate.string(data, f"{where}.file.file_data")
        if data.startswith("data:"):
            return data_url(data, f"{where}.file.file_data")
        name = file.get("filename")
        mime = mimetypes.guess_type(name)[0] if isinstance(name, str) else None
        if mime is None:
            raise InvalidRequest("Give 'file_data' as a data URL, or a 'filename' whose extension "
                                 "tells its type.", f"{where}.file.file_data")
        return {"inlineData": {"mimeType": mime,
                               "data": _checked_base64(data, f"{where}.file.file_data")}}
    if (url := file.get("file_url")) is not None:
        return _url_part(validate.string(url, f"{where}.file.file_url"),
                         f"{where}.file.file_url", "file")
    if (file_id := file.get("file_id")) is not None:
        return file_id_part(file_id, f"{where}.file.file_id")
    raise InvalidRequest("A 'file' part needs 'file_data' or 'file_id'.", f"{where}.file")


def file_id_part(file_id: Any, where: str) -> Part:
    """The part for a file given by id: an OpenAI id (`file-…`, from POST /v1/files) as a
    placeholder the shell resolves; a Gemini Files API name (`files/<id>`) or URI as it is."""
    file_id = validate.string(file_id, where)
    if _OPENAI_FILE_ID.fullmatch(file_id):
        return {FILE_REF: {"id": file_id, "param": where}}
    uri = file_id if _FILE_URI.fullmatch(file_id) else None
    if uri is None and re.fullmatch(r"files/[\w-]+", file_id):
        uri = f"https://generativelanguage.googleapis.com/v1beta/{file_id}"
    if uri is None:
        raise InvalidRequest("'file_id' must be a file's id from POST /v1/files, or a Gemini "
                             "Files API file (files/<id> or its URI).", where)
    return {"fileData": {"fileUri": uri}}


_MEDIA = {"image_url": _image, "input_audio": _audio, "file": _file}


def content_parts(content: Any, param: str) -> list[Part]:
    """Gemini parts for a user or assistant message's content. Empty text is dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[Part] = []
    for i, part in enumerate(validate.array(content, param)):
        where = f"{param}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if isinstance(kind, str) and kind in _MEDIA:
            parts.append(_MEDIA[kind](part, where))
        elif text := _part_text(part, where):
            parts.append({"text": text})
    return parts


def media_resolution(messages: list[Any]) -> str | None:
    """Gemini's `mediaResolution` for the most detailed `image_url.detail` asked for, if any."""
    details = {
        part["image_url"].get("detail")
        for message in messages if isinstance(message, dict)
        and isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict) and isinstance(part.get("image_url"), dict)
    }
    if "high" in details:
        return "MEDIA_RESOLUTION_HIGH"
    if "low" in details:
        return "MEDIA_RESOLUTION_LOW"
    return None


def remote_parts(contents: list[Content]) -> list[Part]:
    """The placeholder parts the shell must resolve: media to fetch, files to look up."""
    return [part for content in contents for part in content["parts"]
            if FETCH in part or FILE_REF in part]
