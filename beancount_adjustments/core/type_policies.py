"""Per-type settings (`custom "adjustment-policy"`), effective-dated: each setting
from the most specific pattern in force that sets it."""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from beancount_adjustments.core.models import Money, TypePolicy


@dataclass(frozen=True)
class TypeSettings:
    separate_apply: bool = False
    document_above: Money | None = None
    sla_days: int | None = None
    signatures_required: bool = False
    backdate_days: int = 0
    """How many days an event may be dated before the moment it was written (`at:`)."""
    require_at: bool = False
    git_identity: bool = False
    git_signed: bool = False
    """Under `git_identity`, only a good signature by the user counts (not the
    commit's author e-mail, which anyone can type)."""
    hold_until_billed: bool = False
    """Applied only once the customer has been billed after its approval (CC&B's hold
    until bill completion); applying is then a separate step."""
    statement_text: str | None = None
    """What the customer's statement calls an adjustment of the type."""
    manual_chain: tuple[str, ...] = ()
    """The chain of a request that asks for review below every threshold (empty:
    the first level of the type's lowest staffed row)."""
    offset_accounts: tuple[str, ...] | None = None
    """Where legs outside the receivable may go (None: anywhere; `core.offsets`)."""


def pattern_rank(pattern: str) -> tuple[int, int]:
    """How specific a type pattern is: an exact type beats a glob, a longer one a shorter."""
    return (0 if any(c in pattern for c in "*?[") else 1, len(pattern))


@dataclass
class TypePolicies:
    policies: list[TypePolicy] = field(default_factory=list)
    """In date order (`build`)."""
    dates: list[datetime.date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.dates = [policy.date for policy in self.policies]

    @classmethod
    def build(cls, policies: Iterable[TypePolicy]) -> TypePolicies:
        return cls(sorted(policies, key=lambda p: p.date))

    def in_force(self, date: datetime.date) -> int:
        """How many policy directives are in force on `date`: the settings of a type
        change only when this does."""
        return bisect.bisect_right(self.dates, date)

    def settings(self, adj_type: str, date: datetime.date) -> TypeSettings:
        """Each setting from the most specific pattern in force that sets it."""
        chosen: dict[str, tuple[tuple[int, int], object]] = {}
        for policy in self.policies:
            if policy.date > date:
                break
            if not fnmatchcase(adj_type, policy.pattern):
                continue
            rank = pattern_rank(policy.pattern)
            for name in ("separate_apply", "document_above", "sla_days",
                         "signatures_required", "backdate_days", "require_at", "git_identity",
                         "git_signed", "hold_until_billed", "statement_text", "manual_chain",
                         "offset_accounts"):
                value = getattr(policy, name)
                if value is not None and (name not in chosen or rank >= chosen[name][0]):
                    chosen[name] = (rank, value)
        values = {name: value for name, (_, value) in chosen.items()}
        if values.get("hold_until_billed"):
            # Held until a later invoice, so it cannot apply on approval.
            values["separate_apply"] = True
        return TypeSettings(**values)  # type: ignore[arg-type]
