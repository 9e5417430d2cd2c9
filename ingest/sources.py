"""Where an import file's bytes come from, and what they are.

:class:`Opener` gives re-openable access to a path or an uploaded file object;
:func:`detect_format` and :func:`detect_encoding` sniff the content;
:func:`text_stream` decodes while counting bytes, for progress.
"""

from __future__ import annotations

import codecs
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

from ingest.errors import UnreadableFile, UnsupportedFormat

CHUNK = 1 << 20

Source = str | os.PathLike[str] | BinaryIO


class CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts the bytes handed out (for progress)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class Opener:
    """Re-openable binary access to a path or to a seekable file object."""

    def __init__(self, source: Source) -> None:
        self.source = source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise UnreadableFile(str(source), "文件不存在或不是普通文件", hint="请检查文件路径")
            self.size = path.stat().st_size
        else:
            source.seek(0, os.SEEK_END)
            self.size = source.tell()
            source.seek(0)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if isinstance(self.source, (str, os.PathLike)):
            with open(self.source, "rb") as fh:
                yield fh
        else:
            self.source.seek(0)
            yield self.source

    def head(self, n: int = 65536) -> bytes:
        with self.open() as fh:
            return fh.read(n)


def text_stream(fh: IO[bytes], encoding: str, newline: str | None = None) -> tuple[io.TextIOWrapper, CountingReader]:
    """A text view of ``fh`` that counts bytes and never closes ``fh`` itself."""
    counting = CountingReader(fh)
    return io.TextIOWrapper(io.BufferedReader(counting), encoding=encoding, newline=newline), counting


# ---------------------------------------------------------------- detection

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def detect_format(head: bytes, filename: str) -> str:
    """``csv`` | ``xlsx`` | ``json`` | ``jsonl``; content signatures win over the extension."""
    ext = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFormat(filename, "这是旧版Excel(.xls)或其他Office二进制文件", hint="请在Excel中另存为.xlsx或CSV后再导入")
    if ext in {".xls", ".et", ".numbers", ".ods", ".pdf", ".doc", ".docx", ".zip"}:
        raise UnsupportedFormat(filename, f"不支持的文件类型 {ext}", hint="请另存为.xlsx、CSV、JSON或JSONL后再导入")
    if ext in _EXTENSIONS and _EXTENSIONS[ext] != "xlsx":
        return _EXTENSIONS[ext]
    if ext in _EXTENSIONS:
        raise UnreadableFile(filename, "文件扩展名是.xlsx，但内容不是Excel工作簿", hint="文件可能已损坏，请重新导出")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first_line = text.split(b"\n", 1)[0].strip()
        try:
            json.loads(first_line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return "json"
        return "jsonl"
    # binary files are full of NUL bytes; a stray one in a text file is rejected row by row
    if head.count(b"\x00") * 50 > len(head) and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFormat(filename, "无法识别的二进制文件", hint="请导入.xlsx、CSV、JSON或JSONL文件")
    return "csv"


def detect_encoding(opener: Opener, filename: str) -> str:
    """Decode the whole file once per candidate so a bad byte on line 200,000 is
    found before anything is written."""
    head = opener.head(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with opener.open() as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UnreadableFile(filename, "文件编码无法识别（不是UTF-8或GBK/GB18030）", hint="请在Excel中另存为“CSV UTF-8”后再导入")
