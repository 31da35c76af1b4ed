"""COG policy node: an exported policy on the arm, with safety (thin shell over cog_core)."""
