"""Pure helpers of the personnel module: card numbers, image checks, PIN encryption, validity."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from pydantic import ValidationError

from openpss.platform.errors import Invalid
from openpss.platform.people.batch import batch_user_ids
from openpss.platform.people.cards import CardMode, format_card, parse_card, qr_allowed
from openpss.platform.people.images import MAX_FACE_BYTES, check_image
from openpss.platform.people.schemas import PersonCreate
from openpss.platform.people.secrets import decrypt_pin, encrypt_pin
from openpss.platform.people.service import default_validity


@pytest.mark.parametrize(
    ("text", "mode", "stored"),
    [
        ("a1b2c3d4", "hex", "A1B2C3D4"),
        ("ff", "hex", "000000FF"),
        ("000000ff", "hex", "000000FF"),
        ("255", "decimal", "000000FF"),
        ("11223344556677", "hex", "11223344556677"),
        ("18446744073709551615", "decimal", "FFFFFFFFFFFFFFFF"),
    ],
)
def test_parse_card_canonical_form(text: str, mode: str, stored: str) -> None:
    assert parse_card(text, mode) == stored


@pytest.mark.parametrize(
    ("text", "mode", "reason"),
    [
        ("", "hex", "empty"),
        ("12G4", "hex", "not hexadecimal"),
        ("12A4", "decimal", "not decimal"),
        ("0", "hex", "out of range"),
        ("18446744073709551616", "decimal", "out of range"),
        ("1" * 17, "hex", "not hexadecimal"),
    ],
)
def test_parse_card_rejects_with_reason(text: str, mode: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        parse_card(text, mode)


def test_format_card_follows_issuing_type() -> None:
    assert format_card("A1B2C3D4", CardMode.hex) == "A1B2C3D4"
    assert format_card("A1B2C3D4", CardMode.decimal) == "2712847316"


def test_qr_only_for_8_digit_hex() -> None:
    assert qr_allowed("A1B2C3D4", "hex")
    assert not qr_allowed("A1B2C3D4", "decimal")
    assert not qr_allowed("11223344556677", "hex")


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 30), "white").save(buffer, format=fmt)
    return buffer.getvalue()


def test_check_image_accepts_jpeg_png_only() -> None:
    jpeg = check_image(_image("JPEG"), what="face", max_bytes=MAX_FACE_BYTES)
    assert jpeg.content_type == "image/jpeg"
    png = check_image(_image("PNG"), what="face", max_bytes=MAX_FACE_BYTES)
    assert (png.width, png.height) == (20, 30)
    with pytest.raises(Invalid, match="is GIF; upload a JPEG or PNG"):
        check_image(_image("GIF"), what="face", max_bytes=MAX_FACE_BYTES)
    with pytest.raises(Invalid, match="not a readable"):
        check_image(_image("PNG")[:40], what="face", max_bytes=MAX_FACE_BYTES)
    with pytest.raises(Invalid, match="limit is 100 KB"):
        check_image(b"x" * (MAX_FACE_BYTES + 1), what="face", max_bytes=MAX_FACE_BYTES)


def test_pin_encryption_round_trip_and_wrong_key() -> None:
    token = encrypt_pin("135790", secret_key="k" * 20)
    assert "135790" not in token
    assert decrypt_pin(token, secret_key="k" * 20) == "135790"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        decrypt_pin(token, secret_key="other-secret-key-000")


def test_default_validity_is_ten_years_to_end_of_day() -> None:
    start = dt.datetime(2022, 11, 29, tzinfo=dt.UTC)
    end = dt.datetime(2032, 11, 29, 23, 59, 59, tzinfo=dt.UTC)
    assert default_validity(start) == (start, end)


def test_batch_user_ids_keep_zero_padding() -> None:
    assert batch_user_ids("0098", 3) == ["0098", "0099", "0100"]


def test_person_schema_rules() -> None:
    person = PersonCreate(user_id=" A12 ", name=" Ann ", valid_from=dt.datetime(2025, 1, 1))
    assert person.user_id == "A12" and person.name == "Ann"
    assert person.valid_from is not None and person.valid_from.tzinfo is dt.UTC
    with pytest.raises(ValidationError, match="1-32 letters or digits"):
        PersonCreate(user_id="a-b", name="x")
    with pytest.raises(ValidationError, match="date of birth is in the future"):
        PersonCreate(user_id="1", name="x", date_of_birth=dt.date.today() + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="user_type"):
        PersonCreate.model_validate({"user_id": "1", "name": "x", "user_type": "boss"})
