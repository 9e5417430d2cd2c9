"""Bounds on what one XLSX upload may cost, checked before openpyxl parses it.

An XLSX is a zip: 1.6 MB on the wire can inflate to gigabytes (a "zip bomb").
:func:`check_archive` reads only the zip's central directory (no
decompression) and refuses a workbook whose members declare more than
``max_unzipped_bytes`` in total, or a member bigger than 1 MiB that inflates
more than ``max_ratio`` times (real workbooks stay far below 100:1; a bomb is
at 1000:1); Python's zipfile never inflates a member past its declared size,
so the declared sizes bound the real ones. Each worksheet's
declared size (``<dimension ref=...>``) is checked against ``max_cells`` before
its rows are read, and :func:`cap_cells` counts the cells actually read, for a
sheet whose dimension lies.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ingest.errors import UnreadableFile

MIB = 1024 * 1024


@dataclass(frozen=True)
class XlsxLimits:
    max_unzipped_bytes: int = 256 * MIB
    max_cells: int = 5_000_000
    max_members: int = 10_000
    max_ratio: int = 100


DEFAULT_LIMITS = XlsxLimits()


def _mb(n: int) -> str:
    return f"{n / MIB:.0f} MB" if n >= MIB else f"{n} 字节"


def check_archive(fh: IO[bytes], filename: str, limits: XlsxLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`UnreadableFile` naming the limit when the workbook would inflate too far."""
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(filename, f"Excel文件无法打开：{exc}", hint="请确认文件未损坏，或另存为.xlsx/CSV") from exc
    finally:
        fh.seek(0)
    if len(infos) > limits.max_members:
        raise UnreadableFile(
            filename,
            f"Excel文件包含 {len(infos)} 个部件，超过上限 {limits.max_members} 个",
            hint="文件可能已损坏或被篡改，请在Excel中另存为新的.xlsx或CSV后再导入",
        )
    total = sum(max(0, i.file_size) for i in infos)
    if total > limits.max_unzipped_bytes:
        raise UnreadableFile(
            filename,
            f"Excel文件解压后约 {_mb(total)}，超过上限 {_mb(limits.max_unzipped_bytes)}（压缩前 {_mb(sum(i.compress_size for i in infos))}）",
            hint="请删除多余的工作表、图片和空白格式，或另存为CSV后再导入",
        )
    for info in infos:
        if info.file_size > MIB and info.file_size > limits.max_ratio * max(1, info.compress_size):
            ratio = info.file_size // max(1, info.compress_size)
            raise UnreadableFile(
                filename,
                f"Excel文件中的 {info.filename} 压缩比为 {ratio}:1（解压后约 {_mb(info.file_size)}），"
                f"超过 {limits.max_ratio}:1 的上限",
                hint="文件可能被篡改（压缩炸弹），请在Excel中另存为新的.xlsx或CSV后再导入",
            )


def check_declared_cells(ws: Any, filename: str, limits: XlsxLimits = DEFAULT_LIMITS) -> None:
    """Refuse a worksheet whose declared dimension holds more than ``max_cells`` cells."""
    try:
        rows, cols = int(ws.max_row or 0), int(ws.max_column or 0)
    except (TypeError, ValueError):
        return
    if rows * cols > limits.max_cells:
        raise UnreadableFile(
            filename,
            f"工作表“{ws.title}”声明了 {rows} 行 × {cols} 列，超过 {limits.max_cells} 个单元格的上限",
            hint="请删除空白行列的格式（或只保留数据区域）后另存，或另存为CSV后再导入",
        )


def cap_cells(
    rows: Iterator[tuple[int, list[Any]]], filename: str, title: str, limits: XlsxLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, list[Any]]]:
    """Pass ``rows`` through, raising once more than ``max_cells`` cells have been read."""
    seen = 0
    for number, cells in rows:
        seen += len(cells)
        if seen > limits.max_cells:
            raise UnreadableFile(
                filename,
                f"工作表“{title}”超过 {limits.max_cells} 个单元格的上限（读到第{number}行）",
                hint="请拆分成几个文件，或另存为CSV后再导入",
            )
        yield number, cells
