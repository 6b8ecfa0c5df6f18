"""What a file is, from its bytes: the kinds of file citizens and units may upload (images, PDF,
plain text, office documents without macros), whatever the declared type or the name says."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extensions: tuple[str, ...]  # the first is the one given to a misnamed file

    def named(self, filename: str) -> str:
        """``filename`` with an extension that tells the truth about its content."""
        path = PurePath(filename)
        if path.suffix.lower() in self.extensions:
            return filename
        return f"{path.stem or 'adjunto'}{self.extensions[0]}"


JPEG = FileKind("image/jpeg", (".jpg", ".jpeg", ".jfif"))
PNG = FileKind("image/png", (".png",))
GIF = FileKind("image/gif", (".gif",))
WEBP = FileKind("image/webp", (".webp",))
HEIC = FileKind("image/heic", (".heic", ".heif"))
PDF = FileKind("application/pdf", (".pdf",))
TEXT = FileKind("text/plain", (".txt", ".csv", ".log", ".md"))
DOC = FileKind("application/msword", (".doc",))
XLS = FileKind("application/vnd.ms-excel", (".xls",))
PPT = FileKind("application/vnd.ms-powerpoint", (".ppt", ".pps"))
_OOXML = "application/vnd.openxmlformats-officedocument"
DOCX = FileKind(f"{_OOXML}.wordprocessingml.document", (".docx",))
XLSX = FileKind(f"{_OOXML}.spreadsheetml.sheet", (".xlsx",))
PPTX = FileKind(f"{_OOXML}.presentationml.presentation", (".pptx", ".ppsx"))
_ODF = "application/vnd.oasis.opendocument"
ODT = FileKind(f"{_ODF}.text", (".odt",))
ODS = FileKind(f"{_ODF}.spreadsheet", (".ods",))
ODP = FileKind(f"{_ODF}.presentation", (".odp",))
MACROS = FileKind("application/x-macro-document", (".bin",))  # an office file with macros

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML_PARTS = {  # the main part's content type in [Content_Types].xml
    b"wordprocessingml.document.main+xml": DOCX,
    b"spreadsheetml.sheet.main+xml": XLSX,
    b"presentationml.presentation.main+xml": PPTX,
    b"presentationml.slideshow.main+xml": PPTX,
}
_ODF_TYPES = {ODT.content_type: ODT, ODS.content_type: ODS, ODP.content_type: ODP}
_OLE_STREAMS = {DOC: ("WordDocument",), XLS: ("Workbook", "Book"), PPT: ("PowerPoint Document",)}
_SMALL_PART = 1024 * 1024  # zip parts we read to decide: a bomb is not decompressed
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # tab, newlines and form feed are text


def sniff(data: bytes, filename: str) -> FileKind | None:
    """The kind of file ``data`` is, from its magic bytes and structure; None if not accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return HEIC
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _zipped_document(data)
    if data.startswith(_OLE2):
        return _ole_document(data, filename)
    if _is_plain_text(data) and PurePath(filename).suffix.lower() in {"", *TEXT.extensions}:
        return TEXT  # text named .html, .svg, .js... is refused, not renamed
    return None


def _zipped_document(data: bytes) -> FileKind | None:
    """OOXML (.docx, .xlsx, .pptx) or OpenDocument; any other zip is refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: info for info in archive.infolist()}
            if any(name.lower().endswith("vbaproject.bin") for name in parts):
                return MACROS
            mimetype = parts.get("mimetype")
            if mimetype is not None and mimetype.file_size < 128:
                return _ODF_TYPES.get(archive.read(mimetype).decode("ascii", "replace").strip())
            types = parts.get("[Content_Types].xml")
            if types is None or types.file_size > _SMALL_PART:
                return None
            manifest = archive.read(types)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError):
        return None
    if b"macroEnabled" in manifest:
        return MACROS
    for part, kind in _OOXML_PARTS.items():
        if f"{_OOXML}.".encode() + part in manifest:
            return kind
    return None


def _ole_document(data: bytes, filename: str) -> FileKind | None:
    """A legacy Word, Excel or PowerPoint file: the extension picks the family, and the file
    must hold that family's main stream (so an installer (.msi) named .doc is refused)."""
    suffix = PurePath(filename).suffix.lower()
    if _has_ole_entry(data, "_VBA_PROJECT_CUR") or _has_ole_entry(data, "Macros"):
        return MACROS
    for kind, streams in _OLE_STREAMS.items():
        if suffix in kind.extensions and any(_has_ole_entry(data, s) for s in streams):
            return kind
    return None


def _has_ole_entry(data: bytes, name: str) -> bool:
    """Whether the compound file's directory names a stream or storage ``name``: a 128-byte
    aligned entry starting with the UTF-16 name, its length (with the terminator) at byte 64."""
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    length = len(encoded).to_bytes(2, "little")
    start = data.find(encoded)
    while start != -1:
        if start % 128 == 0 and data[start + 64 : start + 66] == length:
            return True
        start = data.find(encoded, start + 1)
    return False


def _is_plain_text(data: bytes) -> bool:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _CONTROL.search(text) is None
    return False
