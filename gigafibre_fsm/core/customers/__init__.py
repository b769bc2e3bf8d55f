"""Pure customer rules: serviceability and pricing by address.

Modules:
	address    normalise a free-text Quebec address (civic, unit, street type and
	           direction, municipality with St/Ste/Saint/Sainte, province, postal code)
	pricing    plans, zone prices, promotions (dates and use limits), earliest install date
	served     served addresses, zones, matches and check results (the reason codes)
	matching   the served addresses indexed once: an address written by hand, or a position
	footprint  served addresses and zones (GeoJSON polygons) indexed once;
	           ``Footprint.check`` answers serviceability, plans and prices
	loaders    parse the address CSV and the zone GeoJSON, with errors naming the line
"""
