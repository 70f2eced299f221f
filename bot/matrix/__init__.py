"""Everything that speaks Matrix through matrix-nio."""
