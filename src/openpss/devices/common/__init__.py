"""What the virtual Dahua devices (attendance terminal, VTO, VTH) share.

``cli`` (options, ``HOST:PORT``, the control client), ``passwords`` (the admin password rule),
``http`` (the CGI identity, config and event handlers, digest auth and the loopback control
endpoint), ``access`` (the access-control CGI bodies), ``store`` (the SQLite flash) and
``runtime`` (serving a unit's servers in one event loop, in the foreground or a thread).
"""
