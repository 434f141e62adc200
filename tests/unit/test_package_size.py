"""bench/package_size.py's reading of a deployment zip, on made-up entries: no `chalice package` here."""

from __future__ import annotations

from bench.package_size import (
    Entry,
    closure,
    group_entries,
    imports,
    pinned,
    reason,
    record_paths,
    required_by,
    requirements,
    top_level_modules,
)

RECORDS = {
    "pydantic_core-2.50.5.dist-info": ["pydantic_core/__init__.py", "pydantic_core/_core.so",
                                       "pydantic_core-2.50.5.dist-info/RECORD"],
    "cffi-2.1.1.dist-info": ["cffi/api.py", "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
                             "cffi-2.1.1.dist-info/METADATA", "cffi-2.1.1.dist-info/RECORD"],
    "jmespath-1.1.0.dist-info": ["jmespath/parser.py", "jmespath-1.1.0.data/scripts/jp.py"],
}


def test_files_go_to_the_distribution_whose_record_lists_them_and_the_rest_to_us_or_chalice():
    entries = [Entry("pydantic_core/", 0, 0), Entry("pydantic_core/__init__.py", 100, 40),
               Entry("pydantic_core/_core.so", 5000, 2000), Entry("pydantic_core-2.50.5.dist-info/RECORD", 10, 5),
               Entry("pydantic_core-2.50.5.dist-info/WHEEL", 3, 2),  # not in its own RECORD, still its own
               Entry("_cffi_backend.cpython-311-x86_64-linux-gnu.so", 300, 100), Entry("cffi/api.py", 50, 20),
               Entry("jmespath-1.1.0.data/scripts/jp.py", 7, 7),
               Entry("app.py", 8, 3), Entry("chalicelib/entry.py", 20, 9), Entry("chalice/app.py", 30, 10),
               Entry("stray.py", 1, 1)]
    grouped = {d.name: d for d in group_entries(entries, RECORDS, {"chalice": "1.34.0"})}
    assert [d.name for d in group_entries(entries, RECORDS)][:2] == ["pydantic-core", "cffi"]  # largest first
    assert (grouped["pydantic-core"].version, grouped["pydantic-core"].size, grouped["pydantic-core"].compressed,
            grouped["pydantic-core"].files) == ("2.50.5", 5113, 2047, 4)
    assert grouped["cffi"].size == 350
    assert grouped["jmespath"].size == 7
    assert (grouped["prachar"].size, grouped["prachar"].files) == (28, 2)
    assert grouped["chalice"].version == "1.34.0"
    assert grouped["?stray.py"].size == 1


def test_a_record_is_read_as_csv():
    record = 'a/b.py,sha256=x,10\n"a/with,comma.py",sha256=y,3\nx.dist-info/RECORD,,\n'
    assert record_paths(record) == ["a/b.py", "a/with,comma.py", "x.dist-info/RECORD"]


def test_only_requirements_that_apply_on_lambda_count():
    graph = requirements({
        "cryptography": ["cffi>=2.0.0 ; platform_python_implementation != 'PyPy'",
                         "typing-extensions>=4.13.2 ; python_full_version < '3.11'", "bcrypt>=3.1.5 ; extra == 'ssh'"],
        "pydantic": ["pydantic-core==2.50.5", "tzdata; (platform_system == 'Windows') and extra == 'timezone'"],
        "boto3": ["botocore (<1.45.0,>=1.44.8)", "s3transfer (<0.20.0,>=0.19.0)"],
        "s3transfer": ["botocore (<2.0a.0,>=1.37.4)"],
        "botocore": ["python_dateutil (<3.0.0,>=2.1)"],
    })
    assert graph["cryptography"] == {"cffi"}
    assert graph["pydantic"] == {"pydantic-core"}
    assert required_by(graph)["botocore"] == ["boto3", "s3transfer"]
    assert closure(graph, ["boto3"]) == ["boto3", "botocore", "python-dateutil", "s3transfer"]


def test_imports_are_found_anywhere_in_a_module_but_relative_ones_are_ours():
    sources = {"chalicelib/domain/phone.py": "def f():\n    import phonenumbers\n",
               "chalicelib/adapters/aws.py": "from botocore.config import Config\nimport boto3.session as s\n",
               "chalicelib/x.py": "from . import y\nfrom .z import w\n", "chalicelib/broken.py": "def (:\n"}
    found = imports(sources)
    assert found["phonenumbers"] == ["chalicelib/domain/phone.py"]
    assert found["botocore"] == found["boto3"] == ["chalicelib/adapters/aws.py"]
    assert set(found) == {"phonenumbers", "botocore", "boto3"}


def test_top_level_names_map_to_their_distribution():
    assert top_level_modules(RECORDS) == {"pydantic_core": "pydantic-core", "cffi": "cffi", "_cffi_backend": "cffi",
                                          "jmespath": "jmespath"}


def test_requirements_txt_names_are_normalised():
    assert pinned("# comment\naws-lambda-powertools==3.37.0\nPyYAML==6.0.3\n\nregex>=1 ; python_version > '3'\n") \
        == {"aws-lambda-powertools", "pyyaml", "regex"}


def test_a_reason_says_who_imports_or_requires_it():
    assert reason("phonenumberslite", ["chalicelib/domain/phone.py"], [], True) == \
        "imported by domain/phone; pinned in requirements.txt — making voters' numbers E.164"
    assert reason("six", [], ["python-dateutil"], False).startswith("required by python-dateutil — ")
    assert reason("tzdata", [], [], True).startswith(
        "nothing of ours imports it and nothing in the package requires it; pinned in requirements.txt")
