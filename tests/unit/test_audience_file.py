"""An audience file streamed in chunks: rows and their end offsets, whatever the chunking, resumable at any row."""

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.audience_file import NotText, rows

TEXT = ('phone,name,consent_source,consent_at,notice_version,language\n'
        '98765 43210,सीता,"form, booth 12",2021-03-01,v1,hi\r\n'
        '\n'
        '98765 43211,"राम\nकुमार",missed call,2021-03-01,v1,hi\n'
        '98765 43212,Asha,reply,2021-03-02,v1,en').encode()


def chunked(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


@given(st.integers(min_value=1, max_value=len(TEXT)))
def test_rows_do_not_depend_on_how_the_bytes_were_chunked(size):
    read = list(rows(chunked(TEXT, size)))
    assert [r.number for r in read] == [1, 2, 3, 4, 5]
    assert read[1].cells[2] == "form, booth 12" and read[3].cells[1] == "राम\nकुमार"
    assert read[2].cells == [] and read[-1].end == len(TEXT)


def test_an_import_resumed_at_a_row_end_reads_the_same_rows_after_it():
    whole = list(rows([TEXT]))
    for stop in whole[:-1]:
        resumed = list(rows(chunked(TEXT[stop.end:], 7), start=stop.end, first_row=stop.number + 1))
        assert [(r.number, r.cells, r.end) for r in resumed] == [(r.number, r.cells, r.end) for r in whole
                                                                 if r.number > stop.number]


def test_excels_byte_order_mark_is_not_part_of_the_first_column():
    assert next(rows([codecs.BOM_UTF8 + TEXT])).cells[0] == "phone"


def test_a_file_that_is_not_utf8_says_how_to_save_it():
    with pytest.raises(NotText, match="CSV UTF-8"):
        list(rows([b"phone,name\n", "98765 43210,सीता\n".encode("utf-16")]))
