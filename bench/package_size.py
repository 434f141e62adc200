"""The deployment package `chalice deploy` uploads for every function: its size against Lambda's limits, and what each
distribution in it weighs and why it is there.

`chalice package` runs on a copy of the project in a temporary folder (the repo's .chalice is never touched): the copy
gets the stage's config and policy files written by infra/deploy.py's own `record_stage`, with the names the resources
template gives a stage (a real deploy records the same ones, from the stack's outputs), since Chalice will not package
without a policy file per function. The zip does not depend on the stage or those names: they go in the template only.
The template is Terraform's because Chalice's CloudFormation output refuses an app with `@app.on_s3_event`; the zip is
the same one `chalice deploy` builds (one LambdaDeploymentPackager, Linux wheels for python3.11 from PyPI).

`python -m bench.package_size --markdown` prints the table for docs/dependencies.md.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "dev"
REGION = "ap-south-1"
MIB = 1024 * 1024
# Lambda's quotas: a zip sent with the request (chalice deploy sends it so, not through S3), and the code unzipped
# (with its layers; we have none). CreateFunction names them in bytes: 52,428,800 and 262,144,000.
ZIPPED_LIMIT = 50 * MIB
UNZIPPED_LIMIT = 250 * MIB
PROJECT_FILES = ("app.py", "chalicelib", "vendor", "requirements.txt", ".chalice/config.json")
OURS = "prachar"
CHALICE_RUNTIME = "chalice"
# Files no wheel's RECORD lists: what Chalice puts in beside the wheels.
OWN_FILES = {"app.py": OURS, "chalicelib": OURS, "chalice": CHALICE_RUNTIME}

# For what each distribution is used; who imports or requires it is worked out from the package and our sources.
PURPOSE = {
    OURS: "our code: app.py and chalicelib/ (with the dashboard's static files)",
    CHALICE_RUNTIME: "Chalice's runtime (chalice/app.py), added by chalice package: app.py's decorators and routing",
    "aws-lambda-powertools": "JSON logging, EMF metrics, SSM and Secrets Manager parameters with caching, and the "
                             "X-Ray Tracer when a stage traces",
    "aws-xray-sdk": "what Powertools' Tracer drives (it imports it, undeclared: Powertools' `tracer` extra) — only in "
                    "a stage deployed with TRACING=1",
    "wrapt": "aws-xray-sdk's patching of botocore",
    "boto3": "the AWS clients (chalicelib/adapters/aws.py) and DynamoDB's type (de)serialiser",
    "botocore": "boto3's core; we use its Config (timeouts, retries) and ClientError",
    "pydantic": "validating manifests and the campaign config with per-field errors",
    "pydantic-core": "pydantic's compiled validator",
    "pyyaml": "parsing uploaded YAML (manifests, config/campaign.yaml) with a hardened SafeLoader",
    "regex": "cutting X threads only between grapheme clusters (`\\X`)",
    "twitter-text-parser": "X's weighted length of a post (280, URLs 23)",
    "oauthlib": "signing X calls with OAuth 1.0a",
    "phonenumberslite": "making voters' numbers E.164",
    "cryptography": "AES-256-GCM sealing of voters' contacts (AESGCM)",
    "cffi": "its _cffi_backend is loaded by cryptography's OpenSSL bindings (AESGCM loads it)",
    "pycparser": "cffi's C-declaration parser; sealing with AESGCM never imports it",
    "urllib3": "HTTP to the Facebook, X and WhatsApp APIs, and botocore's own HTTP client",
    "s3transfer": "boto3's managed S3 transfers",
    "jmespath": "JMESPath expressions of botocore's paginators and waiters, and of Powertools",
    "python-dateutil": "botocore's date parsing",
    "six": "python-dateutil's Python 2 compatibility",
    "typing-extensions": "typing backports for pydantic and Powertools",
    "typing-inspection": "pydantic's reading of type annotations",
    "annotated-types": "the constraint metadata pydantic makes of Field(ge=…, max_length=…)",
    "tzdata": "the IANA time zone database, for zoneinfo; our IST is a fixed offset (chalicelib/domain/times.py)",
}
BOTO3 = "boto3"


@dataclass(frozen=True)
class Entry:
    name: str
    size: int        # unzipped
    compressed: int


@dataclass
class Distribution:
    name: str
    version: str = ""
    size: int = 0
    compressed: int = 0
    files: int = 0
    reason: str = ""


@dataclass
class Report:
    stage: str
    zipped: int
    unzipped: int
    distributions: list[Distribution]
    boto3_closure: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def closure_size(self) -> int:
        return sum(d.size for d in self.distributions if d.name in self.boto3_closure)


def normalise(name: str) -> str:
    """A distribution's name as PEP 503 compares them: pydantic_core, Pydantic-Core → pydantic-core."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_info(folder: str) -> tuple[str, str]:
    """`pydantic_core-2.50.5.dist-info` → (pydantic-core, 2.50.5)."""
    name, _, version = folder.removesuffix(".dist-info").partition("-")
    return normalise(name), version


