"""sample_app: a tiny, code-only invoice library -- the "software project" of the course.

The software CI comparator (:mod:`mlcicd.measure.software_ci`) checks it out, byte-compiles,
lints, unit tests and packages it. Its tests live in ``checks_invoice.py`` (plain
:mod:`unittest`; named so that pytest does not collect them):
``python -m unittest mlcicd.measure.sample_app.checks_invoice``.
"""

from .invoice import LineItem, format_invoice, invoice_totals, parse_line, to_money

__version__ = "1.0.0"
__all__ = ["LineItem", "format_invoice", "invoice_totals", "parse_line", "to_money"]
