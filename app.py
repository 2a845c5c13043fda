"""Cell2Net Explorer: ``streamlit run app.py [-- --mdata X.h5mu --models DIR --results DIR]``."""

from __future__ import annotations

import streamlit as st

from ui import source, state

st.set_page_config(page_title="Cell2Net Explorer", page_icon=":material/hub:", layout="wide")

pages = [
    st.Page("app_pages/home.py", title="Overview", icon=":material/home:", default=True),
    st.Page("app_pages/attribution.py", title="Gene attribution", icon=":material/bar_chart:"),
    st.Page("app_pages/network.py", title="Network", icon=":material/hub:"),
    st.Page("app_pages/table.py", title="Table", icon=":material/table:"),
    st.Page("app_pages/compare.py", title="Compare groups", icon=":material/compare_arrows:"),
]
page = st.navigation(pages)
source.sidebar(source.pick_paths_from_env())
st.sidebar.radio(
    "Chart download format", ["png", "svg"], key=state.IMAGE_FMT, horizontal=True, format_func=str.upper
)
page.run()
