"""Helpers for checks that involve several fields: reported with the field errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

_Model = TypeVar("_Model", bound=BaseModel)


def detail(kind: str, loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": value}


def validate_adding(
    handler: Callable[[Any], _Model], data: Any, problems: list[InitErrorDetails]
) -> _Model:
    """Run the field validation and report ``problems`` together with its errors."""
    try:
        model = handler(data)
    except ValidationError as exc:
        if not problems:
            raise
        # Rebuilt as custom errors: keeps each error's type, location and message.
        found = [detail(err["type"], err["loc"], err["msg"], err["input"]) for err in exc.errors()]
        raise ValidationError.from_exception_data(exc.title, [*found, *problems]) from None
    if problems:
        raise ValidationError.from_exception_data(type(model).__name__, problems)
    return model
