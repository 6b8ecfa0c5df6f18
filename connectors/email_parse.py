"""Reading a citizen's email: who wrote, what it answers, the new text only, and its files.

Replies carry the whole thread below the citizen's words (Gmail's "El … escribió:", Outlook's
"De: … Enviado: …" block, "> " quoting, Thunderbird's ``format=flowed``); an agent needs the new
words, so quotes and signatures are cut here, once, for every mail client. Forwarded messages
are kept whole: what was forwarded is what the citizen wants read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from connectors.channels import IncomingFile

MSG_ID = re.compile(r"<[^<>\s]+>")
# "Fwd:", "RV:" (Outlook in Spanish), "Reenviado:": the quoted part is the point of the mail.
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|rv|reenviado|reenviar)\s*:", re.IGNORECASE)
MAX_ID_CHARS = 255  # inbound_receipts.external_id
NO_SUBJECT = "(sin asunto)"

# RFC 3834 and the de facto headers of vacation responders and mailing lists.
_AUTO_PRECEDENCE = {"bulk", "auto_reply", "junk", "list"}
# Parts that are not for people: signatures of the message itself.
_SKIPPED_TYPES = {
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
}


@dataclass(frozen=True)
class ParsedEmail:
    sender: str  # the From address, lower case ("" when there is none)
    subject: str
    message_id: str  # "<…@…>", or "sha256:…" when the mail had none
    replies_to: list[str]  # In-Reply-To and References, as "<…@…>"
    body: str  # the citizen's new words: quotes and signature cut
    files: list[IncomingFile] = field(default_factory=list)
    auto_submitted: bool = False  # vacation reply, bounce, list mail: never answered

    @property
    def text(self) -> str:
        """What the transcript shows."""
        return f"Asunto: {self.subject or NO_SUBJECT}\n\n{self.body}".rstrip()


def parse_email(raw: bytes) -> ParsedEmail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    subject = " ".join(str(message.get("Subject", "")).split())
    forwarded = bool(_FORWARD_SUBJECT.match(subject))
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if isinstance(body_part, EmailMessage):
        content = _text_of(body_part)
        if body_part.get_content_subtype() == "html":
            body = html_to_text(content, keep_quotes=forwarded)
        elif _param(body_part, "format") == "flowed":
            body = unflow(content, delsp=_param(body_part, "delsp") == "yes")
        else:
            body = content
    return ParsedEmail(
        sender=_sender(message),
        subject=subject,
        message_id=_message_id(message, raw),
        replies_to=_references(message),
        body=_squeeze(body) if forwarded else strip_quotes(body),
        files=_files(message, body_part),
        auto_submitted=is_auto_submitted(message),
    )


def is_auto_submitted(message: Message) -> bool:
    """A message no one typed: answering it could start a mail loop (RFC 3834)."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if str(message.get("Precedence", "")).strip().lower() in _AUTO_PRECEDENCE:
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    return message.get_content_type() == "multipart/report"  # delivery status notifications


def msg_ids(value: object) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header."""
    return MSG_ID.findall(str(value or ""))


def _param(part: Message, name: str) -> str:
    value = part.get_param(name, "")
    return (value if isinstance(value, str) else "").strip().lower()


def _sender(message: Message) -> str:
    for _name, address in getaddresses([str(v) for v in message.get_all("From", [])]):
        if "@" in address:
            return address.strip().lower()
    return ""


def _message_id(message: Message, raw: bytes) -> str:
    found = msg_ids(message.get("Message-ID"))
    if found and len(found[0]) <= MAX_ID_CHARS:
        return found[0]
    # Without an id, one that is the same when the sender retries: the relays' trace headers
    # (Received…) change between attempts; the author's headers and the body do not.
    head, _, rest = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    digest = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject", "Message-ID"):
        digest.update(f"{name}:{message.get(name, '')}\n".encode("utf-8", "replace"))
    digest.update(rest if rest else head)
    return "sha256:" + digest.hexdigest()


def _references(message: Message) -> list[str]:
    ids = [*msg_ids(message.get("In-Reply-To")), *msg_ids(message.get("References"))]
    return [i for i in dict.fromkeys(ids) if len(i) <= MAX_ID_CHARS]


def _text_of(part: EmailMessage) -> str:
    """The part's text in its declared charset; a wrong or unknown one does not lose it."""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
    return str(text).replace("\r\n", "\n").replace("\r", "\n")


