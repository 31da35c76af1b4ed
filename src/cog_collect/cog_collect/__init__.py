"""COG collection nodes: camera, localizer, scripted collector, bag conversion (thin shells over cog_core)."""
