"""Judging a request as it arrives: who, what type, which customer, how much, which chain.

A request that fails any of these is invalid (it has problems and no
state); one below every threshold is approved, and applied, at once.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from decimal import Decimal

from beancount_adjustments.core.accounts import is_under, receivable_totals
from beancount_adjustments.core.customers import unknown_customer
from beancount_adjustments.core.models import Action, ApprovalRow, Kind, Money, Request, State
from beancount_adjustments.core.offsets import refused as offsets_refused
from beancount_adjustments.core.policy import MissingPrice, chain_text, convert
from beancount_adjustments.core.records import Tracked, move, with_flags
from beancount_adjustments.core.references import reference_terms
from beancount_adjustments.core.replay_state import ReplayState
from beancount_adjustments.core.risk import request_flags
from beancount_adjustments.core.written import same_amount

# Python 3.11 finds `State.X` and `Action.X` through the enum's metaclass (about
# 0.15 µs a lookup against 0.01 µs for a global); the per-event paths use these
# (benchmarks/plugin_load.py: 5 % of the pass).
_APPROVE = Action.APPROVE
_PENDING = State.PENDING

_ZERO = Decimal(0)
_BILLING = Kind.BILLING
_CREDIT = Kind.CREDIT
_DEBIT = Kind.DEBIT


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)



class RequestJudging(ReplayState):
    def arrive(self, request: Request) -> None:
        if request.id in self.progress:
            first = self.progress[request.id].request.source
            self.fail("duplicate-id",
                      f"{request.id} is already the id of the request at "
                      f"{first.filename}:{first.lineno}; give this request its own id.",
                      request.source, adjustment_id=request.id)
            return
        settings = self.rules.settings_on(request.type, request.date)
        adj = Tracked(request, settings)
        self.progress[request.id] = adj
        if not self.validate(adj):
            return
        adj.state = _PENDING
        if adj.chain:
            return
        # No chain: approved by the policy itself, the moment it arrives.
        move(adj, _APPROVE)
        adj.decided_on = request.date
        if not settings.separate_apply:
            self.apply(adj, request.date, None, None)

    def validate(self, adj: Tracked) -> bool:
        """Check a request on arrival; fill amount, tier and chain. False: invalid."""
        request = adj.request
        source, rid = request.source, request.id
        ok = True
        for key, name in (("requested-by", request.requested_by),
                          ("entered-by", request.entered_by)):
            if name is not None and not self.directory.is_user(name, request.date):
                self.fail("unknown-user",
                          f"{rid}: {key} \"{name}\" is not a user on {request.date}; "
                          "declare them with custom \"adjustment-user\".", source, adj)
                ok = False
        external = request.external_id
        first = self.filed.get(external) if external else None
        if first is not None and first is not request:
            # One ticket, two credits: what a retry answers with is the first.
            self.fail("duplicate-external-id",
                      f"{rid}: external id {external!r} already names {first.id} at "
                      f"{first.source.filename}:{first.source.lineno}; a retry of one "
                      "ticket files nothing new. Remove this request (correct that one if "
                      "it is the one in error), or give it its own ticket's id.", source, adj)
            ok = False
        if not self.known(request.type, "type", request.date):
            self.fail("unknown-type",
                      f"{rid}: adjustment type \"{request.type}\" is not one of the known "
                      "types; check the spelling, or declare it with custom "
                      f"\"adjustment-type\" \"{request.type}\".", source, adj)
            ok = False
        if request.category is not None and not self.known(request.category, "category",
                                                           request.date):
            self.fail("unknown-category",
                      f"{rid}: category \"{request.category}\" is not one of the known "
                      "categories; check the spelling, or declare it with custom "
                      f"\"adjustment-category\" \"{request.category}\".", source, adj)
            ok = False
        dated = self.dating(request, adj.settings)
        if dated is not None:
            self.fail(dated[0], f"{rid}: {dated[1]}", source, adj)
            ok = False
        customer = self.directory.customer_on(request.customer, request.date)
        if customer is None:
            self.fail("unknown-customer", unknown_customer(self.directory, request), source,
                      adj)
            ok = False
        else:
            adj.tier = customer.tier
        amount = self.amount_of(adj)
        if amount is None:
            return False
        offsets = offsets_refused(request, self.settings, adj.settings.offset_accounts)
        if offsets is not None:
            self.fail("offset-not-allowed", f"{rid}: {offsets}", source, adj)
            return False
        found = self.moved(adj, amount.currency)
        if found is None:
            return False
        adj.amount, converted = found
        if not self.check_references(adj, amount):
            ok = False
        if not self.check_document(adj):
            ok = False
        if not self.run_checks(adj):
            ok = False
        try:
            if self.deferred is None:
                adj.risk_flags = with_flags(request, request_flags(
                    request, self.arrivals, adj.amount, adj.tier))
            else:
                self.deferred.pending.append(adj)
            rows = self.matrix.candidates(request.type, request.category, adj.tier,
                                          tuple(adj.risk_flags), request.date)
            if not rows:
                self.fail("no-policy",
                          f"{rid}: no approval row covers {request.type} requests"
                          f"{' of this shape' if self.matrix.rows_on(request.date) else ''} "
                          f"on {request.date}, and nothing is approved by the absence of a "
                          "policy; add one, for example custom \"adjustment-approval\" "
                          f"\"{request.type.partition(':')[0]}:*\" 0.00 "
                          f"{adj.amount.currency} \"manager\" (a row with no roles "
                          "pre-approves).", source, adj)
                return False
            rule = self.matrix.choose_from(rows, adj.amount, request.date, self.rates)
        except MissingPrice as missing:
            self.fail("missing-price",
                      f"{rid}: {missing}; add a price directive so the amount can be "
                      "compared with the approval thresholds (a missing price is never "
                      "guessed).", source, adj)
            return False
        adj.rule = rule
        adj.chain = rule.roles if rule else ()
        if request.approval_required and not adj.chain and adj.settings.manual_chain:
            # Below every threshold, yet the requester asked for a review: the
            # policy's own chain for that.
            adj.chain = adj.settings.manual_chain
        elif request.approval_required and not adj.chain:
            # No manual chain: the first level of the lowest row that names a role.
            staffed = [row for row in rows if row.roles]
            if not staffed:
                self.fail("no-reviewer",
                          f"{rid}: `approval-required: TRUE`, but no approval row for "
                          f"{request.type} names a role to review it; add one.", source, adj)
                return False
            lowest = min(staffed, key=lambda row: row.threshold.number)
            adj.rule, adj.chain = lowest, lowest.roles[:1]
        adj.judged = self.judged(adj.amount, rows, request.date, converted)
        return self.check_judgement(adj) and ok

    def moved(self, adj: Tracked, currency: str) -> tuple[Money, bool] | None:
        """What the request moves in `currency`: the sum of its positive legs, or
        of its negative ones where that is more (a leg priced in another currency),
        and whether a price converted legs in another currency into it.

        Legs that cancel out on the receivable accounts do not make a large
        posting look small; the direction is the net move on the customer.
        Legs in another currency count too, converted at the request date (their
        price annotations are the request's own word, so not used): a pair of
        them moves money however small the receivable move. No price: a
        problem, and None (never guessed).
        """
        request = adj.request
        up = down = _ZERO
        others: dict[str, tuple[Decimal, Decimal]] = {}
        for posting in request.postings:
            number = posting.number
            if posting.currency != currency:
                other_up, other_down = others.get(posting.currency, (_ZERO, _ZERO))
                others[posting.currency] = ((other_up + number, other_down) if number > 0
                                            else (other_up, other_down - number))
            elif number > 0:
                up += number
            else:
                down -= number
        for other, (other_up, other_down) in others.items():
            rate = self.rates(other, currency, request.date) if other_up or other_down else _ZERO
            if rate is None:
                self.fail("missing-price",
                          f"{request.id}: it moves {other} besides {currency}, and no price "
                          f"converts {other} to {currency} on or before {request.date}; add a "
                          "price directive so what it moves can be judged (a missing price "
                          "is never guessed).", request.source, adj)
                return None
            up += other_up * rate
            down += other_down * rate
        converted = any(other_up or other_down for other_up, other_down in others.values())
        return Money(max(up, down), currency), converted

    def judged(self, amount: Money, rows: Sequence[ApprovalRow], date: datetime.date,
               converted: bool) -> Money | None:
        """`amount` in the thresholds' currency, when a price converts it; else the
        amount itself when a price converted legs in another currency into it
        (`converted`): a price added later then changes what it was judged at, as it
        changes what an approver's limit is checked against."""
        for row in rows:
            currency = row.threshold.currency
            if currency != amount.currency:
                value = convert(amount, currency, date, self.rates)
                return None if value is None else Money(value, currency)
        return amount if converted else None

    def check_judgement(self, adj: Tracked) -> bool:
        """A request written with the chain and converted amount it was judged at
        is judged the same way now, or not at all (a price or row added later)."""
        request = adj.request
        rid, source = request.id, request.source
        if request.judged is not None and not same_amount(request.judged, adj.judged):
            now = adj.judged if adj.judged is not None else "nothing"
            self.fail("stale-price",
                      f"{rid}: it was judged at {request.judged} when written; the prices "
                      f"now in the ledger make it {now} on {request.date}. A price added or "
                      "changed afterwards must not change what a request needs: restore the "
                      "price, or withdraw it and file a new request.", source, adj)
            return False
        if request.chain is not None and request.chain != adj.chain:
            self.fail("stale-chain",
                      f"{rid}: it was written when its approval chain was "
                      f"\"{chain_text(request.chain)}\"; the rows now in force give "
                      f"\"{chain_text(adj.chain)}\" (a row, tier or risk setting changed "
                      "for its date). Nothing it was judged on may change afterwards: "
                      "restore the policy, or withdraw it and file a new request.",
                      source, adj)
            return False
        return True

    def run_checks(self, adj: Tracked) -> bool:
        """The site's own checks (`checks` setting); a check that fails closes the request."""
        request, amount = adj.request, adj.amount
        if not self.checks or amount is None:
            return True
        ok = True
        for name, check in self.checks:
            try:
                said = check(request, amount)
                messages = [said] if isinstance(said, str) else list(said or ())
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a site's check must not stop the pass
                self.fail("check-error",
                          f"{request.id}: check {name} failed ({type(exc).__name__}: {exc}); "
                          "the request is not judged until it runs.", request.source, adj)
                ok = False
                continue
            for message in messages:
                self.fail("check-failed", f"{request.id}: {message} (check {name})",
                          request.source, adj)
                ok = False
        return ok

    def amount_of(self, adj: Tracked) -> Money | None:
        """The signed amount the request moves on customer accounts, checked."""
        request = adj.request
        rid, source = request.id, request.source
        root = self.settings.receivable
        totals = {c: n for c, n in receivable_totals(request.postings, root).items() if n}
        if not totals:
            self.fail("no-customer-effect",
                      f"{rid}: the postings move nothing on accounts under {root}; an "
                      "adjustment must change what the customer owes.", source, adj)
            return None
        if self.settings.customer_account is not None:
            # Another customer's own account would be moved under this customer's
            # tier and chain, and show on the other's statement.
            owners = {self.settings.account_owner(account) for account, _, _ in request.postings
                      if is_under(account, root)} - {None, request.customer}
            if owners:
                self.fail("customer-account",
                          f"{rid}: the postings move the own account of "
                          f"{', '.join(sorted(o for o in owners if o))}, and the request is "
                          f"for {request.customer}; a request moves only its own customer's "
                          "account (file one for each customer).", source, adj)
                return None
        if len(totals) > 1:
            self.fail("mixed-currencies",
                      f"{rid}: the postings move {', '.join(sorted(totals))} on {root}; "
                      "split it into one request per currency.", source, adj)
            return None
        currency, number = next(iter(totals.items()))
        kind = request.kind
        if kind is _CREDIT and number > 0:
            self.fail("wrong-direction",
                      f"{rid}: a credit must lower what the customer owes, but it adds "
                      f"{number} {currency} to {root}; flip the signs or make it a debit.",
                      source, adj)
            return None
        if kind is _DEBIT and number < 0:
            self.fail("wrong-direction",
                      f"{rid}: a debit must raise what the customer owes, but it takes "
                      f"{-number} {currency} off {root}; flip the signs or make it a credit.",
                      source, adj)
            return None
        return Money(number, currency)

    def check_references(self, adj: Tracked, amount: Money) -> bool:
        request = adj.request
        rid, source = request.id, request.source
        ok = True
        if request.kind is _BILLING and request.invoice is None:
            self.fail("missing-invoice",
                      f"{rid}: a billing adjustment corrects an invoice; add `invoice:` "
                      "naming it.", source, adj)
            ok = False
        if request.invoice is None and request.order is None:
            return ok
        for key, refs, marker, ref_id in (
                ("invoice", self.facts.invoices, "invoice-id", request.invoice),
                ("order", self.facts.orders, "order-id", request.order)):
            if ref_id is None:
                continue
            ref = reference_terms(refs, ref_id)
            if ref is None:
                self.fail(f"unknown-{key}",
                          f"{rid}: {key} \"{ref_id}\" is not in the ledger; no transaction "
                          f"carries `{marker}: \"{ref_id}\"`.", source, adj)
                ok = False
            elif ref.customer is not None and ref.customer != request.customer:
                self.fail(f"{key}-customer",
                          f"{rid}: {key} \"{ref_id}\" belongs to customer \"{ref.customer}\", "
                          f"not \"{request.customer}\".", source, adj)
                ok = False
            elif key == "invoice" and amount.number < 0 and ref.currency is None:
                # Several currencies (or none) on the receivable: no amount to cap a
                # credit with, and an invoice that caps nothing would cap this one.
                self.fail("invoice-currency",
                          f"{rid}: invoice \"{ref_id}\" bills no single currency on "
                          f"{self.settings.receivable} (several, or none), so a credit "
                          "against it cannot be held to what it billed; bill one invoice "
                          "per currency and credit the one it corrects.", source, adj)
                ok = False
            elif key == "invoice" and amount.number < 0 and ref.currency != amount.currency:
                self.fail("invoice-currency",
                          f"{rid}: invoice \"{ref_id}\" is in {ref.currency}; a credit "
                          f"against it must be too, not {amount.currency}.", source, adj)
                ok = False
        return ok

    def check_document(self, adj: Tracked) -> bool:
        request = adj.request
        rid, source = request.id, request.source
        threshold = adj.settings.document_above
        if request.document is None:
            if threshold is None or adj.amount is None:
                return True
            value = convert(adj.amount, threshold.currency, request.date, self.rates)
            if value is None:
                self.fail("missing-price",
                          f"{rid}: no price converts {adj.amount.currency} to "
                          f"{threshold.currency} on or before {request.date}, so the "
                          "documentation rule cannot be checked; add a price directive.",
                          source, adj)
                return False
            if value >= threshold.number:
                self.fail("missing-document",
                          f"{rid}: {request.type} requests of {threshold} or more need "
                          "supporting documentation; add `document:` with the file's path.",
                          source, adj)
                return False
            return True
        base = os.path.dirname(source.filename)
        path = os.path.normpath(os.path.join(base, request.document))
        root = os.path.dirname(self.facts.files[0]) if self.facts.files else base
        if not _inside(os.path.realpath(path), os.path.realpath(root)):
            # Whether a file exists outside the ledger's folder is none of the
            # ledger's business (and must not be probed through it).
            self.fail("document-outside",
                      f"{rid}: document \"{request.document}\" is outside the ledger's folder "
                      f"({root}); keep supporting documents in it.", source, adj)
            return False
        if not os.path.isfile(path):
            self.fail("document-not-found",
                      f"{rid}: document \"{request.document}\" does not exist (looked for "
                      f"{path}).", source, adj)
            return False
        return True
