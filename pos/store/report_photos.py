"""A neighbourhood report's photo, kept without anything that says where or by whom it was taken.

A phone's photo carries EXIF: the GPS position (often the reporter's home), the phone's
make and serial, the time.  The photo is opened, turned upright by its orientation tag,
made no larger than :data:`LONG_SIDE` pixels on its long side and encoded again as a plain
JPEG from its pixels alone, so no metadata block of the upload survives.  What cannot be
opened as a picture, and pictures too large to decode safely (a "decompression bomb": a
small file that unpacks to gigabytes), are refused with a reason the reporter can act on.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from pos.refusal import Refusal

#: The largest photo file accepted (a phone's full-size photo is 2 to 6 MB).
MAX_BYTES = 8 * 1024 * 1024
#: The most pixels a photo may have (a 48-megapixel phone's full size is refused; its
#: default 12 MP is far below).  Checked on the header, before any pixel is decoded.
MAX_PIXELS = 40_000_000
#: The long side of the kept photo: enough to see a pothole or a broken lamp.
LONG_SIDE = 1280
JPEG_QUALITY = 80
#: What phones and browsers send (MPO is the JPEG some phones write with a second frame).
FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})


@dataclass(frozen=True)
class Photo:
    """A photo as kept: JPEG bytes with no metadata, and its size in pixels."""

    jpeg: bytes
    width: int
    height: int


def _unreadable() -> Refusal:
    return Refusal("photo_unreadable", "无法识别这张照片，请拍照或选择 JPG、PNG 格式的图片",
                   "the photo could not be read; take a photo or choose a JPG or PNG picture")


def _too_many_pixels() -> Refusal:
    return Refusal("photo_too_many_pixels", "照片像素太多，请用手机相机的普通尺寸拍照",
                   f"the photo has too many pixels (at most {MAX_PIXELS // 1_000_000} megapixels); "
                   "take it at the camera's normal size")


def clean_photo(data: bytes) -> Photo:
    """``data`` (an uploaded picture) upright, at most :data:`LONG_SIDE` px, as a JPEG with no
    EXIF, GPS or other metadata; refuses what is empty, too large, not a picture or a bomb."""
    if len(data) > MAX_BYTES:
        raise Refusal("photo_too_large", f"照片太大，最大 {MAX_BYTES // (1024 * 1024)} MB",
                      f"the photo is too large (at most {MAX_BYTES // (1024 * 1024)} MB)")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it; any such picture is a bomb here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
            if picture.format not in FORMATS:
                raise _unreadable()
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels()
            if picture.format in ("JPEG", "MPO"):
                # Decode at 1/2, 1/4 or 1/8 scale when that still covers the kept size.
                picture.draft("RGB", (LONG_SIDE, LONG_SIDE))
            picture.load()
            picture = ImageOps.exif_transpose(picture)
            picture = _flattened(picture)
            picture.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # Not a picture, or a truncated or corrupt one (Pillow's decoders raise all of these).
        raise _unreadable() from None
    # A new image made from the pixels alone: nothing of the upload's info (EXIF, XMP, ICC,
    # comments) can ride along into the saved file.
    bare = Image.frombytes("RGB", picture.size, picture.tobytes())
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return Photo(jpeg=out.getvalue(), width=bare.width, height=bare.height)


def _flattened(picture: Image.Image) -> Image.Image:
    """RGB, a transparent background made white (as a screenshot looks), not black."""
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return picture.convert("RGB")
