from urllib.parse import quote_plus

import pytest

from chalicelib.domain.scope import Scope, ScopeError, decode_s3_key, resolve_media_path, split_scoped_key


@pytest.mark.parametrize("text, expected", [
    ("state", Scope("state")),
    ("district/bhilwara", Scope("district", "bhilwara")),
    ("constituency/sahada", Scope("constituency", "sahada")),
    ("/constituency/sahada/", Scope("constituency", "sahada")),
])
def test_scopes_parse(text, expected):
    assert Scope.parse(text) == expected
    assert str(expected) == text.strip("/")


@pytest.mark.parametrize("text", ["", "nation", "district", "district/Bhilwara", "constituency/a/b", "state/x",
                                  "district/सहाड़ा"])
def test_bad_scopes_are_refused_with_the_forms_that_work(text):
    with pytest.raises(ScopeError, match="state|id"):
        Scope.parse(text)


@pytest.mark.parametrize("key", [
    "content/constituency/sahada/2021-03/बजट घोषणा.yaml",
    "content/state/daily roundup (final).json",
    "content/district/bhilwara/a+b.yml",
])
def test_s3_event_keys_decode_plus_and_percent_encoding(key):
    assert decode_s3_key(quote_plus(key, safe="/")) == key
    assert decode_s3_key(quote_plus(key)) == key  # some emitters encode '/' too


def test_a_key_decides_area_scope_and_folder():
    scoped = split_scoped_key("content/constituency/sahada/2021-03/day1.yaml")
    assert (scoped.area, str(scoped.scope), scoped.relative_path) == ("content", "constituency/sahada",
                                                                      "2021-03/day1.yaml")
    assert scoped.folder == "content/constituency/sahada/2021-03"
    assert str(split_scoped_key("content/state/post.yaml").scope) == "state"


@pytest.mark.parametrize("key", ["content/post.yaml", "content/district/post.yaml", "content/constituency/sahada/",
                                 "content/nation/x/post.yaml"])
def test_keys_outside_a_scope_are_refused(key):
    with pytest.raises(ScopeError):
        split_scoped_key(key)


def test_media_paths_are_relative_to_the_manifest_and_stay_in_scope():
    scoped = split_scoped_key("content/constituency/sahada/2021-03/day1.yaml")
    assert resolve_media_path(scoped, "poster.jpg") == "content/constituency/sahada/2021-03/poster.jpg"
    assert resolve_media_path(scoped, "../shared/logo.png") == "content/constituency/sahada/shared/logo.png"
    for escape in ("../../vallabhnagar/poster.jpg", "/content/state/x.jpg", "../../../../config/campaign.yaml"):
        with pytest.raises(ScopeError):
            resolve_media_path(scoped, escape)
