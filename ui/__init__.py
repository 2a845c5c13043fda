"""Streamlit glue of the app: session-state keys, cached loaders, the data source and shared widgets."""
