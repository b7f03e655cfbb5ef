"""Report test helpers: poppler's pdftotext / pdffonts / pdftoppm on rendered PDFs, and
CSV parsing the way a spreadsheet reads the files."""
from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path




from support import artifact_dir, need_tool


class Poppler:
    """Runs the poppler-utils tools on PDF bytes in a temporary folder."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.pdftotext = need_tool("pdftotext", "poppler-utils")
        self.pdffonts = need_tool("pdffonts", "poppler-utils")
        self.pdftoppm = need_tool("pdftoppm", "poppler-utils")

    def _file(self, pdf: bytes, name: str) -> Path:
        path = self.tmp / name
        path.write_bytes(pdf)
        return path

    def text(self, pdf: bytes, name: str = "report.pdf") -> str:
        """The PDF's text in layout order (one table row per line)."""
        path = self._file(pdf, name)
        return subprocess.run([self.pdftotext, "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True, timeout=60).stdout

    def fonts(self, pdf: bytes, name: str = "report.pdf") -> list[list[str]]:
        """pdffonts' rows (after the two header lines), split on whitespace."""
        path = self._file(pdf, name)
        out = subprocess.run([self.pdffonts, str(path)], capture_output=True, text=True, check=True,
                             timeout=60).stdout
        return [line.split() for line in out.splitlines()[2:] if line.strip()]

    def rasterise_first_page(self, pdf: bytes, stem: str) -> Path:
        """The first page as an 80 dpi PNG kept in test-artifacts/reports/ (look at it)."""
        path = self._file(pdf, stem + ".pdf")
        target = artifact_dir("reports") / stem
        subprocess.run([self.pdftoppm, "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile", str(path),
                        str(target)], check=True, timeout=60)
        return target.with_suffix(".png")


def line_with(text: str, label: str) -> str:
    """The first line of ``text`` containing ``label`` (fails the test when there is none)."""
    for line in text.splitlines():
        if label in line:
            return line
    raise AssertionError(f"no line with {label!r} in:\n{text}")


def read_csv(body: bytes) -> list[list[str]]:
    """Rows of a CSV that must start with a UTF-8 byte-order mark."""
    assert body.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel/WPS"
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
