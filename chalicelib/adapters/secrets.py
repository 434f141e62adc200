"""Account secrets through Powertools Parameters, cached: SSM SecureString parameters ("/…") or
Secrets Manager secrets ("secretsmanager:<name>" or a secret ARN)."""

from __future__ import annotations

TOKEN_CACHE_SECONDS = 300
SECRETS_MANAGER_PREFIX = "secretsmanager:"


class SecretStore:
    def token(self, name: str) -> str:
        from aws_lambda_powertools.utilities import parameters  # deferred: only the publisher needs it

        if name.startswith(SECRETS_MANAGER_PREFIX):
            return parameters.get_secret(name.removeprefix(SECRETS_MANAGER_PREFIX), max_age=TOKEN_CACHE_SECONDS)
        if name.startswith("arn:aws:secretsmanager:"):
            return parameters.get_secret(name, max_age=TOKEN_CACHE_SECONDS)
        return parameters.get_parameter(name, decrypt=True, max_age=TOKEN_CACHE_SECONDS)
