"""The web app (Gradio): chat with clickable citations, citation lookup, corpus browser, uploads.

Gradio is imported only inside `rag.ui.app.build_app`, so importing this package stays cheap.
`rag.ui.render` holds the pure HTML rendering (every piece of corpus text escaped there).
"""
