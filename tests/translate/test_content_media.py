"""Multimodal message content (images, audio, files) -> Gemini parts, and what the shell fetches."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from adapter.translate.content import FETCH, content_parts, media_resolution, remote_parts
from adapter.translate.errors import InvalidRequest
from adapter.translate.messages import translate_messages

PARAM = "messages[0].content"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").decode()
WAV = base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt ").decode()
PDF = base64.b64encode(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").decode()
FILES_URI = "https://generativelanguage.googleapis.com/v1beta/files/abc"


def image(url: Any, detail: Any = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"url": url, **extra}
    if detail is not None:
        spec["detail"] = detail
    return {"type": "image_url", "image_url": spec}


def audio(data: Any, fmt: Any) -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}


def file(**spec: Any) -> dict[str, Any]:
    return {"type": "file", "file": spec}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def one_part(part: dict[str, Any], param: str = PARAM) -> dict[str, Any]:
    [result] = content_parts([part], param)
    return result


def rejects(content: Any, param: str = PARAM) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        content_parts(content, param)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_request"
    return caught.value


# --- image_url: data URLs -------------------------------------------------------------------------

@pytest.mark.parametrize("mime", [
    "image/png", "image/jpeg", "image/webp", "image/gif", "image/heic", "image/heif",
    "image/svg+xml", "application/pdf", "audio/wav", "video/mp4",
])
def test_data_url_becomes_inline_data_with_its_mime_and_data(mime: str) -> None:
    assert one_part(image(f"data:{mime};base64,{PNG}")) == {
        "inlineData": {"mimeType": mime, "data": PNG}}


def test_data_url_mime_is_lowercased_and_data_kept_byte_for_byte() -> None:
    data = base64.b64encode(bytes(range(256))).decode()  # uses '+' and '/'
    assert "+" in data and "/" in data
    assert one_part(image(f"data:Image/JPEG;base64,{data}")) == {
        "inlineData": {"mimeType": "image/jpeg", "data": data}}


@pytest.mark.parametrize("params", [";charset=utf-8", ";name=photo.png", ";a=1;b=two"])
def test_data_url_parameters_before_base64_are_allowed(params: str) -> None:
    assert one_part(image(f"data:image/png{params};base64,{PNG}")) == {
        "inlineData": {"mimeType": "image/png", "data": PNG}}


def test_data_url_surrounding_whitespace_in_the_data_is_stripped() -> None:
    assert one_part(image(f"data:image/png;base64,{PNG}\n")) == {
        "inlineData": {"mimeType": "image/png", "data": PNG}}


@pytest.mark.parametrize("url", [
    f"data:image/png,{PNG}",  # no ;base64 marker
    f"data:image/png;{PNG}",
    f"data:image/png;base64{PNG}",  # marker without its comma
    f"data:;base64,{PNG}",  # no mime type
    f"data:base64,{PNG}",
    f"data:image;base64,{PNG}",  # mime without subtype
    f"data:/png;base64,{PNG}",
    "data:image/png;base64,not base64!",  # bad base64
    "data:image/png;base64,iVBORw0KGgo",  # missing padding
    "data:image/png;base64,iVBO$w0KGgo=",
    "data:",
])
def test_malformed_data_url_names_the_url(url: str) -> None:
    error = rejects([image(url)])
    assert error.param == "messages[0].content[0].image_url.url"
    assert "messages[0].content[0].image_url.url" in error.message


def test_error_path_is_the_param_passed_and_the_part_index() -> None:
    content = [text("look"), text("again"), image("data:image/png,xyz")]
    error = rejects(content, "messages[7].content")
    assert error.param == "messages[7].content[2].image_url.url"


# --- image_url: shapes and detail -----------------------------------------------------------------

def test_bare_string_image_url_is_the_url() -> None:
    part = {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"}
    assert one_part(part) == {"inlineData": {"mimeType": "image/png", "data": PNG}}


def test_bare_string_http_image_url_is_fetched_with_the_url_param() -> None:
    part = {"type": "image_url", "image_url": "https://example.com/cat.png"}
    assert one_part(part) == {FETCH: {"url": "https://example.com/cat.png",
                                      "param": "messages[0].content[0].image_url.url",
                                      "kind": "image"}}


@pytest.mark.parametrize("detail", ["auto", "low", "high"])
def test_valid_detail_values_do_not_change_the_part(detail: str) -> None:
    url = f"data:image/png;base64,{PNG}"
    assert one_part(image(url, detail)) == one_part(image(url))


def test_null_detail_is_accepted() -> None:
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                               "detail": None}}
    assert one_part(part)["inlineData"]["data"] == PNG


@pytest.mark.parametrize("detail", ["medium", "HIGH", "original", "", 1, True, ["high"]])
def test_invalid_detail_names_the_detail(detail: Any) -> None:
    error = rejects([text("x"), image(f"data:image/png;base64,{PNG}", detail)])
    assert error.param == "messages[0].content[1].image_url.detail"


@pytest.mark.parametrize(("part", "param"), [
    ({"type": "image_url"}, "messages[0].content[0].image_url"),
    ({"type": "image_url", "image_url": None}, "messages[0].content[0].image_url"),
    ({"type": "image_url", "image_url": 42}, "messages[0].content[0].image_url"),
    ({"type": "image_url", "image_url": ["https://example.com/a.png"]},
     "messages[0].content[0].image_url"),
    ({"type": "image_url", "image_url": {}}, "messages[0].content[0].image_url.url"),
    ({"type": "image_url", "image_url": {"url": None}}, "messages[0].content[0].image_url.url"),
    ({"type": "image_url", "image_url": {"url": 5}}, "messages[0].content[0].image_url.url"),
])
def test_malformed_image_url_names_the_field(part: dict[str, Any], param: str) -> None:
    assert rejects([part]).param == param


# --- image_url: remote URLs -----------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://example.com/cat.png",
    "http://example.com/cat.png",
    "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
    "https://example.com/image?id=1&size=large",
    "https://generativelanguage.googleapis.com/v1beta/files/abc?alt=media",  # not a bare file URI
    "http://generativelanguage.googleapis.com/v1beta/files/abc",  # Files URIs are https
    "https://example.com/watch?v=dQw4w9WgXcQ",  # not YouTube
])
def test_http_urls_become_fetch_placeholders(url: str) -> None:
    error_free = one_part(image(url), "messages[3].content")
    assert error_free == {FETCH: {"url": url, "param": "messages[3].content[0].image_url.url",
                                  "kind": "image"}}


@pytest.mark.parametrize("url", [
    FILES_URI,
    "https://generativelanguage.googleapis.com/v1/files/abc-123_x",
    "gs://my-bucket/images/cat.png",
    "gs://bucket/dir/report.pdf",
    "https://www.youtube.com/watch?v=9hE5-98ZeCg",
    "https://youtube.com/watch?v=9hE5-98ZeCg&t=42s",
    "https://m.youtube.com/watch?v=9hE5-98ZeCg",
    "https://youtu.be/9hE5-98ZeCg",
    "https://www.youtube.com/shorts/abcDEF12345",
    "https://www.youtube.com/live/abcDEF12345",
])
def test_files_api_gcs_and_youtube_urls_become_file_data(url: str) -> None:
    assert one_part(image(url)) == {"fileData": {"fileUri": url}}


@pytest.mark.parametrize("url", [
    "ftp://example.com/cat.png",
    "file:///etc/passwd",
    "file:cat.png",
    "s3://bucket/cat.png",
    "javascript:alert(1)",
    "cat.png",
    "/tmp/cat.png",
    "//example.com/cat.png",
    "",
    " https://example.com/cat.png",
])
def test_other_schemes_are_rejected(url: str) -> None:
    error = rejects([image(url)])
    assert error.param == "messages[0].content[0].image_url.url"


# --- input_audio ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "mime"), [
    ("wav", "audio/wav"),
    ("mp3", "audio/mp3"),
    ("aiff", "audio/aiff"),
    ("aac", "audio/aac"),
    ("ogg", "audio/ogg"),
    ("flac", "audio/flac"),
    ("webm", "audio/webm"),
    ("m4a", "audio/m4a"),
    ("opus", "audio/ogg"),
])
def test_audio_format_gives_the_audio_mime(fmt: str, mime: str) -> None:
    assert one_part(audio(WAV, fmt)) == {"inlineData": {"mimeType": mime, "data": WAV}}


@pytest.mark.parametrize("fmt", ["WAV", "mpeg", "mp4", "pcm", "", "audio/wav"])
def test_unknown_audio_format_names_the_format(fmt: str) -> None:
    error = rejects([text("listen"), audio(WAV, fmt)])
    assert error.param == "messages[0].content[1].input_audio.format"
    assert "wav" in error.message  # lists what is supported


@pytest.mark.parametrize("data", ["not base64!", "UklGRg", f"data:audio/wav;base64,{WAV}"])
def test_bad_audio_base64_names_the_data(data: str) -> None:
    assert rejects([audio(data, "wav")]).param == "messages[0].content[0].input_audio.data"


@pytest.mark.parametrize(("part", "param"), [
    ({"type": "input_audio"}, "messages[0].content[0].input_audio"),
    ({"type": "input_audio", "input_audio": "UklGRg=="}, "messages[0].content[0].input_audio"),
    (audio(None, "wav"), "messages[0].content[0].input_audio.data"),
    (audio(123, "wav"), "messages[0].content[0].input_audio.data"),
    (audio(WAV, None), "messages[0].content[0].input_audio.format"),
    (audio(WAV, 3), "messages[0].content[0].input_audio.format"),
])
def test_malformed_input_audio_names_the_field(part: dict[str, Any], param: str) -> None:
    assert rejects([part]).param == param


# --- file -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mime", ["application/pdf", "text/plain", "image/png", "audio/mpeg"])
def test_file_data_as_data_url(mime: str) -> None:
    part = file(file_data=f"data:{mime};base64,{PDF}", filename="ignored.bin")
    assert one_part(part) == {"inlineData": {"mimeType": mime, "data": PDF}}


@pytest.mark.parametrize(("filename", "mime"), [
    ("report.pdf", "application/pdf"),
    ("REPORT.PDF", "application/pdf"),
    ("notes.txt", "text/plain"),
    ("photo.png", "image/png"),
    ("clip.mp4", "video/mp4"),
    ("page.html", "text/html"),
])
def test_raw_base64_file_data_takes_its_mime_from_the_filename(filename: str, mime: str) -> None:
    assert one_part(file(file_data=PDF, filename=filename)) == {
        "inlineData": {"mimeType": mime, "data": PDF}}


@pytest.mark.parametrize("spec", [
    {"file_data": PDF},
    {"file_data": PDF, "filename": None},
    {"file_data": PDF, "filename": "README"},
    {"file_data": PDF, "filename": "blob.notarealextension"},
    {"file_data": PDF, "filename": 7},
])
def test_raw_base64_without_a_telling_filename_names_file_data(spec: dict[str, Any]) -> None:
    assert rejects([file(**spec)]).param == "messages[0].content[0].file.file_data"


@pytest.mark.parametrize("data", ["%PDF-1.7 raw bytes", "JVBERi0xLjc", "https://example.com/a.pdf"])
def test_bad_raw_base64_file_data_names_file_data(data: str) -> None:
    error = rejects([file(file_data=data, filename="report.pdf")])
    assert error.param == "messages[0].content[0].file.file_data"


def test_malformed_file_data_url_names_file_data() -> None:
    error = rejects([file(file_data=f"data:application/pdf,{PDF}")])
    assert error.param == "messages[0].content[0].file.file_data"


@pytest.mark.parametrize(("file_id", "uri"), [
    ("files/abc", FILES_URI),
    ("files/abc-123_x", "https://generativelanguage.googleapis.com/v1beta/files/abc-123_x"),
    (FILES_URI, FILES_URI),
    ("https://generativelanguage.googleapis.com/v1/files/xyz",
     "https://generativelanguage.googleapis.com/v1/files/xyz"),
    ("gs://bucket/report.pdf", "gs://bucket/report.pdf"),
])
def test_file_id_of_a_gemini_file_becomes_file_data(file_id: str, uri: str) -> None:
    assert one_part(file(file_id=file_id)) == {"fileData": {"fileUri": uri}}


@pytest.mark.parametrize("file_id", [
    "abc", "files/", "files/a/b", "files/a b", "file-", "file-a b", "file-" + "a" * 65,
    "https://example.com/files/abc", "",
])
def test_ids_that_name_no_file_name_the_file_id(file_id: str) -> None:
    error = rejects([text("read"), file(file_id=file_id)])
    assert error.param == "messages[0].content[1].file.file_id"


@pytest.mark.parametrize("file_id", ["file-abc123", "file-6F2ksmvXxt4VdoqmHRw6kL",
                                     "file-kept_0123abcd", "file-batch-xyz"])
def test_an_openai_file_id_is_a_placeholder_the_shell_resolves(file_id: str) -> None:
    param = "messages[0].content[1].file.file_id"
    assert content_parts([text("read"), file(file_id=file_id)], "messages[0].content")[1] == {
        "_file": {"id": file_id, "param": param}}


def test_file_data_wins_over_file_id() -> None:
    part = file(file_data=f"data:application/pdf;base64,{PDF}", file_id="files/abc")
    assert one_part(part) == {"inlineData": {"mimeType": "application/pdf", "data": PDF}}


@pytest.mark.parametrize(("part", "param"), [
    ({"type": "file"}, "messages[0].content[0].file"),
    ({"type": "file", "file": "files/abc"}, "messages[0].content[0].file"),
    (file(), "messages[0].content[0].file"),
    (file(filename="report.pdf"), "messages[0].content[0].file"),
    (file(file_data=None, file_id=None), "messages[0].content[0].file"),
    (file(file_data=3), "messages[0].content[0].file.file_data"),
    (file(file_id=["files/abc"]), "messages[0].content[0].file.file_id"),
])
def test_malformed_file_part_names_the_field(part: dict[str, Any], param: str) -> None:
    assert rejects([part]).param == param


# --- part types, order, empties -------------------------------------------------------------------

@pytest.mark.parametrize("kind", [
    "video_url", "audio_url", "input_image", "input_file", "image", "IMAGE_URL", "", None,
])
def test_unsupported_part_types_name_the_type(kind: Any) -> None:
    part: dict[str, Any] = {"image_url": {"url": "https://example.com/a.png"}}
    if kind is not None:
        part["type"] = kind
    error = rejects([text("hi"), part], "messages[2].content")
    assert error.param == "messages[2].content[1].type"


@pytest.mark.parametrize("kind", [["image_url"], {"image_url": True}, ["text"]])
def test_part_type_that_is_not_a_string_names_the_type(kind: Any) -> None:
    # A JSON array or object as `type` must be a 400 naming it, not a crash.
    error = rejects([{"type": kind, "image_url": {"url": "https://example.com/a.png"}}])
    assert error.param == "messages[0].content[0].type"


@pytest.mark.parametrize("part", ["just a string", 3, None, ["text"]])
def test_part_that_is_not_an_object_names_the_part(part: Any) -> None:
    assert rejects([text("a"), part]).param == "messages[0].content[1]"


def test_mixed_text_and_media_keep_their_order() -> None:
    content = [
        text("first"),
        image(f"data:image/png;base64,{PNG}"),
        text("second"),
        audio(WAV, "wav"),
        image("https://example.com/b.jpg"),
        file(file_id="files/abc"),
        text("last"),
    ]
    assert content_parts(content, PARAM) == [
        {"text": "first"},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {"text": "second"},
        {"inlineData": {"mimeType": "audio/wav", "data": WAV}},
        {FETCH: {"url": "https://example.com/b.jpg", "param": f"{PARAM}[4].image_url.url",
                 "kind": "image"}},
        {"fileData": {"fileUri": FILES_URI}},
        {"text": "last"},
    ]


def test_empty_text_parts_are_dropped_but_media_kept() -> None:
    content = [text(""), image(f"data:image/png;base64,{PNG}"), text(""),
               {"type": "input_text", "text": ""}]
    assert content_parts(content, PARAM) == [{"inlineData": {"mimeType": "image/png",
                                                              "data": PNG}}]


def test_text_part_indexes_count_dropped_parts() -> None:
    error = rejects([text(""), text(""), image("ftp://x/y.png")])
    assert error.param == "messages[0].content[2].image_url.url"


def test_input_content_is_not_modified() -> None:
    content = [text("a"), image("https://example.com/a.png", "high"),
               {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
               audio(WAV, "mp3"), file(file_data=PDF, filename="r.pdf")]
    before = copy.deepcopy(content)
    content_parts(content, PARAM)
    assert content == before


# --- media_resolution -----------------------------------------------------------------------------

def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(parts)}


URL = "https://example.com/a.png"


@pytest.mark.parametrize(("messages", "expected"), [
    ([user(image(URL, "high"))], "MEDIA_RESOLUTION_HIGH"),
    ([user(image(URL, "low"))], "MEDIA_RESOLUTION_LOW"),
    ([user(image(URL, "low"), image(URL, "high"))], "MEDIA_RESOLUTION_HIGH"),
    ([user(image(URL, "high")), user(image(URL, "low"))], "MEDIA_RESOLUTION_HIGH"),
    ([user(image(URL, "low")), user(image(URL, "high"))], "MEDIA_RESOLUTION_HIGH"),
    ([user(image(URL, "auto"), image(URL, "low"))], "MEDIA_RESOLUTION_LOW"),
    ([user(image(URL, "auto"), image(URL, "high"))], "MEDIA_RESOLUTION_HIGH"),
    ([user(image(URL), image(URL, "low"))], "MEDIA_RESOLUTION_LOW"),
    ([user(image(URL, "auto"))], None),
    ([user(image(URL))], None),
    ([user(image(URL, "auto"), image(URL))], None),
    ([user({"type": "image_url", "image_url": URL})], None),
    ([user(text("hi"))], None),
    ([{"role": "user", "content": "plain text"}], None),
    ([], None),
])
def test_media_resolution(messages: list[Any], expected: str | None) -> None:
    assert media_resolution(messages) == expected


def test_media_resolution_skips_messages_that_are_not_objects() -> None:
    assert media_resolution(["oops", None, user(image(URL, "low"))]) == "MEDIA_RESOLUTION_LOW"


def test_media_resolution_reads_assistant_messages_too() -> None:
    messages = [user(text("hi")), {"role": "assistant", "content": [image(URL, "high")]}]
    assert media_resolution(messages) == "MEDIA_RESOLUTION_HIGH"


# --- remote_parts ---------------------------------------------------------------------------------

def test_remote_parts_are_exactly_the_placeholders_in_order_and_by_identity() -> None:
    contents, _ = translate_messages([
        user(text("one"), image("https://example.com/1.png"),
             image(f"data:image/png;base64,{PNG}")),
        {"role": "assistant", "content": "ok"},
        user(image(FILES_URI), image("http://example.com/2.png"), audio(WAV, "wav")),
    ])
    found = remote_parts(contents)
    assert [p[FETCH]["url"] for p in found] == ["https://example.com/1.png",
                                                "http://example.com/2.png"]
    assert [p[FETCH]["param"] for p in found] == ["messages[0].content[1].image_url.url",
                                                  "messages[2].content[1].image_url.url"]
    assert found[0] is contents[0]["parts"][1]
    assert found[1] is contents[2]["parts"][1]


def test_remote_parts_of_contents_without_placeholders() -> None:
    contents = [{"role": "user", "parts": [{"text": "hi"}, {"fileData": {"fileUri": FILES_URI}}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}]
    assert remote_parts(contents) == []
    assert remote_parts([]) == []


def test_replacing_a_placeholder_in_place_changes_the_contents() -> None:
    contents, _ = translate_messages([user(image(URL))])
    [part] = remote_parts(contents)
    part.pop(FETCH)
    part["inlineData"] = {"mimeType": "image/png", "data": PNG}
    assert contents == [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png",
                                                                   "data": PNG}}]}]


# --- translate_messages with multimodal content ---------------------------------------------------

def test_translate_messages_with_multimodal_user_content() -> None:
    contents, system = translate_messages([
        {"role": "system", "content": "Describe media."},
        user(text("What is this?"), image(f"data:image/jpeg;base64,{PNG}", "low")),
        user(audio(WAV, "flac"), file(file_data=PDF, filename="report.pdf")),
        {"role": "assistant", "content": "A cat."},
        user(image("https://youtu.be/9hE5-98ZeCg"), text("And this?")),
    ])
    assert system == {"parts": [{"text": "Describe media."}]}
    assert contents == [
        {"role": "user", "parts": [  # consecutive user turns are merged
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/jpeg", "data": PNG}},
            {"inlineData": {"mimeType": "audio/flac", "data": WAV}},
            {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        ]},
        {"role": "model", "parts": [{"text": "A cat."}]},
        {"role": "user", "parts": [{"fileData": {"fileUri": "https://youtu.be/9hE5-98ZeCg"}},
                                   {"text": "And this?"}]},
    ]


def test_translate_messages_names_the_message_of_a_bad_part() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate_messages([user(text("a")), {"role": "assistant", "content": "b"},
                            user(text("c"), audio(WAV, "midi"))])
    assert caught.value.param == "messages[2].content[1].input_audio.format"


@pytest.mark.parametrize("role", ["system", "developer"])
def test_media_in_system_messages_is_rejected(role: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate_messages([{"role": role, "content": [image(URL)]}, user(text("hi"))])
    assert caught.value.param == "messages[0].content[0].type"


def test_user_message_of_only_empty_text_and_no_media_is_dropped() -> None:
    contents, _ = translate_messages([user(text("")), user(image(URL))])
    assert contents == [{"role": "user", "parts": [
        {FETCH: {"url": URL, "param": "messages[1].content[0].image_url.url", "kind": "image"}}]}]
