"""Cell2Net Explorer: ``streamlit run app.py [-- --mdata X.h5mu --models DIR --results DIR]``.

``streamlit run`` finds ``app`` below and serves this file as an ``st.App``: the server imports it once (not as
``__main__``) and, at start, warms up in the background (:mod:`ui.warm`: imports, the start data read into the
caches) while the browser loads; each visitor's run then executes it as ``__main__`` (the pages).
"""

from __future__ import annotations

import streamlit as st

if __name__ != "__main__":  # imported by `streamlit run` to serve it
    from ui import warm

    app = st.App(__file__, lifespan=warm.lifespan)
else:  # a visitor's run
    from ui import auth, source, state, widgets

    st.set_page_config(page_title="Cell2Net Explorer", page_icon=":material/hub:", layout="wide")
    auth.require_login()  # off unless CELL2NET_LOGIN is set

    # Pages live in app_pages/, not pages/: a pages/ folder beside app.py makes Streamlit run a page
    # opened by its URL without app.py (so without the sidebar and the data context) until some
    # session has called st.navigation.
    pages = [
        st.Page("app_pages/home.py", title="Overview", icon=":material/home:", default=True),
        st.Page("app_pages/attribution.py", title="Gene attribution", icon=":material/bar_chart:"),
        st.Page("app_pages/network.py", title="Network", icon=":material/hub:"),
        st.Page("app_pages/table.py", title="Table", icon=":material/table:"),
        st.Page("app_pages/evidence.py", title="Edge evidence", icon=":material/fact_check:"),
        st.Page("app_pages/compare.py", title="Compare groups", icon=":material/compare_arrows:"),
        st.Page("app_pages/dotplot.py", title="TF dot plot", icon=":material/scatter_plot:"),
        st.Page("app_pages/perturb.py", title="Perturb", icon=":material/science:"),
    ]
    page = st.navigation(pages)
    state.init_state()
    source.sidebar(source.pick_paths_from_env())
    st.sidebar.radio(
        "Chart download format", ["png", "svg"], key=state.IMAGE_FMT, horizontal=True, format_func=str.upper
    )
    with st.sidebar:
        widgets.preload_plotly()  # plotly.js loads in the browser's idle time, a second after the page
    page.run()
