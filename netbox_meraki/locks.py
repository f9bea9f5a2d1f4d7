"""At most one sync per organization: a PostgreSQL advisory lock keyed by the organization id."""

import hashlib

from django.db import connection

__all__ = ('organization_lock_key', 'release_organization', 'serialize_triggers', 'try_lock_organization')


def organization_lock_key(organization_id):
    digest = hashlib.sha256(f'netbox_meraki:{organization_id}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big', signed=True)


def try_lock_organization(organization_id):
    """Take the organization's lock for this database session; False when another session holds it."""
    with connection.cursor() as cursor:
        cursor.execute('SELECT pg_try_advisory_lock(%s)', [organization_lock_key(organization_id)])
        return cursor.fetchone()[0]


def release_organization(organization_id):
    with connection.cursor() as cursor:
        cursor.execute('SELECT pg_advisory_unlock(%s)', [organization_lock_key(organization_id)])


def serialize_triggers(organization_id):
    """Inside a transaction: make concurrent triggers for one organization take turns until commit."""
    with connection.cursor() as cursor:
        cursor.execute('SELECT pg_advisory_xact_lock(%s)', [organization_lock_key(f'trigger:{organization_id}')])
