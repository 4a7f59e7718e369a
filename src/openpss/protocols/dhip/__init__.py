"""DHIP: the binary-header JSON-RPC protocol of Dahua door stations on TCP 5000.

- ``codec``: the 32-byte header, compact JSON bodies, an incremental frame decoder, the login
  hash and the error codes (pure, no sockets).
- ``server``: an asyncio server with the ``global.login`` challenge, keep-alive, event
  streams (``client.notifyEventStream``) and a backend for the device's methods.
- ``client``: a small asyncio client (tests, benchmarks, the platform later).
"""
