"""Pydantic schemas of the HTTP API, kept apart from the ORM models."""

from api.schemas.common import ErrorBody, FieldError, Page
from api.schemas.demands import (
    DemandCreate,
    DemandPublic,
    DemandStaff,
    DemandUpdate,
    EnterprisePublic,
    EnterpriseStaff,
)
from api.schemas.events import EventCreate, EventPublic
from api.schemas.imports import ImportReportPublic, RejectPublic
from api.schemas.matching import (
    FeedbackCreate,
    FeedbackPublic,
    MatchPublic,
    MatchResults,
    ProfileItemPublic,
)
from api.schemas.outcomes import OutcomeCreate, OutcomePublic, OutcomeReport, StatusCounts
from api.schemas.people import ExpertPublic, ExpertStaff, SocietyPublic
from api.schemas.users import OrganisationCreate, OrganisationPublic, Token, UserCreate, UserPublic

__all__ = [
    "DemandCreate",
    "DemandPublic",
    "DemandStaff",
    "DemandUpdate",
    "EnterprisePublic",
    "EnterpriseStaff",
    "ErrorBody",
    "EventCreate",
    "EventPublic",
    "ExpertPublic",
    "ExpertStaff",
    "FeedbackCreate",
    "FeedbackPublic",
    "FieldError",
    "ImportReportPublic",
    "MatchPublic",
    "MatchResults",
    "OrganisationCreate",
    "OrganisationPublic",
    "OutcomeCreate",
    "OutcomePublic",
    "OutcomeReport",
    "Page",
    "ProfileItemPublic",
    "RejectPublic",
    "SocietyPublic",
    "StatusCounts",
    "Token",
    "UserCreate",
    "UserPublic",
]