# --- files --------------------------------------------------------------------------------


def _files(message: EmailMessage, body_part: object) -> list[IncomingFile]:
    files: list[IncomingFile] = []
    for part in _leaves(message):
        if part is body_part or part.get_content_type() in _SKIPPED_TYPES:
            continue
        filename = part.get_filename()
        if part.get_content_maintype() == "text" and not filename and not part.is_attachment():
            continue  # the other alternative of the body (HTML next to plain text)
        data = _bytes_of(part)
        if data is None:
            continue
        files.append(IncomingFile(filename or "", part.get_content_type(), data))
    return files


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    """Every non-multipart part; an attached email is one file, not its insides."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    found: list[EmailMessage] = []
    for child in part.iter_parts():
        if isinstance(child, EmailMessage):
            found.extend(_leaves(child))
    return found


def _bytes_of(part: Message) -> bytes | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        attached = inner[0] if isinstance(inner, list) and inner else None
        return attached.as_bytes(policy=policy.SMTP) if isinstance(attached, Message) else None
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) and data else None


# --- text ---------------------------------------------------------------------------------


def unflow(text: str, delsp: bool = False) -> str:
    """Undo ``format=flowed`` (RFC 3676): a line ending in a space goes on in the next one."""
    lines: list[str] = []
    pending: str | None = None
    for line in text.split("\n"):
        if line.startswith(">"):  # quoted lines are dropped later; never join them
            if pending is not None:
                lines.append(pending)
                pending = None
            lines.append(line)
            continue
        if line.startswith(" "):  # space-stuffing
            line = line[1:]
        soft = line.endswith(" ") and line != "-- "
        if soft and delsp:
            line = line[:-1]
        pending = line if pending is None else pending + line
        if not soft:
            lines.append(pending)
            pending = None
    if pending is not None:
        lines.append(pending)
    return "\n".join(lines)


# Blocks that end a line, and blocks that end a paragraph (an empty line after them).
_LINE_BLOCKS = (
    "div", "li", "tr", "section", "article", "header", "footer", "address", "dt", "dd",
)  # fmt: skip
_PARAGRAPH_BLOCKS = (
    "p", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "dl",
)  # fmt: skip
_LINE, _PARAGRAPH = "\x00", "\x01"
_BOUNDARY = re.compile(r"[\s\x00\x01]*[\x00\x01][\s\x00\x01]*")
# What mail clients wrap the quoted thread in (Gmail, Thunderbird, Yahoo, Apple Mail).
_QUOTE_SELECTORS = "blockquote, div.gmail_quote, div.moz-cite-prefix, div.yahoo_quoted"
_SPACES = re.compile(r"\s+")


def html_to_text(html: str, keep_quotes: bool = False) -> str:
    """The text a reader sees: lines and paragraphs as a browser shows them, markup out, and
    the quoted thread out unless ``keep_quotes`` (a forwarded message)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    if not keep_quotes:
        for tag in soup.select(_QUOTE_SELECTORS):
            tag.decompose()
        for marker in soup.select("#divRplyFwdMsg, #appendonsend"):  # Outlook on the web
            for later in list(marker.find_next_siblings()):
                later.decompose()
            marker.decompose()
    for text in soup.find_all(string=True):  # source line breaks are just spaces in HTML
        if isinstance(text, NavigableString) and text.find_parent("pre") is None:
            text.replace_with(_SPACES.sub(" ", str(text)))
    for link in soup.find_all("a", href=True):
        href = str(link.get("href", ""))
        label = link.get_text().strip()
        if href.startswith(("http://", "https://")) and label and label != href:
            link.append(f" ({href})")
    for item in soup.find_all("li"):
        item.insert(0, "- ")
    for br in soup.find_all("br"):
        if _ends_its_block(br):
            br.decompose()  # "text<br></div>" shows no empty line; "<div><br></div>" does
        else:
            br.replace_with("\n")
    for names, edge in ((_LINE_BLOCKS, _LINE), (_PARAGRAPH_BLOCKS, _PARAGRAPH)):
        for block in soup.find_all(names):
            block.insert_before(edge)
            block.insert_after(edge)
    shown = _BOUNDARY.sub(_boundary, soup.get_text())
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in shown.split("\n")]
    return _squeeze("\n".join(lines))


