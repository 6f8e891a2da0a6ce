"""The parts of the company that own issues, and who among them hears about those issues."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from kb.models import Department


def recipients_parse(text: str) -> list[str]:
    """The e-mail addresses in ``text``, one per line (blank lines skipped, each address once, in
    order). Raises ValidationError naming every line that is not an address."""
    addresses: dict[str, str] = {}
    bad: list[str] = []
    for line in text.splitlines():
        address = line.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
            continue
        addresses.setdefault(address.casefold(), address)
    if bad:
        listed = ", ".join(f"“{address}”" for address in bad)
        noun = "is not an e-mail address" if len(bad) == 1 else "are not e-mail addresses"
        raise ValidationError(f"{listed} {noun}: give one address per line.", code="invalid")
    return list(addresses.values())


def department_recipients(department: Department) -> list[str]:
    """Who gets the department's digest. The admin refuses a bad line; one stored some other way
    is left out rather than stopping the others' digest."""
    addresses: list[str] = []
    for line in department.digest_recipients.splitlines():
        try:
            addresses.extend(recipients_parse(line))
        except ValidationError:
            continue
    return list({address.casefold(): address for address in addresses}.values())
