"""The shared Powertools logger (one per process; every Lambda of the app imports this)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="prachar")
