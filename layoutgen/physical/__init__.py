"""Physical design: floorplan, placement, pin access, power grid and the GDS/OASIS writer."""
