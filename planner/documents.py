"""Printable documents: voter lists as XLSX and PDF, and voter cards as PDF.

PDFs embed DejaVu Sans (shipped with matplotlib), which has every Vietnamese diacritic, so the
documents print the same on any machine with no font installed. Spreadsheet cells are written as
text, never as formulas, whatever the name starts with.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from planner.voterlists import HEADERS, AreaList

ELECTION_TITLE = ("Bầu cử đại biểu Quốc hội khóa XVI và đại biểu Hội đồng nhân dân các cấp "
                  "nhiệm kỳ 2026-2031")
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
_FONT = "DejaVuSans"
_FONT_BOLD = "DejaVuSans-Bold"


def _columns(public: bool) -> list[str]:
    columns = ["seq", "card_no", "full_name", "date_of_birth", "male", "female", "citizen_id", "permanent",
               "temporary", "ballot_na", "ballot_province", "ballot_commune", "note"]
    if public:
        columns.remove("citizen_id")  # the posted list leaves out personal ID numbers
    return columns


def _cell(row: Any, column: str) -> str:
    value = row[column]
    if column in ("male", "female", "ballot_na", "ballot_province", "ballot_commune"):
        return "x" if bool(value) else ""
    return "" if value is None else str(value)


def _heading(area: AreaList, commune: str) -> list[str]:
    lines = [f"ỦY BAN NHÂN DÂN {commune.upper()}", "DANH SÁCH CỬ TRI", ELECTION_TITLE,
             f"Khu vực bỏ phiếu số {area.number}: {area.title}"]
    if area.site_name:
        lines.append(f"Điểm bỏ phiếu: {area.site_name}")
    return lines


def _footer(area: AreaList) -> list[str]:
    t = area.totals()
    return [f"Tổng số cử tri: {t['voters']}, trong đó nam {t['male']}, nữ {t['female']}.",
            f"Cử tri bầu đại biểu Quốc hội: {t['ballot_na']}; HĐND tỉnh: {t['ballot_province']}; "
            f"HĐND xã: {t['ballot_commune']}."]


SIGNATURE = ("......., ngày ..... tháng ..... năm 20...", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH",
             "(Ký, ghi rõ họ tên, đóng dấu)")


_WIDTHS_XLSX = {"seq": 6, "card_no": 8, "full_name": 26, "date_of_birth": 12, "male": 5, "female": 5,
                "citizen_id": 15, "permanent": 20, "temporary": 20, "ballot_na": 9, "ballot_province": 9,
                "ballot_commune": 9, "note": 22}


def write_list_xlsx(area: AreaList, commune: str, path: Path, *, public: bool) -> Path:
    """The list as a workbook; every text cell is written as a string, never a formula."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_numbers": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(f"KV{area.number:02d}")
    columns = _columns(public)
    bold_centre = workbook.add_format({"bold": True, "align": "center"})
    centre = workbook.add_format({"align": "center"})
    header = workbook.add_format({"bold": True, "border": 1, "text_wrap": True, "align": "center",
                                  "valign": "vcenter"})
    cell = workbook.add_format({"border": 1})
    for c, column in enumerate(columns):
        sheet.set_column(c, c, _WIDTHS_XLSX[column])
    last = len(columns) - 1
    row = 0
    for k, text in enumerate(_heading(area, commune)):
        sheet.merge_range(row, 0, row, last, text, bold_centre if k < 2 else centre)
        row += 1
    row += 1
    header_row = row
    for c, column in enumerate(columns):
        sheet.write_string(row, c, HEADERS[column][0], header)
    for record in area.rows.to_dict("records"):
        row += 1
        for c, column in enumerate(columns):
            if column in ("seq", "card_no"):
                sheet.write_number(row, c, int(record[column]), cell)
            else:
                sheet.write_string(row, c, _cell(record, column), cell)
    row += 2
    for text in _footer(area):
        sheet.write_string(row, 0, text)
        row += 1
    row += 1
    for text in SIGNATURE:
        sheet.write_string(row, max(0, last - 4), text)
        row += 1
    sheet.freeze_panes(header_row + 1, 0)
    sheet.repeat_rows(header_row)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    workbook.close()
    return path


