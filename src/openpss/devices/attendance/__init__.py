"""The virtual attendance terminal: model (``model`` state, ``verification``, ``queries``,
``entities``, ``settings``, ``schedule``), persistence (``store``), HTTP front-end (``http``,
``http_access``, ``config``), background services (``services``), USB (``usb``), keypad
(``keypad`` engine, ``keypad_menus``, ``keypad_screens``) and ``cli``."""
