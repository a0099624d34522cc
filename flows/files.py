"""Which files a volunteer may pass on to a wijkteam member: ones a member can safely open.

Judged by what the channel says of the file, before anything is forwarded: its kind (a photo, or
a document), and for a document both its name's extension and its MIME type, which must agree
(`brief.pdf.exe` sent as `application/x-msdownload` is neither). A file larger than `MAX_BYTES`
is refused too: a Telegram bot cannot fetch more than 20 MB, and a member on a phone should not
have to. A document whose name, type or size is not given is refused: it cannot be judged.
"""

from __future__ import annotations

MAX_MB = 20
MAX_BYTES = MAX_MB * 1024 * 1024

# Extension -> the MIME types a channel may give for it. Photos, PDF and common office documents.
DOCUMENT_TYPES: dict[str, frozenset[str]] = {
    "pdf": frozenset({"application/pdf"}),
    "jpg": frozenset({"image/jpeg"}),
    "jpeg": frozenset({"image/jpeg"}),
    "png": frozenset({"image/png"}),
    "heic": frozenset({"image/heic", "image/heif"}),
    "doc": frozenset({"application/msword"}),
    "docx": frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}),
    "xls": frozenset({"application/vnd.ms-excel"}),
    "xlsx": frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    "odt": frozenset({"application/vnd.oasis.opendocument.text"}),
    "ods": frozenset({"application/vnd.oasis.opendocument.spreadsheet"}),
    "txt": frozenset({"text/plain"}),
}


def extension(file_name: str) -> str:
    """The last extension of a file name, lower case (`brief.pdf.exe` -> `exe`), or ''."""
    _, dot, ext = file_name.strip().rpartition(".")
    return ext.lower() if dot else ""


def kind_ok(media: str, file_name: str, mime_type: str) -> bool:
    """A photo, or a document whose extension and MIME type are both of an accepted, matching type."""
    if media == "photo":
        return True
    if media != "document":
        return False
    accepted = DOCUMENT_TYPES.get(extension(file_name))
    return accepted is not None and mime_type.strip().lower().split(";")[0] in accepted


def size_ok(media: str, size: int | None) -> bool:
    """Within `MAX_BYTES`; a photo's size may be missing (the channel makes photos small), a
    document's may not."""
    if size is None:
        return media == "photo"
    return 0 <= size <= MAX_BYTES
