"""The generic REST ERP contract (docs/connectors/rest-erp.md)."""

from trueup.connectors.rest.connector import RestErp

__all__ = ["RestErp"]
