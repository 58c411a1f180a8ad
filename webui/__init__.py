"""Contact pages, the CRM API and health: the web side of immoshare.

``webui.app.WebApp`` behind ``webui.fast_file.FastFile``, put together by
``gateway.server.build_site``.
"""
