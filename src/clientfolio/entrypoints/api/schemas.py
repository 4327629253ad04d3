"""Request bodies and typed response wrappers; single records are the services' own view dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from clientfolio.domain.identifiers import IDENTIFIER_KINDS
from clientfolio.domain.model import CustomerKind, Role, Tier
from clientfolio.services.search import SearchHitView
from clientfolio.services.views import AuditEventView, CustomerView, DocumentView, TokenView, UserView


Kind, TierName, RoleName = CustomerKind, Tier, Role  # the domain's enums: the OpenAPI document lists their values
IdentifierKind = Literal[*IDENTIFIER_KINDS]


RecordId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a record's number")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class CustomerPage:
    items: list[CustomerView]
    total: int
    limit: int
    offset: int


@dataclass
class DocumentPage:
    items: list[DocumentView]
    total: int
    limit: int
    offset: int


@dataclass
class AuditPage:
    items: list[AuditEventView]
    limit: int
    offset: int


@dataclass
class SearchResults:
    query: str
    total: int
    limit: int
    offset: int
    hits: list[SearchHitView] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)


@dataclass
class UserList:
    items: list[UserView]


@dataclass
class TokenList:
    items: list[TokenView]


class NewCustomer(Body):
    name: str = Field(max_length=200)
    kind: Kind
    tier: TierName
    owner: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    identifiers: dict[str, str] | None = Field(default=None, description="kind -> value, e.g. resident_id")


class CustomerChanges(Body):
    name: str | None = Field(default=None, max_length=200)
    kind: Kind | None = None
    tier: TierName | None = None
    owner: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=40, description="empty string removes it")
    email: str | None = Field(default=None, max_length=254, description="empty string removes it")
    identifiers: dict[str, str | None] | None = Field(default=None, description="kind -> value; null removes")


class IdentifierLookup(Body):
    kind: IdentifierKind
    value: str = Field(max_length=64)


class DocumentChanges(Body):
    title: str | None = Field(default=None, max_length=300)
    category: str | None = Field(default=None, max_length=40)
    subtype: str | None = Field(default=None, max_length=40)
    tags: list[str] | None = Field(default=None, max_length=50)
    sensitive: bool | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    paper_location: str | None = Field(default=None, max_length=200)


class SearchQuery(Body):
    query: str = Field(default="", max_length=1000)
    customer: str | None = Field(default=None, max_length=16)
    category: str | None = Field(default=None, max_length=40)
    subtype: str | None = Field(default=None, max_length=40)
    tags: list[str] | None = Field(default=None, max_length=20)
    sensitivity: Literal["normal", "sensitive"] | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    expires_before: date | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class SignIn(Body):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Code(Body):
    code: str = Field(max_length=64)


class PasswordChange(Body):
    new_password: str = Field(max_length=1024)
    current_password: str | None = Field(default=None, max_length=1024)


class NewUser(Body):
    name: str = Field(max_length=64)
    role: RoleName
    own_customers_only: bool = False


class UserChanges(Body):
    role: RoleName | None = None
    own_customers_only: bool | None = None
    disabled: bool | None = None


class NewTokenRequest(Body):
    name: str = Field(max_length=100)
    scope: list[str] | None = Field(default=None, max_length=50, description="actions; omitted: the role's rights")
    expires_in_days: int = Field(default=90, ge=1, le=3650)


class SessionState(BaseModel):
    user: str
    role: str
    csrf_token: str
    second_factor: bool
    enrolment_only: bool


class SignInState(BaseModel):
    status: str
    user: str
    enrolment_required: bool = False
    csrf_token: str | None = None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
