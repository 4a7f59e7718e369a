"""Imports every domain's models so that Base.metadata holds the whole schema."""

from openpss.platform.attendance import models as attendance_models
from openpss.platform.db import Base
from openpss.platform.devices import models as devices_models
from openpss.platform.intercom import models as intercom_models
from openpss.platform.people import models as people_models
from openpss.platform.permissions import models as permissions_models
from openpss.platform.records import models as records_models
from openpss.platform.security import models as security_models
from openpss.platform.vision import models as vision_models

__all__ = [
    "Base",
    "attendance_models",
    "devices_models",
    "intercom_models",
    "people_models",
    "permissions_models",
    "records_models",
    "security_models",
    "vision_models",
]
