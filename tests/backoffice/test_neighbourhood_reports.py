"""Neighbourhood reports (议事厅), on SQLite and PostgreSQL: anyone files a report from the
public form and follows it by its number; an address or a device gets 20 an hour; a photo
is kept upright and without its location; community staff of the report's canteen move it
on, and the reporter reads the status and the note — never the phone, a staff member's
name or where the report was sent from."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import ExifTags, Image
from sqlmodel import select

from backoffice.bo_helpers import signed_in
from pos.models import AuditEntry, NeighbourhoodReport, NeighbourhoodReportPhoto
from pos.store import neighbourhood_reports as reports
from pos.store.report_photos import MAX_BYTES, clean_photo

ADDRESS = "198.51.100.7"
PHONE = "13912345678"
STAFF_NAME = "社工小赵"  # the demo registrar's display name
NUMBER = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")
WORDS = "慈湖路 12 号门口路面塌陷，电动车容易摔倒"


@pytest.fixture
def hall(app):
    """The demo app (both engines) with the forms' CSRF check off, so tests can post them."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def jpeg(size=(64, 48), colour="red", **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", **save)
    return out.getvalue()


def post_report(client, *, address=ADDRESS, photo: bytes | None = None, filename="photo.jpg", canteen="YLW01",
                **fields):
    data = {"category": "road_damage", "description": WORDS, "phone": "", **fields}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), filename)
    return client.post(f"/neighbourhood/new?canteen={canteen}", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": address})


def filed_number(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].split("/neighbourhood/")[1].split("?")[0]


def file_directly(app, n: int, *, address: str, device: str, canteen="YLW01") -> list[str]:
    """``n`` reports through the store, as the form files them."""
    settings = app.config["CANTEEN"]
    numbers = []
    for _ in range(n):
        with app.extensions["canteen_db"].transaction() as s:
            numbers.append(reports.file_report(
                session=s, id_key=settings.id_key, canteen_id=canteen, category="street_light",
                description="路灯不亮已经三天", origin=reports.Origin(address=address, device=device),
                per_hour=settings.public.reports_per_hour).number)
    return numbers


def report_row(app, number: str) -> NeighbourhoodReport:
    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(NeighbourhoodReport).where(NeighbourhoodReport.number == number)).one()


def stored_photo(app, number: str) -> bytes:
    with app.extensions["canteen_db"].session() as s:
        return reports.photo_jpeg(s, report_row(app, number).id)


# -- filing and following ---------------------------------------------------------------------------

