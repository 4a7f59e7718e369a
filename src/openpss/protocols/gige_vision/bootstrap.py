"""The GigE Vision bootstrap register map: one table for the camera and for its clients.

Addresses and bit meanings from GigE Vision 2.0, chapter 28 "Bootstrap Registers" (table 28-1;
bit 31 is the least significant bit, as the standard counts).
"""

from __future__ import annotations

BOOTSTRAP_END = 0x10000  # bootstrap registers live below this address (§28)

# Device information (§28.1-28.12); the same bytes are the DISCOVERY_ACK payload (§16.1.2).
VERSION = 0x0000
DEVICE_MODE = 0x0004
DEVICE_MAC_HIGH = 0x0008
DEVICE_MAC_LOW = 0x000C
CURRENT_IP = 0x0024
MANUFACTURER_NAME = 0x0048  # 32 bytes
MODEL_NAME = 0x0068  # 32 bytes
DEVICE_VERSION = 0x0088  # 32 bytes
MANUFACTURER_INFO = 0x00A8  # 48 bytes
SERIAL_NUMBER = 0x00D8  # 16 bytes
USER_NAME = 0x00E8  # 16 bytes, writable
USER_NAME_SIZE = 16
FIRST_URL = 0x0200  # 512 bytes: where the GenICam XML is (§28.13)
SECOND_URL = 0x0400  # 512 bytes
URL_SIZE = 0x200
NUMBER_OF_INTERFACES = 0x0600
PERSISTENT_IP = 0x064C
PERSISTENT_SUBNET = 0x065C
PERSISTENT_GATEWAY = 0x066C
LINK_SPEED = 0x0670
NUMBER_OF_MESSAGE_CHANNELS = 0x0900
NUMBER_OF_STREAM_CHANNELS = 0x0904
NUMBER_OF_ACTION_SIGNALS = 0x0908
GVCP_CAPABILITY = 0x0934  # §28.27
HEARTBEAT_TIMEOUT = 0x0938  # ms, §28.28
TIMESTAMP_TICK_FREQUENCY_HIGH = 0x093C
TIMESTAMP_TICK_FREQUENCY_LOW = 0x0940
TIMESTAMP_CONTROL = 0x0944  # write 0x2 to latch, 0x1 to reset (§28.31)
TIMESTAMP_VALUE_HIGH = 0x0948  # latched value (§28.32)
TIMESTAMP_VALUE_LOW = 0x094C
DISCOVERY_ACK_DELAY = 0x0950
GVCP_CONFIGURATION = 0x0954
PENDING_TIMEOUT = 0x0958
GVSP_CONFIGURATION = 0x0960  # §28.39
CCP = 0x0A00  # control channel privilege (§28.41)
PRIMARY_APPLICATION_PORT = 0x0A04
PRIMARY_APPLICATION_IP = 0x0A08
MCP = 0x0B00  # message channel port (§28.45)
MCDA = 0x0B10  # message channel destination address (§28.46)
MCTT = 0x0B14  # message channel transmission timeout (ms)
MCRC = 0x0B18  # message channel retry count
MCSP = 0x0B1C  # message channel source port
SCP0 = 0x0D00  # stream channel 0 port (§28.51)
SCPS0 = 0x0D04  # stream channel 0 packet size (§28.52)
SCPD0 = 0x0D08  # stream channel 0 packet delay (timestamp ticks)
SCDA0 = 0x0D18  # stream channel 0 destination address (§28.54)
SCSP0 = 0x0D1C  # stream channel 0 source port
SCC0 = 0x0D20  # stream channel 0 capability
SCCFG0 = 0x0D24  # stream channel 0 configuration

# CCP bits (§28.41).
CCP_EXCLUSIVE = 0x00000001
CCP_CONTROL = 0x00000002
CCP_SWITCHOVER_ENABLE = 0x00000004
# GVCP capability bits (§28.27).
GVCP_CAP_USER_NAME = 0x80000000
GVCP_CAP_SERIAL_NUMBER = 0x40000000
GVCP_CAP_HEARTBEAT_DISABLE = 0x20000000
GVCP_CAP_EVENTDATA = 0x00000010
GVCP_CAP_EVENT = 0x00000008
GVCP_CAP_PACKETRESEND = 0x00000004  # bit 29
GVCP_CAP_WRITEMEM = 0x00000002
GVCP_CAP_CONCATENATION = 0x00000001
GVCP_CONFIG_HEARTBEAT_DISABLE = 0x00000001  # §28.37
GVSP_CONFIG_64BIT_BLOCK_ID = 0x40000000  # §28.39
TIMESTAMP_LATCH = 0x00000002  # §28.31
TIMESTAMP_RESET = 0x00000001
SCPS_FIRE_TEST_PACKET = 0x80000000  # §28.52
SCPS_DO_NOT_FRAGMENT = 0x40000000
SCPS_SIZE_MASK = 0xFFFF
