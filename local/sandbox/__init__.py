"""The platform sandbox: Facebook Graph, X API v2 and WhatsApp Cloud API as the adapters see them."""

from local.sandbox.faults import Fault
from local.sandbox.server import PlatformSandbox

__all__ = ["Fault", "PlatformSandbox"]
