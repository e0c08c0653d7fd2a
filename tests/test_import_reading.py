"""Reading the files provinces keep: Vietnamese or English headers, CSV with or without a BOM,
comma or semicolon, Vietnamese dates and words; the same member comes out either way. Pure."""

from __future__ import annotations

import pytest

from syncd.core.org import Unit
from syncd.importer.checks import check
from syncd.importer.reading import read_csv, read_file

ENGLISH = (
    "cell,full_name,card_number,birth_date,gender,joined_date,official_date,status,"
    "registered_at_residence\n"
    "c1,Giàng Mí Pà,12.000001,1970-03-05,female,1995-01-01,1996-01-01,full,yes\n"
)
VIETNAMESE = (
    "Chi bộ;Họ và tên;Số thẻ đảng;Ngày sinh;Giới tính;Ngày vào Đảng;Ngày chính thức;"
    "Trạng thái;Đảng viên nơi cư trú\n"
    "c1;Giàng Mí Pà;12.000001;05/03/1970;Nữ;01/01/1995;01/01/1996;Chính thức;có\n"
)
UNITS = {"c1": Unit("c1", "g", "cell", "Chi bộ")}


def _members(data: bytes) -> list:
    checked = check(read_csv(data), UNITS, lambda level, p: True, lambda c: True, {})
    assert checked.problems == []
    return checked.members


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
def test_vietnamese_and_english_headers_read_the_same(bom: bytes) -> None:
    english = _members(bom + ENGLISH.encode())
    vietnamese = _members(bom + VIETNAMESE.encode())
    assert english == vietnamese
    (m,) = english
    assert m.status == "full" and m.fields["gender"] == "female"
    assert m.fields["birth_date"] == "1970-03-05"
    assert m.fields["residence"] == {"registered": True}


def test_headers_without_diacritics_and_unknown_columns() -> None:
    data = "chi bo,ho va ten,trang thai,ghi chu\nc1,Lò Văn Dũng,du bi,xyz\n".encode()
    checked = check(read_csv(data), UNITS, lambda level, p: True, lambda c: True, {})
    assert [m.status for m in checked.members] == ["probationary"]
    assert [(w.code, w.value) for w in checked.warnings] == [("unknown_column", "ghi chu")]


def test_a_file_that_is_neither_is_refused_with_a_code() -> None:
    from schema.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        read_file(b"\xff\xfe not text at all")
    assert refused.value.code == "bad_import_file"
    with pytest.raises(ValidationError) as refused:
        read_file(b"PK\x03\x04 a broken workbook", "x.xlsx")
    assert refused.value.code == "bad_import_file"


def test_likely_duplicates_ignore_case_spacing_and_diacritics() -> None:
    rows = (
        "cell,full_name,birth_date,status\n"
        "c1,Nguyễn Văn Hùng,1970-01-01,dự bị\n"
        "c1,nguyen  van hung,1970-01-01,dự bị\n"  # typed without diacritics: same person
        "c1,Nguyễn Văn Hưng,1971-02-02,dự bị\n"  # another name, another birth date
        "c1,NGUYỄN VĂN HƯNG,,dự bị\n"  # the same name, no birth date: likely the same
        "c1,Nguyen Van Hung,1980-05-05,dự bị\n"  # loose match but another birth date
    ).encode()
    checked = check(read_csv(rows), UNITS, lambda level, p: True, lambda c: True, {})
    assert [(p.row, p.code) for p in checked.problems] == [
        (3, "likely_duplicate"),
        (5, "likely_duplicate"),
    ]
    assert [m.row for m in checked.members] == [2, 4, 6]
