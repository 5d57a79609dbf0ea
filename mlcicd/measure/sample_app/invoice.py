"""Invoice arithmetic in exact decimal money: line items, bulk discount, tax, a printed invoice."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
_LINE = re.compile(r"^\s*(?P<sku>[\w-]+)\s+x\s*(?P<qty>\d+)\s*@\s*(?P<price>[\d.]+)\s*$")


def to_money(value: str | int | Decimal) -> Decimal:
    """Parse ``value`` as an amount of money, rounded half-up to the cent.

    >>> to_money("2.005")
    Decimal('2.01')
    """
    if isinstance(value, float):
        raise TypeError("money must not be a float (binary rounding); pass a string or Decimal")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ValueError(f"not an amount of money: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineItem:
    """``quantity`` units of ``sku`` at ``unit_price`` each."""

    sku: str
    quantity: int
    unit_price: Decimal

    def __post_init__(self) -> None:
        if not self.sku:
            raise ValueError("a line item needs a SKU")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError(f"quantity of {self.sku} must be an int")
        if self.quantity <= 0:
            raise ValueError(f"quantity of {self.sku} must be positive, got {self.quantity}")
        price = to_money(self.unit_price)
        if price < 0:
            raise ValueError(f"unit price of {self.sku} must not be negative")
        object.__setattr__(self, "unit_price", price)

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


def parse_line(text: str) -> LineItem:
    """Read a line such as ``"pen x 3 @ 1.25"``."""
    match = _LINE.match(text)
    if match is None:
        raise ValueError(f"cannot read line item {text!r}; expected 'SKU x QTY @ PRICE'")
    return LineItem(match["sku"], int(match["qty"]), to_money(match["price"]))


def invoice_totals(
    items: Iterable[LineItem],
    *,
    tax_rate: str | Decimal = "0.20",
    discount_rate: str | Decimal = "0.10",
    discount_from: str | Decimal = "100.00",
) -> dict[str, Decimal]:
    """Subtotal, discount (``discount_rate`` once the subtotal reaches ``discount_from``), tax
    on the discounted amount, and the total; every figure rounded to the cent."""
    rate, off, threshold = Decimal(tax_rate), Decimal(discount_rate), to_money(discount_from)
    if not (0 <= rate <= 1 and 0 <= off <= 1):
        raise ValueError("tax_rate and discount_rate must lie between 0 and 1")
    subtotal = to_money(sum((item.subtotal for item in items), Decimal(0)))
    discount = to_money(subtotal * off) if subtotal >= threshold else Decimal("0.00")
    taxed = subtotal - discount
    tax = to_money(taxed * rate)
    return {"subtotal": subtotal, "discount": discount, "tax": tax, "total": taxed + tax}


def format_invoice(items: Iterable[LineItem], **rates: str | Decimal) -> str:
    """A plain-text invoice: one line per item, then the totals, amounts right-aligned."""
    items = list(items)
    rows = [(f"{it.sku} x {it.quantity} @ {it.unit_price}", it.subtotal) for it in items]
    totals = invoice_totals(items, **rates)
    rows += [(name.capitalize(), amount) for name, amount in totals.items()]
    label_width = max(len(label) for label, _ in rows)
    amount_width = max(len(f"{amount:.2f}") for _, amount in rows)
    return "\n".join(
        f"{label:<{label_width}}  {amount:>{amount_width}.2f}" for label, amount in rows
    )
