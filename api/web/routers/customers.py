"""``/api/v1/customers``: the enterprises whose instruments and lots the lab handles (read; a customer is created
by registering its first instrument or lot, where the importer matches it by tax code or name)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.web.deps import Limit, Offset, Reader, RecordId, ServiceDep
from api.web.errors import problem_responses
from api.web.schemas.registry import CustomerPublic, InstrumentPublic, LotPublic
from registry.errors import NotFoundError
from registry.models import Customer, MeasuringInstrument, PrepackageLot

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", response_model=list[CustomerPublic], operation_id="customers_list", responses=problem_responses(401))
def list_customers(
    _: Reader,
    service: ServiceDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name or the tax code.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CustomerPublic]:
    """Customers by name; ``q`` filters by part of the name (case-insensitive) or the tax code."""
    query = select(Customer).order_by(Customer.name, Customer.id).limit(limit).offset(offset)
    if q:
        like = f"%{q.strip().casefold()}%"
        query = query.where((func.lower(Customer.name).like(like)) | (Customer.tax_code == q.strip()))
    with service.read() as s:
        return [CustomerPublic.model_validate(c) for c in s.scalars(query)]


def _customer(s: Session, customer_id: int) -> Customer:
    found = s.get(Customer, customer_id)
    if found is None:
        raise NotFoundError(f"no customer #{customer_id}: GET /api/v1/customers lists them")
    return found


@router.get(
    "/{customer_id}", response_model=CustomerPublic, operation_id="customers_get", responses=problem_responses(401, 404)
)
def get_customer(customer_id: RecordId, _: Reader, service: ServiceDep) -> CustomerPublic:
    """One customer."""
    with service.read() as s:
        return CustomerPublic.model_validate(_customer(s, customer_id))


@router.get(
    "/{customer_id}/instruments",
    response_model=list[InstrumentPublic],
    operation_id="customers_instruments",
    responses=problem_responses(401, 404),
)
def customer_instruments(customer_id: RecordId, _: Reader, service: ServiceDep) -> list[InstrumentPublic]:
    """The customer's instruments, by kind and serial number."""
    with service.read() as s:
        _customer(s, customer_id)
        query = (
            select(MeasuringInstrument)
            .where(MeasuringInstrument.owner_id == customer_id)
            .order_by(MeasuringInstrument.kind, MeasuringInstrument.serial_number)
        )
        return [InstrumentPublic.model_validate(i) for i in s.scalars(query)]


@router.get(
    "/{customer_id}/lots",
    response_model=list[LotPublic],
    operation_id="customers_lots",
    responses=problem_responses(401, 404),
)
def customer_lots(customer_id: RecordId, _: Reader, service: ServiceDep) -> list[LotPublic]:
    """The prepackage lots the customer packed, by product and lot number."""
    with service.read() as s:
        _customer(s, customer_id)
        query = (
            select(PrepackageLot)
            .where(PrepackageLot.packer_id == customer_id)
            .order_by(PrepackageLot.product, PrepackageLot.lot_number)
        )
        return [LotPublic.model_validate(lot) for lot in s.scalars(query)]
