"""The virtual indoor monitor (VTH): model, SIP/RTP/RTSP front-end, CGI, control, screen."""
