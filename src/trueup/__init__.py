"""trueup keeps a retailer's storefront and ERP true to each other."""

__version__ = "0.1.0"
