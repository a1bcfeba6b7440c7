"""Spreadsheets the app writes (XLSX and CSV): text that came from people stays text, never a formula.

A product title, SKU name or invoice field that starts with ``=``, ``+``, ``-`` or ``@`` would run as a
formula when the finance office opens the file (OWASP "CSV injection"). Every export is written
through here: in XLSX such cells are stored as strings (openpyxl makes ``=…`` a formula otherwise);
in CSV, which has no types, they get a leading apostrophe, as OWASP advises. Numbers stay numbers.
"""

import io
import re

from openpyxl import Workbook

# What Excel, LibreOffice and Google Sheets may take as the start of a formula (tab and CR included).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def csv_text(value):
    """``value`` as a CSV cell that cannot be read as a formula (a number written as text stays as is)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_row(values) -> list:
    return [csv_text(value) for value in values]


def xlsx_bytes(book: Workbook) -> bytes:
    """The workbook saved with every cell openpyxl took for a formula written as text instead."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
