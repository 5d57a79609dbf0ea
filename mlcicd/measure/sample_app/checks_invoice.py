"""Unit tests of the invoice library (plain unittest; the software CI pipeline runs them)."""

from __future__ import annotations

import unittest
from decimal import Decimal

from .invoice import LineItem, format_invoice, invoice_totals, parse_line, to_money


class ToMoneyTests(unittest.TestCase):
    def test_rounds_half_up_to_the_cent(self):
        self.assertEqual(to_money("2.005"), Decimal("2.01"))
        self.assertEqual(to_money("2.004"), Decimal("2.00"))
        self.assertEqual(to_money(3), Decimal("3.00"))

    def test_refuses_floats_and_junk(self):
        with self.assertRaises(TypeError):
            to_money(0.1)
        for bad in ("abc", "NaN", "inf", None):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                to_money(bad)


class LineItemTests(unittest.TestCase):
    def test_subtotal_is_exact(self):
        self.assertEqual(LineItem("pen", 3, Decimal("0.10")).subtotal, Decimal("0.30"))

    def test_price_is_normalised_to_cents(self):
        self.assertEqual(LineItem("pen", 1, "1.5").unit_price, Decimal("1.50"))

    def test_bad_quantities_are_refused(self):
        with self.assertRaises(ValueError):
            LineItem("pen", 0, "1")
        with self.assertRaises(TypeError):
            LineItem("pen", 2.0, "1")
        with self.assertRaises(TypeError):
            LineItem("pen", True, "1")

    def test_negative_price_and_empty_sku_are_refused(self):
        with self.assertRaises(ValueError):
            LineItem("pen", 1, "-1")
        with self.assertRaises(ValueError):
            LineItem("", 1, "1")


class ParseLineTests(unittest.TestCase):
    def test_reads_a_line(self):
        self.assertEqual(parse_line(" ink-blue x 12 @ 0.75 "), LineItem("ink-blue", 12, "0.75"))

    def test_refuses_a_malformed_line(self):
        for bad in ("pen 3 @ 1", "pen x -1 @ 2", "pen x 2 @", ""):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                parse_line(bad)


class TotalsTests(unittest.TestCase):
    def setUp(self):
        self.small = [LineItem("pen", 3, "1.25"), LineItem("pad", 2, "4.10")]
        self.large = [LineItem("desk", 1, "120.00"), LineItem("pen", 3, "1.25")]

    def test_no_discount_below_the_threshold(self):
        totals = invoice_totals(self.small)
        self.assertEqual(totals["subtotal"], Decimal("11.95"))
        self.assertEqual(totals["discount"], Decimal("0.00"))
        self.assertEqual(totals["tax"], Decimal("2.39"))
        self.assertEqual(totals["total"], Decimal("14.34"))

    def test_discount_from_the_threshold_on(self):
        totals = invoice_totals(self.large)
        self.assertEqual(totals["subtotal"], Decimal("123.75"))
        self.assertEqual(totals["discount"], Decimal("12.38"))
        self.assertEqual(totals["tax"], Decimal("22.27"))
        self.assertEqual(totals["total"], Decimal("133.64"))

    def test_custom_rates_and_empty_invoice(self):
        totals = invoice_totals(self.small, tax_rate="0", discount_from="0")
        self.assertEqual(totals["total"], Decimal("10.75"))
        self.assertEqual(invoice_totals([])["total"], Decimal("0.00"))

    def test_rates_outside_zero_one_are_refused(self):
        with self.assertRaises(ValueError):
            invoice_totals(self.small, tax_rate="1.5")


class FormatTests(unittest.TestCase):
    def test_prints_items_then_totals_aligned(self):
        text = format_invoice([LineItem("pen", 3, "1.25")], tax_rate="0.10")
        self.assertEqual(
            text.splitlines(),
            [
                "pen x 3 @ 1.25  3.75",
                "Subtotal        3.75",
                "Discount        0.00",
                "Tax             0.38",
                "Total           4.13",
            ],
        )


if __name__ == "__main__":
    unittest.main()
