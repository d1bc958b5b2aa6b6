"""Track router: met2 (vertical) and met3 (horizontal) grid, negotiated-congestion maze routing."""
