"""Magento 2 / Adobe Commerce over REST (`/rest/<store>/V1/...`)."""

from trueup.connectors.magento.connector import MagentoOrders

__all__ = ["MagentoOrders"]
