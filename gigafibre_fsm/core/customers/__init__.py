"""Pure customer rules: serviceability and pricing by address.

Modules:
	address    normalise a free-text Quebec address (civic, unit, street type and
	           direction, municipality with St/Ste/Saint/Sainte, province, postal code)
	pricing    plans, zone prices, promotions (dates and use limits), earliest install date
	footprint  served addresses and zones (GeoJSON polygons) indexed once;
	           ``Footprint.check`` answers serviceability, plans and prices
	loaders    parse the address CSV and the zone GeoJSON, with errors naming the line
"""