def test_a_report_is_filed_and_its_page_shows_the_number_to_note(hall):
    c = hall.test_client()
    form = c.get("/neighbourhood/new?canteen=YLW01")
    assert form.status_code == 200
    cookie = form.headers["Set-Cookie"]
    assert cookie.startswith("canteen_device=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert 'accept="image/*"' in form.text and 'capture="environment"' in form.text
    number = filed_number(post_report(c, phone=PHONE))
    assert NUMBER.match(number)
    page = c.get(f"/neighbourhood/{number}?new=1")
    assert page.status_code == 200
    assert "请记下编号" in page.text and number in page.text and "已受理" in page.text and WORDS in page.text
    assert PHONE not in page.text
    assert 'href="/today/YLW01"' in page.text


def test_numbers_are_unique_random_and_easy_to_read_aloud(hall):
    numbers = file_directly(hall, 20, address="203.0.113.1", device="device-one-aaaaaaaaaaaaaaaa")
    numbers += file_directly(hall, 10, address="203.0.113.2", device="device-two-bbbbbbbbbbbbbbbb")
    assert len(set(numbers)) == len(numbers)
    assert all(NUMBER.match(n) for n in numbers)
    assert not set("".join(numbers)) & set("01OI")
    assert numbers != sorted(numbers), "numbers in filing order would let one guess the next"


@pytest.mark.parametrize("typed", ["{n}", "{lower}", "{plain}", " {lower_plain} "])
def test_a_number_is_found_however_it_is_typed(hall, typed):
    c = hall.test_client()
    number = filed_number(post_report(c))
    found = c.get("/neighbourhood", query_string={"number": typed.format(
        n=number, lower=number.lower(), plain=number.replace("-", ""), lower_plain=number.replace("-", "").lower())})
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/neighbourhood/{number}")


def test_an_unknown_or_malformed_number_is_a_kind_404(hall):
    c = hall.test_client()
    assert c.get("/neighbourhood/ABCD-EFGH").status_code == 404
    assert "没有这个编号的反映" in c.get("/neighbourhood/not-a-number").text
    malformed = c.get("/neighbourhood?number=12")
    assert malformed.status_code == 422 and "编号应为 8 位" in malformed.text


@pytest.mark.parametrize("fields, code_words", [
    ({"category": "fireworks"}, "请选择问题类别"),
    ({"description": "坏了"}, "请描述问题"),
    ({"description": "长" * 501}, "请描述问题"),
    ({"phone": "12345"}, "手机号应为 11 位数字"),
])
def test_a_bad_form_is_shown_again_with_the_reason_and_the_words_kept(hall, fields, code_words):
    r = post_report(hall.test_client(), **fields)
    assert r.status_code == 422 and code_words in r.text
    with hall.extensions["canteen_db"].session() as s:
        assert s.exec(select(NeighbourhoodReport)).first() is None


# -- the hourly limit --------------------------------------------------------------------------------

def test_the_21st_report_from_one_address_within_an_hour_is_refused_saying_when(hall):
    file_directly(hall, 20, address=ADDRESS, device="device-of-another-reporter-x")
    r = post_report(hall.test_client())
    assert r.status_code == 429
    assert "提交太频繁，请一小时后再试" in r.text and "以后可以再提交" in r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    assert post_report(hall.test_client(), address="198.51.100.8").status_code == 302


def test_the_21st_report_from_one_device_is_refused_whatever_its_address(hall):
    device = "the-same-phone-cookie-0123456789"
    file_directly(hall, 20, address="203.0.113.50", device=device)
    c = hall.test_client()
    c.set_cookie("canteen_device", device)
    r = post_report(c, address="203.0.113.99")
    assert r.status_code == 429 and "提交太频繁" in r.text


def test_reports_older_than_an_hour_do_not_count(hall, monkeypatch):
    an_hour_ago = datetime.now(timezone.utc) - timedelta(minutes=61)
    monkeypatch.setenv("CANTEEN_NOW", an_hour_ago.isoformat())
    file_directly(hall, 20, address=ADDRESS, device="a-phone-from-an-hour-ago-xxxx")
    monkeypatch.delenv("CANTEEN_NOW")
    assert post_report(hall.test_client()).status_code == 302


def test_the_limit_is_the_configured_one(hall):
    from dataclasses import replace

    settings = hall.config["CANTEEN"]
    hall.config["CANTEEN"] = replace(settings, public=replace(settings.public, reports_per_hour=2))
    file_directly(hall, 2, address=ADDRESS, device="device-of-another-reporter-y")
    assert post_report(hall.test_client()).status_code == 429


def test_where_a_report_came_from_is_kept_only_as_keyed_digests(hall):
    c = hall.test_client()
    c.get("/neighbourhood/new")
    device = c.get_cookie("canteen_device", path="/neighbourhood").value
    row = report_row(hall, filed_number(post_report(c)))
    kept = " ".join(str(v) for v in row.model_dump().values())
    assert ADDRESS not in kept and device not in kept
    assert re.fullmatch(r"[0-9a-f]{64}", row.source_hmac) and re.fullmatch(r"[0-9a-f]{64}", row.device_hmac)


# -- the photo ---------------------------------------------------------------------------------------

def gps_jpeg_on_its_side() -> bytes:
    """A 40×20 photo, red on the left and blue on the right, that says "turn me 90° clockwise"
    (EXIF orientation 6) and where it was taken (GPS)."""
    picture = Image.new("RGB", (40, 20), "blue")
    picture.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (29.0, 57.0, 12.0),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 27.0, 30.0)}
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, quality=95)
    data = out.getvalue()
    assert b"Exif\x00\x00" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def test_a_photo_is_kept_upright_without_its_location_or_any_metadata(hall):
    number = filed_number(post_report(hall.test_client(), photo=gps_jpeg_on_its_side()))
    kept = stored_photo(hall, number)
    assert b"Exif" not in kept and b"PhoneMaker" not in kept
    assert not re.search(rb"\xff\xe1", kept[:kept.find(b"\xff\xda")]), "an APP1 (EXIF/XMP) segment survived"
    picture = Image.open(io.BytesIO(kept))
    assert picture.format == "JPEG" and not picture.getexif() and "exif" not in picture.info
    assert picture.size == (20, 40)  # turned upright: the red half on top
    red, blue = picture.getpixel((10, 5)), picture.getpixel((10, 35))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


def test_a_large_photo_is_scaled_down_to_1280_on_its_long_side():
    kept = clean_photo(jpeg((3000, 2000)))
    assert (kept.width, kept.height) == (1280, 853)


def test_a_png_is_accepted_and_its_transparency_made_white(hall):
    picture = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    out = io.BytesIO()
    picture.save(out, "PNG")
    number = filed_number(post_report(hall.test_client(), photo=out.getvalue(), filename="screenshot.png"))
    kept = Image.open(io.BytesIO(stored_photo(hall, number)))
    assert kept.format == "JPEG" and min(kept.getpixel((15, 15))) > 240


def test_a_photo_of_8_mb_is_accepted(hall):
    data = jpeg((1600, 1200), quality=95)
    data += b"\0" * (MAX_BYTES - len(data))  # what follows the picture's end is not read
    assert len(data) == MAX_BYTES
    number = filed_number(post_report(hall.test_client(), photo=data))
    assert Image.open(io.BytesIO(stored_photo(hall, number))).size == (1280, 960)


def bomb(pixels: tuple[int, int]) -> bytes:
    """A PNG of a few kilobytes that unpacks to ``pixels``."""
    out = io.BytesIO()
    Image.new("1", pixels).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.mark.parametrize("name, data, words", [
    ("notes.jpg", "这不是照片".encode() * 50, "无法识别这张照片"),
    ("empty-ish.jpg", b"\xff\xd8\xff\xe0 truncated", "无法识别这张照片"),
    ("bomb.png", None, "照片像素太多"),
    ("too-large.jpg", b"\xff" * (MAX_BYTES + 1), "照片太大"),
])
def test_what_is_not_a_safe_picture_is_refused_with_a_reason(hall, name, data, words):
    data = bomb((9000, 5000)) if data is None else data
    r = post_report(hall.test_client(), photo=data, filename=name)
    assert r.status_code == 422 and words in r.text
    with hall.extensions["canteen_db"].session() as s:
        assert s.exec(select(NeighbourhoodReportPhoto)).first() is None


def test_a_picture_past_pillows_own_bomb_limit_is_refused_not_a_500():
    from pos.refusal import Refusal

    with pytest.raises(Refusal) as refused:
        clean_photo(bomb((20000, 10000)))
    assert refused.value.code == "photo_too_many_pixels"


def test_a_20_mb_body_is_refused_413_with_a_page_saying_what_to_do(hall):
    r = post_report(hall.test_client(), photo=b"\xff" * (20 * 1024 * 1024))
    assert r.status_code == 413
    assert "照片太大" in r.text and "不附照片" in r.text


# -- the staff's follow-up ---------------------------------------------------------------------------

def test_staff_pass_a_report_on_and_the_reporter_reads_the_status_and_note(hall):
    reporter = hall.test_client()
    number = filed_number(post_report(reporter, phone=PHONE, photo=jpeg()))
    registrar = signed_in(hall, "registrar")
    queue = registrar.get("/backoffice/neighbourhood")
    assert queue.status_code == 200 and number in queue.text
    report_id = report_row(hall, number).id
    page = registrar.get(f"/backoffice/neighbourhood/{report_id}")
    assert PHONE in page.text and WORDS in page.text
    photo = registrar.get(f"/backoffice/neighbourhood/{report_id}/photo.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.headers["Cache-Control"] == "no-store"

    r = registrar.post(f"/backoffice/neighbourhood/{report_id}/update",
                       data={"status": "passed_on", "passed_to": "城管中队", "note": "已转城管中队，预计三天内修复"})
    assert r.status_code == 302
    assert "已转交" in registrar.get("/backoffice/neighbourhood?status=passed_on").text

    follow = reporter.get(f"/neighbourhood/{number}")
    assert "已转交" in follow.text and "城管中队" in follow.text and "预计三天内修复" in follow.text
    for secret in (PHONE, STAFF_NAME, "registrar", ADDRESS):
        assert secret not in follow.text

    with hall.extensions["canteen_db"].session() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "neighbourhood_report_updated")).one()
    assert entry.target == report_id and '"report_status": "passed_on"' in entry.detail and PHONE not in entry.detail
    log = signed_in(hall, "admin").get("/backoffice/audit").text
    assert "居民反映已处理" in log and "已转交" in log and "passed_on" not in log


@pytest.mark.parametrize("form, status, words", [
    ({"status": "passed_on", "passed_to": ""}, 422, "请填写转交给哪个单位"),
    ({"status": "on_holiday"}, 422, "未知的处理状态"),
    ({"status": "received"}, 422, "状态没有变化"),
    ({"status": "solved", "note": "长" * 501}, 422, "说明请在 500 字以内"),
])
def test_an_update_that_breaks_the_rules_is_refused_with_the_reason(hall, form, status, words):
    number = filed_number(post_report(hall.test_client()))
    report_id = report_row(hall, number).id
    r = signed_in(hall, "registrar").post(f"/backoffice/neighbourhood/{report_id}/update", data=form)
    assert r.status_code == status and words in r.text
    assert report_row(hall, number).status == "received"


def test_solved_keeps_whom_it_was_passed_on_to_and_received_takes_it_back(hall):
    number = filed_number(post_report(hall.test_client()))
    report_id = report_row(hall, number).id
    staff = signed_in(hall, "supervisor")
    url = f"/backoffice/neighbourhood/{report_id}/update"
    assert staff.post(url, data={"status": "passed_on", "passed_to": "市政所"}).status_code == 302
    assert staff.post(url, data={"status": "solved", "note": "已修好"}).status_code == 302
    assert (report_row(hall, number).status, report_row(hall, number).passed_to) == ("solved", "市政所")
    assert staff.post(url, data={"status": "received", "note": "又坏了"}).status_code == 302
    assert (report_row(hall, number).status, report_row(hall, number).passed_to) == ("received", "")


def test_a_supervisor_of_another_canteen_neither_sees_nor_moves_a_report(hall):
    number = filed_number(post_report(hall.test_client(), canteen="YLW01", phone=PHONE))
    report_id = report_row(hall, number).id
    other = signed_in(hall, "jm-supervisor")
    assert number not in other.get("/backoffice/neighbourhood").text
    assert other.get(f"/backoffice/neighbourhood/{report_id}").status_code == 403
    assert other.get(f"/backoffice/neighbourhood/{report_id}/photo.jpg").status_code == 403
    assert other.get("/backoffice/neighbourhood?canteen=YLW01").status_code == 403
    r = other.post(f"/backoffice/neighbourhood/{report_id}/update", data={"status": "solved", "note": "x"})
    assert r.status_code == 403 and report_row(hall, number).status == "received"
    # A report filed at their own canteen they do see.
    jm = filed_number(post_report(hall.test_client(), canteen="JM01", address="198.51.100.9"))
    assert jm in other.get("/backoffice/neighbourhood").text


@pytest.mark.parametrize("role_user", ["cashier", "accountant"])
def test_staff_outside_the_community_desk_are_refused(hall, role_user):
    assert signed_in(hall, role_user).get("/backoffice/neighbourhood").status_code == 403


def test_no_public_page_shows_a_phone_a_staff_name_or_the_address(hall):
    reporter = hall.test_client()
    number = filed_number(post_report(reporter, phone=PHONE))
    report_id = report_row(hall, number).id
    signed_in(hall, "registrar").post(f"/backoffice/neighbourhood/{report_id}/update",
                                      data={"status": "solved", "note": "路面已修复"})
    for url in (f"/neighbourhood/{number}", f"/neighbourhood/{number}?new=1", "/neighbourhood",
                "/neighbourhood/new?canteen=YLW01", f"/neighbourhood?number={number.lower()}"):
        page = hall.test_client().get(url, follow_redirects=True, environ_base={"REMOTE_ADDR": ADDRESS})
        assert page.status_code == 200, url
        for secret in (PHONE, STAFF_NAME, "registrar", ADDRESS):
            assert secret not in page.text, (url, secret)


def test_the_chinese_pages_hold_no_english_words(hall):
    number = filed_number(post_report(hall.test_client(), photo=jpeg()))
    report_id = report_row(hall, number).id
    registrar = signed_in(hall, "registrar")
    pages = [hall.test_client().get(u).text for u in
             ("/neighbourhood/new", f"/neighbourhood/{number}", "/neighbourhood?number=ZZ")]
    pages += [registrar.get(u).text for u in ("/backoffice/neighbourhood", f"/backoffice/neighbourhood/{report_id}")]
    for html in pages:
        text = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", html, flags=re.S).replace(number, " ")
        assert not {w for w in re.findall(r"[A-Za-z]{3,}", text)} - {"English"}, text[:2000]
