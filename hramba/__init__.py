"""e-hramba: long-term archival of e-invoices for Slovenian budget users."""

__version__ = "0.1.0"
