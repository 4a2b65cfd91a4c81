"""The demo business's vocabulary: its accounts, the adjustment types with
their counter-accounts, categories and reasons, customer and vendor names."""

from __future__ import annotations

from beancount_adjustments.core.models import KNOWN_CATEGORIES

RECEIVABLE = "Assets:Receivable:Customers"
BANK = "Assets:Bank:Checking"
TAX = "Liabilities:Tax:Sales"

ACCOUNTS: tuple[tuple[str, str], ...] = (
    (BANK, "USD,EUR"),
    (RECEIVABLE, "USD,EUR"),
    ("Assets:Clearing:Chargebacks", "USD,EUR"),
    (TAX, "USD"),
    ("Equity:Opening-Balances", "USD,EUR"),
    ("Income:Subscriptions", "USD,EUR"),
    ("Income:Sales", "USD,EUR"),
    ("Income:Sales:Returns", "USD,EUR"),
    ("Income:Sales:Discounts", "USD,EUR"),
    ("Income:Fees", "USD,EUR"),
    ("Income:Adjustments:Corrections", "USD,EUR"),
    ("Income:Adjustments:BalanceCorrections", "USD,EUR"),
    ("Expenses:Adjustments:AccountCredit", "USD,EUR"),
    ("Expenses:Adjustments:Goodwill", "USD,EUR"),
    ("Expenses:Adjustments:Promotional", "USD,EUR"),
    # The offsets `bean-adjust create` uses when no --offset-account is given.
    ("Expenses:Adjustments:Credits", "USD,EUR"),
    ("Income:Adjustments:Debits", "USD,EUR"),
    ("Income:Adjustments:Billing", "USD,EUR"),
    ("Expenses:Hosting", "USD"),
    ("Expenses:Payroll", "USD"),
    ("Expenses:Rent", "USD"),
    ("Expenses:Software", "USD"),
    ("Expenses:Marketing", "USD"),
    ("Expenses:Travel", "USD"),
    ("Expenses:Bank:Fees", "USD"),
)

# The accounts only adjustments post to (`adjustment-reserved`): every offset above
# under them is a request's counter-account, never a plain transaction's.
RESERVED: tuple[str, ...] = ("Expenses:Adjustments:*", "Income:Adjustments:*")

# The other leg of each request type (the receivable leg is RECEIVABLE).
COUNTER_ACCOUNT: dict[str, str] = {
    "credit:account": "Expenses:Adjustments:AccountCredit",
    "credit:promotional": "Expenses:Adjustments:Promotional",
    "credit:goodwill": "Expenses:Adjustments:Goodwill",
    "credit:refund": "Income:Sales:Returns",
    "debit:correction": "Income:Adjustments:Corrections",
    "debit:fee": "Income:Fees",
    "debit:balance-correction": "Income:Adjustments:BalanceCorrections",
    "debit:chargeback": "Assets:Clearing:Chargebacks",
    "billing:invoice-correction": "Income:Subscriptions",
    "billing:tax": TAX,
    "billing:discount": "Income:Sales:Discounts",
    "billing:price-correction": "Income:Subscriptions",
}
TYPES: tuple[str, ...] = tuple(COUNTER_ACCOUNT)
TYPE_WEIGHTS: tuple[int, ...] = (12, 4, 12, 12, 7, 8, 5, 5, 9, 5, 8, 10)

