"""Finding a customer by id or name, and saying why a request's customer is unknown."""

from __future__ import annotations

from beancount_adjustments.core import lookalike
from beancount_adjustments.core.errors import AdjustmentsError
from beancount_adjustments.core.models import Request
from beancount_adjustments.core.policy import Directory


def unknown_customer(directory: Directory, request: Request) -> str:
    """Why `request.customer` is not a customer on the request's date, and what to do."""
    rid, name, date = request.id, request.customer, request.date
    known = directory.find(name)
    if known and name not in known:
        return (f"{rid}: `customer:` is the customer's id, and \"{name}\" is the name of "
                f"{' or '.join(known)}; write the id.")
    if known:
        return (f"{rid}: customer \"{name}\" is known only from a later date than "
                f"{date}; date the request later, or declare the customer earlier.")
    alike = sorted(c for c in directory.customers if lookalike.reads_as(name, c))
    near = directory.nearest(name)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    if alike:
        hint = (f" It reads as the customer \"{alike[0]}\"{lookalike.spelled(name)}: a "
                "look-alike id, a credit to which would pass for one to that customer.")
    return (f"{rid}: customer \"{name}\" is named nowhere in the ledger on {date}: no "
            "transaction on the receivable accounts carries it as `customer:`, and no "
            f"custom \"adjustment-customer\" declares it.{hint} A new customer needs "
            f"custom \"adjustment-customer\" \"{name}\" \"<tier>\", or an invoice naming it.")


class CustomerError(AdjustmentsError, ValueError):
    """Why a customer given by id or name picks no single customer."""

    code = "ambiguous-customer"


def customer_id(directory: Directory, text: str) -> str | None:
    """The id of the customer `text` names by id or name; None when it names none.
    Raises `CustomerError` when it is the name of several, or the id of one and
    the name of another."""
    found = directory.find(text)
    if len(found) > 1:
        raise CustomerError(f"customer {text!r} is ambiguous: it is the name of "
                            f"{', '.join(found)}; give the id")
    if found == [text.strip()]:
        # An id wins over names in `find`, yet the pages name customers by name
        # ("Acme Corp (cust_1)"): a customer whose id is another's name was picked
        # by the name a reviewer read (`approve --all-pending --customer "Acme Corp"`).
        wanted = found[0].casefold()
        others = sorted(c for c, name in directory.names().items()
                        if c != found[0] and name is not None and name.casefold() == wanted)
        if others:
            raise CustomerError(
                f"customer {text!r} is ambiguous: it is the id of one customer and the "
                f"name of {', '.join(others)}; give {' or '.join(others)} for that one")
    return found[0] if found else None


def pick_customer(directory: Directory, text: str) -> str:
    """The id of the customer `text` names (its id, or its name, case aside).

    Raises `CustomerError` when it names none (the nearest known are suggested)
    or several (their ids are listed: give one).
    """
    found = customer_id(directory, text)
    if found is not None:
        return found
    near = directory.nearest(text)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise CustomerError(f"customer {text!r} is not known: the ledger names no customer with "
                        f"that id or name{hint}")


def namesakes(directory: Directory) -> frozenset[str]:
    """The customers whose name reads as another customer's name or id (any name
    either was ever declared with, `lookalike.skeletons`: case, width, Cyrillic or
    Greek look-alikes).

    A page names a customer by its name, the id on hover (the id alone when it has
    no name): a second "Acme Corp" (or "\\u0410cme Corp" with a Cyrillic A), or a
    customer named "Cust_123", would pass for the first, or for cust_123, in the
    queue a reviewer approves from, so the pages show these customers' ids beside
    their names."""
    seen: dict[str, set[str]] = {}
    for customer, records in directory.customers.items():
        shown = {customer} | {record.name for record in records if record.name}
        for key in {key for text in shown for key in lookalike.skeletons(text)}:
            seen.setdefault(key, set()).add(customer)
    return frozenset(c for ids in seen.values() if len(ids) > 1 for c in ids)
