"""
Syncs pushed by Meraki webhooks. An alert that a network's configuration changed adds the network to its
organization's pending set; the first alert of a window schedules a WebhookSyncJob for the window's end, which syncs
every network the window's alerts named, as one run. The pending set lives in Redis (NetBox's cache database), where
adding to it and taking it are atomic, so concurrent alerts and the job never lose a network.
"""

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django_redis import get_redis_connection

from netbox.plugins import get_plugin_config

from .choices import RunTriggerChoices
from .models import PluginSettings
from .sync import SyncRefused, create_run, execute_run

__all__ = (
    'SYNC_ALERT_TYPES', 'Alert', 'MalformedAlert', 'authenticate', 'ignore_reason', 'pending_networks', 'queue_sync',
    'read_alert', 'secret_matches', 'sync_pending_networks', 'webhook_secret',
)

logger = logging.getLogger('netbox_meraki.webhooks')

# Meraki's alertTypeId of "Settings changed" (Network-wide > Alerts: "Configuration settings are changed"). Other
# alerts (a device went down, usage, ...) say nothing about what NetBox holds.
SYNC_ALERT_TYPES = frozenset({'settings_changed'})
# How long a window stays open past its job's start time: a busy worker may start the job late, and a job lost with
# Redis must not keep the window (and so the organization's webhooks) closed for good.
WINDOW_GRACE_SECONDS = 600


class MalformedAlert(ValueError):
    """A webhook body that is not a Meraki alert; the message says what is wrong."""


@dataclass(frozen=True)
class Alert:
    """The fields of a Meraki webhook this plugin reads."""

    organization_id: str
    alert_type_id: str
    network_id: str
    device_serial: str


def webhook_secret():
    """The shared secret Meraki must send; '' when webhooks are off."""
    return get_plugin_config('netbox_meraki', 'webhook_secret') or ''


def secret_matches(received):
    """Compare in constant time, so that the answer's timing does not tell how much of a guess was right."""
    expected = webhook_secret()
    if not expected or not isinstance(received, str):
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


def authenticate(body, source):
    """Whether the webhook body carries the shared secret; a refusal is logged, without what was received."""
    if secret_matches(body.get('sharedSecret')):
        return True
    logger.warning('Refused a Meraki webhook from %s: wrong or missing shared secret.', source)
    return False


def read_alert(body):
    """The alert in a webhook body (Meraki's default payload template); raises MalformedAlert."""
    if not isinstance(body, dict):
        raise MalformedAlert('The body must be a JSON object (Meraki\'s default "Meraki" payload template).')
    fields = {}
    for name, required in (('organizationId', True), ('alertTypeId', True), ('networkId', False),
                           ('deviceSerial', False)):
        value = body.get(name)
        if value is None or value == '':
            if required:
                raise MalformedAlert(f'The alert has no {name}.')
            value = ''
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise MalformedAlert(f'{name} must be a string.')
        fields[name] = str(value)
    return Alert(
        organization_id=fields['organizationId'], alert_type_id=fields['alertTypeId'],
        network_id=fields['networkId'], device_serial=fields['deviceSerial'],
    )


def ignore_reason(alert, settings):
    """Why the alert queues no sync, or None when it does."""
    if alert.alert_type_id not in SYNC_ALERT_TYPES:
        return f'alert type {alert.alert_type_id!r} does not change what NetBox holds'
    if settings.organization_ids and alert.organization_id not in map(str, settings.organization_ids):
        return f'organization {alert.organization_id} is not synced'
    if not alert.network_id:
        return 'the alert names no network'
    if settings.network_ids and alert.network_id not in map(str, settings.network_ids):
        return f'network {alert.network_id} is not synced'
    return None


def pending_key(organization_id):
    return f'netbox_meraki:webhooks:{organization_id}:networks'


def window_key(organization_id):
    return f'netbox_meraki:webhooks:{organization_id}:window'


def queue_sync(organization_id, network_ids):
    """
    Add the networks to the organization's pending set. When no window is open, open one and schedule the job that
    ends it; returns that job, or None when the window was already open (its job will take these networks too).
    """
    from .jobs import WebhookSyncJob

    redis = get_redis_connection('default')
    debounce = get_plugin_config('netbox_meraki', 'webhook_debounce_seconds')
    redis.sadd(pending_key(organization_id), *network_ids)
    if not redis.set(window_key(organization_id), 1, nx=True, ex=int(debounce) + WINDOW_GRACE_SECONDS):
        return None
    try:
        return WebhookSyncJob.enqueue(
            schedule_at=timezone.now() + timedelta(seconds=debounce), organization_id=str(organization_id),
            job_timeout=get_plugin_config('netbox_meraki', 'job_timeout'),
        )
    except Exception:
        # Without a job the window would only close when it expires; the next alert opens a new one at once.
        redis.delete(window_key(organization_id))
        raise


def pending_networks(organization_id):
    """The networks waiting for the organization's next webhook sync."""
    members = get_redis_connection('default').smembers(pending_key(organization_id))
    return sorted(member.decode() for member in members)


def take_pending_networks(organization_id):
    """Empty the organization's pending set and close its window, in one step; returns the networks."""
    with get_redis_connection('default').pipeline(transaction=True) as pipe:
        pipe.smembers(pending_key(organization_id))
        pipe.delete(pending_key(organization_id), window_key(organization_id))
        members, _deleted = pipe.execute()
    return sorted(member.decode() for member in members)


def sync_pending_networks(organization_id, job=None, log=logger):
    """
    End the window: sync the pending networks in this process, as a webhook run in the scheduled sync mode. When the
    organization is already syncing, the networks go back to the pending set for another window. Returns the run, or
    None when none started.
    """
    network_ids = take_pending_networks(organization_id)
    if not network_ids:
        log.info(f'No network of organization {organization_id} is waiting for a sync.')
        return None
    settings = PluginSettings.load()
    try:
        run = create_run(
            organization_id, settings.scheduled_sync_mode, network_ids, RunTriggerChoices.WEBHOOK, None, lock=True,
        )
    except SyncRefused as exc:
        queue_sync(organization_id, network_ids)
        log.info(f'{exc} The {len(network_ids)} networks wait for the next window.')
        return None
    if job is not None:
        run.job = job
        run.save(update_fields=['job'])
    log.info(f'Syncing networks {", ".join(network_ids)} of organization {organization_id} (run #{run.pk}).')
    return execute_run(run, locked=True)