def _register_fonts() -> None:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    pdfmetrics.registerFont(TTFont(_FONT, os.path.join(folder, "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_FONT_BOLD, os.path.join(folder, "DejaVuSans-Bold.ttf")))


_WIDTHS_PDF_MM = {"seq": 10, "card_no": 11, "full_name": 44, "date_of_birth": 18, "male": 8, "female": 8,
                  "citizen_id": 24, "permanent": 29, "temporary": 29, "ballot_na": 14, "ballot_province": 14,
                  "ballot_commune": 14, "note": 33}


def write_list_pdf(area: AreaList, commune: str, path: Path, *, public: bool) -> Path:
    """The list as a landscape A4 PDF: heading, a table with its header on every page, totals, signature.

    Rows are drawn straight onto the canvas (fixed row height), so a 4,000-voter list takes about a
    second; text too long for its column is shrunk to fit.
    """
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    _register_fonts()
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = landscape(A4)
    canvas = Canvas(str(path), pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"Danh sách cử tri - Khu vực bỏ phiếu số {area.number}")
    canvas.setAuthor(commune)
    columns = _columns(public)
    widths = [_WIDTHS_PDF_MM[c] * mm for c in columns]
    left = (width - sum(widths)) / 2
    edges = [left]
    for w in widths:
        edges.append(edges[-1] + w)
    margin, row_h, size = 12 * mm, 11.0, 7.5
    heading = _heading(area, commune)
    page = [0]

    def new_page(first: bool) -> float:
        if page[0]:
            canvas.showPage()
        page[0] += 1
        y = height - margin
        if first:
            canvas.setFont(_FONT_BOLD, 9)
            canvas.drawCentredString(left + 60 * mm, y, heading[0])
            canvas.drawCentredString(width - left - 60 * mm, y, MOTTO[0])
            canvas.setFont(_FONT, 9)
            canvas.drawCentredString(width - left - 60 * mm, y - 12, MOTTO[1])
            y -= 34
            canvas.setFont(_FONT_BOLD, 14)
            canvas.drawCentredString(width / 2, y, heading[1])
            y -= 16
            canvas.setFont(_FONT, 9)
            for line in heading[2:]:
                canvas.drawCentredString(width / 2, y, line)
                y -= 12
            y -= 4
        canvas.setFont(_FONT, 7)
        canvas.drawRightString(width - margin, 8 * mm, f"Khu vực bỏ phiếu số {area.number} - Trang {page[0]}")
        header_h = 22.0
        canvas.setFont(_FONT_BOLD, 7)
        for k, column in enumerate(columns):
            canvas.rect(edges[k], y - header_h, widths[k], header_h)
            _wrapped(canvas, HEADERS[column][0], edges[k] + 2, y - 8, widths[k] - 4, stringWidth)
        return y - header_h

    y = new_page(first=True)
    canvas.setFont(_FONT, size)
    for record in area.rows.to_dict("records"):
        if y - row_h < margin + 6 * mm:
            y = new_page(first=False)
            canvas.setFont(_FONT, size)
        for k, column in enumerate(columns):
            text = _cell(record, column)
            room = widths[k] - 4
            used = stringWidth(text, _FONT, size)
            if used > room:
                canvas.setFont(_FONT, size * room / used)
                canvas.drawString(edges[k] + 2, y - row_h + 3, text)
                canvas.setFont(_FONT, size)
            else:
                canvas.drawString(edges[k] + 2, y - row_h + 3, text)
        canvas.grid(edges, [y, y - row_h])
        y -= row_h
    closing = [*_footer(area), ""]
    if y - (len(closing) + len(SIGNATURE) + 2) * 12 < margin:
        y = new_page(first=False) - 0
    y -= 16
    canvas.setFont(_FONT, 9)
    for line in closing:
        canvas.drawString(left, y, line)
        y -= 12
    for k, line in enumerate(SIGNATURE):
        canvas.setFont(_FONT_BOLD if k in (1, 2) else _FONT, 9)
        canvas.drawCentredString(width - left - 50 * mm, y, line)
        y -= 12
    canvas.save()
    return path


def _wrapped(canvas: Any, text: str, x: float, y: float, room: float, measure: Any) -> None:
    """Header text over at most two lines within the column."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if measure(trial, _FONT_BOLD, 7) <= room or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    lines.append(line)
    for k, part in enumerate(lines[:2]):
        canvas.drawString(x, y - 8 * k, part)


def _page_number(canvas: Any, document: Any) -> None:
    canvas.setFont(_FONT, 8)
    canvas.drawRightString(document.pagesize[0] - 12 * 2.835, 8 * 2.835, f"Trang {document.page}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_cards_pdf(areas: Sequence[AreaList], commune: str, election_date: str, path: Path) -> Path:
    """One A6 landscape voter card per voter (R34), in list order; the fixed text is drawn once."""
    from reportlab.lib.pagesizes import A6, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    _register_fonts()
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = landscape(A6)
    canvas = Canvas(str(path), pagesize=(width, height), pageCompression=1)
    canvas.setTitle("Thẻ cử tri")
    day = "/".join(reversed(election_date.split("-")))
    labels = ("Họ và tên", "Ngày, tháng, năm sinh", "Giới tính", "Nơi cư trú", "Số thẻ cử tri",
              "Khu vực bỏ phiếu số", "Ngày bầu cử")
    top = height - 35 * mm
    step = 5.2 * mm
    canvas.beginForm("card")
    canvas.setFont(_FONT_BOLD, 7)
    canvas.drawCentredString(30 * mm, height - 8 * mm, "ỦY BAN NHÂN DÂN")
    canvas.drawCentredString(30 * mm, height - 11.5 * mm, commune.upper()[:34])
    canvas.drawCentredString(width - 40 * mm, height - 8 * mm, MOTTO[0])
    canvas.setFont(_FONT, 7)
    canvas.drawCentredString(width - 40 * mm, height - 11.5 * mm, MOTTO[1])
    canvas.setFont(_FONT_BOLD, 14)
    canvas.drawCentredString(width / 2, height - 22 * mm, "THẺ CỬ TRI")
    canvas.setFont(_FONT, 6.5)
    canvas.drawCentredString(width / 2, height - 26.5 * mm, ELECTION_TITLE)
    canvas.setFont(_FONT, 8)
    for k, label in enumerate(labels):
        canvas.drawString(8 * mm, top - k * step, f"{label}:")
    canvas.setFont(_FONT_BOLD, 7)
    canvas.drawCentredString(width - 30 * mm, 14 * mm, "TM. ỦY BAN NHÂN DÂN")
    canvas.drawCentredString(width - 30 * mm, 10.5 * mm, "CHỦ TỊCH")
    canvas.endForm()
    for area in areas:
        where = f"{area.number}" + (f" - {area.site_name}" if area.site_name else "")
        for record in area.rows.to_dict("records"):
            canvas.doForm("card")
            sex = "Nam" if record["male"] else ("Nữ" if record["female"] else "")
            values = (record["full_name"], record["date_of_birth"], sex, record["permanent"] or record["temporary"],
                      str(record["card_no"]), where, f"Chủ nhật, {day}")
            text = canvas.beginText()
            text.setFont(_FONT_BOLD, 8.5)
            for k, value in enumerate(values):
                text.setTextOrigin(42 * mm, top - k * step)
                text.textOut(str(value)[:60])
            canvas.drawText(text)
            canvas.showPage()
    canvas.save()
    return path
