"""Webhooks as Meraki sends them: one alert in the default "Meraki" payload template, POSTed as JSON."""

import itertools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ('ALERT_TYPES', 'WebhookDelivery', 'alert_payload', 'post_webhook')

# alertTypeId -> alertType, for the alerts tests send; any other id is sent with the id as its name.
ALERT_TYPES = {
    'settings_changed': 'Settings changed',
    'power_supply_down': 'Power supply went down',
}
_alert_ids = itertools.count(1)


@dataclass
class WebhookDelivery:
    """The receiver's answer: HTTP status and body (decoded JSON when it is JSON)."""

    status: int
    body: object


def _timestamp():
    return datetime.now(UTC).isoformat().replace('+00:00', 'Z')


def alert_payload(dashboard, shared_secret, alert_type_id, organization_id=None, network_id=None,
                  device_serial=None, alert_data=None):
    """
    The body of one alert. The organization and network follow from the device, the organization from the network;
    ids the Dashboard does not hold are sent as given, with empty names.
    """
    with dashboard.lock:
        device = dashboard.device(device_serial) if device_serial else None
        network_id = network_id or (device or {}).get('networkId') or ''
        org = (
            dashboard.org_of_device(device_serial) if device_serial else None
        ) or (dashboard.org_of_network(network_id) if network_id else None)
        if org is None and organization_id in dashboard.orgs:
            org = dashboard.orgs[organization_id]
        organization_id = organization_id or (org.id if org else '')
        network = dashboard.network(network_id) if network_id else None
    now = _timestamp()
    return {
        'version': '0.1',
        'sharedSecret': shared_secret,
        'sentAt': now,
        'organizationId': str(organization_id),
        'organizationName': org.organization['name'] if org else '',
        'organizationUrl': '',
        'networkId': network_id,
        'networkName': (network or {}).get('name', ''),
        'networkUrl': '',
        'networkTags': list((network or {}).get('tags', [])),
        'deviceSerial': device_serial or '',
        'deviceMac': (device or {}).get('mac', ''),
        'deviceName': (device or {}).get('name', ''),
        'deviceUrl': '',
        'deviceTags': list((device or {}).get('tags', [])),
        'deviceModel': (device or {}).get('model', ''),
        'alertId': str(next(_alert_ids)),
        'alertType': ALERT_TYPES.get(alert_type_id, alert_type_id),
        'alertTypeId': alert_type_id,
        'alertLevel': 'informational',
        'occurredAt': now,
        'alertData': dict(alert_data or {}),
    }


def post_webhook(url, payload, timeout=10):
    """POST the payload as JSON, as Meraki does; returns the receiver's answer, error statuses included."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, method='POST',
        headers={'Content-Type': 'application/json', 'Accept': 'application/json', 'User-Agent': 'meraki-sim'},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors='replace')
    return WebhookDelivery(status, body)
