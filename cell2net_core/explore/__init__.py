"""Exploring TF -> gene tables: ``network`` (filter, graph, layout, hubs), ``compare`` (groups),
``figures`` (plotly), ``labels`` (where network labels go) and ``export`` (CSV, TSV, SIF, GraphML, Cytoscape JSON)."""
