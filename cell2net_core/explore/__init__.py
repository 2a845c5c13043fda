"""Exploring TF -> gene tables: ``network`` (filter, graph, layout, hubs), ``compare`` (groups),
``figures`` (plotly) and ``export`` (CSV, TSV, SIF, GraphML, Cytoscape JSON)."""
