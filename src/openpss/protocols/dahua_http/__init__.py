"""The Dahua CGI HTTP API: pure codecs and asyncio endpoints.

- ``codec``: CRLF key=value bodies, ``table.X.Y`` config flattening, ``Error`` bodies,
  ``recordFinder`` pages.
- ``events``: the ``multipart/x-mixed-replace`` event stream parts and an incremental decoder.
- ``digest``: digest auth headers (realm ``Login to <serial>``, qop=auth), server nonces with
  nonce-count replay checks and ``stale=TRUE`` for expired nonces.
- ``lockout``: the account lock (5 wrong passwords lock the account and the address, 5 min).
- ``records``: value sets of ``AccessControlCardRec`` records / ``AccessControl`` events
  (Method, AttendanceState, Status, ErrorCode, Type) and readers for them.
- ``server``: Starlette app with digest auth and CGI dispatch, the event hub, a uvicorn thread.
- ``client``: ``DahuaClient`` (httpx) covering every endpoint the platform uses.
"""
