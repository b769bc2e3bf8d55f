"""OLT rules without the wire: vendor profiles (OIDs, index arithmetic, units) and ONT readings."""
