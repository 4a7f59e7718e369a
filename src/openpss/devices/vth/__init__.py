"""The virtual indoor monitor (VTH): model, SIP/RTP/RTSP front-end, Dahua CGI, control, Textual screen."""
