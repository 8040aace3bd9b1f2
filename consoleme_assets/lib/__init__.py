"""The asset framework shared by every domain: per-account refresh, cadences, partitions, pools, plugins."""
