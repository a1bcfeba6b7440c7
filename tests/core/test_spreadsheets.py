"""Text written into exports never becomes a formula (OWASP CSV injection)."""

import io

from openpyxl import Workbook, load_workbook

from core.spreadsheets import csv_row, xlsx_bytes


def test_csv_cells_starting_like_a_formula_get_an_apostrophe_numbers_do_not():
    row = csv_row(["=1+1", "+86 138", "-cmd", "@SUM(A1)", "\tx", "-12.50", "+3", "株洲", 5, None, ""])
    assert row == ["'=1+1", "'+86 138", "'-cmd", "'@SUM(A1)", "'\tx", "-12.50", "+3", "株洲", 5, None, ""]


def test_xlsx_cells_openpyxl_takes_for_formulas_are_saved_as_text():
    book = Workbook()
    book.active.append(['=HYPERLINK("http://evil.example")', "@x", 3])
    cells = next(load_workbook(io.BytesIO(xlsx_bytes(book))).active.iter_rows())
    assert [(cell.value, cell.data_type) for cell in cells] == [
        ('=HYPERLINK("http://evil.example")', "s"),
        ("@x", "s"),
        (3, "n"),
    ]
