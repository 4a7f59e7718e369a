"""The virtual modular door station (VTO).

Model without I/O: ``model`` (``DoorStation``), ``calls`` (call state machine), ``access``
(unlock, door, alarms, keypad), ``facade`` (Façade Layout), ``directory`` (Room No. / VTO No.
Management), ``settings``, ``entities``, ``users``. Persistence: ``store`` (SQLite under
--data-dir). Front-ends on one event loop (``runtime``): ``http`` + ``http_access`` (Dahua
CGI and the control endpoint), ``dhip`` (DHIP backend), ``media`` + ``scene`` (RTSP monitor
streams, call media), ``sip`` (SIP server / user agent, the model's ``CallLink``),
``facade_ui`` (Textual) and ``cli``.
"""
