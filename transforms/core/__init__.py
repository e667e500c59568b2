"""Pure functions and element types, tested without Beam."""
