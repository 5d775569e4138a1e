"""The error ampc.torch raises for a model it cannot take."""


class ExportError(RuntimeError):
    """The module cannot be exported; the message names where and why."""
