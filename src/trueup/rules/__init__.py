"""Pure business rules: validation of orders against the ERP's needs, address fitting, tax checks."""