def record_paths(record: str) -> list[str]:
    """The files a wheel's RECORD lists (the first column of its CSV)."""
    return [row[0] for row in csv.reader(io.StringIO(record)) if row]


def group_entries(entries: Iterable[Entry], records: Mapping[str, Iterable[str]],
                  own_versions: Mapping[str, str] | None = None) -> list[Distribution]:
    """The zip's files by the distribution they came from, largest first. `records` maps each `*.dist-info` folder to
    the files its RECORD lists; files no RECORD lists are ours or Chalice's (OWN_FILES), else `?<top-level name>`."""
    own_versions = own_versions or {}
    owners: dict[str, tuple[str, str]] = {}
    for folder, paths in records.items():
        for path in paths:
            owners[path] = dist_info(folder)
    grouped: dict[str, Distribution] = {}
    for entry in entries:
        if entry.name.endswith("/"):
            continue  # a folder's own entry
        top = entry.name.split("/", 1)[0]
        if entry.name in owners:
            name, version = owners[entry.name]
        elif top.endswith(".dist-info"):
            name, version = dist_info(top)
        else:
            name, version = OWN_FILES.get(top, f"?{top}"), own_versions.get(OWN_FILES.get(top, ""), "")
        group = grouped.setdefault(name, Distribution(name, version))
        group.size += entry.size
        group.compressed += entry.compressed
        group.files += 1
    return sorted(grouped.values(), key=lambda d: (-d.size, d.name))


def _requirement_class():
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip, which Chalice needs, carries its own copy
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


# Lambda's python3.11 on x86_64, for the markers of Requires-Dist; no extras are asked for.
LAMBDA_MARKERS = {"implementation_name": "cpython", "platform_python_implementation": "CPython",
                  "python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
                  "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix", "extra": ""}


