"""Account tokens from SSM SecureString parameters, through Powertools Parameters with caching."""

from __future__ import annotations

TOKEN_CACHE_SECONDS = 300


class SecretStore:
    def token(self, name: str) -> str:
        from aws_lambda_powertools.utilities import parameters  # deferred: only the publisher needs it

        return parameters.get_parameter(name, decrypt=True, max_age=TOKEN_CACHE_SECONDS)
