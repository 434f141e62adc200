"""Writes the hostile-input corpus (tests/corpus/*/…) and its index (tests/corpus/index.yaml).

Many of these files hold bytes no editor shows — byte-order marks, NUL, direction overrides, UTF-16 — so the
bytes are made here, where they can be read. Run `python tests/corpus/generate.py` after changing an entry;
tests/unit/test_hostile_corpus.py checks every file against the verdict the index gives it.

Verdicts (what the pure decode + validate path that the Lambdas run must say, against tests/support/campaign.yaml):
- manifests and configs: `accepted`, or `rejected` with the `field` of one of the problems;
- calendars: `rejected` (the file as a whole, with a `field`), or `rows`: how many rows are `accepted` and,
  per rejected row, the field of one of its problems;
- webhooks (POST /webhooks/whatsapp bodies, checked by the webhook's owner): `expected`, in words.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

VALID = "title: बजट घोषणा — सहाड़ा\ntext: सहाड़ा में नया महाविद्यालय।\npublish_at: 2021-03-05T09:00:00+05:30\n"
HEADER = "publish_at,platforms,title,text,link,media,series"
GOOD_ROW = "2021-03-10T09:00,facebook,अच्छी पंक्ति,सहाड़ा में सड़कें,,,"


def manifest(**fields: Any) -> bytes:
    """A valid manifest with some fields replaced, as JSON."""
    document: dict[str, Any] = {"title": "बजट घोषणा", "text": "सहाड़ा में नया महाविद्यालय।",
                                "publish_at": "2021-03-05T09:00:00+05:30"}
    document.update(fields)
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def csv_file(*rows: str, bom: bool = True, newline: str = "\r\n") -> bytes:
    return (("\ufeff" if bom else "") + newline.join((HEADER, *rows)) + newline).encode("utf-8")


def rejected(field: str) -> dict[str, Any]:
    return {"verdict": "rejected", "field": field}


ACCEPTED = {"verdict": "accepted"}


def rows(accepted: int, **rejected_rows: str) -> dict[str, Any]:
    return {"verdict": "rows", "accepted": accepted,
            "rejected": {int(row.removeprefix("row")): field for row, field in rejected_rows.items()}}


def nested_yaml(depth: int) -> bytes:
    return ("title: t\ntext: x\nz:\n" + "".join("  " * i + "- \n" for i in range(1, depth))).encode()


MANIFESTS: list[tuple[str, bytes, str, dict[str, Any]]] = [
    # ---- valid but weird: must be accepted -----------------------------------------------------------------
    ("valid-devanagari.yaml", VALID.encode(),
     "Devanagari title and text, the everyday case", ACCEPTED),
    ("valid-crlf.yaml", VALID.replace("\n", "\r\n").encode(), "Windows line ends (CRLF)", ACCEPTED),
    ("valid-bom-utf8.yaml", codecs.BOM_UTF8 + VALID.encode(), "UTF-8 with a byte-order mark (Notepad)", ACCEPTED),
    ("valid-bom-utf8.json", codecs.BOM_UTF8 + manifest(), "JSON with a UTF-8 byte-order mark", ACCEPTED),
    ("valid-unicode-escapes.json", manifest(title="\\u092c\\u091c\\u091f").replace(b"\\\\u", b"\\u"),
     "Devanagari written as \\u escapes in JSON", ACCEPTED),
    ("valid-alias-and-merge-key.yaml",
     ("title: t\ntext: &t सहाड़ा में नया महाविद्यालय।\noverrides:\n  facebook: &base {link: 'https://example.org/b'}\n"
      "  x: {<<: *base, text: *t}\n").encode(), "a YAML anchor, an alias and a merge key, used sparingly",
     ACCEPTED),
    ("valid-formula-like-text.yaml",
     ("title: \"=HYPERLINK(\\\"https://evil.example\\\",\\\"click\\\")\"\ntext: \"+91 98000 00000 पर कॉल करें; "
      "@SahadaVikas -- =SUM(A1:A9)\"\nplatforms: [facebook]\n").encode(),
     "spreadsheet-formula-looking title and text: plain text for a post, never evaluated", ACCEPTED),
    ("valid-yaml-equals-and-merge-as-text.yaml", b"title: t\ntext: =\nmcmc_certificate: <<\n",
     "a bare '=' and '<<' as values (PyYAML has no constructor for these tags)", ACCEPTED),
    ("valid-emoji-zwj-conjunct.yaml",
     "title: परिवार 👨‍👩‍👧‍👦\ntext: क्‍ष and क्‌ष — ZWJ/ZWNJ shape Devanagari; 🇮🇳 👍🏽\n".encode(),
     "emoji ZWJ sequences, flags, skin tones, ZWJ/ZWNJ inside Devanagari (needed, so allowed)", ACCEPTED),
    ("valid-urdu-rlm.yaml", "title: اردو\u200f عنوان\ntext: سہاڑا میں نیا کالج\u200f\n".encode(),
     "right-to-left text with RLM marks (allowed: they change no text's order)", ACCEPTED),
    ("valid-date-only.yaml", b"title: t\ntext: x\npublish_at: 2021-03-05\n",
     "a YAML date without a time (midnight IST)", ACCEPTED),
    ("valid-platform-aliases-repeated.yaml", b"title: t\ntext: x\nplatforms: [twitter, x, ' X ', facebook]\n",
     "twitter for x, case, spaces and repeats", ACCEPTED),
    ("valid-overlong-comment-line.yaml", b"# " + b"x" * 100_000 + b"\n" + VALID.encode(),
     "a 100,000-character line (a comment) before valid fields", ACCEPTED),
    ("valid-long-text-facebook.yaml", ("title: t\nplatforms: [facebook]\ntext: " + "शब्द " * 1990 + "\n").encode(),
     "9,950 characters on one line, for Facebook only (under the 10,000 limit)", ACCEPTED),
    ("valid-uppercase-extension.JSON", manifest(), "an upper-case .JSON suffix is still JSON", ACCEPTED),
    # ---- broken syntax ----------------------------------------------------------------------------------
    ("syntax-unclosed-flow.yaml", b"title: [oops\ntext: x\n", "an unclosed [", rejected("(file)")),
    ("syntax-bad-indent.yaml", b"title: t\n  text: bad indent\n", "indentation", rejected("(file)")),
    ("syntax-tab-indent.yaml", b"title: t\noverrides:\n\tx: {text: y}\n", "a tab as indentation",
     rejected("(file)")),
    ("syntax-trailing-comma.json", b'{"title": "t", "text": "x",}', "a trailing comma", rejected("(file)")),
    ("syntax-single-quotes.json", b"{'title': 't'}", "single quotes", rejected("(file)")),
    ("syntax-truncated.json", b'{"title": "t", "text": "cut off', "a file cut off mid-string",
     rejected("(file)")),
    ("syntax-undefined-alias.yaml", b"title: t\ntext: *nowhere\n", "an alias with no anchor", rejected("(file)")),
    ("multi-document.yaml", b"title: a\n---\ntitle: b\n", "two YAML documents in one file", rejected("(file)")),
    ("not-a-mapping-list.yaml", b"- title: t\n- text: x\n", "a list instead of fields", rejected("(file)")),
    ("not-a-mapping-scalar.json", b'"just text"', "a JSON string instead of an object", rejected("(file)")),
    ("empty.yaml", b"", "an empty file", rejected("(file)")),
    ("whitespace-only.yml", b" \n\t\r\n  \n", "only white space", rejected("(file)")),
    ("bom-only.yaml", codecs.BOM_UTF8, "only a byte-order mark", rejected("(file)")),
    ("oversize.yaml", b"title: t\ntext: x\n# " + b"padding " * 32_800 + b"\n", "over the 256 KiB limit",
     rejected("(file)")),
    # ---- binary junk and encodings ----------------------------------------------------------------------
    ("binary-png.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256)),
     "an image uploaded under a manifest name", rejected("(file)")),
    ("binary-gzip.json", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(255, 0, -1)),
     "gzip bytes", rejected("(file)")),
    ("utf16-le-bom.yaml", codecs.BOM_UTF16_LE + VALID.encode("utf-16-le"), "UTF-16 LE with BOM (Windows 'Unicode')",
     rejected("(file)")),
    ("utf16-be-bom.json", codecs.BOM_UTF16_BE + manifest().decode().encode("utf-16-be"), "UTF-16 BE with BOM",
     rejected("(file)")),
    ("utf32-le-bom.yaml", codecs.BOM_UTF32_LE + VALID.encode("utf-32-le"), "UTF-32 LE with BOM",
     rejected("(file)")),
    ("utf16-le-no-bom.yaml", b"title: t\n".decode().encode("utf-16-le"), "UTF-16 without a BOM (NUL every other byte)",
     rejected("(file)")),
    ("latin1.yaml", "title: café crème\ntext: x\n".encode("latin-1"), "Latin-1 bytes", rejected("(file)")),
    ("cp1252-smart-quotes.yaml", "title: “quoted” – dash\ntext: x\n".encode("cp1252"),
     "Windows-1252 smart quotes", rejected("(file)")),
    ("overlong-utf8.yaml", b"title: \xc0\xaf\xc0\xae\ntext: x\n", "overlong UTF-8 encodings of '/' and '.'",
     rejected("(file)")),
    ("utf8-encoded-surrogate.yaml", b"title: \xed\xa0\x80\ntext: x\n", "a UTF-16 surrogate encoded as UTF-8 (CESU)",
     rejected("(file)")),
    ("nul-byte.yaml", b"title: t\x00\ntext: x\n", "a NUL byte", rejected("(file)")),
    # ---- control and bidi characters ------------------------------------------------------------------------
    ("control-bell-escape-title.json", manifest(title="alert\u0007 \u001b[31mred\u001b[0m"),
     "BEL and ANSI escape sequences in the title", rejected("title")),
    ("control-escape-text.yaml", b'title: t\ntext: "\\e[2J cleared"\n', "ESC in the text via a YAML escape",
     rejected("text")),
    ("bidi-override-title.yaml", "title: \u202egnp.exe — सहाड़ा\ntext: x\n".encode(),
     "RIGHT-TO-LEFT OVERRIDE in the title (Trojan Source)", rejected("title")),
    ("bidi-isolate-text.json", manifest(text="सहाड़ा \u2066अंदर\u2069 बाहर"), "bidi isolates in the text",
     rejected("text")),
    ("bidi-media-name.yaml", "title: t\ntext: x\nplatforms: [facebook]\nmedia: [\"poster\u202egnp.exe\"]\n".encode(),
     "RLO in a media file name: shows .png, names .exe", rejected("media[0]")),
    ("newline-in-title.json", manifest(title="line one\nline two"), "a line break in the one-line title",
     rejected("title")),
    ("json-surrogate-escape.json", b'{"title": "\\ud800", "text": "x"}', "a lone surrogate as a JSON escape",
     rejected("title")),
    ("json-surrogate-key.json", b'{"title": "t", "text": "x", "\\udfff\\u202e": 1}',
     "a lone surrogate and an RLO in an unknown key (must not reach the UTF-8 report)", rejected("(file)")),
    # ---- bombs, aliases, nesting ------------------------------------------------------------------------------
    ("billion-laughs.yaml", (b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
                             + b"".join(b"%c: &%c [%s]\n" % (c, c, b",".join([b"*%c" % (c - 1)] * 9))
                                        for c in range(ord("b"), ord("j")))
                             + b"title: t\ntext: *i\n"), "the billion laughs alias bomb", rejected("(file)")),
    ("alias-quadratic.yaml", b"title: t\ntext: &big " + b"x" * 9_000 + b"\nplatforms: [whatsapp]\noverrides:\n"
     b"  whatsapp: {template: t, params: [" + b", ".join([b"*big"] * 20) + b"]}\n",
     "20 aliases of a 9 KB string: few aliases, large expansion", rejected("(file)")),
    ("alias-many.yaml", b"title: &t t\ntext: x\nz: [" + b", ".join([b"*t"] * 101) + b"]\n",
     "more aliases than allowed", rejected("(file)")),
    ("alias-self-reference.yaml", b"title: t\ntext: x\nmedia: &m [*m]\n", "a list that contains itself",
     rejected("(file)")),
    ("alias-self-merge.yaml", b"title: t\ntext: x\noverrides: &o {x: {<<: *o}}\n", "a merge key that merges itself",
     rejected("(file)")),
    ("deep-nesting-flow.yaml", b"title: t\nz: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
     "10,000 nested [ (RecursionError in PyYAML's composer)", rejected("(file)")),
    ("deep-nesting-block.yaml", nested_yaml(40), "40 nested block lists", rejected("(file)")),
    ("deep-nesting.json", b'{"title": "t", "z": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
     "5,000 nested arrays (RecursionError in json)", rejected("(file)")),
    ("deep-nesting-objects.json", b'{"title": "t", "z": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}",
     "40 nested objects: within Python's limits, over ours", rejected("(file)")),
    # ---- YAML tags and keys -----------------------------------------------------------------------------------
    ("python-object-apply.yaml", b"title: !!python/object/apply:os.system ['echo pwned']\ntext: x\n",
     "!!python/object/apply (code execution with an unsafe loader)", rejected("(file)")),
    ("python-name.yaml", b"title: t\ntext: !!python/name:os.system\n", "!!python/name", rejected("(file)")),
    ("binary-tag.yaml", b"title: !!binary aGVsbG8=\ntext: x\n", "!!binary (bytes smuggled in as text)",
     rejected("(file)")),
    ("set-tag.yaml", b"title: t\ntext: x\nplatforms: !!set {facebook, x}\n", "!!set", rejected("(file)")),
    ("custom-tag.yaml", b"title: !Ref Title\ntext: x\n", "a CloudFormation-style custom tag", rejected("(file)")),
    ("explicit-int-not-a-number.yaml", b"title: t\ntext: x\npaid: !!int abc\n", "!!int on text (ValueError)",
     rejected("(file)")),
    ("explicit-int-underscore.yaml", b"title: t\ntext: x\npaid: !!int _\n", "!!int on '_' (IndexError)",
     rejected("(file)")),
    ("explicit-int-on-mapping.yaml", b"title: t\ntext: x\npaid: !!int {a: 1}\n",
     "!!int on a mapping (AttributeError in a scalar constructor; found by fuzzing)", rejected("(file)")),
    ("explicit-bool-not-a-bool.yaml", b"title: t\ntext: x\npaid: !!bool maybe\n", "!!bool on text (KeyError)",
     rejected("(file)")),
    ("explicit-timestamp-not-a-time.yaml", b"title: t\ntext: x\npublish_at: !!timestamp soon\n",
     "!!timestamp on text (AttributeError)", rejected("publish_at")),
    ("duplicate-keys.yaml", b"title: first\ntext: x\ntitle: second\n", "a field given twice", rejected("title")),
    ("duplicate-keys.json", b'{"title": "first", "text": "x", "title": "second"}', "a JSON key given twice",
     rejected("title")),
    ("duplicate-keys-nested.yaml", b"title: t\ntext: x\noverrides:\n  x: {text: a, text: b}\n",
     "a key given twice inside an override", rejected("text")),
    ("overrides-twitter-and-x.yaml", b"title: t\ntext: x\noverrides:\n  x: {text: a}\n  twitter: {text: b}\n",
     "two override names for one platform", rejected("overrides")),
    ("unhashable-key.yaml", b"title: t\ntext: x\n? [a, b]\n: c\n", "a list as a mapping key", rejected("(file)")),
    ("non-string-key.yaml", b"title: t\ntext: x\nplatforms: [x]\noverrides: {1: {text: a}}\n",
     "a number as an override name", rejected("overrides.1")),
    ("unknown-field.yaml", b"title: t\ntext: x\ncolour: red\n", "a field that does not exist", rejected("colour")),
    # ---- dates that do not exist, absurd years ----------------------------------------------------------------
    ("date-feb-30.yaml", b"title: t\ntext: x\npublish_at: 2021-02-30T09:00:00+05:30\n",
     "30 February (ValueError in YAML's timestamp constructor)", rejected("publish_at")),
    ("date-feb-29-non-leap.json", manifest(publish_at="2021-02-29T09:00:00+05:30"), "29 February 2021",
     rejected("publish_at")),
    ("date-feb-30-date-only.yaml", b"title: t\ntext: x\npublish_at: 2021-02-30\n", "a date-only 30 February",
     rejected("publish_at")),
    ("date-year-0.yaml", b"title: t\ntext: x\npublish_at: 0000-01-01T00:00:00\n", "year 0", rejected("publish_at")),
    ("date-year-9999.yaml", b"title: t\ntext: x\npublish_at: 9999-12-31T23:59:59-05:00\n",
     "year 9999 west of UTC (OverflowError converting to UTC)", rejected("publish_at")),
    ("date-year-1-east.yaml", b"title: t\ntext: x\npublish_at: 0001-01-01T00:00:00+14:00\n",
     "year 1 east of UTC (OverflowError converting to UTC)", rejected("publish_at")),
    ("date-year-99999.json", manifest(publish_at="99999-01-01T00:00:00"), "a five-digit year",
     rejected("publish_at")),
    ("date-hour-25.yaml", b"title: t\ntext: x\npublish_at: 2021-03-05T25:00:00+05:30\n", "hour 25",
     rejected("publish_at")),
    ("date-offset-25h.yaml", b"title: t\ntext: x\npublish_at: 2021-03-05 09:00:00 +25:00\n",
     "a 25-hour zone offset (ValueError in timezone())", rejected("publish_at")),
    ("date-unix-seconds.yaml", b"title: t\ntext: x\npublish_at: 1614916800\n",
     "seconds since 1970 (pydantic would take it silently)", rejected("publish_at")),
    ("date-number-string.json", manifest(publish_at="20210305"),
     "20210305 as text (pydantic reads it as 1970-08-22)", rejected("publish_at")),
    ("date-bool.yaml", b"title: t\ntext: x\npublish_at: yes\n", "YAML 1.1 'yes' is true", rejected("publish_at")),
    ("date-as-key.yaml", b"title: t\ntext: x\n2021-02-30: x\n", "a non-existent date as a mapping key",
     rejected("2021-02-30")),
    # ---- huge numbers -----------------------------------------------------------------------------------------
    ("huge-int.json", b'{"title": "t", "text": "x", "paid": ' + b"9" * 5_000 + b"}",
     "5,000 digits (ValueError: int max str digits)", rejected("(file)")),
    ("huge-int.yaml", b"title: t\ntext: x\npaid: " + b"9" * 5_000 + b"\n", "5,000 digits in YAML",
     rejected("(file)")),
    ("huge-hex-int.yaml", b"title: t\ntext: x\npaid: 0x" + b"f" * 20_000 + b"\n",
     "a 20,000-digit hex number (no digit limit applies to hex)", rejected("(file)")),
    ("huge-sexagesimal.yaml", b"title: t\ntext: x\npaid: 1" + b":59" * 5_000 + b"\n",
     "YAML 1.1 base-60 with 5,000 parts (quadratic big-int arithmetic)", rejected("(file)")),
    ("huge-float.json", manifest(paid=1).replace(b'"paid": 1', b'"paid": 1e400'), "1e400 overflows to infinity",
     rejected("(file)")),
    ("nan.json", manifest(paid=1).replace(b'"paid": 1', b'"paid": NaN'), "NaN is not JSON", rejected("(file)")),
    ("infinity.json", manifest(paid=1).replace(b'"paid": 1', b'"paid": -Infinity'), "-Infinity is not JSON",
     rejected("(file)")),
    ("yaml-nan-param.yaml", b"title: t\nplatforms: [whatsapp]\noverrides:\n  whatsapp: {template: t, params: [.nan]}\n",
     "YAML .nan as a template parameter", rejected("overrides.whatsapp.params[0]")),
    # ---- wrong types ------------------------------------------------------------------------------------------
    ("title-number.yaml", b"title: 2021\ntext: x\n", "a number as title", rejected("title")),
    ("title-list.yaml", b"title: [a, b]\ntext: x\n", "a list as title", rejected("title")),
    ("title-mapping.json", manifest(title={"hi": "नमस्ते"}), "an object as title", rejected("title")),
    ("title-null.yaml", b"title: ~\ntext: x\n", "null title", rejected("title")),
    ("title-too-long.yaml", b"title: " + b"t" * 301 + b"\ntext: x\n", "301 characters of title", rejected("title")),
    ("text-too-long.yaml", b"title: t\ntext: " + b"x" * 10_001 + b"\n", "10,001 characters of text",
     rejected("text")),
    ("whatsapp-text-too-long.yaml", b"title: t\nplatforms: [whatsapp]\ntext: " + b"word " * 1_000 + b"\n",
     "5,000 characters for WhatsApp (4,096 at most)", rejected("text")),
    ("x-thread-too-long.yaml", b"title: t\nplatforms: [x]\ntext: " + b"a" * 9_000 + b"\n",
     "9,000 characters without a space, for X (over 25 posts)", rejected("text")),
    ("platforms-nested-list.yaml", b"title: t\ntext: x\nplatforms: [[facebook]]\n",
     "a list inside platforms (TypeError: unhashable list)", rejected("platforms[0]")),
    ("platforms-mapping-item.yaml", b"title: t\ntext: x\nplatforms: [{facebook: true}]\n",
     "a mapping inside platforms (TypeError: unhashable dict)", rejected("platforms[0]")),
    ("platforms-mapping.json", manifest(platforms={"facebook": True}), "an object as platforms",
     rejected("platforms")),
    ("platforms-norway.yaml", b"title: t\ntext: x\nplatforms: [no]\n", "YAML 1.1 'no' is false",
     rejected("platforms[0]")),
    ("platforms-unknown.yaml", b"title: t\ntext: x\nplatforms: [myspace]\n", "a platform that does not exist",
     rejected("platforms[0]")),
    ("platforms-too-many.json", manifest(platforms=["facebook"] + [f"p{i}" for i in range(1_000)]),
     "1,001 platform names", rejected("platforms")),
    ("paid-perhaps.yaml", b"title: t\ntext: x\npaid: perhaps\n", "not a boolean", rejected("paid")),
    ("series-traversal.yaml", b"title: t\ntext: x\nseries: ../../reports\n", "a path as series name",
     rejected("series")),
    ("template-params-too-many.yaml", b"title: t\nplatforms: [whatsapp]\noverrides:\n  whatsapp: {template: t, "
     b"params: [" + b", ".join([b"p"] * 21) + b"]}\n", "21 template parameters", rejected("overrides.whatsapp.params")),
    # ---- media paths ------------------------------------------------------------------------------------------
    ("media-traversal.yaml", b"title: t\ntext: x\nmedia: [../../../state/logo.png]\n", "../ out of the scope",
     rejected("media[0]")),
    ("media-traversal-deep.yaml", b"title: t\ntext: x\nmedia: [../../../../../../../etc/passwd.png]\n",
     "../ past the bucket root", rejected("media[0]")),
    ("media-traversal-encoded.yaml", b"title: t\ntext: x\nplatforms: [facebook]\nmedia: ['%2e%2e/%2e%2e/x.gif']\n",
     "URL-encoded ../ (a literal name in S3: stays inside the scope, must name an uploaded file)", ACCEPTED),
    ("media-absolute.yaml", b"title: t\ntext: x\nmedia: [/etc/passwd.png]\n", "an absolute path",
     rejected("media[0]")),
    ("media-windows-backslash.yaml", b"title: t\ntext: x\nmedia: ['images\\poster.png']\n", "Windows backslashes",
     rejected("media[0]")),
    ("media-windows-drive.yaml", b"title: t\ntext: x\nmedia: ['C:/Users/team/poster.png']\n", "a Windows drive",
     rejected("media[0]")),
    ("media-url.yaml", b"title: t\ntext: x\nmedia: ['https://evil.example/poster.png']\n", "a web address",
     rejected("media[0]")),
    ("media-nul.json", manifest(media=["poster\u0000.png"]), "NUL in a media name", rejected("media[0]")),
    ("media-overlong-name.yaml", b"title: t\ntext: x\nmedia: [" + b"p" * 300 + b".png]\n",
     "a 304-character name", rejected("media[0]")),
    ("media-not-text.yaml", b"title: t\ntext: x\nmedia: [5, {a: b}]\n", "a number and a mapping as media",
     rejected("media[0]")),
    ("media-too-many.json", manifest(media=[f"p{i}.png" for i in range(11)]), "11 media files",
     rejected("media")),
    # ---- links --------------------------------------------------------------------------------------------------
    ("link-javascript.yaml", b"title: t\ntext: x\nlink: javascript:alert(1)\n", "a javascript: link",
     rejected("link")),
    ("link-with-spaces.yaml", b"title: t\ntext: x\nlink: https://example.org/a b\n", "spaces in a link",
     rejected("link")),
    ("link-broken-ipv6.yaml", b"title: t\ntext: x\nlink: 'http://[::1'\n",
     "an unclosed IPv6 literal (ValueError in urlsplit)", rejected("link")),
    ("link-crlf-injection.json", manifest(link="https://example.org/\r\nSet-Cookie: a=b"),
     "CRLF inside a link", rejected("link")),
]

CALENDARS: list[tuple[str, bytes, str, dict[str, Any]]] = [
    ("valid-excel-bom-crlf.csv", csv_file(GOOD_ROW, '2021-03-11T09:00,facebook;x,दिन 2,"दो\r\nपंक्तियाँ",,,'),
     "Excel 'CSV UTF-8': BOM, CRLF, a quoted line break, Devanagari", rows(2)),
    ("valid-libreoffice-lf.csv", csv_file(GOOD_ROW, '2021-03-11T09:00,x,"दिन, 2","कहा ""हाँ""",,,', bom=False,
                                          newline="\n"), "LibreOffice: no BOM, LF, quoted commas and quotes",
     rows(2)),
    ("valid-mac-cr.csv", csv_file(GOOD_ROW, "2021-03-11T09:00,x,दिन 2,ठीक,,,", bom=False, newline="\r"),
     "old Mac line ends (CR only)", rows(2)),
    ("valid-formula-cells.csv", csv_file(
        '2021-03-10T09:00,facebook,"=HYPERLINK(""https://evil.example"",""click"")",=1+1,,,',
        "2021-03-11T09:00,facebook,+91 98000 00000,+cmd|' /C calc'!A0,,,",
        "2021-03-12T09:00,x,@SUM(A1:A9),@SahadaVikas,,,",
        "2021-03-13T09:00,facebook,-2+3,- सूची,,,"),
     "formula-looking cells (=, +, @, -) in title and text: text for a post, never evaluated", rows(4)),
    ("valid-blank-lines.csv", csv_file("", GOOD_ROW, ",,,,,,", "", "2021-03-11T09:00,x,दिन 2,ठीक,,,"),
     "blank lines and an all-empty row between weeks", rows(2)),
    ("valid-header-case-and-spaces.csv", ("\ufeff Publish_At , PLATFORMS ,Title,TEXT,link,media,series\r\n"
                                          + GOOD_ROW + "\r\n").encode(),
     "header names in other cases and with spaces", rows(1)),
    ("valid-double-bom.csv", ("\ufeff\ufeff" + HEADER + "\n" + GOOD_ROW + "\n").encode(),
     "two byte-order marks", rows(1)),
    ("header-only.csv", csv_file(), "a header and no rows", rows(0)),
    ("formula-in-publish-at.csv", csv_file("=NOW(),facebook,एक,पाठ,,,", GOOD_ROW), "a formula as the time",
     rows(1, row2="publish_at")),
    ("formula-in-link.csv", csv_file('2021-03-10T09:00,facebook,एक,पाठ,"=HYPERLINK(""http://e.example"")",,',
                                     GOOD_ROW), "a formula as the link", rows(1, row2="link")),
    ("formula-in-media.csv", csv_file('2021-03-10T09:00,facebook,एक,पाठ,,"=IMAGE(""https://e.example/x.png"")",',
                                      GOOD_ROW), "a formula as a media name", rows(1, row2="media[0]")),
    ("formula-in-platforms.csv", csv_file("2021-03-10T09:00,=facebook,एक,पाठ,,,", GOOD_ROW),
     "a formula as a platform", rows(1, row2="platforms[0]")),
    ("nul-byte-in-title.csv", csv_file("2021-03-10T09:00,facebook,एक\x00दो,पाठ,,,", GOOD_ROW),
     "NUL in a cell (csv.Error before Python 3.11)", rows(1, row2="title")),
    ("control-chars-in-text.csv", csv_file("2021-03-10T09:00,facebook,एक,\x1b[31mलाल\x1b[0m,,,", GOOD_ROW),
     "ANSI escapes in a text cell", rows(1, row2="text")),
    ("bidi-title.csv", csv_file("2021-03-10T09:00,facebook,\u202eelif.exe,पाठ,,,", GOOD_ROW),
     "RLO in a title cell", rows(1, row2="title")),
    ("huge-cell.csv", csv_file('2021-03-10T09:00,facebook,एक,"' + "x" * 140_000 + '",,,', GOOD_ROW),
     "a 140,000-character cell: over csv.field_size_limit (csv.Error)", rows(1, row2="text")),
    ("overlong-text.csv", csv_file("2021-03-10T09:00,facebook,एक," + "x" * 10_001 + ",,,", GOOD_ROW),
     "10,001 characters of text", rows(1, row2="text")),
    ("unterminated-quote.csv", csv_file(GOOD_ROW, '2021-03-11T09:00,facebook,दो,"खुला उद्धरण,,,',
                                        "2021-03-12T09:00,facebook,तीन,पाठ,,,"),
     "an unclosed quote swallows the rest of the file: that row and after are not read", rows(1, row3="(row)")),
    ("stray-quote.csv", csv_file('2021-03-10T09:00,facebook,एक,"उद्धरण"बाद में,,,', GOOD_ROW),
     "text after a closing quote", rows(0, row2="(row)")),
    ("extra-cells.csv", csv_file("2021-03-10T09:00,facebook,एक,पाठ,,,,अतिरिक्त", GOOD_ROW),
     "a cell after the last column", rows(1, row2="(row)")),
    ("unquoted-comma.csv", csv_file("2021-03-10T09:00,facebook,एक,नमस्ते, दुनिया,,,", GOOD_ROW),
     "an unquoted comma in the text shifts the cells after it", rows(1, row2="link")),
    ("fewer-cells.csv", csv_file("2021-03-10T09:00,facebook", GOOD_ROW), "a row cut short: no title",
     rows(1, row2="title")),
    ("date-feb-30.csv", csv_file("2021-02-30T09:00,facebook,एक,पाठ,,,", GOOD_ROW), "30 February",
     rows(1, row2="publish_at")),
    ("date-unix-seconds.csv", csv_file("1614916800,facebook,एक,पाठ,,,", GOOD_ROW), "seconds since 1970",
     rows(1, row2="publish_at")),
    ("date-excel-serial.csv", csv_file("44260.375,facebook,एक,पाठ,,,", GOOD_ROW), "an Excel date serial number",
     rows(1, row2="publish_at")),
    ("date-compact-number.csv", csv_file("20210310,facebook,एक,पाठ,,,", GOOD_ROW), "20210310 (read as 1970)",
     rows(1, row2="publish_at")),
    ("date-year-9999.csv", csv_file("9999-12-31T23:59:59-05:00,facebook,एक,पाठ,,,", GOOD_ROW), "year 9999",
     rows(1, row2="publish_at")),
    ("date-locale-format.csv", csv_file("10/03/2021 09:00,facebook,एक,पाठ,,,", GOOD_ROW),
     "a day/month/year time as Excel shows it", rows(1, row2="publish_at")),
    ("media-traversal.csv", csv_file("2021-03-10T09:00,facebook,एक,पाठ,,../../state/logo.png,", GOOD_ROW),
     "../ in a media cell", rows(1, row2="media[0]")),
    ("media-backslash.csv", csv_file("2021-03-10T09:00,facebook,एक,पाठ,,images\\poster.png,", GOOD_ROW),
     "a Windows path in a media cell", rows(1, row2="media[0]")),
    ("platform-unknown.csv", csv_file("2021-03-10T09:00,myspace,एक,पाठ,,,", GOOD_ROW), "an unknown platform",
     rows(1, row2="platforms[0]")),
    ("duplicate-titles.csv", csv_file(GOOD_ROW, GOOD_ROW.replace("सड़कें", "दोबारा")), "the same title twice",
     rows(1, row3="title")),
    ("semicolon-separated.csv", csv_file().replace(b",", b";") + GOOD_ROW.replace(",", ";").encode() + b"\r\n",
     "semicolons (European Excel)", rejected("(file)")),
    ("tab-separated.csv", csv_file().replace(b",", b"\t") + GOOD_ROW.replace(",", "\t").encode() + b"\r\n",
     "tabs", rejected("(file)")),
    ("utf16-excel-unicode-text.csv", codecs.BOM_UTF16_LE + (HEADER + "\r\n" + GOOD_ROW + "\r\n").replace(",", "\t")
     .encode("utf-16-le"), "Excel 'Unicode Text': UTF-16 LE, tabs", rejected("(file)")),
    ("utf32.csv", codecs.BOM_UTF32_BE + (HEADER + "\n" + GOOD_ROW + "\n").encode("utf-32-be"), "UTF-32 BE",
     rejected("(file)")),
    ("latin1.csv", (HEADER + "\n2021-03-10T09:00,facebook,café,crème,,,\n").encode("latin-1"), "Latin-1 bytes",
     rejected("(file)")),
    ("binary-junk.csv", bytes((i * 197 + 13) % 256 for i in range(4_096)), "4 KB of binary junk",
     rejected("(file)")),
    ("xlsx-as-csv.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(200)),
     "an .xlsx workbook renamed to .csv", rejected("(file)")),
    ("empty.csv", b"", "an empty file", rejected("(file)")),
    ("bom-only.csv", codecs.BOM_UTF8, "only a byte-order mark", rejected("(file)")),
    ("missing-columns.csv", b"title,text\nt,x\n", "no publish_at column", rejected("publish_at")),
    ("duplicate-header.csv", (HEADER + ",title\n" + GOOD_ROW + ",again\n").encode(), "the title column twice",
     rejected("title")),
    ("unknown-column.csv", (HEADER + ",colour\n" + GOOD_ROW + ",red\n").encode(), "a column that does not exist",
     rejected("colour")),
    ("too-many-rows.csv", csv_file(*(f"2021-03-10T09:00,facebook,पंक्ति {i},पाठ,,," for i in range(501))),
     "501 rows (500 at most)", rejected("(file)")),
]