def _ends_its_block(br: Tag) -> bool:
    for sibling in br.next_siblings:
        if not (isinstance(sibling, NavigableString) and not sibling.strip()):
            return False
    parent = br.parent
    return parent is not None and bool(parent.get_text().strip())


def _boundary(match: re.Match[str]) -> str:
    """Block edges (and the line breaks among them) as newlines: one after a line, an empty
    line after a paragraph, plus one per ``<br>`` in between."""
    run = match.group(0)
    return "\n" * ((2 if _PARAGRAPH in run else 1) + run.count("\n"))


_ATTRIBUTION_START = re.compile(r"^\s*(el|on)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(escribió|wrote)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(mensaje original|original message)\s*-{2,}\s*$", re.IGNORECASE
)
_HEADER_FROM = re.compile(r"^\s*\**\s*(de|from)\s*:", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\**\s*(enviado(?: el)?|sent|fecha|date|para|to|asunto|subject)\s*:", re.IGNORECASE
)
_FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|mensaje reenviado)\s*-{2,}"
    r"|(begin forwarded message|inicio del mensaje reenviado)\s*:)\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")  # Outlook's line above "De:"
_MOBILE = re.compile(
    r"^\s*(enviado desde mi|sent from my|obtener outlook para|get outlook for)\b", re.IGNORECASE
)
ATTRIBUTION_MAX_LINES = 3  # Gmail wraps a long "El …, Nombre <correo> escribió:"


def strip_quotes(text: str) -> str:
    """The citizen's own words: the quoted thread, its attribution line and the signature cut.

    Quotes marked with ">" are removed line by line, so answers written between or below them
    stay; an unmarked quote (Outlook, HTML mail) is cut with everything after it. A message
    forwarded inside the mail is kept whole."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FORWARD_MARKER.match(line):
            kept.extend(lines[i:])
            break
        if line.rstrip() == "--" or _ORIGINAL.match(line) or _outlook_header(lines, i):
            break
        span = _attribution(lines, i)
        if span:
            if not _quoted_follows(lines, i + span):
                break
            i += span
            continue
        if not line.lstrip().startswith(">"):
            kept.append(line)
        i += 1
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _MOBILE.match(kept[-1]):
        kept.pop()
    return _squeeze("\n".join(kept))


def _attribution(lines: list[str], i: int) -> int:
    """How many lines the "El <fecha>, <quién> escribió:" at ``i`` spans (0: none)."""
    if not _ATTRIBUTION_START.match(lines[i]):
        return 0
    for span in range(1, ATTRIBUTION_MAX_LINES + 1):
        if i + span > len(lines):
            return 0
        joined = " ".join(lines[i : i + span])
        if _ATTRIBUTION_END.search(joined):
            # A date or an address: "El técnico me escribió:" is the citizen's own sentence.
            return span if re.search(r"\d|@", joined) else 0
        if lines[i + span - 1].lstrip().startswith(">"):
            return 0
    return 0


def _quoted_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return True


def _outlook_header(lines: list[str], i: int) -> bool:
    """ "De: …" followed by "Enviado: …" (or a line of underscores above them)."""
    line = lines[i]
    if _RULE.match(line):
        following = [candidate for candidate in lines[i + 1 : i + 3] if candidate.strip()]
        return bool(following) and bool(_HEADER_FROM.match(following[0]))
    if not _HEADER_FROM.match(line):
        return False
    return any(_HEADER_NEXT.match(candidate) for candidate in lines[i + 1 : i + 5])


def _squeeze(text: str) -> str:
    """Trailing spaces off, at most one empty line in a row, no empty lines around."""
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
