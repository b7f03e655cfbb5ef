"""Shared pydantic pieces of the API."""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal, Optional, get_args, get_origin

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, ValidatorFunctionWrapHandler,
                      field_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from pos.store.dish_labels import DISH_LABEL_NAMES, DISH_LABELS, MAX_ENERGY_KCAL
from pos.web import input_policy


@lru_cache(maxsize=None)
def _is_mapping(model: type[BaseModel], field: str) -> bool:
    """Whether the field is a mapping of text (a nested model's dict cleans its own fields)."""
    annotation = model.model_fields[field].annotation
    return get_origin(annotation) is dict or any(get_origin(a) is dict for a in get_args(annotation))


def _policed_items(items: list, kind: str) -> list:
    """A list's strings cleaned by the input policy; a refused one is named by its place in
    the list (``labels.0``), as an item of a list of objects is."""
    cleaned, refused = [], []
    for place, item in enumerate(items):
        try:
            cleaned.append(input_policy.clean(item, kind) if isinstance(item, str) else item)
        except input_policy.TextProblem as e:
            refused.append(InitErrorDetails(type=PydanticCustomError(e.code, e.en), loc=(place,), input=item))
    if refused:
        raise ValidationError.from_exception_data("items", refused)
    return cleaned


def _policed_text(value: Any, kind: str, mapping: bool) -> Any:
    """A field's raw value with its text cleaned by the input policy: a string, the strings
    of a list, the keys and values of a mapping field."""
    if isinstance(value, str):
        return input_policy.clean(value, kind)
    if isinstance(value, list):
        return _policed_items(value, kind)
    if mapping and isinstance(value, dict):
        return {input_policy.clean(k, input_policy.LINE) if isinstance(k, str) else k:
                input_policy.clean(v, kind) if isinstance(v, str) else v for k, v in value.items()}
    return value


class Policed(BaseModel):
    """Every request model: its text goes through the input policy (pos.web.input_policy:
    NFC, no control characters, names with a visible character) and its dates lie in the
    accepted range; a refusal is a field's validation error (422, the field named)."""

    @field_validator("*", mode="wrap")
    @classmethod
    def _input_policy(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            field = info.field_name or ""
            mapping = isinstance(value, dict) and _is_mapping(cls, field)
            value = _policed_text(value, input_policy.kind_of(field), mapping)
        except input_policy.TextProblem as e:
            raise PydanticCustomError(e.code, e.en) from None
        value = handler(value)
        if isinstance(value, date):
            first, last = input_policy.day_range()
            if not first <= value <= last:
                raise PydanticCustomError("date_out_of_range",
                                          f"must be between {first.isoformat()} and {last.isoformat()}")
        return value


class Strict(Policed):
    """Request bodies refuse unknown fields and never coerce types (a "3" is not 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str
    message_en: str


class ErrorOut(BaseModel):
    """A refusal: its code and words, and sometimes what helps to try again — ``quote``
    (the new price, with ``price_changed``), ``shift`` (the one already open), ``item_id``
    (the dish refused), ``due_fen``, ``cap``/``issued`` (tickets), ``problems`` (what is
    wrong with a request's fields)."""

    model_config = ConfigDict(extra="allow")
    error: ErrorDetail


class Parameters(Policed):
    """Header and query-string models.  The OpenAPI layer asks such a model for its JSON
    schema on every request it validates; a model never changes once defined, so the
    plain call (no arguments) is worked out once per class.  The document's own call,
    with arguments, is left alone."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        cached = cls.__dict__.get("_plain_json_schema")
        if cached is None:
            cached = super().model_json_schema()
            setattr(cls, "_plain_json_schema", cached)
        return cached


# -- a dish's labels and energy, as every menu answer and request describes them ----------------

#: The label codes a dish may carry, in the order they are stored and answered, with their words.
LABEL_CODES = ", ".join(f"{code} ({names.zh} / {names.en})" for code, names in DISH_LABEL_NAMES.items())
LabelsOut = Annotated[list[Literal[DISH_LABELS]], Field(  # type: ignore[valid-type]
    description=f"the cook's labels of the dish: codes, once each, in the order of the list {LABEL_CODES}")]
EnergyOut = Annotated[Optional[int], Field(
    description=f"approximate energy of one serving, whole kcal (0 to {MAX_ENERGY_KCAL}); null when not known")]
#: A label code in a request: the list's codes are documented; any other is refused by the
#: store's check (invalid_labels, naming it), as on the back-office page.
LabelCodeIn = Annotated[str, Field(max_length=40, json_schema_extra={"enum": list(DISH_LABELS)})]
LABELS_IN = (f"the dish's labels: codes from the list {LABEL_CODES}; stored once each in the list's order, "
             "an empty list clears them; a code not on the list is refused (422 invalid_labels, naming it)")
ENERGY_IN = f"approximate energy of one serving in whole kcal, 0 to {MAX_ENERGY_KCAL}; null: not known"