CONFIG = (HERE.parent / "support" / "campaign.yaml").read_text("utf-8")


def config(old: str, new: str) -> bytes:
    assert old in CONFIG, old
    return CONFIG.replace(old, new, 1).encode("utf-8")


CONFIGS: list[tuple[str, bytes, str, dict[str, Any]]] = [
    ("valid-test-campaign.yaml", CONFIG.encode(), "the test campaign itself", ACCEPTED),
    ("valid-bom-crlf.yaml", codecs.BOM_UTF8 + CONFIG.replace("\n", "\r\n").encode(), "BOM and CRLF", ACCEPTED),
    ("valid-merge-keys.yaml", config("  - {id: fb-state, scope: state, platform: facebook,",
                                     "  - {<<: {platform: facebook}, id: fb-state, scope: state,"),
     "a merge key inside an account", ACCEPTED),
    ("syntax-error.yaml", config("districts:\n", "districts: [\n"), "an unclosed [", rejected("(file)")),
    ("billion-laughs.yaml", b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
     + b"".join(b"%c: &%c [%s]\n" % (c, c, b",".join([b"*%c" % (c - 1)] * 9)) for c in range(ord("b"), ord("j")))
     + CONFIG.encode(), "the billion laughs before a real config", rejected("(file)")),
    ("deep-nesting.yaml", CONFIG.encode() + b"x: " + b"[" * 5_000 + b"]" * 5_000 + b"\n", "5,000 nested lists",
     rejected("(file)")),
    ("python-tag.yaml", config("campaign: test-bypolls", "campaign: !!python/object/apply:os.getcwd []"),
     "!!python/object/apply", rejected("(file)")),
    ("duplicate-keys.yaml", CONFIG.encode() + b"campaign: other-campaign\n", "campaign given twice",
     rejected("campaign")),
    ("poll-closes-feb-30.yaml", config("poll_closes: 2021-04-17T18:00:00+05:30",
                                       "poll_closes: 2021-02-30T18:00:00+05:30"),
     "a poll on 30 February", rejected("constituencies[0].poll_closes")),
    ("poll-closes-year-0.yaml", config("poll_closes: 2021-04-17T18:00:00+05:30", "poll_closes: 0000-04-17T18:00:00"),
     "year 0", rejected("constituencies[0].poll_closes")),
    ("poll-closes-year-9999.yaml", config("poll_closes: 2021-04-17T18:00:00+05:30",
                                          "poll_closes: 9999-12-31T23:00:00-05:00"),
     "year 9999 west of UTC", rejected("constituencies[0].poll_closes")),
    ("poll-closes-number.yaml", config("poll_closes: 2021-04-17T18:00:00+05:30", "poll_closes: 1618662600"),
     "seconds since 1970", rejected("constituencies[0].poll_closes")),
    ("counting-number.yaml", config("counting: 2021-05-02", "counting: 20210502"), "20210502 as a number",
     rejected("constituencies[0].counting")),
    ("silence-hours-huge.yaml", config("silence_hours: 72", "silence_hours: " + "9" * 39),
     "a 39-digit silence", rejected("constituencies[1].silence_hours")),
    ("page-id-huge.yaml", config('page_id: "100000000000002"', "page_id: " + "1" * 60), "a 60-digit page id",
     rejected("(file)")),
    ("phone-huge-number.yaml", config('phone: "+919000000101"', "phone: " + "9" * 30), "a 30-digit phone",
     rejected("teams[1].members[0].phone")),
    ("phone-list.yaml", config('phone: "+919000000101"', "phone: [+919000000101]"), "a list as phone",
     rejected("teams[1].members[0].phone")),
    ("scope-list.yaml", config("scope: constituency/sahada\n", "scope: [constituency/sahada]\n"), "a list as scope",
     rejected("teams[1].scope")),
    ("platform-list.yaml", config("platform: facebook, page_id: \"100000000000001\"",
                                  "platform: [facebook], page_id: \"100000000000001\""),
     "a list as platform", rejected("accounts[0].platform")),
    ("timezone-bidi.yaml", config("campaign: test-bypolls", "campaign: test-bypolls\ntimezone: \"Asia/\u202eKolkata\""),
     "an RLO inside the time zone", rejected("timezone")),
    ("utf16.yaml", codecs.BOM_UTF16_LE + CONFIG.encode("utf-16-le"), "UTF-16 with BOM", rejected("(file)")),
    ("latin1.yaml", "campaign: café\n".encode("latin-1"), "Latin-1 bytes", rejected("(file)")),
    ("empty.yaml", b"", "an empty file", rejected("(file)")),
    ("list-at-top.yaml", b"- campaign: test\n", "a list instead of a mapping", rejected("(file)")),
    ("json-nan.yaml", b'{"campaign": "t", "districts": [], "constituencies": [], "x": .nan}',
     "JSON-style flow mapping in YAML with .nan", rejected("districts")),
]


