"""A statement as text: an aligned table, CSV (with the opening, closing and aging
rows) or a printable HTML page (its body alone for Fava's page)."""

from __future__ import annotations

import html
from decimal import Decimal

from beancount_adjustments.core.figures import figure
from beancount_adjustments.reports.csv_cells import csv_text
from beancount_adjustments.reports.statement.rows import Statement

__all__ = ["FORMATS", "figure", "render", "render_csv", "render_html", "render_table"]

FORMATS = ("table", "csv", "html")
COLUMNS = ("date", "kind", "reference", "description", "amount", "balance", "aging_from",
           "credit_left")


def _money(number: Decimal | None) -> str:
    return "" if number is None else figure(number)


def _title(st: Statement) -> str:
    who = f"{st.name} ({st.customer})" if st.name else st.customer
    return f"Statement for {who}, {st.start} to {st.end}"


def render(st: Statement, fmt: str) -> str:
    if fmt == "table":
        return render_table(st)
    if fmt == "csv":
        return render_csv(st)
    if fmt == "html":
        return render_html(st)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def render_table(st: Statement) -> str:
    out = [_title(st)]
    if not st.sections:
        out.append("No movements on the account through the statement's end.")
    for section in st.sections:
        rows = [["Date", "Reference", "Description", "Amount", "Balance", "Credit left"],
                [str(st.start), "", "Opening balance", "", _money(section.opening), ""]]
        rows += [[str(ln.date), ln.reference, ln.description, _money(ln.amount),
                  _money(ln.balance), _money(ln.credit_left)] for ln in section.lines]
        rows.append([str(st.end), "", "Closing balance", "", _money(section.closing), ""])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        right = {3, 4, 5}
        out += ["", f"{section.currency}"]
        for row in rows:
            out.append("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                       .rstrip())
        out.append("Aging: " + "  ".join(f"{a.bucket}: {_money(a.amount)}"
                                         for a in section.aging))
    return "\n".join(out) + "\n"


def render_csv(st: Statement) -> str:
    """One row per line, plus `opening` and `closing` rows and one `aging` row per
    bucket, each with its currency; written by the one CSV writer (`csv_text`), so
    formula-looking text is neutralised."""
    rows: list[list[object]] = []
    for s in st.sections:
        rows.append([st.customer, s.currency, st.start, "opening", "", "Opening balance", "",
                     s.opening, "", ""])
        rows += [[st.customer, s.currency, ln.date, ln.kind, ln.reference, ln.description,
                  ln.amount, ln.balance, ln.aging_from, ln.credit_left] for ln in s.lines]
        rows.append([st.customer, s.currency, st.end, "closing", "", "Closing balance", "",
                     s.closing, "", ""])
        rows += [[st.customer, s.currency, st.end, "aging", aged.bucket, f"Aged {aged.bucket}",
                  aged.amount, "", "", ""] for aged in s.aging]
    return csv_text(["customer", "currency", *COLUMNS], rows)


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; color: #1b1f24; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
h2 { font-size: 1.1rem; margin: 1.8rem 0 .4rem; }
h3 { font-size: 1rem; margin: 1rem 0 .2rem; }
p.muted { margin: 0 0 .4rem; font-size: .9rem; }
.who { color: #555; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: .8rem; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid #ddd; text-align: left;
         vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.date { white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid #999; }
table.aging { width: auto; }
table.aging td, table.aging th { min-width: 6rem; }
.muted { color: #666; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               tr { break-inside: avoid; } }
"""


def render_html(st: Statement, *, standalone: bool = True) -> str:
    """The statement as HTML, every text escaped: a printable page with its own CSS,
    or (`standalone=False`) the body alone, for Fava's page."""
    e = html.escape
    who = e(st.name or st.customer)
    parts = [f'<div class="statement" data-customer="{e(st.customer)}">',
             f"<h1>Statement of account: {who}</h1>",
             f'<p class="who">Customer {e(st.customer)}'
             + (f" · {e(st.contact)}" if st.contact else "")
             + f" · {e(str(st.start))} to {e(str(st.end))}</p>"]
    if not st.sections:
        parts.append('<p class="muted">No movements on the account through the statement\'s '
                     "end.</p>")
    for s in st.sections:
        cur = e(s.currency)
        parts.append(f'<h2>Account in {cur}</h2><table class="lines" data-currency="{cur}">'
                     "<thead><tr><th>Date</th><th>Reference</th><th>Description</th>"
                     '<th class="num">Amount</th><th class="num">Balance</th>'
                     '<th class="num">Credit left</th></tr></thead><tbody>')
        parts.append(f'<tr class="opening"><td class="date">{e(str(st.start))}</td><td></td>'
                     f'<td>Opening balance</td><td class="num"></td>'
                     f'<td class="num">{_money(s.opening)}</td><td class="num"></td></tr>')
        for ln in s.lines:
            parts.append(
                f'<tr class="line {e(ln.kind)}"><td class="date">{e(str(ln.date))}</td>'
                f"<td>{e(ln.reference)}</td><td>{e(ln.description)}</td>"
                f'<td class="num amount">{_money(ln.amount)}</td>'
                f'<td class="num">{_money(ln.balance)}</td>'
                f'<td class="num">{_money(ln.credit_left)}</td></tr>')
        parts.append(f'<tr class="total closing"><td class="date">{e(str(st.end))}</td><td></td>'
                     f"<td>Closing balance</td><td></td>"
                     f'<td class="num">{_money(s.closing)}</td><td></td></tr>'
                     "</tbody></table>")
        parts.append(f'<h3>Balance by age in {cur}</h3>'
                     '<p class="muted">Days since each open item started aging; payments '
                     "and credits settle the invoice they name, then the oldest items.</p>"
                     '<table class="aging"><thead><tr>'
                     + "".join(f'<th class="num">{e(a.bucket)}'
                               f'{" days" if a.bucket != "current" else ""}</th>'
                               for a in s.aging)
                     + "</tr></thead><tbody><tr>"
                     + "".join(f'<td class="num">{_money(a.amount)}</td>' for a in s.aging)
                     + "</tr></tbody></table>")
    parts.append("</div>")
    body = "\n".join(parts)
    if not standalone:
        return body
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(_title(st))}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")