# Every category; TYPE_CATEGORIES spreads them over the types (each one is used).
CATEGORIES: tuple[str, ...] = KNOWN_CATEGORIES
TYPE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "credit:account": ("customer-service:complaint-resolution", "operational:billing-error",
                       "financial:payment-correction", "financial:reconciliation",
                       "operational:data-migration"),
    "credit:promotional": ("customer-service:loyalty", "operational:process-improvement"),
    "credit:goodwill": ("customer-service:goodwill", "customer-service:service-recovery",
                        "customer-service:loyalty"),
    "credit:refund": ("customer-service:complaint-resolution", "operational:billing-error",
                      "financial:payment-correction"),
    "debit:correction": ("operational:billing-error", "operational:system-correction",
                         "financial:currency-correction"),
    "debit:fee": ("financial:payment-correction", "operational:process-improvement"),
    "debit:balance-correction": ("financial:reconciliation", "operational:data-migration",
                                 "operational:system-correction"),
    "debit:chargeback": ("financial:payment-correction", "financial:reconciliation"),
    "billing:invoice-correction": ("operational:billing-error", "operational:system-correction",
                                   "financial:currency-correction"),
    "billing:tax": ("financial:tax-adjustment",),
    "billing:discount": ("customer-service:loyalty", "customer-service:goodwill"),
    "billing:price-correction": ("operational:billing-error", "operational:data-migration"),
}
REASONS: dict[str, tuple[str, ...]] = {
    "credit:account": ("Duplicate charge on the card", "Overpayment carried to account",
                       "Unused seats credited back", "Account credit after plan downgrade"),
    "credit:promotional": ("Spring promotion credit", "Referral bonus",
                           "Annual plan launch offer", "Webinar attendee credit"),
    "credit:goodwill": ("Goodwill credit for the outage", "Apology for slow support response",
                        "Goodwill for onboarding delays", "Service disruption on dashboard"),
    "credit:refund": ("Refund of unused add-on", "Product return - damaged item",
                      "Refund for cancelled order", "Refund of duplicate order"),
    "debit:correction": ("Usage under-billed last cycle", "Missed overage charge",
                         "Seat count corrected upward"),
    "debit:fee": ("Late payment fee", "Returned payment fee", "Expedited setup fee"),
    "debit:balance-correction": ("Balance migrated from the old system",
                                 "Reconciliation difference with the bank",
                                 "Opening balance correction"),
    "debit:chargeback": ("Card chargeback from the issuer", "Disputed payment reversed by bank"),
    "billing:invoice-correction": ("Wrong plan on the invoice", "Invoice line entered twice",
                                   "Proration computed on the wrong date"),
    "billing:tax": ("Sales tax rate corrected", "Customer tax exemption certificate received"),
    "billing:discount": ("Negotiated volume discount", "Nonprofit discount not applied"),
    "billing:price-correction": ("Price list update not applied", "Legacy price honoured",
                                 "Contract price differs from list price"),
}
REJECT_REASONS: tuple[str, ...] = (
    "Not covered by the service agreement", "Customer already compensated",
    "Insufficient evidence in the ticket", "Amount does not match the usage records",
    "Duplicate of an earlier request",
)
WITHDRAW_REASONS: tuple[str, ...] = (
    "Customer paid the difference instead", "Raised against the wrong customer",
    "Handled through a replacement order", "Superseded by a corrected request",
)
REVERSE_REASONS: tuple[str, ...] = (
    "Applied to the wrong invoice", "Customer chargeback settled in our favour",
    "Duplicate of an applied adjustment", "Amount entered in the wrong currency",
)
REFUSE_REASONS: tuple[str, ...] = (
    "The original adjustment was correct", "Customer confirmed the credit is due",
    "Reverse the invoice instead", "No evidence the adjustment was wrong",
)
COMMENTS: tuple[str, ...] = (
    "Checked against the ticket history", "Matches the usage report",
    "OK per account manager", "Verified with the payment processor",
)

NAME_A = ("Acme", "Blue", "Cedar", "Delta", "Echo", "Falcon", "Granite", "Harbor", "Iris",
           "Juniper", "Kite", "Lumen", "Maple", "Nova", "Orbit", "Pioneer", "Quartz",
           "Riverside", "Summit", "Tidal", "Union", "Vertex", "Willow", "Zenith")
NAME_B = ("Analytics", "Bakery", "Clinic", "Design", "Logistics", "Media", "Outfitters",
           "Partners", "Robotics", "Software", "Studios", "Systems", "Travel", "Foods")
NAME_C = ("Corp", "Inc", "LLC", "Ltd", "GmbH", "Co")
VENDORS: tuple[tuple[str, str, int, int], ...] = (
    ("Expenses:Hosting", "Cloudhost", 40_000, 300_000),
    ("Expenses:Software", "Toolsuite", 2_000, 40_000),
    ("Expenses:Marketing", "Adnet", 10_000, 250_000),
    ("Expenses:Travel", "Skyways", 15_000, 120_000),
    ("Expenses:Bank:Fees", "First Harbor Bank", 500, 5_000),
)
