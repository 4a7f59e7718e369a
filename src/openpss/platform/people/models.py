"""Company, departments, persons and their credentials (platform manual chapter 1).

Card numbers are stored canonically as upper-case hexadecimal, without leading zeros but padded
to at least 8 digits (`number`), plus the same value in decimal (`number_dec`) so that a search
in either card issuing type is an indexed prefix search; see `openpss.platform.people.cards`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openpss.platform.db import Base, UTCDateTime, utcnow


class Company(Base):
    """The company (one row); its name is also the name of the root department."""

    __tablename__ = "company"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    fax: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    telephone: Mapped[str] = mapped_column(String(32), default="")
    website: Mapped[str] = mapped_column(String(128), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    logo_content_type: Mapped[str] = mapped_column(String(32), default="")


class Department(Base):
    """A node of the department tree; the root (no parent) stands for the company."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT"), nullable=True, index=True
    )

    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent")


class Person(Base):
    """A person: Basic Info and Extended Information of the manual."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Basic Info
    user_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT"), index=True
    )
    user_type: Mapped[str] = mapped_column(String(16), default="general")
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    times_used: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: unlimited
    # Extended information
    gender: Mapped[str] = mapped_column(String(8), default="")
    title: Mapped[str] = mapped_column(String(8), default="")
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    tel: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    mailing_address: Mapped[str] = mapped_column(String(255), default="")
    administrator: Mapped[bool] = mapped_column(Boolean, default=False)
    remark: Mapped[str] = mapped_column(Text, default="")
    id_type: Mapped[str] = mapped_column(String(16), default="")
    id_number: Mapped[str] = mapped_column(String(32), default="")
    company: Mapped[str] = mapped_column(String(64), default="")
    occupation: Mapped[str] = mapped_column(String(64), default="")
    employment_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    termination_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Credentials: the 6-8 digit PIN, Fernet-encrypted (devices need it in clear, see secrets.py)
    password_encrypted: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()
    cards: Mapped[list[Card]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Card.id"
    )
    faces: Mapped[list[FaceImage]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="FaceImage.id"
    )
    fingerprints: Mapped[list[Fingerprint]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Fingerprint.id"
    )


class Card(Base):
    """An access card of a person: main or duress, possibly frozen."""

    __tablename__ = "card"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # canonical hex
    number_dec: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="main")  # main | duress
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="cards")


class FaceImage(Base):
    """One of up to three face images of a person (JPEG or PNG, at most 100 KB)."""

    __tablename__ = "face_image"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="faces")


class Fingerprint(Base):
    """A named fingerprint template, kept as the opaque bytes the scanner produced."""

    __tablename__ = "fingerprint"
    __table_args__ = (UniqueConstraint("person_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    template: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="fingerprints")


class PeopleSetting(Base):
    """Key/value options of the personnel module, e.g. `card_issuing_type`."""

    __tablename__ = "people_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
