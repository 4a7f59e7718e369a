"""The Dahua CGI HTTP API: pure codecs and asyncio endpoints.

- ``codec``: CRLF key=value bodies, ``table.X.Y`` config flattening, ``Error`` bodies,
  ``recordFinder`` pages.
- ``events``: the ``multipart/x-mixed-replace`` event stream parts and an incremental decoder.
- ``digest``: digest auth headers (realm ``Login to <serial>``, qop=auth) and server nonces.
- ``server``: Starlette app with digest auth and CGI dispatch, the event hub, a uvicorn thread.
- ``client``: ``DahuaClient`` (httpx) covering every endpoint the platform uses.
"""
