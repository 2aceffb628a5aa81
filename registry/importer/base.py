"""What every import of records shares: the validated rows, the customers they belong to (matched by tax code, else
name, or planned for creation), and the writes (new records, updates of registered ones, counts for a dry run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from registry.importer.cells import Cell, CellError
from registry.importer.headers import _Columns
from registry.importer.messages import Message, msg, noun
from registry.importer.report import ImportReport, RowIssue
from registry.models import AuditEntry, Base, Customer
from registry.vocabulary import looks_like_formula, name_key

FLUSH_EVERY = 500  # records per flush: bounds memory, keeps each audit append a moderate batch
INSERT_EVERY = 2000  # new instruments per multi-row INSERT (and audit append)

_key = name_key  # case-, space- and Unicode-form-insensitive key of a name or serial


@dataclass
class _Row:
    """One validated spreadsheet row, ready to become a record (an instrument, a lot)."""

    row: int
    customer: str
    tax_code: str | None
    values: dict[str, Any]
    key: tuple[str, str, str]
    existing_id: int | None = None
    owner: _CustomerPlan | None = None


@dataclass
class _CustomerPlan:
    """An owner as the import will use it: an existing customer, or one to create (maybe setting a tax code)."""

    name: str
    tax_code: str | None
    row: int
    existing: Customer | None = None
    set_tax_code: bool = False
    created: Customer | None = None


class _Importer:
    """One import of one kind of record: the registry's customers as loaded, the rows' owners, and the writes.

    A subclass per kind of record (:mod:`registry.importer.instruments`, :mod:`registry.importer.lots`) says which
    table it writes, validates a row (:meth:`validate`) and builds a new record (:meth:`build`)."""

    owner_column = "customer"  # the column naming the customer a row belongs to
    model: type[Base]  # the table a row is written to
    owner_attribute = "owner"  # the model's relationship to its customer (``owner_id`` its column)
    #: audited entities whose changes (any action) invalidate the checks of rows made before them
    watched: tuple[str, ...] = ()
    #: audited entities whose new rows invalidate those checks
    watched_inserts: tuple[str, ...] = ()
    #: new records are written by one multi-row INSERT per batch (:meth:`_insert_many`), not as ORM objects
    bulk_insert = False

    def __init__(self, session: Session, report: ImportReport, columns: _Columns, today: date, update: bool) -> None:
        self.session = session
        self.report = report
        self.columns = columns
        self.today = today
        self.update = update
        self.by_tax: dict[str, _CustomerPlan] = {}
        self.by_name: dict[str, list[_CustomerPlan]] = {}
        self.plans: list[_CustomerPlan] = []
        self.xlsx = report.format == "xlsx"

    # database state -------------------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the registered customers (a subclass adds the records its checks compare with)."""
        for customer in self.session.scalars(select(Customer).order_by(Customer.id)):
            self._index(_CustomerPlan(customer.name, customer.tax_code, 0, existing=customer))

    @classmethod
    def changed_since(cls, session: Session, seq: int) -> bool:
        """True when the audit log has an entry after ``seq`` that touches what this import's checks read."""
        touched = or_(
            AuditEntry.entity.in_(cls.watched),
            and_(AuditEntry.action == "insert", AuditEntry.entity.in_(cls.watched_inserts)),
        )
        return session.scalar(select(AuditEntry.seq).where(AuditEntry.seq > seq, touched).limit(1)) is not None

    def rebind(self, session: Session) -> None:
        """Continue in ``session`` (the write transaction): the registered customers are taken from it."""
        self.session = session
        customers = {c.id: c for c in session.scalars(select(Customer))}
        for plan in {id(p): p for plans in self.by_name.values() for p in plans}.values():
            if plan.existing is not None:
                plan.existing = customers[plan.existing.id]

    def _index(self, plan: _CustomerPlan) -> None:
        if plan.tax_code:
            self.by_tax[plan.tax_code] = plan
        self.by_name.setdefault(_key(plan.name), []).append(plan)

    # rows -------------------------------------------------------------------------------------------------------

    def reject(self, row: int, column: str, reason: Message) -> None:
        """Reject ``row`` for ``reason`` about its ``column``."""
        self.report.rejected.append(RowIssue(row, column, self.columns.name(column), reason))

    def note(self, row: int, column: str, reason: Message) -> None:
        """Note ``reason`` about ``row``'s ``column`` (the row is still imported)."""
        self.report.warnings.append(RowIssue(row, column, self.columns.name(column), reason))

    def flag_formula(self, row: int, column: str, text: str) -> None:
        """Note a text cell that a spreadsheet would run as a formula (OWASP CSV injection): it is kept as text,
        never evaluated, and caltrace's CSV exports write it with a leading ``'``."""
        if looks_like_formula(text):
            shown = text if len(text) <= 40 else text[:37] + "..."
            self.note(row, column, msg("cell.formula", shown=shown, first=text[0]))

    def validate(self, row: int, cells: Sequence[Cell]) -> _Row | None:
        """The row's values, or None after recording every problem it has."""
        raise NotImplementedError

    def _cell(self, row: int, column: str, parse: Any, value: Cell) -> Any:
        try:
            return parse(value)
        except CellError as exc:
            self.reject(row, column, exc.message)
            return None

    def accept(self, row: _Row) -> bool:
        """True for a validated row that goes in: its owner resolved (False after rejecting it)."""
        return self.resolve_owner(row)

    def resolve_owner(self, row: _Row) -> bool:
        """Attach the row's owner (existing, or planned); False after rejecting the row when it is ambiguous."""
        name_key = _key(row.customer)
        if row.tax_code:
            plan = self.by_tax.get(row.tax_code)
            if plan is not None:
                if _key(plan.name) != name_key:
                    self.note(
                        row.row,
                        self.owner_column,
                        msg("owner.tax_code_elsewhere", tax_code=row.tax_code, owner=plan.name),
                    )
                row.owner = plan
                return True
            untaxed = [p for p in self.by_name.get(name_key, []) if not p.tax_code]
            if len(untaxed) == 1:
                plan = untaxed[0]
                plan.tax_code = row.tax_code
                plan.set_tax_code = plan.existing is not None
                self.by_tax[row.tax_code] = plan
                row.owner = plan
                return True
            if len(untaxed) > 1:
                self.reject(row.row, self.owner_column, msg("owner.ambiguous_untaxed", customer=row.customer))
                return False
        else:
            matches = self.by_name.get(name_key, [])
            if len(matches) == 1:
                row.owner = matches[0]
                return True
            if len(matches) > 1:
                codes = ", ".join(p.tax_code or "-" for p in matches)
                self.reject(
                    row.row,
                    self.owner_column,
                    msg("owner.ambiguous", customer=row.customer, codes=codes, column=self.owner_column),
                )
                return False
        plan = _CustomerPlan(row.customer, row.tax_code, row.row)
        self.plans.append(plan)
        self._index(plan)
        row.owner = plan
        return True

    # writing ----------------------------------------------------------------------------------------------------

    def apply(self, rows: list[_Row]) -> None:
        """Create the planned customers (packers, for lots) and write the rows (:meth:`write`); flushed in batches of
        :data:`FLUSH_EVERY`. With :attr:`bulk_insert`, new records are inserted in batches of :data:`INSERT_EVERY`
        after the customers and updates."""
        for plan in self.plans:
            plan.created = Customer(name=plan.name, tax_code=plan.tax_code)
            self.session.add(plan.created)
        for plan in {id(p): p for r in rows if r.owner for p in [r.owner]}.values():
            if plan.set_tax_code and plan.existing is not None:
                plan.existing.tax_code = plan.tax_code
        new: list[tuple[_Row, Customer]] = []
        for count, row in enumerate(rows, start=1):
            assert row.owner is not None
            owner = row.owner.existing or row.owner.created
            assert owner is not None
            if self.bulk_insert and row.existing_id is None:
                new.append((row, owner))
                continue
            self.write(row, owner)
            if count % FLUSH_EVERY == 0:
                self.session.flush()
        self.session.flush()  # customers get their ids
        for start in range(0, len(new), INSERT_EVERY):
            self._insert_many(new[start : start + INSERT_EVERY])

    def _insert_many(self, batch: list[tuple[_Row, Customer]]) -> None:
        """Insert new records in one statement (only with :attr:`bulk_insert`)."""
        raise NotImplementedError

    def write(self, row: _Row, owner: Customer) -> None:
        """Write one good row: a new record of ``owner`` (:meth:`build`), or the changes to the one it updates."""
        if row.existing_id is not None:
            self._update(row, owner)
        else:
            self.session.add(self.build(row, owner))
            self.report.imported += 1

    def build(self, row: _Row, owner: Customer) -> Base:
        """A new record from a validated row."""
        raise NotImplementedError

    def differences(self, row: _Row) -> tuple[Base, dict[str, Any]]:
        """The registered record a row updates, and the values of the row that differ from it."""
        record = self.session.get(self.model, row.existing_id)
        assert record is not None and row.owner is not None
        diff = {name: value for name, value in row.values.items() if getattr(record, name) != value}
        if row.owner.existing is None or row.owner.existing.id != getattr(record, f"{self.owner_attribute}_id"):
            diff[self.owner_attribute] = row.owner
            self.note(
                row.row,
                self.owner_column,
                msg(
                    "owner.changes",
                    record=noun(self.report.records),
                    id=str(row.existing_id),
                    old=getattr(record, self.owner_attribute).name,
                    new=row.owner.name,
                ),
            )
        return record, diff

    def count_updates(self, rows: list[_Row]) -> None:
        """Dry run: count the rows that would add a record, update a registered one, or change nothing."""
        for row in rows:
            if row.existing_id is None:
                self.report.imported += 1
            elif self.differences(row)[1]:
                self.report.updated += 1
            else:
                self.report.unchanged += 1

    def _update(self, row: _Row, owner: Customer) -> None:
        record, diff = self.differences(row)
        if not diff:
            self.report.unchanged += 1
            return
        for name, value in diff.items():
            setattr(record, name, owner if name == self.owner_attribute else value)
        self.report.updated += 1
