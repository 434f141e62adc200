"""Account secrets through Powertools Parameters, cached: SSM SecureString parameters ("/…") or
Secrets Manager secrets ("secretsmanager:<name>" or a secret ARN).

The providers use the clients of chalicelib/adapters/aws.py, like every other call: one session (its service models
parsed once), one retry policy, and one place where the IAM test sees each call.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import aws

TOKEN_CACHE_SECONDS = 300
SECRETS_MANAGER_PREFIX = "secretsmanager:"


class SecretStore:
    def __init__(self) -> None:
        self._providers: dict[str, Any] = {}

    def token(self, name: str) -> str:
        if name.startswith(SECRETS_MANAGER_PREFIX):
            return self._provider("secretsmanager").get(name.removeprefix(SECRETS_MANAGER_PREFIX),
                                                        max_age=TOKEN_CACHE_SECONDS)
        if name.startswith("arn:aws:secretsmanager:"):
            return self._provider("secretsmanager").get(name, max_age=TOKEN_CACHE_SECONDS)
        return self._provider("ssm").get(name, decrypt=True, max_age=TOKEN_CACHE_SECONDS)

    def _provider(self, service: str) -> Any:
        if service not in self._providers:
            # deferred: only the publisher and the token check read secrets
            from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

            kind = SSMProvider if service == "ssm" else SecretsProvider
            self._providers[service] = kind(boto3_client=aws.client(service))
        return self._providers[service]
