"""Only `consoleme_assets/aws/` calls AWS: it makes the clients and calls them. stores/ opens the S3 and DynamoDB
clients of ConsoleMe's caches (the layer below it is aws/), and sandbox/ builds the fake AWS. Everything else asks
an aws/ function. This walks the package's syntax trees and names file:line of every place that would call AWS."""

from __future__ import annotations

import ast
from pathlib import Path

import consoleme_assets

PACKAGE = Path(consoleme_assets.__file__).parent
MAY_CALL_AWS = {"aws", "stores", "sandbox"}
CLIENT_FACTORIES = {"client", "resource", "Session", "create_client"}


def aws_calls_in(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {a.name}") for a in node.names if a.name.split(".")[0] in ("boto3", "botocore")
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            # Exception classes, to recognise an AWS error, are not a call.
            if module.split(".")[0] in ("boto3", "botocore") and module != "botocore.exceptions":
                found.append((node.lineno, f"from {module} import"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in CLIENT_FACTORIES and node.args and isinstance(node.args[0], ast.Constant):
                if isinstance(node.args[0].value, str):
                    found.append((node.lineno, f'.{node.func.attr}("{node.args[0].value}")'))
    return sorted(found)


def test_only_aws_calls_aws():
    leaks = [
        f"consoleme_assets/{path.relative_to(PACKAGE).as_posix()}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in MAY_CALL_AWS
        for line, what in aws_calls_in(path)
    ]
    assert not leaks, "AWS called outside consoleme_assets/aws/; add a function there and call it:\n  " + "\n  ".join(
        leaks
    )


def test_the_guard_sees_each_kind_of_call(tmp_path):
    sample = tmp_path / "calls.py"
    sample.write_text(
        "import boto3\n"
        "from botocore.config import Config\n"
        "sessions.client('iam', account_id=a).get_account_summary()\n"
        "session.resource('dynamodb')\n"
        "from botocore.exceptions import ClientError\n"  # recognising an error is not a call
        "settings.s3.notifications\n"
    )
    assert {line for line, _ in aws_calls_in(sample)} == {1, 2, 3, 4}