def envelope(**value: Any) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
                                        "metadata": {"phone_number_id": "3000002"}, **value}}]}]}


STATUS = {"id": "wamid.1", "status": "delivered", "timestamp": "1614748200", "recipient_id": "919000000102",
          "biz_opaque_callback_data": "c1|wa-sahada|919000000102"}


def body(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


WEBHOOKS: list[tuple[str, bytes, str, dict[str, Any]]] = [
    ("valid-status-delivered.json", body(envelope(statuses=[STATUS])), "an ordinary delivered status",
     {"expected": "200; the status is recorded"}),
    ("valid-devanagari-message.json", body(envelope(messages=[{"from": "919000000102", "id": "wamid.in",
                                                                "type": "text", "text": {"body": "रोकें"}}])),
     "an inbound Devanagari message", {"expected": "200; counted as an inbound message"}),
    ("entry-null.json", body({"object": "whatsapp_business_account", "entry": None}), '"entry": null',
     {"expected": "200; nothing to act on (never 500)"}),
    ("top-level-list.json", body([envelope(statuses=[STATUS])]), "a list instead of the envelope",
     {"expected": "200 or 400; never 500"}),
    ("top-level-string.json", body("whatsapp_business_account"), "a JSON string",
     {"expected": "200 or 400; never 500"}),
    ("entry-object.json", body({"object": "whatsapp_business_account", "entry": {"changes": []}}),
     "entry as an object", {"expected": "200; nothing to act on (never 500)"}),
    ("changes-string.json", body({"object": "whatsapp_business_account", "entry": [{"changes": "x"}]}),
     "changes as a string", {"expected": "200; nothing to act on (never 500)"}),
    ("value-null.json", body({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": None}]}]}),
     "value null", {"expected": "200; nothing to act on (never 500)"}),
    ("metadata-list.json", body(envelope(metadata=[1], statuses=[STATUS])), "metadata as a list",
     {"expected": "200; never 500"}),
    ("statuses-object.json", body(envelope(statuses={"id": "wamid.1"})), "statuses as an object",
     {"expected": "200; never 500"}),
    ("status-string.json", body(envelope(statuses=["delivered"])), "a status that is a string",
     {"expected": "200; never 500"}),
    ("timestamp-not-a-number.json", body(envelope(statuses=[{**STATUS, "timestamp": "yesterday"}])),
     "a timestamp that is text (ValueError in int())", {"expected": "200; the status is recorded or skipped"}),
    ("timestamp-huge.json", body(envelope(statuses=[{**STATUS, "timestamp": "9" * 5_000}])),
     "a 5,000-digit timestamp (ValueError: int max str digits)", {"expected": "200; never 500"}),
    ("timestamp-float-nan.json", body(envelope(statuses=[{**STATUS, "timestamp": 1.5}])).replace(b"1.5", b"NaN"),
     "NaN as timestamp", {"expected": "200 or 400; never 500"}),
    ("errors-not-a-list.json", body(envelope(statuses=[{**STATUS, "status": "failed", "errors": {"code": 131000}}])),
     "errors as an object", {"expected": "200; never 500"}),
    ("errors-item-string.json", body(envelope(statuses=[{**STATUS, "status": "failed", "errors": ["boom"]}])),
     "an error that is a string", {"expected": "200; never 500"}),
    ("reference-bidi-control.json", body(envelope(statuses=[{**STATUS, "biz_opaque_callback_data":
                                                             "c1|wa-sahada\u202e|\u0000"}])),
     "RLO and NUL inside our echoed reference", {"expected": "200; no post matches, nothing changes"}),
    ("reference-huge.json", body(envelope(statuses=[{**STATUS, "biz_opaque_callback_data": "|" * 10_000}])),
     "a 10,000-character reference", {"expected": "200; no post matches"}),
    ("deep-nesting.json", b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 5_000 + b"]" * 5_000
     + b"}", "5,000 nested arrays (RecursionError in json)", {"expected": "400; never 500"}),
    ("duplicate-keys.json", b'{"object": "whatsapp_business_account", "object": "page", "entry": []}',
     "object given twice", {"expected": "200; nothing to act on"}),
    ("not-json.json", b"object=whatsapp_business_account&entry=1", "a form body", {"expected": "400; never 500"}),
    ("binary-junk.json", bytes((i * 31 + 7) % 256 for i in range(2_048)), "binary junk",
     {"expected": "400; never 500"}),
    ("utf16-bom.json", codecs.BOM_UTF16_LE + json.dumps(envelope(statuses=[STATUS])).encode("utf-16-le"),
     "UTF-16 with BOM", {"expected": "400 or 200; never 500"}),
    ("empty.json", b"", "an empty body", {"expected": "400; never 500"}),
]

AREAS = {"manifests": MANIFESTS, "calendars": CALENDARS, "configs": CONFIGS, "webhooks": WEBHOOKS}


def main() -> None:
    index: dict[str, Any] = {}
    for area, entries in AREAS.items():
        folder = HERE / area
        folder.mkdir(exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        index[area] = {}
        for name, data, attacks, verdict in entries:
            assert name not in index[area], name
            (folder / name).write_bytes(data)
            index[area][name] = {"attacks": attacks, **verdict}
    header = "# Generated by tests/corpus/generate.py: what each corpus file attacks and the verdict it must get.\n"
    (HERE / "index.yaml").write_text(header + yaml.safe_dump(index, allow_unicode=True, sort_keys=False, width=120),
                                     encoding="utf-8")
    print(", ".join(f"{len(entries)} {area}" for area, entries in AREAS.items()),
          f"= {sum(len(e) for e in AREAS.values())} files")


if __name__ == "__main__":
    main()
