"""Resident ID numbers (GB 11643-1999), checked against an oracle written here."""
import hashlib
import hmac
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from subsidies.resident_id import (
    ResidentId,
    ResidentIdError,
    check_character,
    mask_resident_id,
    parse_resident_id,
    pseudonym,
)

# -- the oracle: the published algorithm, written out independently of the module ---------
ORACLE_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ORACLE_CHECK_MAP = {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7",
                    6: "6", 7: "5", 8: "4", 9: "3", 10: "2"}
ORACLE_PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                    "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                    "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"]


def oracle_check(first17: str) -> str:
    total = 0
    for position in range(17):
        total += int(first17[position]) * ORACLE_WEIGHTS[position]
    return ORACLE_CHECK_MAP[total % 11]


def oracle_is_valid(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return False
    if number[:2] not in ORACLE_PROVINCES:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born >= date(1900, 1, 1) and oracle_check(number[:17]) == number[17]


@st.composite
def valid_numbers(draw):
    province = draw(st.sampled_from(ORACLE_PROVINCES))
    rest_of_region = draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(date(1900, 1, 1), date(2025, 12, 31)))
    sequence = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = province + rest_of_region + born.strftime("%Y%m%d") + sequence
    return first17 + oracle_check(first17)


# Known-good numbers (the standard's own example and two built for these tests).
STANDARD_EXAMPLE = "11010519491231002X"
KNOWN_VALID = [STANDARD_EXAMPLE, "33020419600103123X", "330204196003011232", "440304198002290014"]
ALLOWED = "0123456789X"


# -- valid numbers --------------------------------------------------------------------------

@given(valid_numbers())
def test_every_number_built_with_the_published_weights_is_accepted(number):
    parsed = parse_resident_id(number)
    assert parsed == ResidentId(
        number=number,
        region_code=number[:6],
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
    )


@given(st.text("0123456789", min_size=17, max_size=17))
def test_check_character_agrees_with_the_oracle(first17):
    assert check_character(first17) == oracle_check(first17)


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_known_valid_numbers_are_accepted(number):
    assert oracle_is_valid(number)
    assert parse_resident_id(number).number == number


@pytest.mark.parametrize(
    "typed",
    ["11010519491231002x", " 110105 19491231 002x ", "110105194912310 02X",
     "１１０１０５１９４９１２３１００２ｘ"],  # full-width, as some input methods type it
)
def test_lower_case_x_spaces_and_full_width_digits_are_normalised(typed):
    parsed = parse_resident_id(typed)
    assert parsed.number == STANDARD_EXAMPLE
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.region_code == "110105"


# -- every single-character corruption is refused -------------------------------------------

def _corruptions(number):
    for position in range(18):
        for ch in ALLOWED:
            if ch != number[position]:
                yield position, number[:position] + ch + number[position + 1:]


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_every_single_character_corruption_of_a_known_number_is_refused(number):
    for position, corrupted in _corruptions(number):
        with pytest.raises(ResidentIdError):
            parse_resident_id(corrupted)
        assert not oracle_is_valid(corrupted), (position, corrupted)


@settings(max_examples=60)
@given(valid_numbers())
def test_every_single_character_corruption_of_a_valid_number_is_refused(number):
    for position, corrupted in _corruptions(number):
        with pytest.raises(ResidentIdError) as refused:
            parse_resident_id(corrupted)
        # a corruption of the date or region may be caught earlier; the rest by the check
        assert refused.value.code in {"characters", "region", "birth_date", "check_character"}


@given(valid_numbers())
def test_swapping_two_different_adjacent_digits_is_refused(number):
    # the other common typing mistake: transposed neighbours
    for i in range(16):
        if number[i] != number[i + 1] and number[i + 1] != "X":
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2:]
            with pytest.raises(ResidentIdError):
                parse_resident_id(swapped)


# -- each kind of mistake has its own code and message ---------------------------------------

MISTAKES = [
    ("", "empty"),
    ("   ", "empty"),
    ("110105491231002", "first_generation"),
    ("11010519491231002", "length"),
    ("11010519491231002X1", "length"),
    ("1101051949123100", "length"),
    ("11010519491231A02X", "characters"),
    ("1101051949123100XX", "characters"),
    ("11010519491231002Y", "characters"),
    ("00000019491231002X", "region"),
    ("99010519491231002X", "region"),
    ("91010519491231002X", "region"),
    ("11010519490231002X", "birth_date"),   # 31 February
    ("11010519491331002X", "birth_date"),   # month 13
    ("11010518991231002X", "birth_date"),   # before 1900
    ("11010519491231002", "length"),
    ("110105194912310021", "check_character"),
]


@pytest.mark.parametrize(("typed", "code"), MISTAKES)
def test_each_kind_of_mistake_is_refused_with_its_own_code(typed, code):
    with pytest.raises(ResidentIdError) as refused:
        parse_resident_id(typed)
    error = refused.value
    assert error.code == code
    assert isinstance(error, ValueError)
    assert str(error) == error.message_en
    assert error.message_zh and error.message_en


def test_a_birth_date_in_the_future_is_refused_when_today_is_known():
    first17 = "330204" + "20260302" + "123"
    number = first17 + oracle_check(first17)
    assert parse_resident_id(number).birth_date == date(2026, 3, 2)  # no today: not checked
    assert parse_resident_id(number, today=date(2026, 3, 2)).birth_date == date(2026, 3, 2)
    with pytest.raises(ResidentIdError) as refused:
        parse_resident_id(number, today=date(2026, 3, 1))
    assert refused.value.code == "future_birth_date"


def test_a_first_generation_number_is_refused_with_the_reason():
    with pytest.raises(ResidentIdError) as refused:
        parse_resident_id("110105 491231 002")
    assert "15" in refused.value.message_zh and "18" in refused.value.message_zh
    assert "first-generation" in refused.value.message_en
    assert "check character" in refused.value.message_en


def test_every_kind_of_mistake_has_a_distinct_message():
    messages = {}
    for typed, code in MISTAKES:
        try:
            parse_resident_id(typed)
        except ResidentIdError as error:
            messages.setdefault(code, set()).add(error.message_zh)
    first = {code: sorted(texts)[0] for code, texts in messages.items()}
    assert len(set(first.values())) == len(first)


# -- masking and pseudonyms ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("number", "masked"),
    [("33020419600103123X", "3302**********123X"),
     ("33020419600103123x", "3302**********123X"),
     ("330204196003011232", "3302**********1232"),
     ("12345", "*****")],
)
def test_masking_shows_only_the_first_and_last_four(number, masked):
    assert mask_resident_id(number) == masked


def test_a_parsed_number_masks_itself():
    assert parse_resident_id("33020419600103123X").masked == "3302**********123X"


@given(valid_numbers())
def test_the_pseudonym_is_hmac_sha256_of_the_normalised_number(number):
    secret = b"canteen-secret"
    expected = hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()
    assert pseudonym(secret, number) == expected
    assert pseudonym(secret, " " + number.lower() + " ") == expected
    assert pseudonym(b"another-canteen", number) != expected
    assert number not in expected


def test_a_pseudonym_needs_a_secret():
    with pytest.raises(ValueError, match="secret"):
        pseudonym(b"", STANDARD_EXAMPLE)
