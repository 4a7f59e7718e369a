"""RTSP 1.0 (RFC 2326): ``codec`` (requests, responses, Transport headers, SDP) and
``server`` (asyncio: OPTIONS, DESCRIBE, SETUP over interleaved TCP or UDP, PLAY, TEARDOWN,
GET_PARAMETER; digest auth; a cap on concurrent streams; one shared encoder per path)."""
