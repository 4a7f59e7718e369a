"""The virtual modular door station (VTO): model (``model``, ``access``, ``facade``,
``directory``, ``settings``, ``entities``, ``users``), persistence (``store``), front-ends
(``http``: Dahua CGI; ``dhip``: DHIP on TCP 5000; ``control``) and ``cli``."""