def requirements(requires: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Each distribution's requirements that apply on Lambda, from its METADATA's Requires-Dist values."""
    requirement = _requirement_class()
    graph: dict[str, set[str]] = {}
    for name, lines in requires.items():
        graph[name] = set()
        for line in lines:
            parsed = requirement(line)
            if parsed.marker is None or parsed.marker.evaluate(LAMBDA_MARKERS):
                graph[name].add(normalise(parsed.name))
    return graph


def required_by(graph: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    needers: dict[str, list[str]] = {}
    for name, needs in graph.items():
        for needed in needs:
            needers.setdefault(needed, []).append(name)
    return {name: sorted(names) for name, names in needers.items()}


def closure(graph: Mapping[str, Iterable[str]], roots: Iterable[str]) -> list[str]:
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return sorted(seen)


def imports(sources: Mapping[str, str]) -> dict[str, list[str]]:
    """Top-level module → the modules of ours that import it, anywhere in the file (deferred imports too)."""
    found: dict[str, set[str]] = {}
    for module, source in sources.items():
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # a file mid-edit: it would not import on Lambda either
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(module)
    return {name: sorted(modules) for name, modules in found.items()}


def top_level_modules(records: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Importable top-level name → its distribution: `_cffi_backend.cpython-311-x86_64-linux-gnu.so` → cffi."""
    modules = {}
    for folder, paths in records.items():
        name, _ = dist_info(folder)
        for path in paths:
            top = path.split("/", 1)[0]
            if top.endswith((".dist-info", ".data")) or top.startswith(".."):
                continue
            modules[top.split(".", 1)[0]] = name
    return modules


def pinned(requirements_txt: str) -> set[str]:
    return {normalise(re.split(r"[=<>!~\[;\s]", line, maxsplit=1)[0]) for line in requirements_txt.splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


def _short(modules: list[str]) -> str:
    return ", ".join(m.removeprefix("chalicelib/").removesuffix(".py") for m in modules)


def reason(name: str, importers: list[str], needers: list[str], is_pinned: bool) -> str:
    purpose = PURPOSE.get(name, "")
    if name in (OURS, CHALICE_RUNTIME):
        return purpose
    why = []
    if importers:
        why.append(f"imported by {_short(importers)}")
    if needers:
        why.append(f"required by {', '.join(needers)}")
    if is_pinned:
        why.append("pinned in requirements.txt")
    if not importers and not needers:
        why.insert(0, "nothing of ours imports it and nothing in the package requires it")
    return "; ".join(why) + (f" — {purpose}" if purpose else "")


def copy_project(target: Path) -> Path:
    for name in PROJECT_FILES:
        source = ROOT / name
        if not source.exists():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, target / name)
    return target


def record_stage_in(project: Path, stage: str) -> dict[str, str]:
    """What `make deploy` records before `chalice deploy`, with the names infra/resources.yaml gives the stage."""
    from infra.deploy import record_stage, stage_environment

    names = {"ContentBucketName": f"prachar-{stage}-content", "PublishQueueName": f"prachar-{stage}-publish",
             "TableName": f"prachar-{stage}", "ImportQueueName": f"prachar-{stage}-imports",
             "BroadcastQueueName": f"prachar-{stage}-broadcasts"}
    environment = stage_environment(stage, names)
    record_stage(project / ".chalice" / "config.json", stage, environment, f"prachar-{stage}-upload-failures")
    return environment


def chalice_package(project: Path, out: Path, stage: str, environment: dict[str, str]) -> list[str]:
    """Runs `chalice package`; returns the lines of its output that say a dependency could not be packaged."""
    chalice = str(Path(sys.executable).with_name("chalice"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PRACHAR_", "AWS_"))}, **environment,
           "AWS_DEFAULT_REGION": REGION}  # Chalice wants a region to write a template; no credentials, no AWS call
    done = subprocess.run([chalice, "package", "--pkg-format", "terraform", "--stage", stage, str(out)], cwd=project,
                          env=env, capture_output=True, text=True)
    said = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0:
        hint = ("\nchalice package downloads the Linux wheels through pip: pip's cache saves the downloads, not the "
                "index lookups, so PyPI must be reachable") if "NoSuchPackageError" in done.stderr else ""
        raise SystemExit("chalice package failed:\n" + "\n".join(said[-30:]) + hint)
    return [line for line in said if "could not" in line.lower() or "warning" in line.lower()]


def read_package(path: Path, project: Path, stage: str) -> Report:
    with zipfile.ZipFile(path) as package:
        infos = package.infolist()
        entries = [Entry(i.filename, i.file_size, i.compress_size) for i in infos]
        folders = {n.split("/", 1)[0] for n in package.namelist() if n.split("/", 1)[0].endswith(".dist-info")}
        records = {f: record_paths(package.read(f"{f}/RECORD").decode()) for f in folders}
        metadata = {dist_info(f)[0]: package.read(f"{f}/METADATA").decode("utf-8", "replace") for f in folders}
    requires = {name: [line.split(":", 1)[1].strip() for line in text.split("\n\n", 1)[0].splitlines()
                       if line.startswith("Requires-Dist:")] for name, text in metadata.items()}
    graph = requirements(requires)
    needers = required_by(graph)
    sources = {str(p.relative_to(project)): p.read_text("utf-8")
               for p in [project / "app.py", *sorted((project / "chalicelib").rglob("*.py"))]}
    imported = imports(sources)
    by_distribution: dict[str, set[str]] = {}
    for module, distribution in top_level_modules(records).items():
        by_distribution.setdefault(distribution, set()).update(imported.get(module, ()))
    ours = pinned((project / "requirements.txt").read_text())
    from importlib.metadata import version

    distributions = group_entries(entries, records, {CHALICE_RUNTIME: version("chalice")})
    for d in distributions:
        d.reason = reason(d.name, sorted(by_distribution.get(d.name, ())), needers.get(d.name, []), d.name in ours)
    return Report(stage, path.stat().st_size, sum(e.size for e in entries), distributions,
                  boto3_closure=closure(graph, [BOTO3]) if BOTO3 in graph else [])


def measure(stage: str = STAGE) -> Report:
    with tempfile.TemporaryDirectory(prefix="prachar-package-") as folder:
        project = copy_project(Path(folder) / "project")
        environment = record_stage_in(project, stage)
        started = time.perf_counter()
        warnings = chalice_package(project, Path(folder) / "out", stage, environment)
        took = time.perf_counter() - started
        report = read_package(Path(folder) / "out" / "deployment.zip", project, stage)
    report.warnings, report.seconds = warnings, took
    return report


def _mib(size: int) -> str:
    return f"{size / MIB:.2f}"


def _limit(label: str, size: int, limit: int) -> str:
    return (f"  {label:9} {_mib(size):>6} MiB ({size:,} bytes) of {limit // MIB} MiB ({limit:,}): "
            f"{size / limit:.0%} of the limit, {_mib(limit - size)} MiB to spare")


def boto3_line(report: Report) -> str:
    if BOTO3 not in {d.name for d in report.distributions}:
        return "boto3: not bundled — the functions use the Lambda runtime's boto3"
    version = next(d.version for d in report.distributions if d.name == BOTO3)
    closure_size = report.closure_size()
    return (f"boto3: bundled ({version}, pinned in requirements.txt), so the functions use it, not the runtime's own "
            f"boto3 (/var/task comes first on sys.path); boto3 with all it requires ({', '.join(report.boto3_closure)})"
            f" is {_mib(closure_size)} MiB, {closure_size / report.unzipped:.0%} of the unzipped package")


def render_text(report: Report) -> str:
    lines = [f"\ndeployment package (chalice package --stage {report.stage}, {report.seconds:.0f} s), "
             "the one zip every function gets:",
             _limit("zipped", report.zipped, ZIPPED_LIMIT) + " (direct upload, as chalice deploy does)",
             _limit("unzipped", report.unzipped, UNZIPPED_LIMIT)]
    width = max(len(f"{d.name} {d.version}") for d in report.distributions)
    lines.append(f"  {'distribution':{width}}  unzipped  share   zipped  why it is there")
    for d in report.distributions:
        label = f"{d.name} {d.version}".strip()
        lines.append(f"  {label:{width}}  {_mib(d.size):>5} MiB  {d.size / report.unzipped:5.1%}  "
                     f"{_mib(d.compressed):>5} MiB  {d.reason}")
    lines.append("  " + boto3_line(report))
    lines += [f"  chalice said: {w}" for w in report.warnings]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    lines = [f"Deployment zip: **{_mib(report.zipped)} MiB zipped** ({report.zipped:,} bytes) of Lambda's 50 MiB for a "
             f"direct upload ({report.zipped / ZIPPED_LIMIT:.0%}); **{_mib(report.unzipped)} MiB unzipped** "
             f"({report.unzipped:,} bytes) of 250 MiB ({report.unzipped / UNZIPPED_LIMIT:.0%}).", "",
             "| distribution | version | unzipped MiB | share | zipped MiB | why it is there |",
             "|---|---|--:|--:|--:|---|"]
    for d in report.distributions:
        why = d.reason.replace("|", "\\|")
        lines.append(f"| {d.name} | {d.version} | {_mib(d.size)} | {d.size / report.unzipped:.1%} | "
                     f"{_mib(d.compressed)} | {why} |")
    lines += ["", boto3_line(report) + "."]
    lines += [f"chalice said: {w}" for w in report.warnings]
    return "\n".join(lines)


def bench_package_size(stage: str = STAGE) -> Report:
    report = measure(stage)
    print(render_text(report))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.package_size", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=STAGE, choices=["dev", "prod"])
    parser.add_argument("--markdown", action="store_true", help="the table for docs/dependencies.md")
    arguments = parser.parse_args()
    if arguments.markdown:
        measured = measure(arguments.stage)
        print(f"<!-- python -m bench.package_size --markdown, {datetime.now(UTC):%Y-%m-%d} -->")
        print(render_markdown(measured))
    else:
        bench_package_size(arguments.stage)
